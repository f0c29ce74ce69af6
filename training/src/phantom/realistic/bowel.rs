//! Small-bowel packing of the realistic profile: the classic anatomy leaves much of the
//! peritoneal cavity as fat, where in patients (thin ones above all) jejunal and ileal loops
//! fill it. Extra loops are swept as random walks through the mid and lower abdomen and the
//! pelvis, painted only into visceral fat and existing bowel, never into organs; how many
//! falls with the body's fat (habitus). Like the anatomy's own loops, a share of them is
//! collapsed or holds chyme (`BodyForm::collapsed_bowel`, `chyme_bowel`).

use super::super::anatomy::{wander, Painter};
use super::super::canvas::{spline, Canvas};
use super::super::intensity::Content;
use super::super::labels::*;
use super::draw::Levels;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

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
    for _ in 0..count {
        let r = rng.random_range(8.0..13.0) * p.form.bowel_scale;
        let q = [
            rng.random_range(xr.0..xr.1),
            rng.random_range(yr.0..yr.1),
            rng.random_range(zr.0..zr.1),
        ];
        let mut ctrl = wander(rng, q, [xr, yr, zr], 6..12, 22.0, r);
        let kind = Content::draw(rng, an.oral_contrast, false);
        let (wall_mm, kind) = p.small_bowel_state(rng, &mut ctrl, kind);
        p.tube_wall_content(
            c,
            &spline(&ctrl, 3.0),
            wall_mm,
            SMALL_BOWEL_WALL,
            SMALL_BOWEL_CONTENT,
            kind,
            |l| l == VISCERAL_FAT,
        );
    }
}
