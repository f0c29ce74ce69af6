//! Re-indexing a label image onto the voxel grid of its CT, without resampling.
//!
//! Public datasets often store a CT and its label on the *same* physical voxel grid but with
//! different array layouts: the NIH Pancreas-CT labels are NIfTI files written by a tool that
//! stores the rows bottom-up (a flipped y axis), other datasets transpose axes or store slices
//! head-to-feet. In patient coordinates the voxel centres coincide exactly; only the order in
//! which the voxels are stored differs. [`align_to_grid`] recovers the label on the CT's array
//! layout by an exact permutation and reversal of axes, so the label value of CT voxel
//! `(i, j, k)` is the value the label file stores for the voxel centred at the same LPS point.
//!
//! Nearest-neighbour (or any other) resampling is deliberately **not** done. A label whose
//! voxel centres do not sit on the CT's voxel centres (other spacing, an origin shifted by a
//! fraction of a voxel, a rotated grid, a cropped or padded extent) means the two files do not
//! belong together, or one was resampled by some tool on the way: silently resampling would
//! shift the reference segmentation by up to half a voxel, or by much more when the files are
//! mismatched, and corrupt training targets and evaluation scores without any visible sign. Such
//! a pair is an [`Error::Geometry`] whose message says what differs (dimensions, spacing, origin
//! offset in mm, or rotation), for the user to fix the data.
//!
//! Tolerances: voxel centres must coincide within [`CENTRE_TOLERANCE_VOXELS`] of a label voxel
//! (checked at the eight corners of the grid, which bounds every voxel since the index mapping is
//! affine), and spacings must agree within [`SPACING_TOLERANCE`] (relative). Both are far above
//! the rounding of geometry stored as f32 in NIfTI headers or as decimal strings in DICOM.

// Geometry code indexes small matrices by row and column; index loops read clearer there.
#![allow(clippy::needless_range_loop)]

use ndarray::{Array3, Axis};
use pancseg::volume::{Geometry, Image};
use pancseg::{Error, Result};

/// Largest distance, in label voxels, between a reference voxel centre and the label voxel
/// centre it is matched with.
pub const CENTRE_TOLERANCE_VOXELS: f64 = 1e-3;

/// Largest relative difference between matched spacings.
pub const SPACING_TOLERANCE: f64 = 1e-4;

const AXIS_NAMES: [&str; 3] = ["x (columns)", "y (rows)", "z (slices)"];

/// How each reference voxel axis maps onto the image's voxel axes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AxisMap {
    /// `axis[c]`: image voxel axis (0 = i, 1 = j, 2 = k) that reference axis `c` runs along.
    axis: [usize; 3],
    /// `flipped[c]`: whether the image index decreases when the reference index increases.
    flipped: [bool; 3],
}

/// Re-indexes `image` onto the grid of `reference` (dimensions `dims_zyx` as `(nz, ny, nx)`)
/// when both describe the same voxel grid up to a permutation and reversal of axes.
///
/// Returns the array indexed `[z][y][x]` on the reference grid: element `(k, j, i)` is the image
/// voxel whose centre is the reference voxel centre `(i, j, k)`. Fails with
/// [`Error::Geometry`] naming what differs when the grids are not the same (see the module
/// documentation: nothing is ever resampled).
pub fn align_to_grid<T: Copy + Default>(
    image: &Image<T>,
    reference: &Geometry,
    dims_zyx: (usize, usize, usize),
) -> Result<Array3<T>> {
    let img = &image.geometry;
    img.validate()
        .map_err(|e| Error::Geometry(format!("label image: {e}")))?;
    reference
        .validate()
        .map_err(|e| Error::Geometry(format!("reference: {e}")))?;
    let ref_dims = [dims_zyx.2, dims_zyx.1, dims_zyx.0];
    let img_dims = image.dims_xyz();
    if ref_dims.contains(&0) || img_dims.contains(&0) {
        return Err(Error::Geometry(format!(
            "empty grid: label dims {img_dims:?}, reference dims {ref_dims:?} (x, y, z)"
        )));
    }

    let map = axis_map(img, reference)?;
    let permuted_dims = [0, 1, 2].map(|c| img_dims[map.axis[c]]);
    let permuted_spacing = [0, 1, 2].map(|c| img.spacing[map.axis[c]]);
    let describe = describe_map(&map);

    // Same extent: every reference voxel has a label voxel and vice versa.
    if permuted_dims != ref_dims {
        return Err(Error::Geometry(format!(
            "dimensions differ: label {img_dims:?} (x, y, z), which is {permuted_dims:?} in the \
             reference axis order ({describe}), reference {ref_dims:?}"
        )));
    }

    // Same spacing along each matched axis.
    for c in 0..3 {
        let (s_ref, s_img) = (reference.spacing[c], permuted_spacing[c]);
        if (s_img - s_ref).abs() > SPACING_TOLERANCE * s_ref {
            return Err(Error::Geometry(format!(
                "spacing differs along reference {}: label {} mm vs reference {} mm (label \
                 spacing {} mm, {} in the reference axis order ({describe}); reference {} mm)",
                AXIS_NAMES[c],
                num(s_img),
                num(s_ref),
                vec3(img.spacing),
                vec3(permuted_spacing),
                vec3(reference.spacing)
            )));
        }
    }

    let inverse = InverseAffine::of(img)?;

    // Small rotations: the step of each reference axis, seen in label voxel indices, must not
    // move off its matched label axis by more than the tolerance across the whole grid.
    for c in 0..3 {
        let mut step = [0.0; 3];
        step[c] = 1.0;
        let u = inverse.direction_to_index(reference.index_to_lps(step), reference.origin);
        let drift: f64 = (0..3)
            .filter(|&a| a != map.axis[c])
            .map(|a| u[a].abs())
            .sum::<f64>()
            * (ref_dims[c] - 1) as f64;
        if drift > CENTRE_TOLERANCE_VOXELS {
            let col_ref = column(&reference.direction, c);
            let col_img = column(&img.direction, map.axis[c]);
            let cos = dot(col_ref, col_img).abs().min(1.0);
            return Err(Error::Geometry(format!(
                "grids are rotated against each other: reference axis {} is {:.4}° off label \
                 axis {} (drifting {drift:.3} voxels across the grid); reference direction {}, \
                 label direction {}",
                AXIS_NAMES[c],
                cos.acos().to_degrees(),
                ["i", "j", "k"][map.axis[c]],
                mat3(&reference.direction),
                mat3(&img.direction)
            )));
        }
    }

    // Same position: the first reference voxel is the matching corner of the label grid.
    let mut corner = [0.0; 3];
    for c in 0..3 {
        if map.flipped[c] {
            corner[map.axis[c]] = (img_dims[map.axis[c]] - 1) as f64;
        }
    }
    let q = inverse.point_to_index(reference.origin);
    let off = max_abs_diff(q, corner);
    if off > CENTRE_TOLERANCE_VOXELS {
        let target = img.index_to_lps(corner);
        let d = [0, 1, 2].map(|r| reference.origin[r] - target[r]);
        return Err(Error::Geometry(format!(
            "origins differ: the first reference voxel centre {} mm is offset by \
             [{:.4}, {:.4}, {:.4}] mm (LPS, {:.4} mm, {off:.4} label voxels) from the label \
             voxel centre {} mm it should coincide with ({describe})",
            vec3(reference.origin),
            d[0],
            d[1],
            d[2],
            dot(d, d).sqrt(),
            vec3(target)
        )));
    }

    // Exhaustive check at the eight corners of the reference grid: the index mapping is affine,
    // so its largest error over the grid is at a corner.
    for corner_bits in 0..8usize {
        let r = [0, 1, 2].map(|c| {
            if corner_bits & (1 << c) != 0 {
                (ref_dims[c] - 1) as f64
            } else {
                0.0
            }
        });
        let want = expected_index(&map, &img_dims, r);
        let got = inverse.point_to_index(reference.index_to_lps(r));
        let err = max_abs_diff(got, want);
        if err > CENTRE_TOLERANCE_VOXELS {
            return Err(Error::Geometry(format!(
                "voxel centres drift apart: reference voxel {r:?} lands {err:.4} label voxels \
                 from label voxel {want:?} (spacing or direction differences accumulate across \
                 the grid; label spacing {} mm, reference spacing {} mm, label direction {}, \
                 reference direction {})",
                vec3(img.spacing),
                vec3(reference.spacing),
                mat3(&img.direction),
                mat3(&reference.direction)
            )));
        }
    }

    // The re-indexing itself: reverse the flipped image axes, then permute them into the
    // reference order. Array axes are [z][y][x], so voxel axis `a` is array axis `2 - a`.
    let mut view = image.data.view();
    for c in 0..3 {
        if map.flipped[c] {
            view.invert_axis(Axis(2 - map.axis[c]));
        }
    }
    let view = view.permuted_axes([2 - map.axis[2], 2 - map.axis[1], 2 - map.axis[0]]);
    Ok(view.as_standard_layout().into_owned())
}

/// A number with at most 6 decimals, trailing zeros removed (f32 header noise hidden).
fn num(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

fn vec3(v: [f64; 3]) -> String {
    format!("[{}, {}, {}]", num(v[0]), num(v[1]), num(v[2]))
}

/// A direction matrix as its three columns (the voxel axes' unit vectors).
fn mat3(m: &[[f64; 3]; 3]) -> String {
    let cols = [0, 1, 2].map(|c| vec3(column(m, c)));
    format!("columns {}", cols.join(" "))
}

fn column(m: &[[f64; 3]; 3], c: usize) -> [f64; 3] {
    [m[0][c], m[1][c], m[2][c]]
}

fn max_abs_diff(a: [f64; 3], b: [f64; 3]) -> f64 {
    (0..3).map(|r| (a[r] - b[r]).abs()).fold(0.0, f64::max)
}

/// Label voxel index `(i, j, k)` matched with reference voxel index `r` under `map`.
fn expected_index(map: &AxisMap, img_dims: &[usize; 3], r: [f64; 3]) -> [f64; 3] {
    let mut out = [0.0; 3];
    for c in 0..3 {
        let a = map.axis[c];
        out[a] = if map.flipped[c] {
            (img_dims[a] - 1) as f64 - r[c]
        } else {
            r[c]
        };
    }
    out
}

fn describe_map(map: &AxisMap) -> String {
    let names = ["i", "j", "k"];
    (0..3)
        .map(|c| {
            format!(
                "reference {} = label {}{}",
                ["i", "j", "k"][c],
                if map.flipped[c] { "-" } else { "+" },
                names[map.axis[c]]
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Matches each reference axis with the label axis most parallel to it; fails when that is not
/// a permutation (grids rotated by about 45° or more against each other).
fn axis_map(img: &Geometry, reference: &Geometry) -> Result<AxisMap> {
    let mut map = AxisMap {
        axis: [0; 3],
        flipped: [false; 3],
    };
    let mut used = [false; 3];
    for c in 0..3 {
        let col_ref = column(&reference.direction, c);
        let (mut best, mut best_dot) = (0usize, 0.0f64);
        for a in 0..3 {
            let d = dot(col_ref, column(&img.direction, a));
            if d.abs() > best_dot.abs() {
                best = a;
                best_dot = d;
            }
        }
        // Orthonormal columns: an axis within 45° of its match is never within 45° of another.
        if used[best] || best_dot.abs() < std::f64::consts::FRAC_1_SQRT_2 {
            return Err(Error::Geometry(format!(
                "grids are rotated against each other, not only permuted or flipped: reference \
                 direction {} ({}), label direction {} ({})",
                mat3(&reference.direction),
                reference.orientation_code(),
                mat3(&img.direction),
                img.orientation_code()
            )));
        }
        used[best] = true;
        map.axis[c] = best;
        map.flipped[c] = best_dot < 0.0;
    }
    Ok(map)
}

/// Inverse of a geometry's voxel-to-LPS affine, computed exactly (not by transposing the
/// direction, which is orthonormal only within the validation tolerance).
struct InverseAffine {
    m: [[f64; 3]; 3],
    origin: [f64; 3],
}

impl InverseAffine {
    fn of(g: &Geometry) -> Result<Self> {
        let mut a = [[0.0; 3]; 3];
        for r in 0..3 {
            for c in 0..3 {
                a[r][c] = g.direction[r][c] * g.spacing[c];
            }
        }
        let det = a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
            - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
            + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
        if !det.is_finite() || det == 0.0 {
            return Err(Error::Geometry(format!(
                "label voxel-to-patient matrix is singular (direction {:?}, spacing {:?})",
                g.direction, g.spacing
            )));
        }
        let mut m = [[0.0; 3]; 3];
        for r in 0..3 {
            for c in 0..3 {
                // Adjugate: cofactor of a[c][r].
                let (r1, r2) = ((c + 1) % 3, (c + 2) % 3);
                let (c1, c2) = ((r + 1) % 3, (r + 2) % 3);
                m[r][c] = (a[r1][c1] * a[r2][c2] - a[r1][c2] * a[r2][c1]) / det;
            }
        }
        Ok(InverseAffine {
            m,
            origin: g.origin,
        })
    }

    /// Fractional voxel index of an LPS point.
    fn point_to_index(&self, p: [f64; 3]) -> [f64; 3] {
        self.direction_to_index(p, self.origin)
    }

    /// Voxel-index coordinates of the vector `p - from`.
    fn direction_to_index(&self, p: [f64; 3], from: [f64; 3]) -> [f64; 3] {
        let d = [p[0] - from[0], p[1] - from[1], p[2] - from[2]];
        [0, 1, 2].map(|r| self.m[r][0] * d[0] + self.m[r][1] * d[1] + self.m[r][2] * d[2])
    }
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

#[cfg(test)]
mod tests {
    use super::*;
    use pancseg::volume::IDENTITY;

    fn reference() -> Geometry {
        Geometry {
            spacing: [0.75, 0.8, 2.5],
            origin: [-12.0, 30.5, -100.0],
            direction: IDENTITY,
        }
    }

    /// A reference-grid array with distinct values: 100 k + 10 j + i.
    fn reference_data() -> Array3<u16> {
        Array3::from_shape_fn((4, 5, 6), |(k, j, i)| (100 * k + 10 * j + i) as u16)
    }

    fn message(r: Result<Array3<u16>>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn identity_is_a_copy() {
        let g = reference();
        let image = Image::new(reference_data(), g).unwrap();
        let out = align_to_grid(&image, &g, (4, 5, 6)).unwrap();
        assert_eq!(out, reference_data());
        assert!(out.is_standard_layout());
    }

    #[test]
    fn flipped_y_axis_is_recovered() {
        let g = reference();
        let mut flipped = g;
        flipped.origin = g.index_to_lps([0.0, 4.0, 0.0]);
        for r in 0..3 {
            flipped.direction[r][1] = -g.direction[r][1];
        }
        let mut data = reference_data();
        data.invert_axis(Axis(1));
        let image = Image::new(data.as_standard_layout().into_owned(), flipped).unwrap();
        let out = align_to_grid(&image, &g, (4, 5, 6)).unwrap();
        assert_eq!(out, reference_data());
        assert!(out.is_standard_layout());
    }

    #[test]
    fn permuted_and_flipped_axes_are_recovered() {
        // Label voxel axes: i' = reference z (flipped), j' = reference x, k' = reference y.
        let g = reference();
        let col = |c: usize, sign: f64| [0, 1, 2].map(|r| sign * g.direction[r][c]);
        let (c0, c1, c2) = (col(2, -1.0), col(0, 1.0), col(1, 1.0));
        let label_geom = Geometry {
            spacing: [g.spacing[2], g.spacing[0], g.spacing[1]],
            origin: g.index_to_lps([0.0, 0.0, 3.0]),
            direction: [
                [c0[0], c1[0], c2[0]],
                [c0[1], c1[1], c2[1]],
                [c0[2], c1[2], c2[2]],
            ],
        };
        // Label dims (x', y', z') = (nz, nx, ny) = (4, 6, 5); array [k'][j'][i'] = [y][x][3 - z].
        let want = reference_data();
        let data = Array3::from_shape_fn((5, 6, 4), |(kp, jp, ip)| want[[3 - ip, kp, jp]]);
        let image = Image::new(data, label_geom).unwrap();
        // Every voxel centre coincides.
        for (k, j, i) in [(0, 0, 0), (3, 4, 5), (1, 2, 3)] {
            let p = g.index_to_lps([i as f64, j as f64, k as f64]);
            let q = label_geom.index_to_lps([(3 - k) as f64, i as f64, j as f64]);
            assert!(max_abs_diff(p, q) < 1e-9, "{p:?} {q:?}");
        }
        let out = align_to_grid(&image, &g, (4, 5, 6)).unwrap();
        assert_eq!(out, want);
        assert!(out.is_standard_layout());
    }

    #[test]
    fn f32_rounded_geometry_is_accepted() {
        // What a NIfTI header does to the geometry: every value rounded to f32.
        let g = Geometry {
            spacing: [0.8, 0.8, 1.1],
            origin: [-187.3, -201.7, -310.9],
            direction: IDENTITY,
        };
        let mut rounded = g;
        rounded.spacing = g.spacing.map(|v| v as f32 as f64);
        rounded.origin = g.origin.map(|v| v as f32 as f64);
        let image = Image::new(reference_data(), rounded).unwrap();
        assert_eq!(
            align_to_grid(&image, &g, (4, 5, 6)).unwrap(),
            reference_data()
        );
    }

    #[test]
    fn mismatched_spacing_is_an_error() {
        let g = reference();
        let mut other = g;
        other.spacing[1] = 0.9;
        let image = Image::new(reference_data(), other).unwrap();
        let msg = message(align_to_grid(&image, &g, (4, 5, 6)));
        assert!(msg.contains("spacing differs"), "{msg}");
        assert!(
            msg.contains("along reference y (rows): label 0.9 mm vs reference 0.8 mm"),
            "{msg}"
        );
    }

    #[test]
    fn mismatched_dims_are_an_error() {
        let g = reference();
        let image = Image::new(reference_data(), g).unwrap();
        let msg = message(align_to_grid(&image, &g, (5, 5, 6)));
        assert!(msg.contains("dimensions differ"), "{msg}");
        assert!(msg.contains("[6, 5, 4]"), "{msg}");
        assert!(msg.contains("[6, 5, 5]"), "{msg}");
    }

    #[test]
    fn shifted_origin_is_an_error_with_the_offset_in_mm() {
        let g = reference();
        let mut other = g;
        other.origin[0] += 0.375; // half a voxel along x
        let image = Image::new(reference_data(), other).unwrap();
        let msg = message(align_to_grid(&image, &g, (4, 5, 6)));
        assert!(msg.contains("origins differ"), "{msg}");
        assert!(msg.contains("[-0.3750, 0.0000, 0.0000] mm"), "{msg}");
        assert!(msg.contains("0.5000 label voxels"), "{msg}");
    }

    #[test]
    fn flipped_direction_without_moved_origin_is_an_error() {
        // A flip of the direction alone (origin kept) describes a different region.
        let g = reference();
        let mut other = g;
        other.direction[1][1] = -1.0;
        let image = Image::new(reference_data(), other).unwrap();
        let msg = message(align_to_grid(&image, &g, (4, 5, 6)));
        assert!(msg.contains("origins differ"), "{msg}");
        assert!(msg.contains("reference j = label -j"), "{msg}");
    }

    #[test]
    fn rotation_is_an_error() {
        let g = reference();
        let (c, s) = (30f64.to_radians().cos(), 30f64.to_radians().sin());
        let mut other = g;
        other.direction = [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]];
        let image = Image::new(reference_data(), other).unwrap();
        let msg = message(align_to_grid(&image, &g, (4, 5, 6)));
        assert!(msg.contains("rotated"), "{msg}");
        assert!(msg.contains("30.0000°"), "{msg}");

        let (c, s) = (45f64.to_radians().cos(), 45f64.to_radians().sin());
        other.direction = [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]];
        let image = Image::new(reference_data(), other).unwrap();
        let msg = message(align_to_grid(&image, &g, (4, 5, 6)));
        assert!(msg.contains("rotated"), "{msg}");
    }

    #[test]
    fn accumulated_spacing_drift_is_an_error() {
        // Spacing within the relative tolerance, but drifting past 1e-3 voxel over 600 voxels.
        let g = Geometry {
            spacing: [1.0, 1.0, 1.0],
            ..Geometry::default()
        };
        let mut other = g;
        other.spacing[0] = 1.0 + 5e-5;
        let image = Image::new(Array3::<u8>::zeros((1, 1, 600)), other).unwrap();
        let msg = align_to_grid(&image, &g, (1, 1, 600))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("drift apart"), "{msg}");
    }
}
