//! Metrics of binary masks (non-zero = inside) for the CLI's `--truth` check and for evaluation:
//! the Dice similarity coefficient (DSC) of the paper's Table 1, and surface distances in mm.
//!
//! Surface convention (MONAI's `compute_average_surface_distance(symmetric=True)` and
//! `compute_hausdorff_distance(percentile=95)`): the surface of a mask is its voxels with at least
//! one 6-neighbour outside it (the volume border counts as outside), i.e. the mask XOR its
//! erosion by the 3D cross. Distances run between voxel centres in mm (spacing-aware exact
//! Euclidean distance transform, [`crate::eval::distance`]). ASSD is the mean of both directed sets
//! of surface distances together; HD95 is the larger of the two directed 95th percentiles
//! (linear interpolation, as `numpy.percentile`).

use crate::eval::distance::distance_to;
use ndarray::Array3;

/// DSC = 2 |A ∩ B| / (|A| + |B|); 1 when both masks are empty. `None` when the shapes differ.
///
/// ```
/// use ndarray::Array3;
/// let mut a = Array3::<u8>::zeros((2, 2, 2));
/// let mut b = a.clone();
/// a[[0, 0, 0]] = 1;
/// a[[0, 0, 1]] = 1;
/// b[[0, 0, 1]] = 1;
/// assert_eq!(pancseg::dice(&a, &b), Some(2.0 / 3.0));
/// assert_eq!(pancseg::dice(&a, &Array3::zeros((1, 2, 2))), None);
/// ```
pub fn dice(a: &Array3<u8>, b: &Array3<u8>) -> Option<f64> {
    if a.dim() != b.dim() {
        return None;
    }
    let (mut inter, mut na, mut nb) = (0u64, 0u64, 0u64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x != 0, y != 0);
        inter += u64::from(x && y);
        na += u64::from(x);
        nb += u64::from(y);
    }
    Some(if na + nb == 0 {
        1.0
    } else {
        2.0 * inter as f64 / (na + nb) as f64
    })
}

/// Surface voxels of a mask (see the module doc).
pub fn surface(mask: &Array3<u8>) -> Array3<bool> {
    let (nz, ny, nx) = mask.dim();
    let at = |z: isize, y: isize, x: isize| -> bool {
        z >= 0
            && y >= 0
            && x >= 0
            && (z as usize) < nz
            && (y as usize) < ny
            && (x as usize) < nx
            && mask[[z as usize, y as usize, x as usize]] != 0
    };
    Array3::from_shape_fn((nz, ny, nx), |(z, y, x)| {
        if mask[[z, y, x]] == 0 {
            return false;
        }
        let (z, y, x) = (z as isize, y as isize, x as isize);
        [
            (z - 1, y, x),
            (z + 1, y, x),
            (z, y - 1, x),
            (z, y + 1, x),
            (z, y, x - 1),
            (z, y, x + 1),
        ]
        .iter()
        .any(|&(a, b, c)| !at(a, b, c))
    })
}

/// Distances (mm) from each surface voxel of `a` to the surface of `b`.
fn directed(a_surface: &Array3<bool>, b_surface: &Array3<bool>, spacing: [f64; 3]) -> Vec<f64> {
    let d = distance_to(b_surface, spacing);
    a_surface
        .iter()
        .zip(d.iter())
        .filter(|(&s, _)| s)
        .map(|(_, &v)| v)
        .collect()
}

/// `numpy.percentile(v, q)` with linear interpolation (`v` non-empty).
fn percentile(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let pos = (v.len() - 1) as f64 * q / 100.0;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// Average symmetric surface distance and 95% Hausdorff distance (mm) of two masks on the same
/// grid; `None` when a mask is empty or the shapes differ.
pub fn surface_distances(
    a: &Array3<u8>,
    b: &Array3<u8>,
    spacing: [f64; 3],
) -> Option<SurfaceDistances> {
    if a.dim() != b.dim() {
        return None;
    }
    // Work on the joint bounding box of the masks plus one voxel (clamped to the grid): the
    // surfaces are the same voxels (a neighbour outside the grid stays outside it) and every
    // surface voxel is inside, so the distances are exactly those of the whole grid.
    let (nz, ny, nx) = a.dim();
    let (mut lo, mut hi) = ([usize::MAX; 3], [0usize; 3]);
    for (((z, y, x), &va), &vb) in a.indexed_iter().zip(b.iter()) {
        if va != 0 || vb != 0 {
            for (k, v) in [z, y, x].into_iter().enumerate() {
                lo[k] = lo[k].min(v);
                hi[k] = hi[k].max(v);
            }
        }
    }
    if lo[0] == usize::MAX {
        return None;
    }
    let window = ndarray::s![
        lo[0].saturating_sub(1)..(hi[0] + 2).min(nz),
        lo[1].saturating_sub(1)..(hi[1] + 2).min(ny),
        lo[2].saturating_sub(1)..(hi[2] + 2).min(nx)
    ];
    let (a, b) = (a.slice(window).to_owned(), b.slice(window).to_owned());
    let (sa, sb) = (surface(&a), surface(&b));
    if !sa.iter().any(|&v| v) || !sb.iter().any(|&v| v) {
        return None;
    }
    let ab = directed(&sa, &sb, spacing);
    let ba = directed(&sb, &sa, spacing);
    let assd = (ab.iter().sum::<f64>() + ba.iter().sum::<f64>()) / (ab.len() + ba.len()) as f64;
    let hd95 = percentile(ab, 95.0).max(percentile(ba, 95.0));
    Some(SurfaceDistances { assd, hd95 })
}

/// Surface distances in mm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurfaceDistances {
    pub assd: f64,
    pub hd95: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn two_single_voxels_are_their_distance_apart() {
        let mut a = Array3::<u8>::zeros((3, 4, 8));
        let mut b = a.clone();
        a[[1, 2, 1]] = 1;
        b[[1, 2, 4]] = 1;
        let d = surface_distances(&a, &b, [2.0, 1.0, 3.0]).unwrap();
        assert_eq!(d.assd, 6.0);
        assert_eq!(d.hd95, 6.0);
        assert_eq!(surface_distances(&a, &a, [1.0; 3]).unwrap().assd, 0.0);
        assert!(surface_distances(&a, &Array3::zeros((3, 4, 8)), [1.0; 3]).is_none());
    }

    #[test]
    fn a_cube_and_its_shift_by_hand() {
        // 3x3x3 cube: 26 surface voxels (all but the centre); shifted one voxel along z
        // (2.5 mm): surface voxels of one cube at distance 0 or 2.5 mm from the other's surface
        let mut a = Array3::<u8>::zeros((7, 7, 7));
        a.slice_mut(ndarray::s![1..4, 2..5, 2..5]).fill(1);
        let mut b = Array3::<u8>::zeros((7, 7, 7));
        b.slice_mut(ndarray::s![2..5, 2..5, 2..5]).fill(1);
        assert_eq!(surface(&a).iter().filter(|&&v| v).count(), 26);
        let d = surface_distances(&a, &b, [1.0, 1.0, 2.5]).unwrap();
        // a's bottom face (9 voxels, z = 1) is 2.5 mm from b; a's centre column voxel at z = 2 is
        // not on a's surface; every other surface voxel of a lies on b's surface except a's
        // face-centre voxel at z = 3 (the centre of b, not on b's surface): 1 mm from b's side
        // faces. By symmetry the same from b: (9 * 2.5 + 1 * 1.0) * 2 / 52
        assert!(
            (d.assd - (9.0 * 2.5 + 1.0) * 2.0 / 52.0).abs() < 1e-12,
            "{}",
            d.assd
        );
        assert_eq!(d.hd95, 2.5);
    }

    #[test]
    fn matches_brute_force_on_random_masks() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..20 {
            let a = Array3::from_shape_fn((5, 6, 7), |_| u8::from(rng.random_bool(0.3)));
            let b = Array3::from_shape_fn((5, 6, 7), |_| u8::from(rng.random_bool(0.3)));
            let sp = [0.7, 1.3, 2.5];
            let (sa, sb) = (surface(&a), surface(&b));
            let pts = |s: &Array3<bool>| -> Vec<[f64; 3]> {
                s.indexed_iter()
                    .filter(|(_, &v)| v)
                    .map(|((z, y, x), _)| [x as f64 * sp[0], y as f64 * sp[1], z as f64 * sp[2]])
                    .collect()
            };
            let (pa, pb) = (pts(&sa), pts(&sb));
            let near = |p: &[f64; 3], q: &[[f64; 3]]| {
                q.iter()
                    .map(|r| {
                        ((p[0] - r[0]).powi(2) + (p[1] - r[1]).powi(2) + (p[2] - r[2]).powi(2))
                            .sqrt()
                    })
                    .fold(f64::INFINITY, f64::min)
            };
            let ab: Vec<f64> = pa.iter().map(|p| near(p, &pb)).collect();
            let ba: Vec<f64> = pb.iter().map(|p| near(p, &pa)).collect();
            let assd =
                (ab.iter().sum::<f64>() + ba.iter().sum::<f64>()) / (ab.len() + ba.len()) as f64;
            let hd95 = percentile(ab, 95.0).max(percentile(ba, 95.0));
            let d = surface_distances(&a, &b, sp).unwrap();
            assert!((d.assd - assd).abs() < 1e-9 && (d.hd95 - hd95).abs() < 1e-9);
        }
    }

    /// The ellipsoids of `training/bench/surface_reference.py` (grid z 16, y 24, x 20).
    fn ellipsoid(c: [f64; 3], r: [f64; 3]) -> Array3<u8> {
        Array3::from_shape_fn((16, 24, 20), |(z, y, x)| {
            let (x, y, z) = (x as f64, y as f64, z as f64);
            u8::from(
                ((x - c[0]) / r[0]).powi(2)
                    + ((y - c[1]) / r[1]).powi(2)
                    + ((z - c[2]) / r[2]).powi(2)
                    <= 1.0,
            )
        })
    }

    #[test]
    fn matches_the_scipy_reference() {
        // values printed by training/bench/surface_reference.py (scipy, MONAI's convention)
        let cases = [
            (
                [10.0, 12.0, 8.0],
                [6.0, 5.0, 3.0],
                [11.0, 12.0, 8.0],
                [6.0, 5.0, 3.0],
                0.288659793814,
                0.8,
            ),
            (
                [10.0, 12.0, 8.0],
                [6.0, 5.0, 3.0],
                [9.0, 10.0, 7.0],
                [4.0, 7.0, 4.0],
                1.411350860899,
                4.357171429215,
            ),
            (
                [5.0, 5.0, 3.0],
                [3.0, 3.0, 2.0],
                [14.0, 18.0, 11.0],
                [4.0, 3.0, 3.0],
                19.094438841148,
                24.242740089657,
            ),
        ];
        for (ca, ra, cb, rb, assd, hd95) in cases {
            let d =
                surface_distances(&ellipsoid(ca, ra), &ellipsoid(cb, rb), [0.8, 0.8, 2.5]).unwrap();
            assert!((d.assd - assd).abs() < 1e-9, "{} vs {assd}", d.assd);
            assert!((d.hd95 - hd95).abs() < 1e-9, "{} vs {hd95}", d.hd95);
        }
    }

    #[test]
    fn percentile_interpolates_like_numpy() {
        // numpy.percentile([1, 2, 3, 4], 95) = 3.85
        assert!((percentile(vec![4.0, 1.0, 3.0, 2.0], 95.0) - 3.85).abs() < 1e-12);
        assert_eq!(percentile(vec![7.0], 95.0), 7.0);
    }

    #[test]
    fn dice_of_hand_made_masks() {
        let mut a = Array3::<u8>::zeros((1, 2, 4));
        let mut b = a.clone();
        a.slice_mut(ndarray::s![0, 0, ..]).fill(1); // 4 voxels
        b.slice_mut(ndarray::s![0, .., 0..2]).fill(1); // 4 voxels, 2 shared
        assert_eq!(dice(&a, &b), Some(0.5));
        assert_eq!(dice(&a, &a), Some(1.0));
        let empty = Array3::<u8>::zeros((1, 2, 4));
        assert_eq!(dice(&empty, &empty), Some(1.0));
        assert_eq!(dice(&a, &empty), Some(0.0));
        assert_eq!(dice(&a, &Array3::zeros((2, 2, 4))), None);
    }
}
