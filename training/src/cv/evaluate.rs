//! Evaluation of one case: every stage map thresholded (raw and smoothed), DSC curves over the
//! thresholds, surface distances, and the mean curves that calibration searches.

use super::grid::{crf_grid, sigma_grid};
use super::packed_mask::PackedMask;
use super::results::{scaled_sigma, CvArgs};
use crate::cohort::Cohort;
use crate::error::Result;
use ndarray::{s, Array3, Zip};
use pancseg::eval::metrics::{dice, surface_distances};
use pancseg::model::bundle::OperatingPoints;
use pancseg::pipeline::fusion::smoothing::gaussian_smooth;
use pancseg::pipeline::{Segmenter, StageMaps};

/// DSC of a box mask against the (canonical) truth, counting truth outside the box as missed.
pub(crate) fn box_dsc(
    boxed: &Array3<u8>,
    offset: [usize; 3],
    truth: &Array3<u8>,
    truth_total: usize,
) -> f64 {
    let (dz, dy, dx) = boxed.dim();
    let [x0, y0, z0] = offset;
    let window = truth.slice(s![z0..z0 + dz, y0..y0 + dy, x0..x0 + dx]);
    let (mut inter, mut count) = (0usize, 0usize);
    Zip::from(boxed).and(&window).for_each(|&m, &t| {
        if m != 0 {
            count += 1;
            if t != 0 {
                inter += 1;
            }
        }
    });
    if count + truth_total == 0 {
        1.0
    } else {
        2.0 * inter as f64 / (count + truth_total) as f64
    }
}

/// One case's maps, kept between calibration and evaluation (box crops only).
pub(super) struct Evaluated {
    pub(super) id: String,
    pub(super) train: bool,
    pub(super) maps: StageMaps,
    pub(super) truth: Array3<u8>,
    /// Opt. and S_RF: (DSC, surface distances), computed while the label volume was there.
    pub(super) fixed: [(f64, Option<(f64, f64)>); 2],
    /// DSC per map per threshold (G(Pk) empty until calibration has chosen the sigma).
    pub(super) curve: Vec<Vec<f64>>,
    /// DSC of G(P0), G(P1), G(P2) per threshold, for each sigma of [`sigma_grid`]: only for the
    /// held-out training cases the sigma is chosen on (empty for the others).
    pub(super) g_curves: Vec<[Vec<f64>; 3]>,
    /// DSC per CRF (weight, prior) of [`crf_grid`].
    pub(super) crf_dsc: Vec<f64>,
    /// The box's CRF(P2) mask per setting of [`crf_grid`], packed (`maps.crf` is emptied):
    /// empty when the case had no candidate or the bundle no boundary ConvNet.
    pub(super) crf_masks: Vec<PackedMask>,
}

pub(super) fn figures(
    mask: &Array3<u8>,
    truth: &Array3<u8>,
    spacing: [f64; 3],
) -> (f64, Option<(f64, f64)>) {
    let d = dice(mask, truth).unwrap_or(0.0);
    (
        d,
        surface_distances(mask, truth, spacing).map(|s| (s.assd, s.hd95)),
    )
}

pub(crate) fn map_of(maps: &StageMaps, k: usize) -> &Array3<f32> {
    match k {
        0 => &maps.p0,
        1 => &maps.g_p0,
        2 => &maps.p1,
        3 => &maps.g_p1,
        4 => &maps.p2,
        _ => &maps.g_p2,
    }
}

/// The smoothing sigma (voxels) that the bundle with sigma factors `g` applies to this case.
pub(super) fn case_sigma(
    a: &CvArgs,
    seg: &Segmenter,
    spacing: [f64; 3],
    g: (f64, f64),
) -> [f64; 3] {
    let mut m = seg.manifest().clone();
    (m.sigma_voxels, m.sigma_mm) = scaled_sigma(a, g);
    m.sigma_for(spacing)
}

/// The smoothed maps G(P0), G(P1), G(P2) of a case at sigma `sigma` (voxels).
pub(super) fn smoothed_maps(maps: &StageMaps, sigma: [f64; 3]) -> [Array3<f32>; 3] {
    [&maps.p0, &maps.p1, &maps.p2].map(|p| gaussian_smooth(p, sigma))
}

/// DSC of `map` thresholded at each of `ts` (the map covers the working box at `offset`).
pub(super) fn dsc_curve(
    map: &Array3<f32>,
    offset: [usize; 3],
    truth: &Array3<u8>,
    total: usize,
    ts: &[f32],
) -> Vec<f64> {
    ts.iter()
        .map(|&t| box_dsc(&StageMaps::threshold(map, t), offset, truth, total))
        .collect()
}

/// A case's maps and DSC curves: the raw maps' always, the smoothed maps' at every sigma of the
/// search when `sweep` (a case the sigma is calibrated on).
pub(super) fn evaluate_case(
    a: &CvArgs,
    seg: &Segmenter,
    cohort: &Cohort,
    id: &str,
    train: bool,
    sweep: bool,
    ts: &[f32],
) -> Result<Evaluated> {
    let (ct, mask) = cohort.load_case(id)?;
    let mut maps = seg.stage_maps(&ct, &crf_grid())?;
    let truth = maps.reorient(&mask.data.mapv(|v| u8::from(v != 0)));
    let total = truth.iter().filter(|&&v| v != 0).count();
    let opt = figures(&maps.optimal_mask(&truth), &truth, maps.spacing);
    let srf = figures(&maps.candidates_mask(), &truth, maps.spacing);
    // the label volume is as large as the CT: not kept
    maps.set.labels = Array3::zeros((0, 0, 0));
    // the smoothed maps' curves wait for the calibrated sigma
    let curve = (0..6)
        .map(|k| match k % 2 {
            0 => dsc_curve(map_of(&maps, k), maps.offset, &truth, total, ts),
            _ => Vec::new(),
        })
        .collect();
    let g_curves = if sweep {
        sigma_grid()
            .into_iter()
            .map(|g| {
                smoothed_maps(&maps, case_sigma(a, seg, maps.spacing, g))
                    .map(|m| dsc_curve(&m, maps.offset, &truth, total, ts))
            })
            .collect()
    } else {
        Vec::new()
    };
    let crf = std::mem::take(&mut maps.crf);
    let crf_dsc = if crf.is_empty() && seg.manifest().networks.boundary.is_some() {
        // no slab or no candidate: every CRF setting gives the empty mask
        let empty = if total == 0 { 1.0 } else { 0.0 };
        vec![empty; crf_grid().len()]
    } else {
        crf.iter()
            .map(|(_, m)| box_dsc(m, maps.offset, &truth, total))
            .collect()
    };
    // kept until calibration picks a setting: a bit per voxel instead of a byte
    let crf_masks = crf.iter().map(|(_, m)| PackedMask::pack(m)).collect();
    Ok(Evaluated {
        id: id.to_string(),
        train,
        maps,
        truth,
        fixed: [opt, srf],
        curve,
        g_curves,
        crf_dsc,
        crf_masks,
    })
}

/// The operating points at the best threshold of each mean DSC curve (`curves` in [`map_of`]'s
/// order: P0, G(P0), P1, G(P1), P2, G(P2); `ts` their thresholds).
pub(crate) fn best_operating_points(curves: &[Vec<f64>], ts: &[f32]) -> OperatingPoints {
    let best = |k: usize| ts[argmax(&curves[k])];
    OperatingPoints {
        p0: best(0),
        g_p0: best(1),
        p1: best(2),
        g_p1: best(3),
        p2: best(4),
        g_p2: best(5),
    }
}

pub(crate) fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

pub(crate) fn mean_curve<T>(cases: &[&T], f: impl Fn(&T) -> &Vec<f64>) -> Vec<f64> {
    let n = cases.first().map_or(0, |c| f(c).len());
    (0..n)
        .map(|i| cases.iter().map(|c| f(c)[i]).sum::<f64>() / cases.len().max(1) as f64)
        .collect()
}
