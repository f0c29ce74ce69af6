//! Thin-plate-spline (TPS) deformations of 2D sampling grids, the training augmentation of the
//! paper (Sec. 2.5): a regular k x k grid of control points over the unit square is moved at
//! random within a bound, and the TPS with radial basis phi(r) = r² log r that interpolates the
//! moves gives a smooth warp of every sampling position.
//!
//! Written here (a (k² + 3)-unknown dense solve) because it is small and the warp must be exactly
//! the paper's, with the interpolation property tested.

use rand::Rng;

/// phi(r) = r² log r, with phi(0) = 0.
fn phi(r2: f64) -> f64 {
    if r2 <= 0.0 {
        0.0
    } else {
        0.5 * r2 * r2.ln()
    }
}

/// A 2D thin-plate spline mapping points of the unit square to displacements.
#[derive(Debug, Clone)]
pub struct Tps {
    ctrl: Vec<[f64; 2]>,
    /// Per output coordinate: k weights followed by the affine part (a0, ax, ay).
    coef: [Vec<f64>; 2],
}

impl Tps {
    /// Fits the spline through `ctrl[i]` -> displacement `disp[i]`.
    /// Returns None when the system is singular (duplicate or collinear control points).
    pub fn fit(ctrl: &[[f64; 2]], disp: &[[f64; 2]]) -> Option<Tps> {
        let n = ctrl.len();
        let m = n + 3;
        let mut a = vec![0.0f64; m * m];
        for i in 0..n {
            for j in 0..n {
                let dx = ctrl[i][0] - ctrl[j][0];
                let dy = ctrl[i][1] - ctrl[j][1];
                a[i * m + j] = phi(dx * dx + dy * dy);
            }
            let p = [1.0, ctrl[i][0], ctrl[i][1]];
            for (c, v) in p.iter().enumerate() {
                a[i * m + n + c] = *v;
                a[(n + c) * m + i] = *v;
            }
        }
        let mut coef = [Vec::new(), Vec::new()];
        for (d, out) in coef.iter_mut().enumerate() {
            let mut b = vec![0.0f64; m];
            for i in 0..n {
                b[i] = disp[i][d];
            }
            *out = solve(a.clone(), b, m)?;
        }
        Some(Tps {
            ctrl: ctrl.to_vec(),
            coef,
        })
    }

    /// Displacement at `p`.
    pub fn displacement(&self, p: [f64; 2]) -> [f64; 2] {
        let n = self.ctrl.len();
        let mut out = [0.0; 2];
        for (d, o) in out.iter_mut().enumerate() {
            let c = &self.coef[d];
            let mut v = c[n] + c[n + 1] * p[0] + c[n + 2] * p[1];
            for (i, q) in self.ctrl.iter().enumerate() {
                let dx = p[0] - q[0];
                let dy = p[1] - q[1];
                v += c[i] * phi(dx * dx + dy * dy);
            }
            *o = v;
        }
        out
    }

    /// A random deformation: a `k` x `k` grid of control points over the unit square, each
    /// moved uniformly within `bound` (a fraction of the square's side) in x and y. The border
    /// points move too, so the whole window deforms, as in the paper.
    pub fn random(k: usize, bound: f64, rng: &mut impl Rng) -> Tps {
        let k = k.max(2);
        let mut ctrl = Vec::with_capacity(k * k);
        let mut disp = Vec::with_capacity(k * k);
        for j in 0..k {
            for i in 0..k {
                ctrl.push([i as f64 / (k - 1) as f64, j as f64 / (k - 1) as f64]);
                disp.push([
                    rng.random_range(-bound..=bound),
                    rng.random_range(-bound..=bound),
                ]);
            }
        }
        // a regular grid is never singular
        Tps::fit(&ctrl, &disp).unwrap_or_else(Tps::identity)
    }

    /// The zero deformation.
    pub fn identity() -> Tps {
        Tps {
            ctrl: Vec::new(),
            coef: [vec![0.0; 3], vec![0.0; 3]],
        }
    }
}

/// Gaussian elimination with partial pivoting on a dense m x m system.
fn solve(mut a: Vec<f64>, mut b: Vec<f64>, m: usize) -> Option<Vec<f64>> {
    for col in 0..m {
        let piv =
            (col..m).max_by(|&x, &y| a[x * m + col].abs().total_cmp(&a[y * m + col].abs()))?;
        if a[piv * m + col].abs() < 1e-12 {
            return None;
        }
        if piv != col {
            for c in 0..m {
                a.swap(piv * m + c, col * m + c);
            }
            b.swap(piv, col);
        }
        for r in col + 1..m {
            let f = a[r * m + col] / a[col * m + col];
            if f != 0.0 {
                for c in col..m {
                    a[r * m + c] -= f * a[col * m + c];
                }
                b[r] -= f * b[col];
            }
        }
    }
    let mut x = vec![0.0; m];
    for r in (0..m).rev() {
        let mut s = b[r];
        for c in r + 1..m {
            s -= a[r * m + c] * x[c];
        }
        x[r] = s / a[r * m + r];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn zero_displacement_is_identity() {
        let ctrl: Vec<[f64; 2]> = (0..9)
            .map(|i| [(i % 3) as f64 / 2.0, (i / 3) as f64 / 2.0])
            .collect();
        let t = Tps::fit(&ctrl, &[[0.0, 0.0]; 9]).unwrap();
        for p in [[0.1, 0.7], [0.5, 0.5], [0.93, 0.02]] {
            let d = t.displacement(p);
            assert!(d[0].abs() < 1e-12 && d[1].abs() < 1e-12);
        }
        assert_eq!(Tps::identity().displacement([0.3, 0.4]), [0.0, 0.0]);
    }

    #[test]
    fn control_points_land_where_moved() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let ctrl: Vec<[f64; 2]> = (0..16)
            .map(|i| [(i % 4) as f64 / 3.0, (i / 4) as f64 / 3.0])
            .collect();
        let disp: Vec<[f64; 2]> = (0..16)
            .map(|_| [rng.random_range(-0.1..0.1), rng.random_range(-0.1..0.1)])
            .collect();
        let t = Tps::fit(&ctrl, &disp).unwrap();
        for (c, d) in ctrl.iter().zip(&disp) {
            let got = t.displacement(*c);
            assert!((got[0] - d[0]).abs() < 1e-9 && (got[1] - d[1]).abs() < 1e-9);
        }
        // an affine move is reproduced exactly everywhere
        let aff: Vec<[f64; 2]> = ctrl
            .iter()
            .map(|c| [0.1 * c[0] - 0.05, 0.02 + 0.2 * c[1]])
            .collect();
        let t = Tps::fit(&ctrl, &aff).unwrap();
        let d = t.displacement([0.37, 0.81]);
        assert!((d[0] - (0.037 - 0.05)).abs() < 1e-9 && (d[1] - (0.02 + 0.162)).abs() < 1e-9);
    }

    #[test]
    fn random_stays_within_bound_at_controls_and_is_smooth() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let t = Tps::random(4, 0.05, &mut rng);
        for j in 0..=20 {
            for i in 0..=20 {
                let d = t.displacement([i as f64 / 20.0, j as f64 / 20.0]);
                assert!(d[0].abs() < 0.1 && d[1].abs() < 0.1, "{d:?}");
            }
        }
        assert!(Tps::fit(&[[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]], &[[0.0, 0.0]; 3]).is_none());
    }
}
