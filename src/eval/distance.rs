//! Exact Euclidean distance transform in millimetres on anisotropic 3D grids.
//!
//! Felzenszwalb & Huttenlocher's separable algorithm (lower envelope of parabolas, one pass per
//! axis, linear time). Used for rings around structures (cohort statistics) and surface
//! distances (evaluation metrics). Written here because the maintained crates found compute
//! 2D or isotropic transforms only, and this is short.

use ndarray::Array3;

/// 1D squared-distance transform of `f` (sampling distance `w` mm) into `out`.
fn edt_1d(f: &[f64], w: f64, out: &mut [f64], v: &mut [usize], z: &mut [f64]) {
    let n = f.len();
    let mut k = 0usize;
    v[0] = 0;
    z[0] = f64::NEG_INFINITY;
    z[1] = f64::INFINITY;
    let pos = |q: usize| q as f64 * w;
    for q in 1..n {
        if f[q].is_infinite() && f[v[k]].is_infinite() {
            // both infinite: keep the existing parabola (no intersection defined)
            continue;
        }
        loop {
            let p = v[k];
            let s = if f[p].is_infinite() {
                f64::NEG_INFINITY
            } else {
                ((f[q] + pos(q) * pos(q)) - (f[p] + pos(p) * pos(p))) / (2.0 * (pos(q) - pos(p)))
            };
            if s <= z[k] && k > 0 {
                k -= 1;
                continue;
            }
            if s <= z[k] {
                // k == 0: replace the first parabola
                v[0] = q;
                z[0] = f64::NEG_INFINITY;
                z[1] = f64::INFINITY;
                break;
            }
            k += 1;
            v[k] = q;
            z[k] = s;
            z[k + 1] = f64::INFINITY;
            break;
        }
    }
    k = 0;
    for q in 0..n {
        while z[k + 1] < pos(q) {
            k += 1;
        }
        let p = v[k];
        out[q] = if f[p].is_infinite() {
            f64::INFINITY
        } else {
            (pos(q) - pos(p)).powi(2) + f[p]
        };
    }
}

/// Distance (mm) from every voxel to the nearest voxel where `inside` is true; 0 inside.
/// `spacing` is `[x, y, z]` mm for an array indexed `[z][y][x]`. Infinite when `inside` is empty.
pub fn distance_to(inside: &Array3<bool>, spacing: [f64; 3]) -> Array3<f64> {
    let (nz, ny, nx) = inside.dim();
    let mut d = inside.mapv(|b| if b { 0.0 } else { f64::INFINITY });
    let nmax = nx.max(ny).max(nz);
    let mut f = vec![0.0; nmax];
    let mut out = vec![0.0; nmax];
    let mut v = vec![0usize; nmax];
    let mut zb = vec![0.0; nmax + 1];
    // axis 2 (x), 1 (y), 0 (z)
    for (axis, n, w) in [
        (2usize, nx, spacing[0]),
        (1, ny, spacing[1]),
        (0, nz, spacing[2]),
    ] {
        for mut lane in d.lanes_mut(ndarray::Axis(axis)) {
            for (i, x) in lane.iter().enumerate() {
                f[i] = *x;
            }
            edt_1d(&f[..n], w, &mut out[..n], &mut v[..n], &mut zb[..n + 1]);
            for (i, x) in lane.iter_mut().enumerate() {
                *x = out[i];
            }
        }
    }
    d.mapv_inplace(f64::sqrt);
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_brute_force_on_anisotropic_grid() {
        let (nz, ny, nx) = (5, 7, 9);
        let spacing = [0.7, 1.3, 2.5];
        let mut inside = Array3::from_elem((nz, ny, nx), false);
        inside[[1, 2, 3]] = true;
        inside[[4, 6, 0]] = true;
        inside[[2, 5, 8]] = true;
        let d = distance_to(&inside, spacing);
        for ((z, y, x), &got) in d.indexed_iter() {
            let mut best = f64::INFINITY;
            for ((zz, yy, xx), &b) in inside.indexed_iter() {
                if b {
                    let dd = (((x as f64 - xx as f64) * spacing[0]).powi(2)
                        + ((y as f64 - yy as f64) * spacing[1]).powi(2)
                        + ((z as f64 - zz as f64) * spacing[2]).powi(2))
                    .sqrt();
                    best = best.min(dd);
                }
            }
            assert!((got - best).abs() < 1e-9, "({z},{y},{x}) {got} vs {best}");
        }
    }

    #[test]
    fn empty_is_infinite() {
        let inside = Array3::from_elem((2, 2, 2), false);
        assert!(distance_to(&inside, [1.0; 3])
            .iter()
            .all(|v| v.is_infinite()));
    }
}
