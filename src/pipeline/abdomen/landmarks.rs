//! Landmarks any abdominal CT shows, found without learning on the working grid (canonical
//! orientation: z runs to the head): the **lung bases** and the **iliac crests**.
//!
//! Per axial slice: the body (dense pixels, largest component, holes filled, with thin
//! attachments such as the table top cut off first: [`body_mask_detached`]), the air inside it
//! (below -400 HU) and, on each side, the largest connected
//! piece of dense tissue (above 250 HU) more than 45 % of the body's half-width from its
//! centre, where the pelvis's iliac wings lie and the spine does not.
//!
//! - **Lungs**: slices whose air inside the body is at least 20 cm² and at least 15 % of the
//!   body's area or 20 % of its lean area (the body less its fat, -190 to -30 HU; bowel gas
//!   rarely fills that much of a cross-section). Of the runs of such slices at least 10 mm long,
//!   the one with the fullest slice is the lungs when that slice holds at least 25 % air of the
//!   body or 40 % of the lean body; its lowest slice is the **lung base**. When the
//!   run reaches the scan's lowest slice the bases lie below the field of view: the scan is of
//!   the chest. The lean shares keep an obese body's lungs: its subcutaneous and visceral fat
//!   can double the body's area, and on realistic phantoms the fullest lung slice of obese
//!   bodies held 20-26 % air of the body (lungs lost, or found 130 mm above the recesses) but
//!   49-68 % of the lean body, while bowel gas below the lungs held at most 16 % and 34 %
//!   (24 whole-trunk phantoms of habitus 0-1, `docs/results/landmarks.md`).
//! - **Lungs entering at the top edge**: abdominal protocols often start a few centimetres
//!   above the domes, so the lungs show only as their lowest slices, too few or too empty to
//!   be a run as above. A supine patient's bowel gas floats to the front of the abdomen, while
//!   the lowest lung (the posterior costophrenic recesses) lies at the back: when no lungs are
//!   found and the scan's highest slice holds at least 20 cm² of air in the body's posterior
//!   half, 10 % of the lean body, the air there is taken for the lung bases entering the scan,
//!   and the lowest slice of the unbroken run below it (at least 10 mm) whose posterior air
//!   holds 2 % of the lean body is the **lung base**. On 24 whole-trunk phantoms cut at every
//!   height and length (`pancseg-train bench landmarks --bodies 24`), no crop whose highest
//!   slice lay below the lungs got a lung base, every crop that showed the lowest lung and
//!   60 mm above it did (79 % without this rule), and no slab cut a pancreas
//!   (`docs/results/landmarks.md`). Taking gas for lungs this way (a prone
//!   patient's gas lies at the back) costs little: the slab still reaches 200 mm below that
//!   slice, and a scan whose highest slice lies farther than that above the pancreas shows
//!   the lungs themselves.
//! - **Pelvis**: slices whose largest lateral piece holds at least 5 cm² on both sides: the
//!   iliac wings are one broad plate each; the ribs beside the upper abdomen are many small
//!   cross-sections, and contrast in the stomach or a colon segment lies on one side. Runs of such
//!   slices at least 10 mm long are pelvis (the wings' oblique middle part may fall below the
//!   threshold, so the pelvis can show as several runs); the highest run below the lung base
//!   ends at the **iliac crest**; when that run reaches the scan's highest slice the whole scan
//!   lies in the pelvis.
//! - **The lumbar gap over the pelvis**: between the iliac crests and the lowest ribs a
//!   section holds little or no lateral bone (the lumbar spine lies in the middle, not beside
//!   it). When the scan's highest slices (at least 5 mm) hold no lateral bone (the smaller
//!   side's largest piece under 0.5 cm²) and the lateral bone below them continues, without a
//!   break of 10 mm or more, down into a pelvis run as above, the scan ends in that gap: the
//!   landmarks report how far its highest slice lies above the top of that pelvis run (the
//!   crest as found), and [`super::region`] takes a scan without lungs that ends close over it
//!   for a pelvis-only scan. Arms held down beside the body fill every section with lateral
//!   bone, so no band is free; the classic phantoms' thick ribs do too. Real ribs do not (nor
//!   the realistic phantoms' adult-sized ones): on the real
//!   abdomen-pelvis scan of `../shared/data/real-ct` the lateral pieces fall under 0.5 cm²
//!   from about 85 mm above the crest up to the lungs (thin cortex on a 2 mm grid), so the
//!   band alone would also be found in the upper abdomen; measuring from the pelvis run itself
//!   keeps such a scan's mid-abdomen crops searched (`docs/results/landmarks.md`).
//!
//! HU heuristics of this kind (air inside the body for lungs, dense bone for the skeleton) are
//! common practice in public CT code (see `docs/`); they see nothing of the pancreas itself.

use crate::pipeline::candidates::superpixels::body::body_mask_detached;
use crate::volume::Volume;
use rayon::prelude::*;
use serde::Serialize;

/// Air below this (HU) inside the body counts as lung (or bowel gas).
const AIR_HU: f32 = -400.0;
/// Bone above this (HU); well above enhanced vessels' usual values.
const BONE_HU: f32 = 250.0;
/// Lateral bone starts this far from the body centre (share of the half-width).
const LATERAL: f64 = 0.45;
/// A lung slice: air share of the body area, or of the lean body area, and air area.
const LUNG_SHARE: f64 = 0.15;
const LUNG_LEAN_SHARE: f64 = 0.20;
const LUNG_MIN_MM2: f64 = 2000.0;
/// The lungs' fullest slice holds at least this share of air (of the body, or of the lean body).
const LUNG_PEAK_SHARE: f64 = 0.25;
const LUNG_PEAK_LEAN_SHARE: f64 = 0.40;
/// Lungs entering at the top edge: posterior air of the highest slice, and of the run below
/// it, as shares of the lean body.
const EDGE_POSTERIOR_SHARE: f64 = 0.10;
const EDGE_RUN_SHARE: f64 = 0.02;
/// Fat (HU, the usual adipose window of body-composition CT).
const FAT_HU: [f32; 2] = [-190.0, -30.0];
/// A pelvis slice: the largest lateral piece of bone on each side (mm²).
const PELVIS_SIDE_MM2: f64 = 500.0;
/// Structures thinner than about three times this (mm: one working pixel of 2 mm erodes a
/// 3-pixel square) are cut from the body before it is measured: the table's plates (a few mm)
/// go, and the body wall stays (a chest wall of 10 mm over the lungs survives; with 4 mm, a
/// thin wall broke and the lungs' air leaked outside the body).
const DETACH_MM: f64 = 2.0;
/// Shortest run of lung or pelvis slices (mm); also the shortest break of lateral bone that
/// separates the bone under the lumbar gap from the pelvis.
const MIN_RUN_MM: f64 = 10.0;
/// A slice without lateral bone: the smaller side's largest piece under this (mm²).
const NO_LATERAL_BONE_MM2: f64 = 50.0;
/// The band free of lateral bone at a scan's top is at least this long (mm) to count as the
/// lumbar gap.
const GAP_MIN_MM: f64 = 5.0;

/// Measures of one axial slice.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SliceMeasures {
    /// Body area, mm².
    pub body_mm2: f64,
    /// Air inside the body, mm².
    pub air_mm2: f64,
    /// Fat inside the body, mm².
    pub fat_mm2: f64,
    /// Air inside the body's posterior half (behind the middle of its front-to-back extent), mm².
    pub posterior_air_mm2: f64,
    /// The largest connected piece of lateral bone left and right of the body centre, mm².
    pub bone_left_mm2: f64,
    pub bone_right_mm2: f64,
}

impl SliceMeasures {
    /// Air share of the body.
    pub fn air_share(&self) -> f64 {
        if self.body_mm2 > 0.0 {
            self.air_mm2 / self.body_mm2
        } else {
            0.0
        }
    }

    /// Air share of the body less its fat.
    pub fn lean_air_share(&self) -> f64 {
        self.lean_share(self.air_mm2)
    }

    /// Posterior air's share of the body less its fat.
    pub fn posterior_air_share(&self) -> f64 {
        self.lean_share(self.posterior_air_mm2)
    }

    fn lean_share(&self, mm2: f64) -> f64 {
        let lean = self.body_mm2 - self.fat_mm2;
        if lean > 0.0 {
            mm2 / lean
        } else {
            0.0
        }
    }

    fn is_lung(&self) -> bool {
        (self.air_share() >= LUNG_SHARE || self.lean_air_share() >= LUNG_LEAN_SHARE)
            && self.air_mm2 >= LUNG_MIN_MM2
    }

    /// How full of air the slice is against the lungs' fullest slice (at least 1: as full).
    fn lung_fill(&self) -> f64 {
        (self.air_share() / LUNG_PEAK_SHARE).max(self.lean_air_share() / LUNG_PEAK_LEAN_SHARE)
    }

    fn is_pelvis(&self) -> bool {
        self.bone_left_mm2 >= PELVIS_SIDE_MM2 && self.bone_right_mm2 >= PELVIS_SIDE_MM2
    }

    /// The smaller side's largest lateral bone piece, mm² (what the lumbar-gap rule reads).
    pub fn lateral_bone_mm2(&self) -> f64 {
        self.bone_left_mm2.min(self.bone_right_mm2)
    }

    /// Whether the slice holds lateral bone on both sides.
    fn has_lateral_bone(&self) -> bool {
        self.lateral_bone_mm2() >= NO_LATERAL_BONE_MM2
    }
}

/// A landmark's slice, or where it lies when the scan does not show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "where", content = "slice")]
pub enum Landmark {
    /// On this slice of the working grid.
    At(usize),
    /// Beyond the scan's lowest slice (inferior).
    Below,
    /// Beyond the scan's highest slice (superior).
    Above,
    /// Not seen, side unknown.
    NotFound,
}

/// The landmarks of one scan.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Landmarks {
    pub lung_base: Landmark,
    pub iliac_crest: Landmark,
    /// When the scan ends in the lumbar gap over the pelvis (see the module doc): how far its
    /// highest slice lies above the highest pelvis slice (mm).
    pub top_above_pelvis_mm: Option<f64>,
}

/// Measures of every slice of a canonical volume.
pub fn slice_measures(ct: &Volume) -> Vec<SliceMeasures> {
    let (nz, ny, nx) = ct.data.dim();
    let px = ct.geometry.spacing[0] * ct.geometry.spacing[1];
    let radius = (DETACH_MM / ct.geometry.spacing[0].min(ct.geometry.spacing[1]))
        .round()
        .max(1.0) as usize;
    let data = ct.data.as_standard_layout();
    let Some(hu) = data.as_slice() else {
        return vec![SliceMeasures::default(); nz];
    };
    hu.par_chunks(ny * nx.max(1))
        .take(nz)
        .map(|s| measure(s, nx, ny, px, radius))
        .collect()
}

fn measure(hu: &[f32], nx: usize, ny: usize, px: f64, radius: usize) -> SliceMeasures {
    let body = body_mask_detached(hu, nx, ny, radius);
    let (mut n, mut sx, mut x0, mut x1) = (0usize, 0.0f64, usize::MAX, 0usize);
    let (mut y0, mut y1) = (usize::MAX, 0usize);
    for y in 0..ny {
        for x in 0..nx {
            if body[y * nx + x] {
                n += 1;
                sx += x as f64;
                x0 = x0.min(x);
                x1 = x1.max(x);
                y0 = y0.min(y);
                y1 = y1.max(y);
            }
        }
    }
    if n == 0 {
        return SliceMeasures::default();
    }
    let cx = sx / n as f64;
    // canonical y runs to the patient's back
    let cy = (y0 + y1) as f64 / 2.0;
    let half = ((x1 - x0) as f64 / 2.0).max(1.0);
    let mut m = SliceMeasures {
        body_mm2: n as f64 * px,
        ..SliceMeasures::default()
    };
    // lateral dense pixels: 1 on the patient's left (canonical x runs to the left), 2 right
    let mut side = vec![0u8; nx * ny];
    for y in 0..ny {
        for x in 0..nx {
            let i = y * nx + x;
            if !body[i] {
                continue;
            }
            let v = hu[i];
            if v < AIR_HU {
                m.air_mm2 += px;
                if y as f64 > cy {
                    m.posterior_air_mm2 += px;
                }
            } else if (FAT_HU[0]..=FAT_HU[1]).contains(&v) {
                m.fat_mm2 += px;
            } else if v > BONE_HU {
                let d = (x as f64 - cx) / half;
                if d >= LATERAL {
                    side[i] = 1;
                } else if d <= -LATERAL {
                    side[i] = 2;
                }
            }
        }
    }
    let [left, right] = largest_pieces(&mut side, nx, ny);
    m.bone_left_mm2 = left as f64 * px;
    m.bone_right_mm2 = right as f64 * px;
    m
}

/// Pixels of the largest 8-connected piece of side 1 and of side 2 (`side` is cleared).
fn largest_pieces(side: &mut [u8], nx: usize, ny: usize) -> [usize; 2] {
    let mut best = [0usize; 2];
    let mut stack = Vec::new();
    for start in 0..side.len() {
        let s = side[start];
        if s == 0 {
            continue;
        }
        side[start] = 0;
        stack.push(start);
        let mut size = 0;
        while let Some(i) = stack.pop() {
            size += 1;
            let (x, y) = ((i % nx) as isize, (i / nx) as isize);
            for dy in -1..=1isize {
                for dx in -1..=1isize {
                    let (u, v) = (x + dx, y + dy);
                    if u < 0 || v < 0 || u >= nx as isize || v >= ny as isize {
                        continue;
                    }
                    let j = v as usize * nx + u as usize;
                    if side[j] == s {
                        side[j] = 0;
                        stack.push(j);
                    }
                }
            }
        }
        let k = usize::from(s - 1);
        best[k] = best[k].max(size);
    }
    best
}

/// Runs `[first, last]` of consecutive slices where `f` holds, at least `min_len` long.
fn runs(m: &[SliceMeasures], f: impl Fn(&SliceMeasures) -> bool, min_len: usize) -> Vec<[usize; 2]> {
    let mut out = Vec::new();
    let mut start = None;
    for (z, s) in m.iter().enumerate() {
        match (f(s), start) {
            (true, None) => start = Some(z),
            (false, Some(a)) => {
                if z - a >= min_len {
                    out.push([a, z - 1]);
                }
                start = None;
            }
            _ => {}
        }
    }
    if let Some(a) = start {
        if m.len() - a >= min_len {
            out.push([a, m.len() - 1]);
        }
    }
    out
}

/// The lowest slice of lungs that enter the scan at its highest slice (see the module doc),
/// given the shortest run in slices.
fn entering_lungs(m: &[SliceMeasures], min_len: usize) -> Option<usize> {
    let top = m.len().checked_sub(1)?;
    let edge = &m[top];
    if edge.posterior_air_share() < EDGE_POSTERIOR_SHARE || edge.posterior_air_mm2 < LUNG_MIN_MM2
    {
        return None;
    }
    let first = m[..top]
        .iter()
        .rposition(|s| s.posterior_air_share() < EDGE_RUN_SHARE)
        .map_or(0, |z| z + 1);
    (top - first + 1 >= min_len).then_some(first)
}

/// How far (mm) the highest slice lies above the highest pelvis slice, when the scan ends in
/// the lumbar gap over the pelvis (see the module doc); `min_len` is the shortest run (and
/// break) in slices.
fn top_above_pelvis(m: &[SliceMeasures], slice_mm: f64, min_len: usize) -> Option<f64> {
    let top = m.len().checked_sub(1)?;
    let bone = m.iter().rposition(SliceMeasures::has_lateral_bone)?;
    let band = top - bone;
    if (band as f64) * slice_mm < GAP_MIN_MM {
        return None;
    }
    // the lateral bone below the band, down to the first break of `min_len` slices
    let mut start = 0;
    let mut free = 0;
    for z in (0..=bone).rev() {
        if m[z].has_lateral_bone() {
            free = 0;
        } else {
            free += 1;
            if free >= min_len {
                start = z + free;
                break;
            }
        }
    }
    let pelvis = runs(&m[start..=bone], SliceMeasures::is_pelvis, min_len);
    pelvis
        .last()
        .map(|r| (top - (start + r[1])) as f64 * slice_mm)
}

/// The landmarks from the slice measures of a grid with `slice_mm` between slices.
pub fn find_landmarks(m: &[SliceMeasures], slice_mm: f64) -> Landmarks {
    let min_len = ((MIN_RUN_MM / slice_mm).ceil() as usize).max(2);
    let top = m.len().saturating_sub(1);
    let lung_runs = runs(m, SliceMeasures::is_lung, min_len);
    let peak = |r: &[usize; 2]| {
        (r[0]..=r[1])
            .map(|z| m[z].lung_fill())
            .fold(0.0f64, f64::max)
    };
    let lungs = lung_runs
        .iter()
        .copied()
        .max_by(|a, b| peak(a).total_cmp(&peak(b)))
        .filter(|r| peak(r) >= 1.0);
    let lung_base = match lungs {
        Some([0, _]) => Landmark::Below,
        Some([first, _]) => Landmark::At(first),
        None => entering_lungs(m, min_len).map_or(Landmark::NotFound, Landmark::At),
    };
    let below_lungs = |r: &[usize; 2]| match lung_base {
        Landmark::At(z) => r[1] < z,
        _ => true,
    };
    let pelvis = runs(m, SliceMeasures::is_pelvis, min_len)
        .into_iter()
        .rfind(below_lungs);
    let iliac_crest = match pelvis {
        Some([_, last]) if last == top => Landmark::Above,
        Some([_, last]) => Landmark::At(last),
        None => Landmark::NotFound,
    };
    Landmarks {
        lung_base,
        iliac_crest,
        top_above_pelvis_mm: top_above_pelvis(m, slice_mm, min_len),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slices(kinds: &str) -> Vec<SliceMeasures> {
        // a body of `body` mm² with lateral bone pieces of `left` and `right` mm²
        let lateral = |body: f64, left: f64, right: f64| SliceMeasures {
            body_mm2: body,
            bone_left_mm2: left,
            bone_right_mm2: right,
            ..Default::default()
        };
        kinds
            .chars()
            .map(|c| match c {
                // lungs
                'L' => SliceMeasures {
                    body_mm2: 60000.0,
                    air_mm2: 30000.0,
                    ..Default::default()
                },
                // pelvis
                'P' => lateral(70000.0, 900.0, 900.0),
                // the upper iliac wings: lateral bone, too little to be a pelvis slice
                'w' => lateral(70000.0, 200.0, 300.0),
                // rib arcs: lateral bone on both sides
                'b' => lateral(60000.0, 300.0, 250.0),
                // a gas-filled bowel loop: air but a small share
                'g' => SliceMeasures {
                    body_mm2: 70000.0,
                    air_mm2: 5000.0,
                    ..Default::default()
                },
                // the lung bases entering: posterior air, 5 % of the lean body (rising) and
                // 15 % (the scan's highest slice)
                'r' => SliceMeasures {
                    body_mm2: 70000.0,
                    air_mm2: 3500.0,
                    posterior_air_mm2: 3000.0,
                    fat_mm2: 10000.0,
                    ..Default::default()
                },
                'E' => SliceMeasures {
                    body_mm2: 70000.0,
                    air_mm2: 10000.0,
                    posterior_air_mm2: 9000.0,
                    fat_mm2: 10000.0,
                    ..Default::default()
                },
                // an obese body's lungs: 20 % of the body, 44 % of the lean body
                'O' => SliceMeasures {
                    body_mm2: 110000.0,
                    air_mm2: 22000.0,
                    fat_mm2: 60000.0,
                    ..Default::default()
                },
                // an obese body's gas-filled colon: 14 % of the body, 30 % of the lean body
                'G' => SliceMeasures {
                    body_mm2: 110000.0,
                    air_mm2: 15000.0,
                    fat_mm2: 60000.0,
                    ..Default::default()
                },
                _ => SliceMeasures {
                    body_mm2: 70000.0,
                    ..Default::default()
                },
            })
            .collect()
    }

    #[test]
    fn a_trunk_shows_both_landmarks() {
        // z = 0 is the lowest slice
        let m = slices("PPPP....PPPPPP.....g.....LLLLLL");
        let l = find_landmarks(&m, 2.5);
        assert_eq!(l.lung_base, Landmark::At(25));
        assert_eq!(l.iliac_crest, Landmark::At(13));
    }

    #[test]
    fn chest_and_pelvis_only_scans_say_where_the_landmarks_are() {
        assert_eq!(find_landmarks(&slices("LLLLLLLL"), 2.5).lung_base, Landmark::Below);
        assert_eq!(find_landmarks(&slices("PPPPPPPP"), 2.5).iliac_crest, Landmark::Above);
        let slab = find_landmarks(&slices("........"), 2.5);
        assert_eq!(slab.lung_base, Landmark::NotFound);
        assert_eq!(slab.iliac_crest, Landmark::NotFound);
    }

    #[test]
    fn a_scan_ending_in_the_lumbar_gap_over_the_pelvis_says_how_far_above_it() {
        // 2.5 mm slices: pelvis, the upper wings (with a 7.5 mm break), 4 slices of gap: the
        // top lies 12 slices over the highest pelvis slice
        let l = find_landmarks(&slices("PPPPPPwww...ww...."), 2.5);
        assert_eq!(l.top_above_pelvis_mm, Some(30.0));
        assert_eq!(l.lung_base, Landmark::NotFound);
        // a band shorter than 5 mm, or none: not the gap
        assert_eq!(find_landmarks(&slices("PPPPPPww."), 2.5).top_above_pelvis_mm, None);
        assert_eq!(find_landmarks(&slices("PPPPPPPP"), 2.5).top_above_pelvis_mm, None);
        // a break of 10 mm below the band: the bone under it is not the pelvis's
        let l = find_landmarks(&slices("PPPPPP....ww...."), 2.5);
        assert_eq!(l.top_above_pelvis_mm, None);
        // the top inside the ribs, or in a gap between rib arcs over no pelvis
        assert_eq!(find_landmarks(&slices("PPPP.......bbbbbb"), 2.5).top_above_pelvis_mm, None);
        assert_eq!(find_landmarks(&slices("......bbbbb..."), 2.5).top_above_pelvis_mm, None);
        // a whole trunk: the band at its top (lung slices, without lateral bone here) lies
        // over rib arcs that a 10 mm break parts from the pelvis
        let l = find_landmarks(&slices("PPPP....bbbbb.....LLLLLL"), 2.5);
        assert_eq!(l.top_above_pelvis_mm, None);
    }

    #[test]
    fn short_runs_are_not_landmarks() {
        // two slices of 2.5 mm (5 mm) are shorter than the 10 mm a run needs
        let l = find_landmarks(&slices("..PP....LL.."), 2.5);
        assert_eq!(l.lung_base, Landmark::NotFound);
        assert_eq!(l.iliac_crest, Landmark::NotFound);
    }

    #[test]
    fn an_obese_body_keeps_its_lungs_and_its_colon_is_not_taken_for_them() {
        let m = slices("....GGGGGG......OOOOOOOO");
        assert_eq!(find_landmarks(&m, 2.5).lung_base, Landmark::At(16));
        // the colon's run alone is not full enough to be lungs
        let m = slices("....GGGGGG......");
        assert_eq!(find_landmarks(&m, 2.5).lung_base, Landmark::NotFound);
        // measured against the whole body only, the lungs of this body would be lost
        assert!(slices("O")[0].air_share() < LUNG_PEAK_SHARE);
    }

    #[test]
    fn a_slice_measures_its_body_air_and_fat() {
        // 40 x 40 pixels of 2 mm: a 30 x 30 body of soft tissue holding 10 x 10 pixels of fat
        // and 6 x 6 of air, outside it air
        let (nx, ny) = (40, 40);
        let mut hu = vec![-1000.0f32; nx * ny];
        for y in 5..35 {
            for x in 5..35 {
                hu[y * nx + x] = 40.0;
            }
        }
        for y in 8..18 {
            for x in 8..18 {
                hu[y * nx + x] = -100.0;
            }
        }
        // 36 pixels of air behind the body's middle (y 19.5: canonical y runs to the back), 6
        // in front of it
        for y in 22..28 {
            for x in 22..28 {
                hu[y * nx + x] = -900.0;
            }
        }
        for y in 10..12 {
            for x in 25..28 {
                hu[y * nx + x] = -900.0;
            }
        }
        let m = measure(&hu, nx, ny, 4.0, 1);
        assert_eq!(m.body_mm2, 900.0 * 4.0);
        assert_eq!(m.fat_mm2, 100.0 * 4.0);
        assert_eq!(m.air_mm2, 42.0 * 4.0);
        assert_eq!(m.posterior_air_mm2, 36.0 * 4.0);
        assert!((m.lean_air_share() - 42.0 / 800.0).abs() < 1e-12);
        assert!((m.posterior_air_share() - 36.0 / 800.0).abs() < 1e-12);
    }

    #[test]
    fn lungs_entering_at_the_top_edge_give_the_lung_base() {
        // proper lungs are not found (the run is short and not full), the posterior air rises
        // to the highest slice: the base is the lowest slice of that rise
        let l = find_landmarks(&slices("PPPP....g......rrrE"), 2.5);
        assert_eq!(l.lung_base, Landmark::At(15));
        // shorter than 10 mm: not the lungs
        assert_eq!(
            find_landmarks(&slices("........rE"), 2.5).lung_base,
            Landmark::NotFound
        );
        // bowel gas at the top edge lies in front: not the lungs
        assert_eq!(
            find_landmarks(&slices("..........gggg"), 2.5).lung_base,
            Landmark::NotFound
        );
        // a scan that is all rise keeps a bounded base, never the chest-only `Below`
        assert_eq!(
            find_landmarks(&slices("rrrrE"), 2.5).lung_base,
            Landmark::At(0)
        );
        // proper lungs come first: their base, not the rise below it
        let l = find_landmarks(&slices("....rrrELLLLLL"), 2.5);
        assert_eq!(l.lung_base, Landmark::At(8));
    }
}
