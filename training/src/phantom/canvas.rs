//! The painting surface of a phantom: a label volume and a base-HU volume on an axis-aligned LPS
//! grid, with primitives that paint a region (ellipsoid-like implicit shapes) or a tube swept
//! along a curve. Painting is parallel over axial slices and deterministic: a voxel's result
//! depends only on its position and the order of the paint calls.

use rayon::prelude::*;

/// Axis-aligned voxel grid (identity direction) in LPS millimetres.
#[derive(Debug, Clone, Copy)]
pub struct Grid {
    /// (nz, ny, nx).
    pub dims: (usize, usize, usize),
    /// mm along x, y, z.
    pub spacing: [f64; 3],
    /// LPS of voxel (0, 0, 0).
    pub origin: [f64; 3],
}

impl Grid {
    pub fn pos(&self, x: usize, y: usize, z: usize) -> [f64; 3] {
        [
            self.origin[0] + x as f64 * self.spacing[0],
            self.origin[1] + y as f64 * self.spacing[1],
            self.origin[2] + z as f64 * self.spacing[2],
        ]
    }

    /// Index range (inclusive lo, exclusive hi) covering [lo_mm, hi_mm] along `axis`.
    pub fn range(&self, axis: usize, lo_mm: f64, hi_mm: f64) -> (usize, usize) {
        let n = [self.dims.2, self.dims.1, self.dims.0][axis];
        let a = ((lo_mm - self.origin[axis]) / self.spacing[axis])
            .floor()
            .max(0.0) as usize;
        let b = (((hi_mm - self.origin[axis]) / self.spacing[axis]).ceil() + 1.0).max(0.0) as usize;
        (a.min(n), b.min(n))
    }
}

/// What a paint call writes at a voxel: the structure label and its base HU.
pub type Paint = Option<(u8, f32)>;

/// A point of a swept tube: centre (mm) and radius (mm).
#[derive(Debug, Clone, Copy)]
pub struct TubePoint {
    pub c: [f64; 3],
    pub r: f64,
}

pub struct Canvas {
    pub grid: Grid,
    pub labels: Vec<u8>,
    pub hu: Vec<f32>,
}

impl Canvas {
    pub fn new(grid: Grid, background_hu: f32) -> Self {
        let n = grid.dims.0 * grid.dims.1 * grid.dims.2;
        Canvas {
            grid,
            labels: vec![0; n],
            hu: vec![background_hu; n],
        }
    }

    /// Calls `f(position, current_label)` for every voxel in the box [lo, hi] (mm) and writes
    /// what it returns.
    pub fn paint_box<F>(&mut self, lo: [f64; 3], hi: [f64; 3], f: F)
    where
        F: Fn([f64; 3], u8) -> Paint + Sync,
    {
        let g = self.grid;
        let (_, ny, nx) = g.dims;
        let (x0, x1) = g.range(0, lo[0], hi[0]);
        let (y0, y1) = g.range(1, lo[1], hi[1]);
        let (z0, z1) = g.range(2, lo[2], hi[2]);
        self.labels
            .par_chunks_mut(ny * nx)
            .zip(self.hu.par_chunks_mut(ny * nx))
            .enumerate()
            .filter(|(z, _)| *z >= z0 && *z < z1)
            .for_each(|(z, (lab, hu))| {
                for y in y0..y1 {
                    for x in x0..x1 {
                        let i = y * nx + x;
                        if let Some((l, v)) = f(g.pos(x, y, z), lab[i]) {
                            lab[i] = l;
                            hu[i] = v;
                        }
                    }
                }
            });
    }

    /// Sweeps balls along `points` (radius scaled by `scale`, plus `grow` mm) and calls
    /// `f(position, current_label, nearest point index)` for voxels inside the union of balls,
    /// where the inside test may be modulated by `wobble(position) -> factor` on the radius.
    pub fn paint_tube<F, W>(&mut self, points: &[TubePoint], grow: f64, wobble: W, f: F)
    where
        F: Fn([f64; 3], u8, usize) -> Paint + Sync,
        W: Fn([f64; 3]) -> f64 + Sync,
    {
        if points.is_empty() {
            return;
        }
        let g = self.grid;
        let (_, ny, nx) = g.dims;
        let max_r = points.iter().map(|p| p.r + grow).fold(0.0, f64::max) * 1.35;
        let zlo = points.iter().map(|p| p.c[2]).fold(f64::INFINITY, f64::min) - max_r;
        let zhi = points
            .iter()
            .map(|p| p.c[2])
            .fold(f64::NEG_INFINITY, f64::max)
            + max_r;
        let (z0, z1) = g.range(2, zlo, zhi);
        self.labels
            .par_chunks_mut(ny * nx)
            .zip(self.hu.par_chunks_mut(ny * nx))
            .enumerate()
            .filter(|(z, _)| *z >= z0 && *z < z1)
            .for_each(|(z, (lab, hu))| {
                let zmm = g.origin[2] + z as f64 * g.spacing[2];
                // points whose (wobbled) ball can reach this slice
                let near: Vec<usize> = (0..points.len())
                    .filter(|&i| ((points[i].c[2] - zmm).abs()) <= (points[i].r + grow) * 1.35)
                    .collect();
                if near.is_empty() {
                    return;
                }
                let mut best = vec![(f64::INFINITY, usize::MAX); ny * nx];
                let mut touched = Vec::new();
                for &i in &near {
                    let p = points[i];
                    let reach = (p.r + grow) * 1.35;
                    let dz = p.c[2] - zmm;
                    let rr = (reach * reach - dz * dz).max(0.0).sqrt();
                    let (x0, x1) = g.range(0, p.c[0] - rr, p.c[0] + rr);
                    let (y0, y1) = g.range(1, p.c[1] - rr, p.c[1] + rr);
                    for y in y0..y1 {
                        for x in x0..x1 {
                            let q = g.pos(x, y, z);
                            let d2 = (q[0] - p.c[0]).powi(2) + (q[1] - p.c[1]).powi(2) + dz * dz;
                            let d = d2.sqrt() - (p.r + grow);
                            let k = y * nx + x;
                            if best[k].1 == usize::MAX {
                                touched.push(k);
                            }
                            if d < best[k].0 {
                                best[k] = (d, i);
                            }
                        }
                    }
                }
                touched.sort_unstable();
                for k in touched {
                    let (d, i) = best[k];
                    let (x, y) = (k % nx, k / nx);
                    let q = g.pos(x, y, z);
                    let r = points[i].r + grow;
                    // inside when the signed distance to the (wobbled) surface is negative
                    if d + r <= r * wobble(q) {
                        if let Some((l, v)) = f(q, lab[k], i) {
                            lab[k] = l;
                            hu[k] = v;
                        }
                    }
                }
            });
    }
}

/// Catmull-Rom spline through `ctrl` (each with a radius), resampled every `step` mm of arc.
pub fn spline(ctrl: &[TubePoint], step: f64) -> Vec<TubePoint> {
    if ctrl.len() < 2 {
        return ctrl.to_vec();
    }
    let n = ctrl.len();
    let get = |i: isize| ctrl[i.clamp(0, n as isize - 1) as usize];
    let mut dense = Vec::new();
    for s in 0..n - 1 {
        let (p0, p1, p2, p3) = (
            get(s as isize - 1),
            get(s as isize),
            get(s as isize + 1),
            get(s as isize + 2),
        );
        for k in 0..40 {
            let t = k as f64 / 40.0;
            let (t2, t3) = (t * t, t * t * t);
            let w = [
                -0.5 * t3 + t2 - 0.5 * t,
                1.5 * t3 - 2.5 * t2 + 1.0,
                -1.5 * t3 + 2.0 * t2 + 0.5 * t,
                0.5 * t3 - 0.5 * t2,
            ];
            let c = [0, 1, 2]
                .map(|a| w[0] * p0.c[a] + w[1] * p1.c[a] + w[2] * p2.c[a] + w[3] * p3.c[a]);
            let r = p1.r + (p2.r - p1.r) * t;
            dense.push(TubePoint { c, r });
        }
    }
    dense.push(ctrl[n - 1]);
    let mut out = vec![dense[0]];
    let mut acc = 0.0;
    for w in dense.windows(2) {
        let d = ((w[1].c[0] - w[0].c[0]).powi(2)
            + (w[1].c[1] - w[0].c[1]).powi(2)
            + (w[1].c[2] - w[0].c[2]).powi(2))
        .sqrt();
        acc += d;
        if acc >= step {
            out.push(w[1]);
            acc = 0.0;
        }
    }
    if let (Some(last), Some(end)) = (out.last().copied(), dense.last().copied()) {
        if (last.c[0] - end.c[0]).abs()
            + (last.c[1] - end.c[1]).abs()
            + (last.c[2] - end.c[2]).abs()
            > 1e-9
        {
            out.push(end);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Grid {
        Grid {
            dims: (20, 30, 30),
            spacing: [1.0, 1.0, 1.0],
            origin: [0.0; 3],
        }
    }

    #[test]
    fn box_paint_and_ball_tube_volume() {
        let mut c = Canvas::new(grid(), -1000.0);
        c.paint_box([0.0; 3], [100.0; 3], |p, _| {
            let d = ((p[0] - 15.0).powi(2) + (p[1] - 15.0).powi(2) + (p[2] - 10.0).powi(2)).sqrt();
            (d <= 5.0).then_some((1, 40.0))
        });
        let n = c.labels.iter().filter(|&&l| l == 1).count() as f64;
        let want = 4.0 / 3.0 * std::f64::consts::PI * 125.0;
        assert!((n - want).abs() / want < 0.1, "{n} {want}");

        let mut t = Canvas::new(grid(), -1000.0);
        let pts = spline(
            &[
                TubePoint {
                    c: [5.0, 15.0, 10.0],
                    r: 3.0,
                },
                TubePoint {
                    c: [25.0, 15.0, 10.0],
                    r: 3.0,
                },
            ],
            0.5,
        );
        t.paint_tube(&pts, 0.0, |_| 1.0, |_, _, _| Some((2, 0.0)));
        let n = t.labels.iter().filter(|&&l| l == 2).count() as f64;
        let want = std::f64::consts::PI * 9.0 * 20.0 + 4.0 / 3.0 * std::f64::consts::PI * 27.0;
        assert!((n - want).abs() / want < 0.12, "{n} {want}");
    }

    #[test]
    fn spline_passes_through_control_points() {
        let ctrl = [
            TubePoint {
                c: [0.0, 0.0, 0.0],
                r: 1.0,
            },
            TubePoint {
                c: [10.0, 5.0, 0.0],
                r: 2.0,
            },
            TubePoint {
                c: [20.0, 0.0, 3.0],
                r: 3.0,
            },
        ];
        let s = spline(&ctrl, 0.5);
        assert_eq!(s[0].c, ctrl[0].c);
        assert_eq!(s.last().unwrap().c, ctrl[2].c);
        assert!(s
            .iter()
            .any(|p| (p.c[0] - 10.0).abs() < 0.3 && (p.c[1] - 5.0).abs() < 0.3));
    }
}
