//! The slab that can hold the pancreas, from the landmarks, and the field-of-view verdict.
//!
//! The pancreas lies at about the first and second lumbar vertebrae, its tail up to the twelfth
//! thoracic (anatomy texts; `../shared/notes/realism.md`). The lowest lung slices (the
//! posterior costophrenic recesses) reach about T12-L1, and the iliac crests lie at L4. The
//! slab is therefore, along z (mm, to the head):
//!
//! - from 200 mm below the lung base (when seen), or from the iliac crest when that is higher and
//!   lies at least 150 mm below a lung base the scan shows, up to 80 mm above the lung base:
//!   about three vertebral levels of margin on either side of where the gland can lie. The lung
//!   base the finder reports lies where the lungs still fill a share of the section (about T10-
//!   T11) and the crest at L4, five to six vertebral levels (about 150-220 mm) lower; lateral
//!   bone found closer below the lung base is the lower ribs and costal cartilage, not a crest.
//!   On realistic phantoms (`pancseg-train bench landmarks`, `docs/results/landmarks.md`) the
//!   true crests lay 206-310 mm below the found lung base and the false ones 22-117 mm; with
//!   the earlier 100 mm a false crest 117 mm below cut the whole pancreas out of the slab;
//! - unbounded on a side whose landmark the scan does not show.
//!
//! A scan whose lungs reach its lowest slice (chest only) holds no pancreas: the slab is empty
//! and so is the mask. The iliac crest alone does not bound the slab: on the project's
//! phantoms thick rib arcs, arms held down beside the body and contrast-filled bowel on both
//! sides pass for iliac wings in some cases, so the crest is trusted only where the lungs
//! confirm the level. A scan without lungs is **pelvis only** (empty slab) when its highest
//! slices hold no lateral bone and lie at most 30 mm above a pelvis run that the lateral bone
//! below them continues into ([`Landmarks::top_above_pelvis_mm`]: arms held down fill the band
//! with bone, and a band higher up, in an upper abdomen whose real ribs are too thin to show,
//! lies too far above the pelvis run). The crests lie
//! at L4, the lowest part of the gland (the uncinate process) at L2-L3, 50-75 mm higher in
//! most adults; the realistic phantoms draw the crest at least 40 mm below the gland. A
//! pelvis-only scan that reaches farther up, or whose top shows no gap, is searched as before.
//!
//! The verdict: **absent** when the slab is empty; **full** when on each side either the slab
//! ends inside the scan, or the side is unbounded and the mask ends at least 10 mm inside the
//! scan's edge; **cut** otherwise (the mask reaches the edge, or nothing bounds the gland there).

use super::landmarks::{Landmark, Landmarks};
use serde::Serialize;

/// Millimetres below the lung base the slab reaches.
const BELOW_LUNG_BASE_MM: f64 = 200.0;
/// The iliac crest bounds the slab only this far or farther below the lung base (mm).
const CREST_BELOW_LUNG_BASE_MM: f64 = 150.0;
/// Millimetres above the lung base the slab reaches.
const ABOVE_LUNG_BASE_MM: f64 = 80.0;
/// A scan without lungs whose top lies at most this far (mm) over its highest pelvis slice, in
/// the lumbar gap, is pelvis only.
const PELVIS_ONLY_MM: f64 = 30.0;
/// How far inside the scan's edge the mask must end for an unbounded side to count as seen.
const EDGE_MARGIN_MM: f64 = 10.0;

/// Whether the pancreas region lies in the field of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldOfView {
    /// The region lies inside the scan.
    Full,
    /// The scan's edge cuts the region (a short slab, or the mask reaches an edge).
    Cut,
    /// The scan does not hold the region (chest only, pelvis only): the mask is empty.
    Absent,
}

impl FieldOfView {
    /// The verdict's name in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            FieldOfView::Full => "full",
            FieldOfView::Cut => "cut",
            FieldOfView::Absent => "absent",
        }
    }
}

/// The slab of working-grid slices `[first, last]` that can hold the pancreas, and whether a
/// landmark bounds each end (`bounded[0]` the inferior end, `bounded[1]` the superior).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Slab {
    pub first: usize,
    pub last: usize,
    pub bounded: [bool; 2],
}

/// The slab of a scan of `nz` slices `slice_mm` apart; `None` when the scan holds no pancreas.
pub fn slab(l: &Landmarks, nz: usize, slice_mm: f64) -> Option<Slab> {
    if nz == 0 || l.lung_base == Landmark::Below {
        return None;
    }
    if l.lung_base == Landmark::NotFound
        && l.top_above_pelvis_mm.is_some_and(|d| d <= PELVIS_ONLY_MM)
    {
        return None;
    }
    let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
    let mut bounded = [false; 2];
    if let Landmark::At(z) = l.lung_base {
        let z = z as f64 * slice_mm;
        lo = z - BELOW_LUNG_BASE_MM;
        hi = z + ABOVE_LUNG_BASE_MM;
        bounded = [true, true];
    }
    if let (Landmark::At(z), Landmark::At(b)) = (l.iliac_crest, l.lung_base) {
        let crest = z as f64 * slice_mm;
        if b as f64 * slice_mm - crest >= CREST_BELOW_LUNG_BASE_MM {
            lo = lo.max(crest);
        }
    }
    let top = (nz - 1) as f64 * slice_mm;
    // a bound outside the scan does not bound it
    bounded[0] &= lo > 0.0;
    bounded[1] &= hi < top;
    let first = (lo / slice_mm).ceil().max(0.0);
    let last = (hi / slice_mm).floor().min((nz - 1) as f64);
    (first <= last).then_some(Slab {
        first: first as usize,
        last: last as usize,
        bounded,
    })
}

/// The verdict for a scan of `nz` slices given its slab and the mask's slices `[first, last]`
/// on the working grid (`None`: empty mask).
pub fn verdict(
    slab: Option<&Slab>,
    mask_slices: Option<[usize; 2]>,
    nz: usize,
    slice_mm: f64,
) -> FieldOfView {
    let Some(s) = slab else {
        return FieldOfView::Absent;
    };
    let margin = (EDGE_MARGIN_MM / slice_mm).ceil() as usize;
    let inside_low = |m: Option<[usize; 2]>| m.is_some_and(|[a, _]| a >= margin);
    let inside_high = |m: Option<[usize; 2]>| m.is_some_and(|[_, b]| b + margin < nz);
    let low = s.bounded[0] || inside_low(mask_slices);
    let high = s.bounded[1] || inside_high(mask_slices);
    if low && high {
        FieldOfView::Full
    } else {
        FieldOfView::Cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marks(lung_base: Landmark, iliac_crest: Landmark) -> Landmarks {
        Landmarks {
            lung_base,
            iliac_crest,
            top_above_pelvis_mm: None,
        }
    }

    #[test]
    fn a_whole_trunk_gives_a_bounded_slab() {
        // 700 slices of 1 mm: crest at 150 mm, lung base at 400 mm
        let s = slab(&marks(Landmark::At(400), Landmark::At(150)), 700, 1.0).unwrap();
        assert_eq!((s.first, s.last, s.bounded), (200, 480, [true, true]));
        assert_eq!(verdict(Some(&s), None, 700, 1.0), FieldOfView::Full);
    }

    #[test]
    fn chest_or_pelvis_only_is_absent() {
        assert_eq!(slab(&marks(Landmark::Below, Landmark::NotFound), 100, 2.5), None);
        // the pelvis alone is not trusted (see the module doc)
        assert!(slab(&marks(Landmark::NotFound, Landmark::Above), 100, 2.5).is_some());
        assert_eq!(verdict(None, Some([3, 9]), 100, 2.5), FieldOfView::Absent);
        // a scan ending in the lumbar gap close over the pelvis is
        let pelvis = |d: f64, lung_base| Landmarks {
            top_above_pelvis_mm: Some(d),
            ..marks(lung_base, Landmark::At(60))
        };
        assert_eq!(slab(&pelvis(30.0, Landmark::NotFound), 100, 2.5), None);
        // farther up the gland can lie in the scan; with lungs the lungs decide
        assert!(slab(&pelvis(32.5, Landmark::NotFound), 100, 2.5).is_some());
        assert!(slab(&pelvis(10.0, Landmark::At(90)), 100, 2.5).is_some());
    }

    #[test]
    fn a_slab_without_landmarks_is_cut_unless_the_mask_ends_inside() {
        let s = slab(&marks(Landmark::NotFound, Landmark::NotFound), 20, 2.0).unwrap();
        assert_eq!((s.first, s.last, s.bounded), (0, 19, [false, false]));
        assert_eq!(verdict(Some(&s), Some([0, 19]), 20, 2.0), FieldOfView::Cut);
        assert_eq!(verdict(Some(&s), None, 20, 2.0), FieldOfView::Cut);
        assert_eq!(verdict(Some(&s), Some([6, 13]), 20, 2.0), FieldOfView::Full);
        // 10 mm is 4 slices of 2.5 mm
        assert_eq!(verdict(Some(&s), Some([3, 13]), 20, 2.5), FieldOfView::Cut);
    }

    #[test]
    fn lungs_high_above_leave_the_top_unbounded() {
        // without lungs the crest does not bound the slab
        let s = slab(&marks(Landmark::NotFound, Landmark::At(10)), 60, 2.5).unwrap();
        assert_eq!((s.first, s.last, s.bounded), (0, 59, [false, false]));
        // a crest too close below the lung base is not one
        let s = slab(&marks(Landmark::At(300), Landmark::At(250)), 400, 1.0).unwrap();
        assert_eq!(s.first, 100);
        // rib arcs 120 mm below the lung base do not bound it; a crest 160 mm below does
        let s = slab(&marks(Landmark::At(300), Landmark::At(180)), 400, 1.0).unwrap();
        assert_eq!(s.first, 100);
        let s = slab(&marks(Landmark::At(300), Landmark::At(140)), 400, 1.0).unwrap();
        assert_eq!(s.first, 140);
    }
}
