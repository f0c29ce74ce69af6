//! CT volumes and label images with exact patient geometry.
//!
//! Conventions used everywhere in pancseg:
//! - Voxel arrays are `ndarray::Array3` indexed `[z][y][x]` (C order, x fastest). Index `(k, j, i)`
//!   addresses column `i`, row `j`, slice `k`.
//! - Geometry is in DICOM patient coordinates (LPS: +x to the patient's left, +y posterior,
//!   +z superior), in millimetres. The centre of voxel `(i, j, k)` lies at
//!   `origin + D · diag(spacing) · [i, j, k]ᵀ`, where column `c` of the direction matrix `D` is the
//!   unit vector of voxel axis `c` (i, j, k) — exactly ITK's and DICOM's convention.
//! - CT values are Hounsfield units stored as `f32` (every integer HU value of a scanner is exact in
//!   f32); masks are `u8` (0 background, 1 pancreas); probability maps are `f32` in [0, 1].

use crate::error::{Error, Result};
use ndarray::Array3;

/// Tolerance on the orthonormality of a direction matrix (dot products and norms).
pub const DIRECTION_TOLERANCE: f64 = 1e-4;

/// Spacing, origin and direction of a voxel grid in LPS patient coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    /// Voxel size along x (columns), y (rows), z (slices), in mm. Finite and positive.
    pub spacing: [f64; 3],
    /// LPS position of the centre of voxel (0, 0, 0), in mm.
    pub origin: [f64; 3],
    /// `direction[r][c]`: LPS component `r` of the unit vector of voxel axis `c`.
    pub direction: [[f64; 3]; 3],
}

impl Default for Geometry {
    fn default() -> Self {
        Geometry {
            spacing: [1.0; 3],
            origin: [0.0; 3],
            direction: IDENTITY,
        }
    }
}

/// The 3x3 identity direction (axial slices, rows to the left, columns posterior).
pub const IDENTITY: [[f64; 3]; 3] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

/// The voxel sizes a CT scan can have, in mm: anything outside is refused before any work (a
/// spacing of metres or of micrometres is a unit or header error, and would make every stage
/// resample to an absurd grid).
pub const SCAN_SPACING_MM: std::ops::RangeInclusive<f64> = 0.01..=50.0;

/// The largest distance of a scan's origin from the patient coordinate origin, in mm (100 m):
/// scanner positions are within a few metres of the gantry.
pub const SCAN_ORIGIN_MAX_MM: f64 = 1.0e5;

/// The largest extent of a scan along any voxel axis, in mm: no body is 5 m long.
pub const SCAN_EXTENT_MAX_MM: f64 = 5000.0;

impl Geometry {
    /// [`Geometry::validate`], and the physical bounds of a CT scan with `dims` (x, y, z) voxels:
    /// spacing within [`SCAN_SPACING_MM`], origin within [`SCAN_ORIGIN_MAX_MM`], extent within
    /// [`SCAN_EXTENT_MAX_MM`]. Every segmentation input passes it before any work.
    pub fn validate_scan(&self, dims: [usize; 3]) -> Result<()> {
        self.validate()?;
        for (c, axis) in ["x", "y", "z"].iter().enumerate() {
            let s = self.spacing[c];
            if !SCAN_SPACING_MM.contains(&s) {
                return Err(Error::Geometry(format!(
                    "spacing along {axis} is {s} mm; a CT voxel is {} to {} mm (a header in the \
                     wrong unit?)",
                    SCAN_SPACING_MM.start(),
                    SCAN_SPACING_MM.end()
                )));
            }
            let extent = s * dims[c] as f64;
            if extent > SCAN_EXTENT_MAX_MM {
                return Err(Error::Geometry(format!(
                    "the scan is {extent:.0} mm long along {axis} ({} voxels of {s} mm); a CT \
                     covers at most {SCAN_EXTENT_MAX_MM} mm",
                    dims[c]
                )));
            }
        }
        if let Some(v) = self.origin.iter().find(|v| v.abs() > SCAN_ORIGIN_MAX_MM) {
            return Err(Error::Geometry(format!(
                "origin {:?} lies {:.0} m from the patient coordinate origin; a CT's origin is \
                 within {} m",
                self.origin,
                v.abs() / 1000.0,
                SCAN_ORIGIN_MAX_MM / 1000.0
            )));
        }
        Ok(())
    }

    /// Checks that spacing and origin are finite, spacing positive and the direction orthonormal.
    pub fn validate(&self) -> Result<()> {
        for (axis, s) in ["x", "y", "z"].iter().zip(self.spacing) {
            if !s.is_finite() || s <= 0.0 {
                return Err(Error::Geometry(format!(
                    "spacing along {axis} is {s}; it must be finite and positive"
                )));
            }
        }
        if self.origin.iter().any(|v| !v.is_finite()) {
            return Err(Error::Geometry(format!(
                "origin {:?} is not finite",
                self.origin
            )));
        }
        if self.direction.iter().flatten().any(|v| !v.is_finite()) {
            return Err(Error::Geometry("direction matrix is not finite".into()));
        }
        let col = |c: usize| [0, 1, 2].map(|r| self.direction[r][c]);
        for a in 0..3 {
            for b in a..3 {
                let d = dot(col(a), col(b));
                let want = if a == b { 1.0 } else { 0.0 };
                if (d - want).abs() > DIRECTION_TOLERANCE {
                    return Err(Error::Geometry(format!(
                        "direction matrix {:?} is not orthonormal (columns {a}·{b} = {d:.6})",
                        self.direction
                    )));
                }
            }
        }
        Ok(())
    }

    /// LPS position (mm) of the centre of voxel `(i, j, k)` (fractional indices allowed).
    pub fn index_to_lps(&self, ijk: [f64; 3]) -> [f64; 3] {
        let mut p = self.origin;
        for (r, pr) in p.iter_mut().enumerate() {
            for c in 0..3 {
                *pr += self.direction[r][c] * self.spacing[c] * ijk[c];
            }
        }
        p
    }

    /// The 4x4 affine from voxel index `(i, j, k, 1)` to LPS millimetres.
    pub fn lps_affine(&self) -> [[f64; 4]; 4] {
        let mut m = [[0.0; 4]; 4];
        for r in 0..3 {
            for c in 0..3 {
                m[r][c] = self.direction[r][c] * self.spacing[c];
            }
            m[r][3] = self.origin[r];
        }
        m[3][3] = 1.0;
        m
    }

    /// The 4x4 affine from voxel index to RAS millimetres (NIfTI / nibabel convention). The
    /// LPS→RAS change negates the first two rows, which is exact in floating point.
    pub fn ras_affine(&self) -> [[f64; 4]; 4] {
        let mut m = self.lps_affine();
        for row in m.iter_mut().take(2) {
            for v in row.iter_mut() {
                *v = -*v;
            }
        }
        m
    }

    /// Builds a geometry from a voxel-to-RAS affine (NIfTI). Spacing is the norm of each column;
    /// the direction is the column divided by it. Fails on zero or non-finite columns and on
    /// non-orthogonal (sheared) affines.
    pub fn from_ras_affine(m: &[[f64; 4]; 4]) -> Result<Geometry> {
        let mut g = Geometry::default();
        for c in 0..3 {
            let col = [m[0][c], m[1][c], m[2][c]];
            let n = dot(col, col).sqrt();
            if !n.is_finite() || n == 0.0 {
                return Err(Error::Geometry(format!(
                    "affine column {c} {col:?} has zero or non-finite length"
                )));
            }
            g.spacing[c] = n;
            for r in 0..3 {
                let sign = if r < 2 { -1.0 } else { 1.0 };
                g.direction[r][c] = sign * col[r] / n;
            }
        }
        g.origin = [-m[0][3], -m[1][3], m[2][3]];
        g.validate()?;
        Ok(g)
    }

    /// Orientation code: for each voxel axis (i, j, k), the patient direction it points to
    /// (`L`/`R`, `P`/`A`, `S`/`I`), from the dominant component of its direction column. An
    /// axial DICOM series with identity direction is `LPS`; a typical NIfTI in RAS+ is `RAS`.
    /// This is nibabel's `aff2axcodes` convention.
    pub fn orientation_code(&self) -> String {
        let mut used = [false; 3];
        let mut out = String::new();
        for c in 0..3 {
            let col = [0, 1, 2].map(|r| self.direction[r][c]);
            let mut best = None;
            for r in 0..3 {
                if used[r] {
                    continue;
                }
                if best.is_none_or(|b: usize| col[r].abs() > col[b].abs()) {
                    best = Some(r);
                }
            }
            let r = best.unwrap_or(c);
            used[r] = true;
            let positive = col[r] >= 0.0;
            out.push(match (r, positive) {
                (0, true) => 'L',
                (0, false) => 'R',
                (1, true) => 'P',
                (1, false) => 'A',
                (2, true) => 'S',
                _ => 'I',
            });
        }
        out
    }

    /// Volume of one voxel in mm³.
    pub fn voxel_volume_mm3(&self) -> f64 {
        self.spacing.iter().product()
    }
}

pub(crate) fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub(crate) fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// A voxel array with its patient geometry.
///
/// ```
/// use ndarray::Array3;
/// use pancseg::{Geometry, Volume};
///
/// // 4 slices of 3 rows of 2 columns, indexed [z][y][x], in HU
/// let data = Array3::<f32>::from_elem((4, 3, 2), -1000.0);
/// let geometry = Geometry {
///     spacing: [0.5, 0.75, 2.5],
///     origin: [-200.0, -180.0, -700.0],
///     ..Geometry::default()
/// };
/// let ct: Volume = Volume::new(data, geometry)?;
/// assert_eq!(ct.dims_xyz(), [2, 3, 4]);
/// // the centre of voxel (i, j, k) = (1, 2, 3) in LPS millimetres
/// assert_eq!(ct.geometry.index_to_lps([1.0, 2.0, 3.0]), [-199.5, -178.5, -692.5]);
/// # Ok::<(), pancseg::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Image<T> {
    /// Voxels, indexed `[z][y][x]`.
    pub data: Array3<T>,
    /// Patient geometry of the grid.
    pub geometry: Geometry,
}

/// A CT volume in Hounsfield units.
pub type Volume = Image<f32>;
/// A binary mask (0 or 1; label images may hold more labels).
pub type Mask = Image<u8>;

impl<T> Image<T> {
    /// Wraps an array with a geometry after validating the geometry and that no dimension is 0.
    pub fn new(data: Array3<T>, geometry: Geometry) -> Result<Self> {
        geometry.validate()?;
        if data.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "volume dimensions {:?} contain a zero",
                data.dim()
            )));
        }
        Ok(Image { data, geometry })
    }

    /// Axial slice `z` as a row-major `ny x nx` vector.
    pub fn slice_vec(&self, z: usize) -> Vec<T>
    where
        T: Copy,
    {
        self.data
            .index_axis(ndarray::Axis(0), z)
            .iter()
            .copied()
            .collect()
    }

    /// Dimensions as `[nx, ny, nz]` (columns, rows, slices).
    pub fn dims_xyz(&self) -> [usize; 3] {
        let (nz, ny, nx) = self.data.dim();
        [nx, ny, nz]
    }
}

/// Summary statistics of a CT volume, accumulated in f64.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub sum: f64,
}

impl Volume {
    /// Minimum, maximum, mean and sum of all voxels (f64 accumulation, exact for integer HU).
    pub fn stats(&self) -> Stats {
        let mut min = f64::INFINITY;
        let mut max = f64::NEG_INFINITY;
        let mut sum = 0.0f64;
        for &v in self.data.iter() {
            let v = v as f64;
            min = min.min(v);
            max = max.max(v);
            sum += v;
        }
        let n = self.data.len().max(1) as f64;
        Stats {
            min,
            max,
            mean: sum / n,
            sum,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ras_round_trip_is_exact() {
        let g = Geometry {
            spacing: [0.9765625, 0.9765625, 2.0],
            origin: [-250.0, -180.5, -804.5],
            direction: [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]],
        };
        let back = Geometry::from_ras_affine(&g.ras_affine()).unwrap();
        assert_eq!(back, g);
        assert_eq!(g.orientation_code(), "LAS");
    }

    #[test]
    fn index_to_lps_follows_direction_and_spacing() {
        let g = Geometry {
            spacing: [2.0, 3.0, 4.0],
            origin: [1.0, 2.0, 3.0],
            direction: [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]],
        };
        assert_eq!(
            g.index_to_lps([1.0, 1.0, 1.0]),
            [1.0 + 3.0, 2.0 + 2.0, 3.0 - 4.0]
        );
        assert_eq!(g.orientation_code(), "PLI");
    }

    #[test]
    fn invalid_geometry_is_refused() {
        let mut g = Geometry::default();
        g.spacing[2] = f64::NAN;
        assert!(g
            .validate()
            .unwrap_err()
            .to_string()
            .contains("spacing along z"));
        let mut g = Geometry::default();
        g.spacing[0] = 0.0;
        assert!(g.validate().is_err());
        let mut g = Geometry::default();
        g.direction[0][1] = 0.5;
        assert!(g
            .validate()
            .unwrap_err()
            .to_string()
            .contains("orthonormal"));
    }

    #[test]
    fn physically_absurd_scans_are_refused() {
        let dims = [192, 192, 60];
        let ok = Geometry {
            spacing: [0.7, 0.7, 2.5],
            origin: [-180.0, -150.0, -1500.0],
            ..Geometry::default()
        };
        ok.validate_scan(dims).unwrap();
        let msg = |g: Geometry, d: [usize; 3]| g.validate_scan(d).unwrap_err().to_string();
        let mut g = ok;
        g.spacing = [1.0e4; 3];
        assert!(
            msg(g, dims).contains("spacing along x is 10000 mm"),
            "{}",
            msg(g, dims)
        );
        g.spacing = [0.7, 0.7, 0.001];
        assert!(msg(g, dims).contains("spacing along z is 0.001 mm"));
        g.spacing = [0.7, 0.7, 50.0];
        g.validate_scan([192, 192, 100]).unwrap();
        assert!(msg(g, [192, 192, 101]).contains("5050 mm long along z"));
        let mut g = ok;
        g.origin[1] = -2.0e5;
        assert!(msg(g, dims).contains("200 m"), "{}", msg(g, dims));
        // the plain checks come first
        g.spacing[0] = f64::NAN;
        assert!(msg(g, dims).contains("finite"));
    }

    #[test]
    fn sheared_affine_is_refused() {
        let mut m = Geometry::default().ras_affine();
        m[0][1] = 0.3;
        assert!(Geometry::from_ras_affine(&m).is_err());
    }
}
