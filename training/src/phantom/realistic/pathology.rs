//! Findings of the realistic profile: the main pancreatic duct (dilated in some cases), a
//! hypodense mass and a cyst labelled as pancreas (NIH Pancreas-CT and MSD label the whole gland
//! including tumour), and ascites in the peritoneal cavity.

use super::super::anatomy::Painter;
use super::super::canvas::{Canvas, TubePoint};
use super::super::labels::*;
use super::draw::Body;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Paints duct, mass and cyst into the painted pancreas.
pub fn paint_pancreas_findings(p: &Painter, c: &mut Canvas, body: &Body, rng: &mut ChaCha8Rng) {
    let line = p.an.pancreas_line(1.0);
    if line.len() < 4 {
        return;
    }
    let tex = p.tex;
    let n = line.len();
    // the duct runs from the head (about a fifth along) to the tail, narrowing
    let start = n / 5;
    let duct: Vec<TubePoint> = line[start..]
        .iter()
        .enumerate()
        .map(|(i, q)| TubePoint {
            c: q.c,
            r: body.duct_radius_mm * (1.0 - 0.5 * i as f64 / (n - start) as f64),
        })
        .collect();
    c.paint_tube(
        &duct,
        0.0,
        |_| 1.0,
        |q, l, _| (l == PANCREAS).then(|| (PANCREAS, (10.0 + 6.0 * tex.at(q, 0.3)) as f32)),
    );
    let pancreas_hu = p.hu.mean[PANCREAS as usize];
    let grows_into = |l: u8| {
        matches!(
            l,
            PANCREAS | VISCERAL_FAT | SMALL_BOWEL_WALL | SMALL_BOWEL_CONTENT
        )
    };
    if let Some(r) = body.mass_radius_mm {
        let at = line[rng.random_range(0..n)].c;
        let drop = rng.random_range(25.0..65.0);
        let centre = [at[0], at[1] - r * 0.2, at[2]];
        c.paint_box(
            [centre[0] - r, centre[1] - r, centre[2] - r],
            [centre[0] + r, centre[1] + r, centre[2] + r],
            |q, l| {
                let d = ((q[0] - centre[0]).powi(2)
                    + (q[1] - centre[1]).powi(2)
                    + (q[2] - centre[2]).powi(2))
                .sqrt();
                let rr = r * (1.0 + 0.15 * tex.at(q, 0.15));
                (d <= rr && grows_into(l)).then(|| {
                    let v = pancreas_hu - drop + 10.0 * tex.at(q, 0.25);
                    (PANCREAS, v as f32)
                })
            },
        );
    }
    if let Some(r) = body.cyst_radius_mm {
        let at = line[rng.random_range(n / 3..n)].c;
        c.paint_box(
            [at[0] - r, at[1] - r, at[2] - r],
            [at[0] + r, at[1] + r, at[2] + r],
            |q, l| {
                let d = ((q[0] - at[0]).powi(2) + (q[1] - at[1]).powi(2) + (q[2] - at[2]).powi(2))
                    .sqrt();
                (d <= r && grows_into(l)).then(|| (PANCREAS, (8.0 + 4.0 * tex.at(q, 0.3)) as f32))
            },
        );
    }
}

/// Ascites: fluid in the visceral fat along the peritoneal wall and in the lower abdomen.
pub fn paint_ascites(p: &Painter, c: &mut Canvas, depth_mm: f64, below_mm: f64) {
    let an = p.an;
    let wall = an.fat_mm + an.muscle_mm;
    let big = 1e4;
    let tex = p.tex;
    let [a, b] = an.body;
    c.paint_box(
        [-a * 1.3, -b * 1.3, -big],
        [a * 1.3, b * 1.3, big],
        |q, l| {
            if l != VISCERAL_FAT {
                return None;
            }
            let near_wall = p.body_r(q, wall + depth_mm) > 1.0;
            let low = q[2] < below_mm;
            (near_wall || low).then(|| {
                (
                    ASCITES,
                    (p.hu.mean[ASCITES as usize] + 4.0 * tex.at(q, 0.2)) as f32,
                )
            })
        },
    );
}
