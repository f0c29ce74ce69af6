//! `pancseg-train cohort-stats`: how hard a cohort is for intensity alone.
//!
//! Per case: pancreas volume, HU mean and std inside the pancreas and in a 5 mm ring around it
//! (exact Euclidean distance in mm), and the DSC of the best HU window: the window [lo, hi] whose
//! voxels inside the body (HU > -500) best match the pancreas. Reported twice: each case's own
//! best window (an optimistic upper bound) and the single window that maximises the cohort's mean
//! DSC (the requirement: below 0.25, so location and context are needed, as in real CT).
//! Windows are searched over [-200, 400] HU in 2 HU steps.

use crate::cohort::{mask_volume_ml, Cohort};
use crate::error::Result;
use crate::parameter_spread::{parameter_spread, to_text, Spread};
use pancseg::eval::distance::distance_to;
use rayon::prelude::*;
use serde::Serialize;
use std::path::Path;

const HU_LO: i32 = -1024;
const HU_HI: i32 = 3071;
const BODY_HU: f32 = -500.0;
const RING_MM: f64 = 5.0;
const WIN_LO: i32 = -200;
const WIN_HI: i32 = 400;
const WIN_STEP: usize = 2;

#[derive(Debug, Clone, Serialize)]
pub struct CaseStats {
    pub id: String,
    pub pancreas_volume_ml: f64,
    pub pancreas_hu_mean: f64,
    pub pancreas_hu_std: f64,
    pub ring_hu_mean: f64,
    pub ring_hu_std: f64,
    /// This case's best window and its DSC.
    pub own_window: [i32; 2],
    pub own_window_dsc: f64,
    /// DSC at the cohort's single best window.
    pub cohort_window_dsc: f64,
    #[serde(skip)]
    hist_p: Vec<u64>,
    #[serde(skip)]
    hist_b: Vec<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CohortStats {
    pub cohort: String,
    pub cases: Vec<CaseStats>,
    /// The single window maximising the mean DSC over the cohort.
    pub cohort_window: [i32; 2],
    pub cohort_window_mean_dsc: f64,
    pub own_window_mean_dsc: f64,
    pub mean_pancreas_volume_ml: f64,
    /// The spread of every parameter the generator drew per case.
    pub parameters: Vec<Spread>,
}

fn bin(v: f32) -> usize {
    (v.round() as i32).clamp(HU_LO, HU_HI).wrapping_sub(HU_LO) as usize
}

fn mean_std(sum: f64, sum2: f64, n: f64) -> (f64, f64) {
    if n == 0.0 {
        return (f64::NAN, f64::NAN);
    }
    let m = sum / n;
    (m, (sum2 / n - m * m).max(0.0).sqrt())
}

/// Prefix sums of a histogram: `p[i]` = sum of bins below i.
fn prefix(h: &[u64]) -> Vec<u64> {
    let mut p = vec![0u64; h.len() + 1];
    for (i, v) in h.iter().enumerate() {
        p[i + 1] = p[i] + v;
    }
    p
}

fn windows() -> Vec<[i32; 2]> {
    let mut w = Vec::new();
    for lo in (WIN_LO..=WIN_HI).step_by(WIN_STEP) {
        for hi in (lo..=WIN_HI).step_by(WIN_STEP) {
            w.push([lo, hi]);
        }
    }
    w
}

fn dsc_at(pp: &[u64], pb: &[u64], w: [i32; 2]) -> f64 {
    let (a, b) = ((w[0] - HU_LO) as usize, (w[1] - HU_LO) as usize + 1);
    let tp = (pp[b] - pp[a]) as f64;
    let sel = (pb[b] - pb[a]) as f64;
    let total_p = pp[pp.len() - 1] as f64;
    if sel + total_p == 0.0 {
        0.0
    } else {
        2.0 * tp / (sel + total_p)
    }
}

fn case_stats(cohort: &Cohort, id: &str) -> Result<CaseStats> {
    let (ct, mask) = cohort.load_native_case(id)?;
    let inside = mask.data.mapv(|v| v != 0);
    let dist = distance_to(&inside, mask.geometry.spacing);
    let nbins = (HU_HI - HU_LO + 1) as usize;
    let (mut hist_p, mut hist_b) = (vec![0u64; nbins], vec![0u64; nbins]);
    let (mut sp, mut sp2, mut np) = (0.0, 0.0, 0.0);
    let (mut sr, mut sr2, mut nr) = (0.0, 0.0, 0.0);
    for ((&v, &m), &d) in ct.data.iter().zip(mask.data.iter()).zip(dist.iter()) {
        let x = v as f64;
        if m != 0 {
            sp += x;
            sp2 += x * x;
            np += 1.0;
            hist_p[bin(v)] += 1;
        } else if d <= RING_MM {
            sr += x;
            sr2 += x * x;
            nr += 1.0;
        }
        if v > BODY_HU || m != 0 {
            hist_b[bin(v)] += 1;
        }
    }
    let (pm, ps) = mean_std(sp, sp2, np);
    let (rm, rs) = mean_std(sr, sr2, nr);
    let (pp, pb) = (prefix(&hist_p), prefix(&hist_b));
    let (own_window, own) = windows()
        .into_iter()
        .map(|w| (w, dsc_at(&pp, &pb, w)))
        .fold(
            ([0, 0], -1.0),
            |best, x| if x.1 > best.1 { x } else { best },
        );
    Ok(CaseStats {
        id: id.to_string(),
        pancreas_volume_ml: mask_volume_ml(&mask),
        pancreas_hu_mean: pm,
        pancreas_hu_std: ps,
        ring_hu_mean: rm,
        ring_hu_std: rs,
        own_window,
        own_window_dsc: own,
        cohort_window_dsc: 0.0,
        hist_p,
        hist_b,
    })
}

/// Computes the statistics of every case of the cohort in `dir`.
pub fn cohort_stats(dir: &Path) -> Result<CohortStats> {
    let cohort = Cohort::open(dir)?;
    let ids: Vec<String> = cohort.manifest.cases.iter().map(|c| c.id.clone()).collect();
    let mut cases = ids
        .par_iter()
        .map(|id| case_stats(&cohort, id))
        .collect::<Result<Vec<_>>>()?;
    let prefixes: Vec<(Vec<u64>, Vec<u64>)> = cases
        .iter()
        .map(|c| (prefix(&c.hist_p), prefix(&c.hist_b)))
        .collect();
    let n = cases.len().max(1) as f64;
    let (cohort_window, best) = windows()
        .into_par_iter()
        .map(|w| {
            let m = prefixes
                .iter()
                .map(|(pp, pb)| dsc_at(pp, pb, w))
                .sum::<f64>()
                / n;
            (w, m)
        })
        .reduce(
            || ([0, 0], -1.0),
            |a, b| {
                if b.1 > a.1 || (b.1 == a.1 && b.0 < a.0) {
                    b
                } else {
                    a
                }
            },
        );
    for (c, (pp, pb)) in cases.iter_mut().zip(&prefixes) {
        c.cohort_window_dsc = dsc_at(pp, pb, cohort_window);
    }
    Ok(CohortStats {
        cohort: dir.display().to_string(),
        own_window_mean_dsc: cases.iter().map(|c| c.own_window_dsc).sum::<f64>() / n,
        mean_pancreas_volume_ml: cases.iter().map(|c| c.pancreas_volume_ml).sum::<f64>() / n,
        cases,
        cohort_window,
        cohort_window_mean_dsc: best,
        parameters: parameter_spread(&cohort.manifest),
    })
}

impl CohortStats {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{:<10} {:>8} {:>16} {:>16} {:>14} {:>8} {:>10}\n",
            "case", "vol mL", "pancreas HU", "5 mm ring HU", "own window", "own DSC", "cohort DSC"
        );
        for c in &self.cases {
            s += &format!(
                "{:<10} {:>8.1} {:>8.1} ± {:<5.1} {:>8.1} ± {:<5.1} {:>14} {:>8.3} {:>10.3}\n",
                c.id,
                c.pancreas_volume_ml,
                c.pancreas_hu_mean,
                c.pancreas_hu_std,
                c.ring_hu_mean,
                c.ring_hu_std,
                format!("[{}, {}]", c.own_window[0], c.own_window[1]),
                c.own_window_dsc,
                c.cohort_window_dsc
            );
        }
        s += &format!(
            "cohort: {} cases, mean pancreas {:.1} mL; best single window [{}, {}] HU: mean DSC {:.3}; mean of per-case best windows: {:.3}\n",
            self.cases.len(),
            self.mean_pancreas_volume_ml,
            self.cohort_window[0],
            self.cohort_window[1],
            self.cohort_window_mean_dsc,
            self.own_window_mean_dsc
        );
        if !self.parameters.is_empty() {
            s += "drawn parameters:\n";
            s += &to_text(&self.parameters);
        }
        s
    }
}
