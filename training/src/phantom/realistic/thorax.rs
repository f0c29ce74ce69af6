//! The lower thorax over the abdomen: a diaphragm draped over whatever abdominal organ is
//! highest in each column (liver, spleen, stomach, kidneys, bowel), lungs above it down to the
//! posterior costophrenic recesses, with vessels; the mediastinum and the heart on the left dome;
//! ribs up to the apices with costal cartilage to a sternum.
//!
//! The diaphragm follows the organs rather than a fixed dome so that the lung bases sit where
//! they do in patients: just above the liver and spleen, lowest at the back and sides, and the
//! slice-wise lung measure of the library's landmark finder sees the same profile as on real CT.

use super::super::anatomy::Painter;
use super::super::canvas::{spline, Canvas, TubePoint};
use super::super::labels::*;
use super::super::noise::gaussian_kernel;
use super::draw::Levels;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

const DIAPHRAGM_MM: f64 = 5.0;

fn is_abdominal_organ(l: u8) -> bool {
    matches!(
        l,
        LIVER
            | SPLEEN
            | STOMACH_WALL
            | STOMACH_CONTENT
            | KIDNEY_CORTEX
            | KIDNEY_MEDULLA
            | COLON_WALL
            | COLON_CONTENT
            | PANCREAS
            | DUODENUM_WALL
            | DUODENUM_CONTENT
            | PORTAL_VEIN
            | SPLENIC_VEIN
    )
}

/// Height of the diaphragm over every (y, x) column: the top of the highest abdominal organ
/// plus the muscle, smoothed, never below the recess.
fn diaphragm_height(c: &Canvas, recess: f64) -> Vec<f64> {
    let g = c.grid;
    let (nz, ny, nx) = g.dims;
    let mut top = vec![recess; ny * nx];
    for (k, t) in top.iter_mut().enumerate() {
        for z in (0..nz).rev() {
            if is_abdominal_organ(c.labels[z * ny * nx + k]) {
                *t = (g.origin[2] + z as f64 * g.spacing[2]).max(recess);
                break;
            }
        }
    }
    // a smooth sheet: blur by 12 mm and keep it at or above the raw tops
    let kern = gaussian_kernel(12.0 / g.spacing[0]);
    let mut sm: Vec<f32> = top.iter().map(|&v| v as f32).collect();
    super::super::noise::blur2d(&mut sm, nx, ny, &kern);
    top.iter()
        .zip(sm)
        .map(|(&t, s)| (s as f64).max(t) + DIAPHRAGM_MM)
        .collect()
}

/// Paints diaphragm, lungs, mediastinum and heart.
pub fn paint_chest(p: &Painter, c: &mut Canvas, lv: &Levels, rng: &mut ChaCha8Rng) {
    let an = p.an;
    let g = c.grid;
    let (nz, ny, nx) = g.dims;
    let top = diaphragm_height(c, lv.lung_recess);
    let [_, b] = an.body;
    let yv = an.vertebra_y;
    let inset = an.fat_mm + an.muscle_mm + 3.0;
    let heart_c = [
        rng.random_range(12.0..32.0),
        -b * rng.random_range(0.15..0.35),
        lv.dome_left + rng.random_range(45.0..60.0),
    ];
    let heart_ax = [
        rng.random_range(55.0..72.0),
        rng.random_range(42.0..55.0),
        rng.random_range(50.0..62.0),
    ];
    let med_half = rng.random_range(22.0..32.0);
    let tex = p.tex;
    let blood = |q: [f64; 3]| p.val(HEART, q, 5.0, 0.1);
    for z in 0..nz {
        let zmm = g.origin[2] + z as f64 * g.spacing[2];
        if zmm < lv.lung_recess {
            continue;
        }
        for y in 0..ny {
            for x in 0..nx {
                let k = y * nx + x;
                let i = z * ny * nx + k;
                let q = g.pos(x, y, z);
                let l = c.labels[i];
                if p.body_r(q, inset) > 1.0 || zmm <= top[k] - DIAPHRAGM_MM {
                    continue;
                }
                if matches!(
                    l,
                    BACKGROUND
                        | SUBCUTANEOUS_FAT
                        | MUSCLE
                        | BONE_CORTEX
                        | BONE_MARROW
                        | DISC
                        | SPINAL_CANAL
                        | AORTA
                ) {
                    continue;
                }
                if zmm <= top[k] {
                    if is_abdominal_organ(l) || l == VISCERAL_FAT || l == IVC {
                        c.labels[i] = DIAPHRAGM;
                        c.hu[i] = p.val(DIAPHRAGM, q, 5.0, 0.1);
                    }
                    continue;
                }
                // heart (blood pool inside a myocardial shell) on the left dome
                let d = [0, 1, 2].map(|a| (q[a] - heart_c[a]) / heart_ax[a]);
                let rh = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
                if rh <= 1.0 {
                    let shell = rh > 1.0 - 9.0 / heart_ax[1];
                    c.labels[i] = HEART;
                    c.hu[i] = if shell {
                        p.val(DIAPHRAGM, q, 5.0, 0.1) + 10.0
                    } else {
                        blood(q)
                    };
                    continue;
                }
                // mediastinum: fat in front of the spine between the lungs
                let in_med = (q[0] - 4.0).abs() < med_half && q[1] < yv - 8.0;
                let by_spine = q[0].abs() < 34.0 && q[1] > yv - 30.0;
                if in_med || by_spine {
                    if l != VISCERAL_FAT && !is_abdominal_organ(l) {
                        continue;
                    }
                    c.labels[i] = VISCERAL_FAT;
                    c.hu[i] = p.val(VISCERAL_FAT, q, 12.0, 0.05);
                    continue;
                }
                // lung parenchyma with vessels (ridges of a noise field)
                let ridge = 1.0 - tex.at(q, 0.09).abs() * 2.0;
                let v = if ridge > 0.94 {
                    -60.0 + 40.0 * tex.at(q, 0.3)
                } else {
                    p.hu.mean[LUNG as usize] + 25.0 * p.hu.gain[LUNG as usize] * tex.at(q, 0.2)
                };
                c.labels[i] = LUNG;
                c.hu[i] = v as f32;
            }
        }
    }
}

/// Ribs above the classic ones (up to the apices), costal cartilage from each rib's anterior
/// end to the sternum, and the sternum from the xiphoid up.
pub fn paint_ribcage(p: &Painter, c: &mut Canvas, lv: &Levels, rng: &mut ChaCha8Rng) {
    let an = p.an;
    let [a, b] = an.body;
    let (_, fb) = p.form.max_scale();
    let inset = an.fat_mm + an.muscle_mm * 0.5;
    let (ea, eb) = (a - inset, b * fb - inset * 0.7);
    let lowest = lv.lung_recess - rng.random_range(25.0..40.0);
    let step = rng.random_range(23.0..27.0);
    let mut k = 0;
    loop {
        let z_post = lowest + 40.0 + step * k as f64;
        if z_post > lv.lung_apex + 20.0 {
            break;
        }
        let upper = k >= 2;
        for side in [-1.0, 1.0] {
            let span = rng.random_range(0.6..0.8) * std::f64::consts::PI;
            let drop = rng.random_range(70.0..100.0);
            let ctrl: Vec<TubePoint> = (0..7)
                .map(|i| {
                    let t = i as f64 / 6.0;
                    let th = std::f64::consts::FRAC_PI_2 - t * span;
                    TubePoint {
                        c: [side * ea * th.cos(), eb * th.sin(), z_post - drop * t],
                        r: p.form.rib_radius_mm,
                    }
                })
                .collect();
            let end = ctrl[6].c;
            let bone = spline(&ctrl, 2.0);
            c.paint_tube(
                &bone,
                0.0,
                |_| 1.0,
                |q, l, _| {
                    (!matches!(l, BACKGROUND | HEART))
                        .then(|| (BONE_CORTEX, p.val(BONE_CORTEX, q, 80.0, 0.1)))
                },
            );
            c.paint_tube(
                &bone,
                -p.form.rib_cortex_mm,
                |_| 1.0,
                |q, l, _| {
                    (l == BONE_CORTEX).then(|| (BONE_MARROW, p.val(BONE_MARROW, q, 40.0, 0.1)))
                },
            );
            if upper {
                let cart = spline(
                    &[
                        TubePoint { c: end, r: 4.5 },
                        TubePoint {
                            c: [
                                side * 14.0,
                                -eb * 0.97,
                                end[2] + rng.random_range(10.0..30.0),
                            ],
                            r: 4.0,
                        },
                    ],
                    2.0,
                );
                c.paint_tube(
                    &cart,
                    0.0,
                    |_| 1.0,
                    |q, l, _| {
                        (!matches!(l, BACKGROUND | BONE_CORTEX | BONE_MARROW | HEART))
                            .then(|| (CARTILAGE, p.val(CARTILAGE, q, 30.0, 0.15)))
                    },
                );
            }
        }
        k += 1;
    }
    let xiphoid = lv.dome_right - rng.random_range(10.0..35.0);
    c.paint_box(
        [-18.0, -eb - 14.0, xiphoid],
        [18.0, -eb + 14.0, 1e4],
        |q, l| {
            if matches!(l, BACKGROUND) {
                return None;
            }
            let w = if q[2] < xiphoid + 40.0 { 9.0 } else { 16.0 };
            let inside = q[0].abs() < w && (q[1] + eb).abs() < 6.0;
            let core = q[0].abs() < w - 2.0 && (q[1] + eb).abs() < 4.0;
            inside.then(|| {
                if core {
                    (BONE_MARROW, p.val(BONE_MARROW, q, 40.0, 0.1))
                } else {
                    (BONE_CORTEX, p.val(BONE_CORTEX, q, 80.0, 0.1))
                }
            })
        },
    );
}
