//! The canonical orientation the pipeline works in, and the exact way back.
//!
//! Superpixel features, network inputs and the trained models assume voxel axes that run along
//! the patient's LPS axes (x to the left, y posterior, z superior). Scans arrive in any storage
//! order (RAS NIfTI, feet-first DICOM, transposed arrays). [`Canonical`] finds the signed axis
//! permutation that brings each voxel axis onto the LPS axis it is closest to, copies the volume
//! into that order (no copy when it is already canonical), and maps a mask computed there back
//! onto the input's own array, voxel for voxel. No resampling happens: the output mask lies on the
//! input grid exactly, so it overlays the input in any viewer. Oblique grids are handled by the
//! nearest permutation (the networks then see a slightly rotated patient, as in training on real
//! data).

use crate::error::{Error, Result};
use crate::volume::{Geometry, Image, Volume};
use ndarray::{Array3, ArrayView3, ArrayViewMut3, Axis};
use std::borrow::Cow;

/// The signed axis permutation from an input grid to the canonical one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Canonical {
    /// `source[r]`: the input voxel axis (0 = i/x, 1 = j/y, 2 = k/z) that becomes canonical axis `r`.
    pub source: [usize; 3],
    /// `flip[r]`: whether that input axis runs against LPS axis `r`.
    pub flip: [bool; 3],
}

const PERMUTATIONS: [[usize; 3]; 6] = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
];

impl Canonical {
    /// The permutation for a geometry: the one maximising the product of |direction| entries
    /// it maps (the nearest signed permutation of the direction matrix).
    pub fn of(g: &Geometry) -> Result<Canonical> {
        g.validate()?;
        let d = g.direction;
        let mut best: Option<(f64, [usize; 3])> = None;
        for p in PERMUTATIONS {
            let score: f64 = (0..3).map(|r| d[r][p[r]].abs()).product();
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, p));
            }
        }
        let (score, source) =
            best.ok_or_else(|| Error::Geometry("no axis permutation found".into()))?;
        if score <= 0.0 {
            return Err(Error::Geometry(
                "the direction matrix maps no voxel axis onto a patient axis".into(),
            ));
        }
        let flip = [0, 1, 2].map(|r| d[r][source[r]] < 0.0);
        Ok(Canonical { source, flip })
    }

    /// Whether the input is already canonical (no copy needed).
    pub fn is_identity(&self) -> bool {
        self.source == [0, 1, 2] && self.flip == [false; 3]
    }

    /// Array axes (`[z][y][x]` order) of the input view that give the canonical `[z][y][x]`.
    fn array_axes(&self) -> [usize; 3] {
        // voxel axis c lives on array axis 2 - c
        [2 - self.source[2], 2 - self.source[1], 2 - self.source[0]]
    }

    /// A view of an input-layout array in canonical order.
    pub fn view<'a, T>(&self, a: ArrayView3<'a, T>) -> ArrayView3<'a, T> {
        let mut v = a.permuted_axes(self.array_axes());
        for r in 0..3 {
            if self.flip[r] {
                v.invert_axis(Axis(2 - r));
            }
        }
        v
    }

    /// A view of an input-layout array in canonical order (writes land in the input layout).
    pub fn view_mut<'a, T>(&self, a: ArrayViewMut3<'a, T>) -> ArrayViewMut3<'a, T> {
        let mut v = a.permuted_axes(self.array_axes());
        for r in 0..3 {
            if self.flip[r] {
                v.invert_axis(Axis(2 - r));
            }
        }
        v
    }

    /// Geometry of the canonical grid (same voxel centres, reordered).
    pub fn geometry(&self, input: &Geometry, dims_xyz: [usize; 3]) -> Geometry {
        let mut spacing = [0.0; 3];
        let mut direction = [[0.0; 3]; 3];
        let mut first = [0.0f64; 3];
        for r in 0..3 {
            let c = self.source[r];
            spacing[r] = input.spacing[c];
            let sign = if self.flip[r] { -1.0 } else { 1.0 };
            for row in 0..3 {
                direction[row][r] = sign * input.direction[row][c];
            }
            if self.flip[r] {
                first[c] = (dims_xyz[c] - 1) as f64;
            }
        }
        Geometry {
            spacing,
            origin: input.index_to_lps(first),
            direction,
        }
    }

    /// Any array of the input's layout (e.g. a reference mask) in canonical order.
    pub fn array<T: Clone>(&self, a: &Array3<T>) -> Array3<T> {
        self.view(a.view()).as_standard_layout().into_owned()
    }

    /// The volume in canonical order (borrowed when already canonical).
    pub fn volume<'a>(&self, ct: &'a Volume) -> Cow<'a, Volume> {
        if self.is_identity() {
            return Cow::Borrowed(ct);
        }
        let data = self.view(ct.data.view()).as_standard_layout().into_owned();
        let geometry = self.geometry(&ct.geometry, ct.dims_xyz());
        Cow::Owned(Image { data, geometry })
    }

    /// Maps a canonical array back onto the input's array layout (`input_dim` as `[z][y][x]`).
    pub fn restore<T: Copy + Default>(
        &self,
        canonical: &Array3<T>,
        input_dim: (usize, usize, usize),
    ) -> Result<Array3<T>> {
        let mut out = Array3::<T>::default(input_dim);
        {
            let v = self.view_mut(out.view_mut());
            if v.dim() != canonical.dim() {
                return Err(Error::InvalidArgument(format!(
                    "canonical array {:?} does not match the input {:?}",
                    canonical.dim(),
                    input_dim
                )));
            }
            let mut v = v;
            v.assign(canonical);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(direction: [[f64; 3]; 3]) -> Geometry {
        Geometry {
            spacing: [0.7, 0.8, 2.5],
            origin: [10.0, -20.0, 30.0],
            direction,
        }
    }

    #[test]
    fn canonical_voxels_keep_their_patient_positions() {
        // RAS-stored (x and y flipped), and a transposed, feet-first layout
        let cases = [
            [[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]],
            [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]],
            [[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]],
        ];
        for d in cases {
            let g = geometry(d);
            let (nz, ny, nx) = (3, 4, 5);
            let data =
                Array3::from_shape_fn((nz, ny, nx), |(k, j, i)| (i + 10 * j + 100 * k) as f32);
            let ct = Image::new(data.clone(), g).unwrap();
            let c = Canonical::of(&g).unwrap();
            assert!(!c.is_identity());
            let canon = c.volume(&ct);
            let cg = canon.geometry;
            // canonical direction is (close to) the identity
            for r in 0..3 {
                assert!(cg.direction[r][r] > 0.99, "{:?}", cg.direction);
            }
            // every canonical voxel sits where the input voxel with the same value sits
            for ((k, j, i), v) in canon.data.indexed_iter() {
                let vi = *v as usize;
                let src = [(vi % 10) as f64, (vi / 10 % 10) as f64, (vi / 100) as f64];
                let a = g.index_to_lps(src);
                let b = cg.index_to_lps([i as f64, j as f64, k as f64]);
                for r in 0..3 {
                    assert!((a[r] - b[r]).abs() < 1e-9, "{a:?} vs {b:?}");
                }
            }
            // and the way back is exact
            let back = c.restore(&canon.data, data.dim()).unwrap();
            assert_eq!(back, data);
        }
    }

    #[test]
    fn identity_is_borrowed() {
        let g = geometry(crate::volume::IDENTITY);
        let ct = Image::new(Array3::<f32>::zeros((2, 2, 2)), g).unwrap();
        let c = Canonical::of(&g).unwrap();
        assert!(c.is_identity());
        assert!(matches!(c.volume(&ct), Cow::Borrowed(_)));
    }
}
