//! The working grid: one spacing, named by the bundle (`working_spacing_mm`), that every stage
//! runs on, whatever grid the scan came on; and the exact way back to the scan's grid.
//!
//! The forests and ConvNets are trained on cases brought to this grid by the same functions
//! ([`WorkingGrid::resample_ct`], [`WorkingGrid::resample_mask`], used by `pancseg-train`), so a
//! 0.6 mm thin-slice scan and a 5 mm routine scan reach the models with the same sampling, noise
//! texture and superpixel sizes as the training cases.
//!
//! - **Grid.** Per canonical axis, `n_out = round(n_in * s_in / s_out)` voxels of exactly the
//!   working spacing `s_out`, centred on the scan's field of view (the centre of the first and
//!   last voxel rows keep their midpoint). An axis whose spacing already equals the working one
//!   (within 1e-6) is kept voxel for voxel.
//! - **CT, to the working grid:** separable (axis by axis), each output sample a linear
//!   interpolation of the input line after a Gaussian anti-aliasing prefilter of
//!   `sigma = (r - 1) / 2` input voxels when the axis is downsampled by `r = s_out / s_in > 1`
//!   (the convention of scikit-image's `resize(anti_aliasing=True)`); none when upsampled.
//!   Edges replicate. Prefilter and interpolation are folded into one set of weights per output
//!   sample, so each axis is one pass.
//! - **Masks, to the working grid:** linear interpolation of the 0/1 mask, kept at >= 0.5 (as
//!   nnU-Net resamples labels).
//! - **Maps, back to the scan's grid:** trilinear (separable linear, no prefilter) from the
//!   working box's map, zero outside it, onto the scan's voxels that the box covers. The mask is
//!   thresholded there, so it lies on the scan's own grid and is smooth at its resolution.
//!
//! Why our own resampler: the interpolation crates for Rust resample images in 2D (`image`,
//! `fast_image_resize`) and none anti-aliases a 3D `ndarray` with a documented kernel; the
//! weights here are a few lines and deterministic (each output sample sums its taps in a fixed
//! order, whatever the thread count).

use crate::error::{Error, Result};
use crate::pipeline::orient::Canonical;
use crate::volume::{Geometry, Image, Mask, Volume};
use ndarray::{Array2, Array3, ArrayView1, ArrayView2, ArrayView3, ArrayViewMut1, Axis, Zip};
use std::borrow::Cow;

/// The working spacing (x, y, z, mm) `pancseg-train` trains bundles at unless told otherwise:
/// the in-plane spacing and slice spacing of routine abdominal CT reconstructions, and about
/// the grid of the project's phantoms.
pub const DEFAULT_SPACING_MM: [f64; 3] = [2.0, 2.0, 2.5];

/// A CT (any orientation) in canonical orientation on the working grid of `target` (`None`:
/// the scan's own grid), with that grid. Borrowed when nothing changes.
pub fn working_volume<'a>(
    ct: &'a Volume,
    canonical: &Canonical,
    target: Option<[f64; 3]>,
) -> Result<(WorkingGrid, Cow<'a, Volume>)> {
    let view = canonical.view(ct.data.view());
    let geometry = canonical.geometry(&ct.geometry, ct.dims_xyz());
    let grid = WorkingGrid::new(view.dim(), geometry.spacing, target)?;
    if grid.is_identity() {
        return Ok((grid, canonical.volume(ct)));
    }
    let data = grid.resample_ct(view);
    Ok((
        grid,
        Cow::Owned(Image {
            data,
            geometry: grid.geometry(&geometry),
        }),
    ))
}

/// A labelled case (CT and 0/1 mask on the same grid, any orientation) in canonical
/// orientation on the working grid of `target`: how `pancseg-train` prepares every case, so
/// training sees what [`crate::pipeline::Segmenter`] sees.
pub fn working_case(ct: &Volume, mask: &Mask, target: [f64; 3]) -> Result<(Volume, Mask)> {
    if ct.data.dim() != mask.data.dim() {
        return Err(Error::InvalidArgument(format!(
            "the mask's dimensions {:?} differ from the CT's {:?}",
            mask.data.dim(),
            ct.data.dim()
        )));
    }
    let canonical = Canonical::of(&ct.geometry)?;
    let (grid, wct) = working_volume(ct, &canonical, Some(target))?;
    let m = canonical.view(mask.data.view());
    let data = if grid.is_identity() {
        m.as_standard_layout().into_owned()
    } else {
        grid.resample_mask(m)
    };
    let wct = wct.into_owned();
    let geometry = wct.geometry;
    Ok((wct, Image { data, geometry }))
}

/// One canonical axis of the working grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AxisMap {
    /// Voxels on the scan's (canonical) grid and on the working grid.
    pub n_in: usize,
    pub n_out: usize,
    /// Spacing of the scan and of the working grid (mm).
    pub s_in: f64,
    pub s_out: f64,
}

impl AxisMap {
    fn new(n_in: usize, s_in: f64, s_out: f64) -> AxisMap {
        if (s_in - s_out).abs() <= 1e-6 * s_out {
            return AxisMap {
                n_in,
                n_out: n_in,
                s_in,
                s_out: s_in,
            };
        }
        let n_out = ((n_in as f64 * s_in / s_out).round() as usize).max(1);
        AxisMap {
            n_in,
            n_out,
            s_in,
            s_out,
        }
    }

    /// Whether the axis is kept voxel for voxel.
    pub fn is_identity(&self) -> bool {
        self.n_in == self.n_out && self.s_in == self.s_out
    }

    /// Working voxels per scan voxel along the axis (`s_out / s_in`).
    fn ratio(&self) -> f64 {
        self.s_out / self.s_in
    }

    /// The centres of the scan's and of the working axis (voxels), which coincide in space.
    fn centres(&self) -> (f64, f64) {
        (
            (self.n_in as f64 - 1.0) / 2.0,
            (self.n_out as f64 - 1.0) / 2.0,
        )
    }

    /// Position on the scan's axis (in scan voxels) of working voxel `i`.
    pub fn to_input(&self, i: f64) -> f64 {
        let (ci, co) = self.centres();
        ci + (i - co) * self.ratio()
    }

    /// Position on the working axis of scan voxel `x`.
    pub fn to_working(&self, x: f64) -> f64 {
        let (ci, co) = self.centres();
        co + (x - ci) / self.ratio()
    }
}

/// The working grid of one scan: the map of each canonical axis (x, y, z).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkingGrid {
    pub axes: [AxisMap; 3],
}

/// The weights of one output sample: `value = sum_k w[k] * line[first + k]`.
#[derive(Debug, Clone)]
struct Taps {
    first: usize,
    w: Vec<f32>,
}

/// Checks a working spacing (from a bundle's manifest).
pub fn validate_spacing(s: [f64; 3]) -> Result<()> {
    for (axis, v) in ["x", "y", "z"].iter().zip(s) {
        if !v.is_finite() || !(0.1..=20.0).contains(&v) {
            return Err(Error::InvalidArgument(format!(
                "working spacing along {axis} is {v} mm; it must lie in 0.1..=20 mm"
            )));
        }
    }
    Ok(())
}

impl WorkingGrid {
    /// The working grid for a canonical grid of `dims` (`[z][y][x]`) and `spacing` (x, y, z);
    /// `target` None keeps the scan's grid (bundles that name no working spacing).
    pub fn new(
        dims: (usize, usize, usize),
        spacing: [f64; 3],
        target: Option<[f64; 3]>,
    ) -> Result<WorkingGrid> {
        let n = [dims.2, dims.1, dims.0];
        let t = target.unwrap_or(spacing);
        validate_spacing(t)?;
        Ok(WorkingGrid {
            axes: [0, 1, 2].map(|a| AxisMap::new(n[a], spacing[a], t[a])),
        })
    }

    /// Whether every axis is kept voxel for voxel (the stages then run on the scan's grid).
    pub fn is_identity(&self) -> bool {
        self.axes.iter().all(AxisMap::is_identity)
    }

    /// Working grid dimensions `[z][y][x]`.
    pub fn dims(&self) -> (usize, usize, usize) {
        (self.axes[2].n_out, self.axes[1].n_out, self.axes[0].n_out)
    }

    /// Working spacing (x, y, z, mm).
    pub fn spacing(&self) -> [f64; 3] {
        self.axes.map(|a| a.s_out)
    }

    /// Geometry of the working grid, given the canonical grid's geometry: same direction, the
    /// working spacing, the origin at working voxel (0, 0, 0).
    pub fn geometry(&self, canonical: &Geometry) -> Geometry {
        let first = self.axes.map(|a| a.to_input(0.0));
        Geometry {
            spacing: self.spacing(),
            origin: canonical.index_to_lps(first),
            direction: canonical.direction,
        }
    }

    /// A canonical CT (`[z][y][x]`, any strides) on the working grid, anti-aliased.
    pub fn resample_ct(&self, ct: ArrayView3<'_, f32>) -> Array3<f32> {
        resample_in_plane_first(ct, &self.ct_taps())
    }

    /// The CT's taps per axis: linear, with a Gaussian of `(ratio - 1) / 2` input voxels when
    /// downsampling.
    fn ct_taps(&self) -> [Vec<Taps>; 3] {
        let taps = |a: &AxisMap| {
            let r = a.ratio();
            let sigma = if r > 1.0 { (r - 1.0) / 2.0 } else { 0.0 };
            sample_taps(a, sigma)
        };
        self.axes.each_ref().map(taps)
    }

    /// A canonical 0/1 mask on the working grid (linear, kept at >= 0.5).
    pub fn resample_mask(&self, mask: ArrayView3<'_, u8>) -> Array3<u8> {
        let taps = self.axes.each_ref().map(|a| sample_taps(a, 0.0));
        let m = mask.mapv(|v| f32::from(u8::from(v != 0)));
        resample(m.view(), &taps).mapv(|v| u8::from(v >= 0.5))
    }

    /// The scan voxels (canonical `[x0, y0, z0]` and `(nz, ny, nx)`) whose values come from a
    /// working-grid box at `offset` (x, y, z) of `dim` (`[z][y][x]`): those within one working
    /// voxel of it (the map is zero beyond). `None` when no scan voxel lies there.
    pub fn input_window(
        &self,
        offset: [usize; 3],
        dim: (usize, usize, usize),
    ) -> Option<([usize; 3], (usize, usize, usize))> {
        let d = [dim.2, dim.1, dim.0];
        let mut start = [0usize; 3];
        let mut len = [0usize; 3];
        for a in 0..3 {
            let m = &self.axes[a];
            let lo = m.to_input(offset[a] as f64 - 1.0);
            let hi = m.to_input((offset[a] + d[a]) as f64);
            // strictly inside (lo, hi): the samples at lo and hi would weigh only zeros
            let s = (lo.floor() + 1.0).max(0.0);
            let e = (hi.ceil() - 1.0).min(m.n_in as f64 - 1.0);
            if e < s {
                return None;
            }
            start[a] = s as usize;
            len[a] = e as usize - start[a] + 1;
        }
        Some((start, (len[2], len[1], len[0])))
    }

    /// A working-grid map over the box at `offset` (x, y, z), trilinear on the scan voxels of
    /// [`WorkingGrid::input_window`] (zero beyond the box); with that window's start.
    pub fn map_to_input(
        &self,
        map: &Array3<f32>,
        offset: [usize; 3],
    ) -> Option<([usize; 3], Array3<f32>)> {
        let (start, wdim) = self.input_window(offset, map.dim())?;
        let (padded, taps) = self.padded_taps(map, offset, start, wdim);
        Some((start, resample(padded.view(), &taps)))
    }

    /// [`WorkingGrid::map_to_input`] one scan slice at a time: `each(k, slice)` gets slice `k`
    /// of the window (`[y][x]`, in order of `k`), bit for bit the values `map_to_input` gives,
    /// while only the one or two working slices it interpolates between are held, never the
    /// whole window (on a full-size scan the window of a large box is hundreds of MB, the
    /// segmentation's peak). Returns the window's start and dimensions.
    pub fn map_to_input_slices(
        &self,
        map: &Array3<f32>,
        offset: [usize; 3],
        mut each: impl FnMut(usize, ArrayView2<'_, f32>),
    ) -> Option<([usize; 3], (usize, usize, usize))> {
        let (start, wdim) = self.input_window(offset, map.dim())?;
        let (padded, [tx, ty, tz]) = self.padded_taps(map, offset, start, wdim);
        let in_plane = [tx, ty, identity_taps(1)];
        let plane = |z: usize| resample_plane(padded.index_axis(Axis(0), z), &in_plane);
        // planes[i] is padded slice `first + i`; the z taps move forward with k
        let (mut first, mut planes): (usize, Vec<Array2<f32>>) = (0, Vec::new());
        for (k, t) in tz.iter().enumerate() {
            if t.first < first || t.first >= first + planes.len() {
                planes.clear();
                first = t.first;
            } else {
                planes.drain(..t.first - first);
                first = t.first;
            }
            while planes.len() < t.w.len() {
                planes.push(plane(first + planes.len()));
            }
            let used = &planes[..t.w.len()];
            let mut out = Array2::<f32>::zeros((wdim.1, wdim.2));
            // the z pass of `resample`, term for term
            Zip::indexed(&mut out).par_for_each(|(y, x), o| {
                *o = t.w.iter().zip(used).map(|(w, p)| w * p[[y, x]]).sum();
            });
            each(k, out.view());
        }
        Some((start, wdim))
    }

    /// The map padded by one zero voxel on every side, and the linear taps (x, y, z) of the
    /// window's scan voxels into it.
    fn padded_taps(
        &self,
        map: &Array3<f32>,
        offset: [usize; 3],
        start: [usize; 3],
        wdim: (usize, usize, usize),
    ) -> (Array3<f32>, [Vec<Taps>; 3]) {
        let w = [wdim.2, wdim.1, wdim.0];
        let d = map.dim();
        let d = [d.2, d.1, d.0];
        // the map padded by one zero voxel on every side
        let mut padded = Array3::<f32>::zeros((d[2] + 2, d[1] + 2, d[0] + 2));
        padded
            .slice_mut(ndarray::s![1..d[2] + 1, 1..d[1] + 1, 1..d[0] + 1])
            .assign(map);
        let taps = [0, 1, 2].map(|a| {
            let m = &self.axes[a];
            (0..w[a])
                .map(|k| {
                    // position in the padded box
                    let p = m.to_working((start[a] + k) as f64) - offset[a] as f64 + 1.0;
                    linear_taps(p, d[a] + 2)
                })
                .collect::<Vec<_>>()
        });
        (padded, taps)
    }
}

/// Linear-interpolation weights at position `p` of a line of `n` samples (edges clamp).
fn linear_taps(p: f64, n: usize) -> Taps {
    let p = p.clamp(0.0, (n - 1) as f64);
    let i = (p.floor() as usize).min(n - 1);
    let f = p - i as f64;
    if i + 1 < n && f > 0.0 {
        Taps {
            first: i,
            w: vec![(1.0 - f) as f32, f as f32],
        }
    } else {
        Taps {
            first: i,
            w: vec![1.0],
        }
    }
}

/// The weights of every working sample of axis `a`: linear interpolation of the input line
/// after a Gaussian of `sigma` input voxels (none when 0), edges replicated.
fn sample_taps(a: &AxisMap, sigma: f64) -> Vec<Taps> {
    let n = a.n_in;
    let kernel: Vec<(isize, f64)> = if sigma > 0.0 {
        let r = (3.0 * sigma).ceil() as isize;
        let g: Vec<(isize, f64)> = (-r..=r)
            .map(|t| (t, (-(t as f64).powi(2) / (2.0 * sigma * sigma)).exp()))
            .collect();
        let sum: f64 = g.iter().map(|(_, v)| v).sum();
        g.into_iter().map(|(t, v)| (t, v / sum)).collect()
    } else {
        vec![(0, 1.0)]
    };
    (0..a.n_out)
        .map(|i| {
            let lin = linear_taps(a.to_input(i as f64), n);
            let lo = lin.first as isize + kernel[0].0;
            let hi = (lin.first + lin.w.len() - 1) as isize + kernel[kernel.len() - 1].0;
            let first = lo.clamp(0, n as isize - 1) as usize;
            let last = hi.clamp(0, n as isize - 1) as usize;
            let mut w = vec![0.0f64; last - first + 1];
            for (j, &lw) in lin.w.iter().enumerate() {
                for &(t, g) in &kernel {
                    let src = (lin.first as isize + j as isize + t).clamp(0, n as isize - 1);
                    w[src as usize - first] += f64::from(lw) * g;
                }
            }
            Taps {
                first,
                w: w.into_iter().map(|v| v as f32).collect(),
            }
        })
        .collect()
}

/// Applies per-axis weights (x, y, z) to a `[z][y][x]` array, axis by axis (x first); an axis
/// whose weights are the identity is passed through.
fn resample(input: ArrayView3<'_, f32>, taps: &[Vec<Taps>; 3]) -> Array3<f32> {
    let mut current: Option<Array3<f32>> = None;
    for (a, t) in taps.iter().enumerate() {
        let src = current.as_ref().map_or(input.view(), |c| c.view());
        let array_axis = Axis(2 - a);
        let n_in = src.len_of(array_axis);
        if is_identity(t, n_in) {
            continue;
        }
        let mut dim = [src.dim().0, src.dim().1, src.dim().2];
        dim[2 - a] = t.len();
        let mut out = Array3::<f32>::zeros((dim[0], dim[1], dim[2]));
        Zip::from(out.lanes_mut(array_axis))
            .and(src.lanes(array_axis))
            .par_for_each(|o, i| apply_line(o, i, t));
        current = Some(out);
    }
    current.unwrap_or_else(|| input.to_owned())
}

/// [`resample`] with the in-plane passes made one input slice at a time: the same values bit
/// for bit (each line sees the same inputs in the same order), but the volume after the x pass
/// (the input's slices at the working columns, on a 512 x 512 scan about 40 % of the input) is
/// never held whole; it was the segmentation's memory peak on long scans.
fn resample_in_plane_first(input: ArrayView3<'_, f32>, taps: &[Vec<Taps>; 3]) -> Array3<f32> {
    let (nz, _, _) = input.dim();
    let (ny_out, nx_out) = (taps[1].len(), taps[0].len());
    let in_plane = [taps[0].clone(), taps[1].clone(), identity_taps(1)];
    let mut mid = Array3::<f32>::zeros((nz, ny_out, nx_out));
    Zip::from(mid.axis_iter_mut(Axis(0)))
        .and(input.axis_iter(Axis(0)))
        .par_for_each(|mut out, slice| out.assign(&resample_plane(slice, &in_plane)));
    if is_identity(&taps[2], nz) {
        return mid;
    }
    resample(
        mid.view(),
        &[identity_taps(nx_out), identity_taps(ny_out), taps[2].clone()],
    )
}

/// The x and y passes of [`resample`] over one slice (`in_plane[2]` the one-slice identity).
fn resample_plane(plane: ArrayView2<'_, f32>, in_plane: &[Vec<Taps>; 3]) -> Array2<f32> {
    resample(plane.insert_axis(Axis(0)), in_plane).index_axis_move(Axis(0), 0)
}

/// Taps that copy `n` samples.
fn identity_taps(n: usize) -> Vec<Taps> {
    (0..n)
        .map(|first| Taps {
            first,
            w: vec![1.0],
        })
        .collect()
}

/// Whether `taps` copy their `n_in` input samples (the pass can be skipped).
fn is_identity(taps: &[Taps], n_in: usize) -> bool {
    taps.len() == n_in
        && taps
            .iter()
            .enumerate()
            .all(|(i, k)| k.first == i && k.w == [1.0])
}

fn apply_line(mut out: ArrayViewMut1<'_, f32>, input: ArrayView1<'_, f32>, taps: &[Taps]) {
    let line: Vec<f32> = input.iter().copied().collect();
    for (o, t) in out.iter_mut().zip(taps) {
        *o = t
            .w
            .iter()
            .zip(&line[t.first..t.first + t.w.len()])
            .map(|(w, v)| w * v)
            .sum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(n: (usize, usize, usize), s: [f64; 3], t: [f64; 3]) -> WorkingGrid {
        WorkingGrid::new(n, s, Some(t)).unwrap()
    }

    #[test]
    fn the_ct_resampled_slice_by_slice_in_plane_is_bit_for_bit_the_whole_volume_pass() {
        let ct = Array3::from_shape_fn((23, 31, 37), |(z, y, x)| {
            ((x * 7 + y * 13 + z * 29) % 97) as f32 * 11.3 - 500.0
        });
        // (nz, ny, nx), input spacing: downsampled in plane and along z, upsampled, equal
        // slices, and all three equal
        for (s, t) in [
            ([0.7, 0.7, 1.0], [2.0, 2.0, 2.5]),
            ([3.0, 3.0, 5.0], [2.0, 2.0, 2.5]),
            ([0.8, 0.8, 2.5], [2.0, 2.0, 2.5]),
            ([2.0, 2.0, 2.5], [2.0, 2.0, 2.5]),
        ] {
            let g = grid((23, 31, 37), s, t);
            let taps = g.ct_taps();
            let whole = resample(ct.view(), &taps);
            let sliced = resample_in_plane_first(ct.view(), &taps);
            assert_eq!(whole.dim(), sliced.dim(), "{s:?}");
            assert!(
                whole
                    .iter()
                    .zip(sliced.iter())
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{s:?}"
            );
        }
    }

    #[test]
    fn same_spacing_is_the_identity() {
        let g = grid((5, 6, 7), [2.0, 2.0, 2.5], [2.0, 2.0, 2.5]);
        assert!(g.is_identity());
        let ct = Array3::from_shape_fn((5, 6, 7), |(z, y, x)| (z * 100 + y * 10 + x) as f32);
        assert_eq!(g.resample_ct(ct.view()), ct);
        let (start, back) = g.map_to_input(&ct, [0, 0, 0]).unwrap();
        assert_eq!(start, [0, 0, 0]);
        assert_eq!(back, ct);
    }

    #[test]
    fn dims_and_geometry_keep_the_field_of_view_centred() {
        let g = grid((100, 512, 512), [0.7, 0.7, 1.0], [2.0, 2.0, 2.5]);
        assert_eq!(g.dims(), (40, 179, 179));
        let canon = Geometry::default();
        let canon = Geometry {
            spacing: [0.7, 0.7, 1.0],
            ..canon
        };
        let wg = g.geometry(&canon);
        // centre of the working grid = centre of the scan
        let c_in = canon.index_to_lps([255.5, 255.5, 49.5]);
        let c_w = wg.index_to_lps([89.0, 89.0, 19.5]);
        for a in 0..3 {
            assert!((c_in[a] - c_w[a]).abs() < 1e-9, "{c_in:?} {c_w:?}");
        }
        assert_eq!(wg.spacing, [2.0, 2.0, 2.5]);
    }

    #[test]
    fn linear_ramps_survive_both_ways() {
        // a ramp is reproduced by linear interpolation and by a symmetric prefilter
        let ct = Array3::from_shape_fn((40, 30, 60), |(z, _, x)| (x as f32) * 0.7 + z as f32);
        let g = grid((40, 30, 60), [0.7, 1.0, 1.0], [2.1, 1.0, 2.5]);
        let w = g.resample_ct(ct.view());
        let (nz, _, nx) = w.dim();
        for z in 4..nz - 4 {
            for x in 4..nx - 4 {
                let px = g.axes[0].to_input(x as f64);
                let pz = g.axes[2].to_input(z as f64);
                let want = px * 0.7 + pz;
                assert!((f64::from(w[[z, 3, x]]) - want).abs() < 1e-3);
            }
        }
    }

    #[test]
    fn downsampling_averages_noise() {
        // alternating +-1 (the Nyquist frequency) must not alias into the working grid
        // (401 samples: the working samples fall on scan samples)
        let ct = Array3::from_shape_fn((4, 4, 401), |(_, _, x)| if x % 2 == 0 { 1.0 } else { -1.0 });
        let g = grid((4, 4, 401), [0.5, 1.0, 1.0], [2.0, 1.0, 1.0]);
        let w = g.resample_ct(ct.view());
        assert_eq!(w.dim(), (4, 4, 100));
        // away from the edges (which replicate the first and last sample)
        let inner = w.slice(ndarray::s![.., .., 3..97]);
        let max = inner.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(max < 0.05, "aliased amplitude {max}");
        // without the prefilter the same grid reads the raw samples
        let raw = resample(ct.view(), &g.axes.each_ref().map(|a| sample_taps(a, 0.0)));
        let max_raw = raw.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(max_raw > 0.4, "{max_raw}");
    }

    #[test]
    fn a_box_map_comes_back_on_the_scan_grid() {
        let g = grid((50, 64, 64), [0.8, 0.8, 1.0], [2.0, 2.0, 2.5]);
        let (wz, wy, wx) = g.dims();
        // a constant 1 over a box well inside the working grid
        let map = Array3::<f32>::ones((6, 8, 8));
        let offset = [8, 8, 6];
        assert!(wx > 16 && wy > 16 && wz > 12);
        let (start, back) = g.map_to_input(&map, offset).unwrap();
        // scan voxels well inside the box read 1, those at its edges fall towards 0
        let centre = [
            g.axes[0].to_input(12.0).round() as usize - start[0],
            g.axes[1].to_input(12.0).round() as usize - start[1],
            g.axes[2].to_input(9.0).round() as usize - start[2],
        ];
        assert!((back[[centre[2], centre[1], centre[0]]] - 1.0).abs() < 1e-6);
        assert!(back[[0, 0, 0]] < 0.5);
        assert!(back.iter().all(|v| (0.0..=1.0 + 1e-6).contains(v)));
    }

    #[test]
    fn masks_keep_their_volume() {
        let m = Array3::from_shape_fn((60, 80, 80), |(z, y, x)| {
            let (dz, dy, dx) = (z as f64 - 30.0, y as f64 - 40.0, x as f64 - 40.0);
            u8::from(dx * dx + dy * dy + dz * dz * 0.64 < 400.0)
        });
        let g = grid((60, 80, 80), [0.8, 0.8, 1.0], [2.0, 2.0, 2.5]);
        let w = g.resample_mask(m.view());
        let v_in = m.iter().filter(|&&v| v != 0).count() as f64 * 0.64;
        let v_out = w.iter().filter(|&&v| v != 0).count() as f64 * 10.0;
        assert!((v_out / v_in - 1.0).abs() < 0.1, "{v_in} {v_out}");
    }

    #[test]
    fn bad_spacings_are_named() {
        let e = WorkingGrid::new((2, 2, 2), [1.0; 3], Some([f64::NAN, 1.0, 1.0])).unwrap_err();
        assert!(e.to_string().contains("working spacing along x"), "{e}");
        assert!(WorkingGrid::new((2, 2, 2), [1.0; 3], Some([1.0, 0.0, 1.0])).is_err());
    }

    #[test]
    fn the_map_comes_back_slice_by_slice_bit_for_bit() {
        // downsampled scans (fine pixels, thin or equal slices) and an upsampled one; boxes at
        // the grid's corner and inside it
        let cases = [
            ((40, 60, 70), [0.7, 0.7, 1.0], (5, 9, 11), [3, 4, 2]),
            ((12, 30, 30), [0.8, 0.8, 2.5], (6, 7, 8), [0, 0, 0]),
            ((9, 10, 11), [3.0, 3.0, 5.0], (4, 5, 6), [2, 1, 1]),
        ];
        for (n, s, d, offset) in cases {
            let g = grid(n, s, [2.0, 2.0, 2.5]);
            let map = Array3::from_shape_fn(d, |(z, y, x)| {
                ((z * 31 + y * 17 + x * 7) % 23) as f32 / 23.0
            });
            let (start, whole) = g.map_to_input(&map, offset).unwrap();
            let mut seen = Vec::new();
            let (start2, wdim) = g
                .map_to_input_slices(&map, offset, |k, slice| {
                    let want = whole.index_axis(Axis(0), k);
                    assert!(
                        slice.iter().zip(want.iter()).all(|(a, b)| a.to_bits() == b.to_bits()),
                        "slice {k} of {n:?} differs"
                    );
                    seen.push(k);
                })
                .unwrap();
            assert_eq!((start2, wdim), (start, whole.dim()));
            assert_eq!(seen, (0..whole.dim().0).collect::<Vec<_>>());
        }
    }
}
