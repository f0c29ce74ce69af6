//! `pancseg-train candidates`: trains the two-level random-forest cascade on each fold's training
//! cases and evaluates its candidates {S_RF} on the fold's test cases.
//!
//! Training samples are superpixels with their optimal labels (positive when at least half of the
//! pixels are pancreas). Negatives are subsampled to at most `max_negatives_per_case` per case
//! (weighted back by the inverse sampling rate) and the positive class is weighted to balance the
//! two. Level 2 learns from out-of-bag level-1 probabilities, so its context features are as noisy
//! in training as at inference. Finally the level-2 positive weight is calibrated on the training
//! cases' out-of-bag scores so that p > 0.5 keeps `recall_target` of the pancreas voxels.

use crate::cohort::Cohort;
use crate::error::{Result, TrainError};
use crate::forest_train::{train_forest, ForestParams};
use crate::selection::optimal_labels;
use pancseg::pipeline::candidates::cascade::{Candidates, Cascade};
use pancseg::pipeline::candidates::features::{
    level2_features, superpixel_features, N_FEATURES, N_LEVEL2_FEATURES,
};
use pancseg::pipeline::candidates::superpixels::{
    compute_superpixels, SuperpixelConfig, SuperpixelSet,
};
use pancseg::{Mask, Volume};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Options of the cascade training and evaluation.
#[derive(Debug, Clone)]
pub struct CandidateOptions {
    pub superpixels: SuperpixelConfig,
    pub forest: ForestParams,
    pub max_negatives_per_case: usize,
    /// Share of training pancreas voxels the calibrated cut must keep.
    pub recall_target: f64,
}

impl Default for CandidateOptions {
    fn default() -> Self {
        CandidateOptions {
            superpixels: SuperpixelConfig::default(),
            forest: ForestParams {
                n_trees: 60,
                ..ForestParams::default()
            },
            max_negatives_per_case: 12_000,
            recall_target: 0.99,
        }
    }
}

/// One case prepared for the cascade: superpixels, features and labels.
pub struct PreparedCase {
    pub id: String,
    pub ct: Volume,
    pub mask: Mask,
    pub set: SuperpixelSet,
    pub rows: Vec<f32>,
    pub positive: Vec<bool>,
    /// Pancreas voxels inside each superpixel.
    pub pancreas_voxels: Vec<u32>,
    pub opt_dsc: f64,
}

/// Computes superpixels, features and optimal labels of a case.
pub fn prepare_case(cohort: &Cohort, id: &str, cfg: &SuperpixelConfig) -> Result<PreparedCase> {
    let (ct, mask) = cohort.load_case(id)?;
    let set = compute_superpixels(&ct, cfg);
    let rows = superpixel_features(&ct, &set);
    let (positive, opt_dsc) = optimal_labels(&set, &mask.data);
    let mut pancreas_voxels = vec![0u32; set.superpixels.len()];
    for (l, m) in set.labels.iter().zip(mask.data.iter()) {
        if *l != 0 && *m != 0 {
            pancreas_voxels[*l as usize - 1] += 1;
        }
    }
    Ok(PreparedCase {
        id: id.to_string(),
        ct,
        mask,
        set,
        rows,
        positive,
        pancreas_voxels,
        opt_dsc,
    })
}

/// Training rows sampled from cases: (row indices per case, weights, labels).
struct Sample {
    case: usize,
    index: usize,
}

fn sample(
    cases: &[&PreparedCase],
    max_neg: usize,
    seed: u64,
) -> (Vec<Sample>, Vec<f32>, Vec<bool>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut samples, mut weights, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    for (c, case) in cases.iter().enumerate() {
        let n_neg = case.positive.iter().filter(|&&p| !p).count();
        let rate = (max_neg as f64 / n_neg.max(1) as f64).min(1.0);
        for (i, &pos) in case.positive.iter().enumerate() {
            if pos || rng.random::<f64>() < rate {
                samples.push(Sample { case: c, index: i });
                weights.push(if pos { 1.0 } else { (1.0 / rate) as f32 });
                labels.push(pos);
            }
        }
    }
    let wp: f64 = weights
        .iter()
        .zip(&labels)
        .filter(|(_, &l)| l)
        .map(|(w, _)| *w as f64)
        .sum();
    let wn: f64 = weights
        .iter()
        .zip(&labels)
        .filter(|(_, &l)| !l)
        .map(|(w, _)| *w as f64)
        .sum();
    let scale = if wp > 0.0 { (wn / wp) as f32 } else { 1.0 };
    for (w, &l) in weights.iter_mut().zip(&labels) {
        if l {
            *w *= scale;
        }
    }
    (samples, weights, labels)
}

/// Trains the cascade on prepared cases.
pub fn train_cascade(cases: &[&PreparedCase], o: &CandidateOptions, seed: u64) -> Result<Cascade> {
    let (samples, weights, labels) = sample(cases, o.max_negatives_per_case, seed);
    if !labels.iter().any(|&l| l) {
        return Err(TrainError::Invalid(
            "no positive superpixel in the training cases".into(),
        ));
    }
    let gather = |rows: &[&[f32]], nf: usize| -> Vec<f32> {
        let mut x = Vec::with_capacity(samples.len() * nf);
        for s in &samples {
            x.extend_from_slice(&rows[s.case][s.index * nf..(s.index + 1) * nf]);
        }
        x
    };
    let rows1: Vec<&[f32]> = cases.iter().map(|c| c.rows.as_slice()).collect();
    let x1 = gather(&rows1, N_FEATURES);
    let p = ForestParams {
        seed: seed ^ 0x11,
        ..o.forest.clone()
    };
    let l1 = train_forest(&x1, samples.len(), N_FEATURES, &labels, Some(&weights), &p);
    // level-1 probabilities per case: full forest, replaced by out-of-bag values where sampled
    let mut p1: Vec<Vec<f32>> = cases
        .iter()
        .map(|c| l1.forest.predict_many(&c.rows, c.set.superpixels.len()))
        .collect();
    for (s, &oob) in samples.iter().zip(&l1.oob) {
        if oob.is_finite() {
            p1[s.case][s.index] = oob;
        }
    }
    let rows2: Vec<Vec<f32>> = cases
        .iter()
        .zip(&p1)
        .map(|(c, p)| level2_features(&c.set, &c.rows, p))
        .collect();
    let rows2_ref: Vec<&[f32]> = rows2.iter().map(|r| r.as_slice()).collect();
    let x2 = gather(&rows2_ref, N_LEVEL2_FEATURES);
    let p = ForestParams {
        seed: seed ^ 0x22,
        ..o.forest.clone()
    };
    let mut l2 = train_forest(
        &x2,
        samples.len(),
        N_LEVEL2_FEATURES,
        &labels,
        Some(&weights),
        &p,
    );
    // calibration: raw level-2 scores (out-of-bag where sampled) against pancreas voxels
    let mut scored: Vec<(f32, u32)> = Vec::new();
    let mut raw: Vec<Vec<f32>> = cases
        .iter()
        .zip(&rows2)
        .map(|(c, r)| {
            let n = c.set.superpixels.len();
            (0..n)
                .map(|i| {
                    l2.forest
                        .predict_raw(&r[i * N_LEVEL2_FEATURES..(i + 1) * N_LEVEL2_FEATURES])
                })
                .collect()
        })
        .collect();
    for (s, &oob) in samples.iter().zip(&l2.oob) {
        if oob.is_finite() {
            raw[s.case][s.index] = oob;
        }
    }
    let mut total = 0u64;
    for (c, r) in cases.iter().zip(&raw) {
        for (&v, &k) in r.iter().zip(&c.pancreas_voxels) {
            if k > 0 {
                scored.push((v, k));
                total += k as u64;
            }
        }
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let need = (o.recall_target * total as f64).ceil() as u64;
    let mut acc = 0u64;
    let mut t = 0.5f32;
    for (v, k) in &scored {
        acc += *k as u64;
        if acc >= need {
            t = *v;
            break;
        }
    }
    // keep scores equal to t: the cut is p > 0.5, so aim slightly below t
    let t = (t * 0.999).clamp(1e-4, 0.9999);
    l2.forest.positive_weight = (1.0 - t) / t;
    Ok(Cascade {
        superpixels: o.superpixels,
        level1: l1.forest,
        level2: l2.forest,
    })
}

/// Per-case result of the candidate stage.
#[derive(Debug, Clone, Serialize)]
pub struct CaseCandidates {
    pub id: String,
    pub fold: usize,
    pub opt_dsc: f64,
    pub srf_dsc: f64,
    pub srf_recall: f64,
    pub candidates: usize,
    pub superpixels: usize,
    /// Inclusive voxel bounding box [x0, y0, z0, x1, y1, z1] of the candidates.
    pub bbox: Option<[usize; 6]>,
    /// Bounding box and pancreas recall of the largest 3D-connected group of candidates.
    pub main_bbox: Option<[usize; 6]>,
    pub main_recall: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stat {
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
}

impl Stat {
    pub fn of(v: &[f64]) -> Stat {
        let n = v.len().max(1) as f64;
        let mean = v.iter().sum::<f64>() / n;
        Stat {
            mean,
            std: (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt(),
            min: v.iter().cloned().fold(f64::INFINITY, f64::min),
            max: v.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CandidateSummary {
    pub cohort: String,
    pub folds: usize,
    pub seed: u64,
    pub cases: Vec<CaseCandidates>,
    pub opt_dsc: Stat,
    pub srf_dsc: Stat,
    pub srf_recall: Stat,
    pub candidates: Stat,
    pub seconds: f64,
}

/// Scores a prepared case with a cascade.
pub fn evaluate(case: &PreparedCase, cascade: &Cascade, fold: usize) -> Result<CaseCandidates> {
    let cands: Candidates = cascade.score(&case.ct, case.set.clone())?;
    let sel = &cands.selected;
    Ok(CaseCandidates {
        id: case.id.clone(),
        fold,
        opt_dsc: case.opt_dsc,
        srf_dsc: crate::selection::selection_dsc(&case.set, sel, &case.mask.data),
        srf_recall: crate::selection::selection_recall(&case.set, sel, &case.mask.data),
        candidates: cands.count(),
        superpixels: case.set.superpixels.len(),
        bbox: cands.bbox(),
        main_bbox: cands.main_bbox(),
        main_recall: crate::selection::selection_recall(
            &case.set,
            &cands.main_group(),
            &case.mask.data,
        ),
    })
}

/// Random hard split of `n` cases into `folds` folds (sizes differ by at most one).
pub fn split_folds(n: usize, folds: usize, seed: u64) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut fold_of = vec![0; n];
    for (k, i) in idx.into_iter().enumerate() {
        fold_of[i] = k % folds;
    }
    fold_of
}

/// `pancseg-train candidates`.
pub fn run_candidates(
    cohort_dir: &Path,
    folds: usize,
    seed: u64,
    out: &Path,
    o: &CandidateOptions,
) -> Result<CandidateSummary> {
    let started = std::time::Instant::now();
    if folds < 2 {
        return Err(TrainError::Invalid("--folds must be at least 2".into()));
    }
    let cohort = Cohort::open(cohort_dir)?;
    let ids: Vec<String> = cohort.manifest.cases.iter().map(|c| c.id.clone()).collect();
    if ids.len() < folds {
        return Err(TrainError::Invalid(format!(
            "{} cases cannot make {folds} folds",
            ids.len()
        )));
    }
    std::fs::create_dir_all(out).map_err(|e| TrainError::io(out, e))?;
    eprintln!("preparing {} cases (superpixels, features)...", ids.len());
    let prepared: Vec<PreparedCase> = ids
        .iter()
        .map(|id| prepare_case(&cohort, id, &o.superpixels))
        .collect::<Result<_>>()?;
    let fold_of = split_folds(ids.len(), folds, seed);
    let mut results = Vec::new();
    for f in 0..folds {
        let train: Vec<&PreparedCase> = prepared
            .iter()
            .zip(&fold_of)
            .filter(|(_, &k)| k != f)
            .map(|(c, _)| c)
            .collect();
        let t = std::time::Instant::now();
        let cascade = train_cascade(&train, o, seed.wrapping_add(f as u64 * 7919))?;
        let dir: PathBuf = out.join(format!("fold_{}", f + 1));
        std::fs::create_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
        cascade.level1.save(dir.join("level1.psrf"))?;
        cascade.level2.save(dir.join("level2.psrf"))?;
        for (c, _) in prepared.iter().zip(&fold_of).filter(|(_, &k)| k == f) {
            let r = evaluate(c, &cascade, f + 1)?;
            eprintln!(
                "fold {} {}: Opt {:.3}  S_RF DSC {:.3}  recall {:.3}  {} of {} superpixels",
                f + 1,
                r.id,
                r.opt_dsc,
                r.srf_dsc,
                r.srf_recall,
                r.candidates,
                r.superpixels
            );
            results.push(r);
        }
        eprintln!(
            "fold {} trained and evaluated in {:.1} s",
            f + 1,
            t.elapsed().as_secs_f64()
        );
    }
    results.sort_by(|a, b| a.id.cmp(&b.id));
    let col =
        |f: &dyn Fn(&CaseCandidates) -> f64| Stat::of(&results.iter().map(f).collect::<Vec<_>>());
    let summary = CandidateSummary {
        cohort: cohort_dir.display().to_string(),
        folds,
        seed,
        opt_dsc: col(&|r| r.opt_dsc),
        srf_dsc: col(&|r| r.srf_dsc),
        srf_recall: col(&|r| r.srf_recall),
        candidates: col(&|r| r.candidates as f64),
        cases: results,
        seconds: started.elapsed().as_secs_f64(),
    };
    let json =
        serde_json::to_string_pretty(&summary).map_err(|e| TrainError::Invalid(e.to_string()))?;
    std::fs::write(out.join("candidates.json"), json + "\n").map_err(|e| TrainError::io(out, e))?;
    std::fs::write(out.join("candidates.md"), summary.to_markdown())
        .map_err(|e| TrainError::io(out, e))?;
    Ok(summary)
}

impl CandidateSummary {
    pub fn to_markdown(&self) -> String {
        let mut s = format!(
            "# Candidate stage ({} folds, seed {}, cohort `{}`)\n\n| | mean | std | min | max |\n|---|---|---|---|---|\n",
            self.folds, self.seed, self.cohort
        );
        for (name, st) in [
            ("Opt. DSC", &self.opt_dsc),
            ("S_RF DSC", &self.srf_dsc),
            ("S_RF recall", &self.srf_recall),
            ("candidates", &self.candidates),
        ] {
            s += &format!(
                "| {name} | {:.3} | {:.3} | {:.3} | {:.3} |\n",
                st.mean, st.std, st.min, st.max
            );
        }
        s += "\n| case | fold | Opt. DSC | S_RF DSC | S_RF recall | candidates | superpixels | bbox [x0,y0,z0,x1,y1,z1] | main group recall | main group bbox |\n|---|---|---|---|---|---|---|---|---|---|\n";
        for r in &self.cases {
            s += &format!(
                "| {} | {} | {:.3} | {:.3} | {:.3} | {} | {} | {:?} | {:.3} | {:?} |\n",
                r.id,
                r.fold,
                r.opt_dsc,
                r.srf_dsc,
                r.srf_recall,
                r.candidates,
                r.superpixels,
                r.bbox.unwrap_or_default(),
                r.main_recall,
                r.main_bbox.unwrap_or_default()
            );
        }
        s += &format!("\nWall time: {:.1} s.\n", self.seconds);
        s
    }
}
