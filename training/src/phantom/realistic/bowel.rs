//! Small-bowel packing of the realistic profile: the classic anatomy leaves much of the
//! peritoneal cavity as fat, where in patients (thin ones above all) jejunal and ileal loops
//! fill it. Extra loops are swept as random walks through the mid and lower abdomen and the
//! pelvis, painted only into visceral fat and existing bowel, never into organs; how many
//! falls with the body's fat (habitus).

use super::super::anatomy::Painter;
use super::super::canvas::{spline, Canvas, TubePoint};
use super::super::intensity::Content;
use super::super::labels::*;
use super::draw::Levels;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

fn j(rng: &mut ChaCha8Rng, a: f64) -> f64 {
    rng.random_range(-a..=a)
}

/// Paints `count` extra loops.
pub fn paint_loops(p: &Painter, c: &mut Canvas, lv: &Levels, count: usize, rng: &mut ChaCha8Rng) {
    let an = p.an;
    let [a, b] = an.body;
    let ya = an.aorta[1] - an.aorta[2];
    let inner = an.fat_mm + an.muscle_mm + 8.0;
    let (xr, yr, zr) = (
        (-(a - inner) * 0.85, (a - inner) * 0.85),
        (-(b - inner) * 0.9, ya - 12.0),
        (lv.femoral_heads + 20.0, -20.0),
    );
    let tex = p.tex;
    for _ in 0..count {
        let r = rng.random_range(8.0..13.0) * p.form.bowel_scale;
        let mut q = [
            rng.random_range(xr.0..xr.1),
            rng.random_range(yr.0..yr.1),
            rng.random_range(zr.0..zr.1),
        ];
        let mut dir: [f64; 3] = [j(rng, 1.0), j(rng, 1.0), j(rng, 0.6)];
        let mut ctrl = Vec::new();
        for _ in 0..rng.random_range(6..12) {
            ctrl.push(TubePoint { c: q, r });
            for (d, v) in dir.iter_mut().enumerate() {
                *v = 0.55 * *v + j(rng, 1.0) * if d == 2 { 0.6 } else { 1.0 };
            }
            let n = (dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2])
                .sqrt()
                .max(1e-6);
            for (d, (lo, hi)) in [xr, yr, zr].iter().enumerate() {
                q[d] += dir[d] / n * 22.0;
                if q[d] < *lo || q[d] > *hi {
                    dir[d] = -dir[d];
                    q[d] = q[d].clamp(*lo, *hi);
                }
            }
        }
        let kind = Content::draw(rng, an.oral_contrast, false);
        let pts = spline(&ctrl, 3.0);
        c.paint_tube(
            &pts,
            0.0,
            |_| 1.0,
            |q, l, _| {
                (l == VISCERAL_FAT)
                    .then(|| (SMALL_BOWEL_WALL, p.val(SMALL_BOWEL_WALL, q, 6.0, 0.1)))
            },
        );
        c.paint_tube(
            &pts,
            -2.0,
            |_| 1.0,
            |q, l, _| {
                (l == SMALL_BOWEL_WALL)
                    .then(|| (SMALL_BOWEL_CONTENT, kind.hu(tex.at(q, 0.15)) as f32))
            },
        );
    }
}
