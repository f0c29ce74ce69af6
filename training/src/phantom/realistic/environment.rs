//! What lies around and inside the patient besides anatomy: arms down beside the trunk, the
//! scanner table under the back, and metal (hip prosthesis, spinal rods and screws, surgical
//! clips) painted at the HU ceiling.

use super::super::anatomy::Painter;
use super::super::canvas::{spline, Canvas, TubePoint};
use super::super::labels::*;
use super::draw::{Levels, Metal};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Arms down beside the trunk: fat, muscle and a bone, 4-20 mm from the body.
pub fn paint_arms(p: &Painter, c: &mut Canvas, rng: &mut ChaCha8Rng) {
    let [a, _] = p.an.body;
    let (fa, _) = p.form.max_scale();
    let r = rng.random_range(32.0..48.0) * (0.8 + 0.2 * p.an.fat_mm / 30.0);
    let gap = rng.random_range(4.0..20.0);
    let y = rng.random_range(-30.0..10.0);
    let fat = (p.an.fat_mm * 0.4).clamp(3.0, 20.0);
    for side in [-1.0, 1.0] {
        let cx = side * (a * fa + gap + r);
        c.paint_box([cx - r, y - r, -1e4], [cx + r, y + r, 1e4], |q, l| {
            if l != BACKGROUND {
                return None;
            }
            let d = ((q[0] - cx).powi(2) + (q[1] - y).powi(2)).sqrt();
            if d > r {
                return None;
            }
            Some(if d < 9.0 {
                if d < 5.5 {
                    (BONE_MARROW, p.val(BONE_MARROW, q, 30.0, 0.1))
                } else {
                    (ARM_BONE, p.val(ARM_BONE, q, 80.0, 0.1))
                }
            } else if d < r - fat {
                (MUSCLE, p.val(MUSCLE, q, 6.0, 0.08))
            } else {
                (SUBCUTANEOUS_FAT, p.val(SUBCUTANEOUS_FAT, q, 12.0, 0.05))
            })
        });
    }
}

/// The table: a curved carbon-fibre shell with a foam core under the back.
pub fn paint_table(p: &Painter, c: &mut Canvas, rng: &mut ChaCha8Rng) {
    let [_, b] = p.an.body;
    // the back rests on the table (the body, painted first, indents it where it bulges)
    let top = b + rng.random_range(0.0..3.0);
    let thick = rng.random_range(30.0..60.0);
    let half_w = rng.random_range(200.0..260.0);
    let shell_hu = rng.random_range(150.0..350.0) as f32;
    let tex = p.tex;
    c.paint_box(
        [-half_w, top - 60.0, -1e4],
        [half_w, top + thick, 1e4],
        |q, l| {
            if l != BACKGROUND {
                return None;
            }
            let y0 = top - 0.0006 * q[0] * q[0];
            let d = q[1] - y0;
            if d < 0.0 || d > thick || q[0].abs() > half_w {
                return None;
            }
            let shell = d < 2.5 || d > thick - 2.5 || q[0].abs() > half_w - 2.5;
            Some(if shell {
                (TABLE, shell_hu)
            } else {
                (TABLE, (-880.0 + 30.0 * tex.at(q, 0.2)) as f32)
            })
        },
    );
}

/// Paints the case's metal.
pub fn paint_metal(p: &Painter, c: &mut Canvas, metal: Metal, lv: &Levels, rng: &mut ChaCha8Rng) {
    let an = p.an;
    let [a, b] = an.body;
    let yv = an.vertebra_y;
    let hit = |l: u8| l != BACKGROUND;
    let paint = |c: &mut Canvas, pts: &[TubePoint]| {
        c.paint_tube(
            pts,
            0.0,
            |_| 1.0,
            |_, l, _| hit(l).then_some((METAL, 3071.0)),
        )
    };
    match metal {
        Metal::HipProsthesis => {
            let side = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            let hx = side * a * 0.57;
            let hy = yv - b * 0.38;
            let fh = lv.femoral_heads;
            paint(
                c,
                &[TubePoint {
                    c: [hx, hy, fh],
                    r: 22.0,
                }],
            );
            let stem = spline(
                &[
                    TubePoint {
                        c: [hx, hy, fh],
                        r: 7.0,
                    },
                    TubePoint {
                        c: [hx + side * 25.0, hy, fh - 40.0],
                        r: 6.0,
                    },
                    TubePoint {
                        c: [hx + side * 30.0, hy, fh - 160.0],
                        r: 5.0,
                    },
                ],
                1.5,
            );
            paint(c, &stem);
        }
        Metal::SpinalHardware => {
            let z0 = lv.iliac_crest + rng.random_range(0.0..60.0);
            let len = rng.random_range(60.0..110.0);
            for side in [-1.0, 1.0] {
                let rod = [
                    TubePoint {
                        c: [side * 16.0, yv + 30.0, z0],
                        r: 3.0,
                    },
                    TubePoint {
                        c: [side * 16.0, yv + 30.0, z0 + len],
                        r: 3.0,
                    },
                ];
                paint(c, &spline(&rod, 1.5));
                let mut z = z0 + 8.0;
                while z < z0 + len {
                    let screw = [
                        TubePoint {
                            c: [side * 16.0, yv + 30.0, z],
                            r: 2.5,
                        },
                        TubePoint {
                            c: [side * 6.0, yv - 5.0, z],
                            r: 2.5,
                        },
                    ];
                    paint(c, &spline(&screw, 1.0));
                    z += 32.0;
                }
            }
        }
        Metal::SurgicalClips => {
            // clips in the gallbladder fossa and along vessels: short bright bars
            for _ in 0..rng.random_range(2..7) {
                let at = [
                    -a * rng.random_range(0.1..0.5),
                    -b * rng.random_range(-0.1..0.3),
                    rng.random_range(-20.0..80.0),
                ];
                let dir = [
                    rng.random_range(-1.0..1.0),
                    rng.random_range(-1.0..1.0),
                    rng.random_range(-1.0..1.0),
                ];
                let clip = [
                    TubePoint { c: at, r: 0.9 },
                    TubePoint {
                        c: [
                            at[0] + dir[0] * 5.0,
                            at[1] + dir[1] * 5.0,
                            at[2] + dir[2] * 5.0,
                        ],
                        r: 0.9,
                    },
                ];
                paint(c, &spline(&clip, 0.5));
            }
        }
    }
}
