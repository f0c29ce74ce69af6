//! The pelvis below the abdomen: iliac wings from the crest down to the acetabula, the sacrum
//! tilting backwards, femoral heads and shafts, gluteal muscles, the bladder and the
//! rectosigmoid. The wings are curved bone plates lateral to the sacrum, so the slice-wise bone
//! measure of the library's landmark finder sees an iliac crest where it sees one on real CT.

use super::super::anatomy::Painter;
use super::super::canvas::{spline, Canvas, TubePoint};
use super::super::intensity::Content;
use super::super::labels::*;
use super::draw::Levels;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

fn bone(p: &Painter, q: [f64; 3], cortex: bool) -> (u8, f32) {
    if cortex {
        (BONE_CORTEX, p.val(BONE_CORTEX, q, 90.0, 0.1))
    } else {
        (BONE_MARROW, p.val(BONE_MARROW, q, 40.0, 0.12))
    }
}

fn soft(l: u8) -> bool {
    !matches!(l, BACKGROUND | SUBCUTANEOUS_FAT | BONE_CORTEX | BONE_MARROW)
}

/// Paints pelvic bones and gluteal muscles.
pub fn paint_bones(p: &Painter, c: &mut Canvas, lv: &Levels, rng: &mut ChaCha8Rng) {
    let an = p.an;
    let [a, b] = an.body;
    let yv = an.vertebra_y;
    let crest = lv.iliac_crest;
    let fh = lv.femoral_heads;
    let wing_r = [
        a * rng.random_range(0.5..0.6),
        b * rng.random_range(0.42..0.52),
    ];
    let wing_c = [rng.random_range(10.0..25.0), yv - b * 0.12];
    let thick = rng.random_range(7.0..12.0);
    let head_r = rng.random_range(21.0..26.0);
    let head_x = a * rng.random_range(0.52..0.62);
    let head_y = yv - b * rng.random_range(0.3..0.45);
    let wall = an.fat_mm + an.muscle_mm;
    let s_top = crest - 25.0;
    let s_bot = fh - 40.0;
    // sacrum: a wide bone tilting backwards below the lumbar spine
    let sacrum = |q: [f64; 3]| {
        let z = q[2];
        if z >= s_top || z <= s_bot {
            return None;
        }
        let t = (s_top - z) / (s_top - s_bot);
        let sy = yv + 8.0 + 45.0 * t * t;
        let rx = 48.0 * (1.0 - 0.6 * t) + 8.0;
        let ry = 17.0 * (1.0 - 0.4 * t) + 3.0;
        let r = ((q[0] / rx).powi(2) + ((q[1] - sy) / ry).powi(2)).sqrt();
        (r <= 1.0).then(|| bone(p, q, r > 1.0 - 2.5 / ry))
    };
    c.paint_box(
        [-a * 1.3, -b * 1.3, -1e4],
        [a * 1.3, b * 1.3, crest],
        |q, l| {
            let z = q[2];
            let spine = matches!(l, BONE_CORTEX | BONE_MARROW | DISC | SPINAL_CANAL);
            if spine
                && z < crest - 45.0
                && q[0].abs() < 40.0
                && q[1] > yv - 25.0
                && q[1] < yv + 70.0
            {
                // below L5 the lumbar column gives way to the sacrum and soft tissue
                return sacrum(q)
                    .or_else(|| Some((VISCERAL_FAT, p.val(VISCERAL_FAT, q, 12.0, 0.05))));
            }
            if !soft(l) {
                return None;
            }
            let depth = crest - z; // mm below the crest
            for side in [-1.0, 1.0] {
                let u = side * q[0];
                // iliac wing: an arc of an ellipse from the sacroiliac joint to the anterior spine,
                // growing from the crest down and merging into the acetabulum above the head
                if z > fh + head_r * 0.6 {
                    // the wing flares: widest just below the crest, narrowing to the acetabulum
                    let grow = (depth / 30.0).clamp(0.25, 1.0);
                    let t = (depth / (crest - fh - head_r * 0.6)).clamp(0.0, 1.0);
                    let rx = wing_r[0] * (0.85 + 0.15 * grow) * (1.0 - 0.35 * t);
                    let ry = wing_r[1] * (0.85 + 0.15 * grow) * (1.0 - 0.2 * t);
                    let du = (u - wing_c[0]) / rx;
                    let dv = (q[1] - wing_c[1]) / ry;
                    let rho = (du * du + dv * dv).sqrt();
                    let th = dv.atan2(du).to_degrees();
                    let half_t = thick / 2.0 / rx.min(ry);
                    let arc_lo = -40.0 + 25.0 * (1.0 - grow);
                    let arc_hi = 80.0 - 20.0 * (1.0 - grow);
                    if (rho - 1.0).abs() <= half_t && th > arc_lo && th < arc_hi {
                        let core = (rho - 1.0).abs() <= half_t - 2.0 / rx.min(ry);
                        return Some(bone(p, q, !core));
                    }
                }
                // acetabulum (a bony cup over the head) and femoral head, neck and shaft
                let dh = [u - head_x, q[1] - head_y, z - fh];
                let rh = (dh[0] * dh[0] + dh[1] * dh[1] + dh[2] * dh[2]).sqrt();
                if rh <= head_r {
                    return Some(bone(p, q, rh > head_r - 2.5));
                }
                if rh <= head_r + 7.0 && dh[2] > -head_r * 0.3 {
                    return Some(bone(p, q, rh > head_r + 4.0 || rh < head_r + 1.5));
                }
                let shaft_x = head_x + 28.0 + (fh - 40.0 - z).max(0.0) * 0.08;
                let neck_t = ((fh - z) / 40.0).clamp(0.0, 1.0);
                let nx = head_x + (shaft_x - head_x) * neck_t;
                if z < fh && z > fh - 1e4 {
                    let r = if neck_t < 1.0 { 15.0 } else { 14.0 };
                    let d = ((u - nx).powi(2) + (q[1] - head_y).powi(2)).sqrt();
                    if d <= r {
                        return Some(bone(p, q, d > r - 4.0));
                    }
                    // gluteal and thigh muscles around the femur
                    if d <= r + 45.0 && p.body_r(q, wall * 0.6) <= 1.0 {
                        return Some((MUSCLE, p.val(MUSCLE, q, 6.0, 0.08)));
                    }
                }
                // gluteal muscles behind the wings
                if z < crest - 20.0
                    && q[1] > yv - 10.0
                    && u > 25.0
                    && p.body_r(q, wall * 0.5) <= 1.0
                {
                    let dg =
                        ((u - head_x * 0.8) / 55.0).powi(2) + ((q[1] - yv - 25.0) / 40.0).powi(2);
                    if dg <= 1.0 && matches!(l, VISCERAL_FAT | MUSCLE) {
                        return Some((MUSCLE, p.val(MUSCLE, q, 6.0, 0.08)));
                    }
                }
            }
            sacrum(q)
        },
    );
}

/// The aorta and the IVC end at the bifurcation near the iliac crest; the common and external
/// iliac arteries and veins run from there to the femoral heads and down the thighs.
pub fn paint_iliac_vessels(p: &Painter, c: &mut Canvas, lv: &Levels, rng: &mut ChaCha8Rng) {
    let an = p.an;
    let [a, b] = an.body;
    let [xa, ya, ra] = an.aorta;
    let bif = lv.iliac_crest + rng.random_range(-5.0..25.0);
    let big = 1e4;
    c.paint_box(
        [-a * 1.3, -b * 1.3, -big],
        [a * 1.3, b * 1.3, bif],
        |q, l| matches!(l, AORTA | IVC).then(|| (VISCERAL_FAT, p.val(VISCERAL_FAT, q, 12.0, 0.05))),
    );
    let fh = lv.femoral_heads;
    let hx = a * 0.55;
    let hy = an.vertebra_y - b * 0.42;
    for (label, x0, y0, r, dy) in [
        (AORTA, xa, ya, ra * 0.6, -6.0),
        (IVC, an.ivc[0], an.ivc[1], 7.0, 4.0),
    ] {
        for side in [-1.0, 1.0] {
            let ctrl = vec![
                TubePoint {
                    c: [x0, y0, bif],
                    r,
                },
                TubePoint {
                    c: [side * 35.0, y0 + 8.0, bif - 50.0],
                    r,
                },
                TubePoint {
                    c: [side * hx * 0.85, hy + dy - 12.0, fh + 15.0],
                    r: r * 0.9,
                },
                TubePoint {
                    c: [side * hx * 0.95, hy + dy - 22.0, fh - 200.0],
                    r: r * 0.85,
                },
            ];
            c.paint_tube(
                &spline(&ctrl, 1.5),
                0.0,
                |_| 1.0,
                |q, l, _| {
                    (!matches!(l, BACKGROUND | BONE_CORTEX | BONE_MARROW | SUBCUTANEOUS_FAT))
                        .then(|| (label, p.val(label, q, 6.0, 0.1)))
                },
            );
        }
    }
}

/// Paints the bladder and the rectosigmoid.
pub fn paint_organs(p: &Painter, c: &mut Canvas, lv: &Levels, rng: &mut ChaCha8Rng) {
    let an = p.an;
    let [a, b] = an.body;
    let yv = an.vertebra_y;
    let fill = rng.random_range(0.45..1.25);
    let centre = [
        rng.random_range(-8.0..8.0),
        -b * rng.random_range(0.2..0.35),
        lv.femoral_heads + rng.random_range(0.0..25.0),
    ];
    let axes = [45.0 * fill, 35.0 * fill, 38.0 * fill];
    let urine = p.hu.mean[BLADDER as usize];
    let layered = urine > 60.0; // excreted contrast settles posteriorly
    let tex = p.tex;
    c.paint_box(
        [
            centre[0] - axes[0],
            centre[1] - axes[1],
            centre[2] - axes[2],
        ],
        [
            centre[0] + axes[0],
            centre[1] + axes[1],
            centre[2] + axes[2],
        ],
        |q, l| {
            if !matches!(
                l,
                VISCERAL_FAT | SMALL_BOWEL_WALL | SMALL_BOWEL_CONTENT | COLON_WALL | COLON_CONTENT
            ) {
                return None;
            }
            let d = [0, 1, 2].map(|k| (q[k] - centre[k]) / axes[k]);
            let r = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
            if r > 1.0 {
                return None;
            }
            let wall = r > 1.0 - 3.0 / axes[1];
            let v = if wall {
                p.val(COLON_WALL, q, 5.0, 0.1)
            } else if layered && d[1] < 0.1 {
                (10.0 + 5.0 * tex.at(q, 0.2)) as f32
            } else {
                (urine + 5.0 * tex.at(q, 0.2)) as f32
            };
            Some((BLADDER, v))
        },
    );
    // sigmoid from the descending colon to the rectum in front of the sacrum
    let r = rng.random_range(12.0..18.0) * p.form.bowel_scale;
    let inner_a = a - an.fat_mm - an.muscle_mm - 24.0;
    let ctrl = vec![
        TubePoint {
            c: [inner_a, b * 0.05, lv.iliac_crest - 40.0],
            r,
        },
        TubePoint {
            c: [
                a * rng.random_range(0.1..0.35),
                -b * 0.25,
                lv.femoral_heads + rng.random_range(40.0..70.0),
            ],
            r,
        },
        TubePoint {
            c: [5.0, yv + 30.0, lv.femoral_heads + 15.0],
            r: r * 1.1,
        },
        TubePoint {
            c: [0.0, yv + 40.0, lv.pelvic_floor - 40.0],
            r: r * 1.1,
        },
    ];
    let kind = Content::draw(rng, false, true);
    p.tube_wall_content(
        c,
        &spline(&ctrl, 3.0),
        3.0,
        COLON_WALL,
        COLON_CONTENT,
        kind,
        |l| {
            matches!(
                l,
                VISCERAL_FAT | SMALL_BOWEL_WALL | SMALL_BOWEL_CONTENT | MUSCLE
            )
        },
    );
}
