//! `pancseg-train cv`: the paper's evaluation protocol (Roth et al. 2015, Sec. 3): a random hard
//! split of the patients into folds; per fold, the cascade and every ConvNet trained on the
//! training patients, the operating points p0, p1, p2 (raw and smoothed), the smoothing sigma
//! (on the training patients the ConvNets held out) and the CRF weight and prior calibrated on
//! the training patients only (grid search on mean DSC), then the test patients evaluated.
//! Writes Table 1 (DSC, ASSD, HD95 for Opt., S_RF, P0, G(P0), P1, G(P1), P2, G(P2), CRF(P2);
//! mean, std, min, max, and the share of cases above 10/30/50/70/80/90 % DSC) for training and
//! testing as `table1.json` / `table1.md`, the per-case results, and Fig. 5 (mean
//! DSC against the threshold of Pk and G(Pk), training and testing, fold 1) as `fig5.png`.
//!
//! Cases without pancreas (chest-only and pelvis-only framings) are not split into folds: the
//! ones the segmenter searches (it finds a slab in them) join every fold's training cases as
//! negatives for the cascade and the ConvNets, and are never evaluated or calibrated on (their
//! DSC would be 1 or 0 whatever the mask's size); the others are left out.
//!
//! Resumable: each fold's forests, networks, bundles and results are kept in `OUT/fold_K/` and
//! reused when present.
//!
//! The parts: `grid` (what is searched), `profile` (schedules), `results` (arguments and
//! results), `evaluate` (one case), `packed_mask` (the CRF masks it keeps), `fold` (train, calibrate, evaluate one fold) and `table1`.

pub(crate) mod evaluate;
mod fold;
mod grid;
mod packed_mask;
mod profile;
mod results;
mod table1;

use crate::candidates_cv::split_folds;
use crate::cohort::Cohort;
use crate::error::{Result, TrainError};
use fold::{copy_bundle, run_fold};
pub use grid::{
    crf_grid, sigma_grid, thresholds, COLUMNS, CRF_PRIORS, CRF_WEIGHTS, LEVELS, SIGMA_FACTORS_XY,
    SIGMA_FACTORS_Z,
};
pub use profile::Profile;
pub use results::{CaseResult, CvArgs, FoldResult};
use table1::stats;
pub use table1::{ColumnStats, Table1};

/// The cohort's cases after the checks every `cv` run makes: the ids of the cases holding
/// pancreas (split into folds, evaluated) and of the scans without pancreas that the segmenter
/// searches (chest-only or pelvis-only framings that still get a slab: negatives every fold
/// trains on, never evaluated). Scans without pancreas that get no slab are left out: the
/// segmenter never looks at them.
fn open_cohort(a: &CvArgs) -> Result<(Cohort, Vec<String>, Vec<String>)> {
    if a.folds < 2 {
        return Err(TrainError::Invalid("--folds must be at least 2".into()));
    }
    let mut cohort = Cohort::open(&a.cohort)?;
    cohort.working_spacing = a.working_spacing;
    let (with, without): (Vec<_>, Vec<_>) = cohort
        .manifest
        .cases
        .iter()
        .partition(|c| c.pancreas_volume_ml > 0.0);
    let ids: Vec<String> = with.iter().map(|c| c.id.clone()).collect();
    let candidates: Vec<String> = without.iter().map(|c| c.id.clone()).collect();
    let mut train_only = Vec::new();
    for id in candidates {
        if cohort.searched(&id)? {
            train_only.push(id);
        } else {
            eprintln!("{id}: no pancreas and no search slab (never searched): left out");
        }
    }
    if ids.len() < 2 * a.folds {
        return Err(TrainError::Invalid(format!(
            "{} cases with pancreas are too few for {} folds (each training set needs at least 2 cases for training and validation)",
            ids.len(),
            a.folds
        )));
    }
    if !train_only.is_empty() {
        eprintln!(
            "{} cases with pancreas in the folds; {} without, searched by the segmenter, train every fold as negatives",
            ids.len(),
            train_only.len()
        );
    }
    std::fs::create_dir_all(&a.out).map_err(|e| TrainError::io(&a.out, e))?;
    Ok((cohort, ids, train_only))
}

/// Fold `f` (0-based): its result, reused from `OUT/fold_K/results.json` when that exists.
fn fold_result(
    a: &CvArgs,
    cohort: &Cohort,
    ids: &[String],
    train_only: &[String],
    f: usize,
) -> Result<FoldResult> {
    let path = a.out.join(format!("fold_{}", f + 1)).join("results.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Ok(r) = serde_json::from_str::<FoldResult>(&text) {
            eprintln!("fold {}: reusing {}", f + 1, path.display());
            return Ok(r);
        }
    }
    let fold_of = split_folds(ids.len(), a.folds, a.seed);
    let pick = |test: bool| -> Vec<String> {
        ids.iter()
            .zip(&fold_of)
            .filter(|(_, &k)| (k == f) == test)
            .map(|(id, _)| id.clone())
            .collect()
    };
    run_fold(a, cohort, f, &pick(false), &pick(true), train_only)
}

/// Runs one fold (`fold`, 1-based) of the split and nothing else, so the folds of one split can
/// run on separate machines: each writes `OUT/fold_K/`, and a later `cv` over an `OUT` holding
/// every `fold_K/results.json` reuses them and writes Table 1.
pub fn run_single_fold(a: &CvArgs, fold: usize) -> Result<FoldResult> {
    if fold == 0 || fold > a.folds {
        return Err(TrainError::Invalid(format!(
            "--only-fold {fold} is outside 1..={}",
            a.folds
        )));
    }
    let (cohort, ids, train_only) = open_cohort(a)?;
    fold_result(a, &cohort, &ids, &train_only, fold - 1)
}

/// Runs `cv`; returns Table 1.
pub fn run_cv(a: &CvArgs) -> Result<Table1> {
    let started = std::time::Instant::now();
    let (cohort, ids, train_only) = open_cohort(a)?;
    // the final bundle first: the shipped model exists before the (longer) folds finish
    if let Some(target) = &a.final_bundle {
        let done = a.out.join("final").join("results.json");
        if done.is_file() {
            eprintln!("final: reusing {}", done.display());
        } else {
            run_fold(a, &cohort, a.folds, &ids, &[], &train_only)?;
        }
        copy_bundle(&a.out.join("final").join("bundle"), target)?;
    }
    let folds = (0..a.folds)
        .map(|f| fold_result(a, &cohort, &ids, &train_only, f))
        .collect::<Result<Vec<_>>>()?;
    let all: Vec<&CaseResult> = folds.iter().flat_map(|f| &f.cases).collect();
    let train: Vec<&CaseResult> = all.iter().copied().filter(|c| c.split == "train").collect();
    let test: Vec<&CaseResult> = all.iter().copied().filter(|c| c.split == "test").collect();
    let table = Table1 {
        cohort: a.cohort.display().to_string(),
        cases: ids.len(),
        folds: a.folds,
        seed: a.seed,
        profile: a.profile,
        training: stats(&train),
        testing: stats(&test),
        folds_detail: folds,
        wall_seconds: started.elapsed().as_secs_f64(),
    };
    let json =
        serde_json::to_string_pretty(&table).map_err(|e| TrainError::Invalid(e.to_string()))?;
    let write = |name: &str, text: String| -> Result<()> {
        let p = a.out.join(name);
        std::fs::write(&p, text).map_err(|e| TrainError::io(&p, e))
    };
    write("table1.json", json + "\n")?;
    write("table1.md", table.to_markdown())?;
    crate::fig5::draw(&table.folds_detail[0].curves, &a.out.join("fig5.png"))?;
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::fold::{common_cases, held_out_cases};
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn common_cases_keeps_what_every_list_holds_in_first_order() {
        let lists = [
            ids(&["c3", "c1", "c7", "c9"]),
            ids(&["c1", "c9", "c3"]),
            ids(&["c9", "c3", "c4"]),
        ];
        assert_eq!(common_cases(&lists), ids(&["c3", "c9"]));
        assert_eq!(common_cases(&[]), Vec::<String>::new());
        assert_eq!(
            common_cases(&[ids(&["a"]), ids(&["b"])]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn held_out_cases_reads_each_networks_record_and_names_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let nets = dir.path();
        for (net, val) in [("p", "[\"a\",\"b\",\"c\"]"), ("r1", "[\"c\",\"a\"]")] {
            std::fs::create_dir_all(nets.join(net)).unwrap();
            std::fs::write(
                nets.join(net).join("train.json"),
                format!("{{\"net\":\"{net}\",\"val_cases\":{val},\"best_epoch\":3}}"),
            )
            .unwrap();
        }
        // R2 has not been trained: the error names its record
        let e = held_out_cases(nets).unwrap_err().to_string();
        assert!(e.contains("r2") && e.contains("train.json"), "{e}");
        std::fs::create_dir_all(nets.join("r2")).unwrap();
        std::fs::write(
            nets.join("r2/train.json"),
            "{\"val_cases\":[\"a\",\"c\",\"d\"]}",
        )
        .unwrap();
        assert_eq!(held_out_cases(nets).unwrap(), ids(&["a", "c"]));
        // a record without the field is an error, not an empty set
        std::fs::write(nets.join("r2/train.json"), "{\"net\":\"r2\"}").unwrap();
        let e = held_out_cases(nets).unwrap_err().to_string();
        assert!(e.contains("val_cases"), "{e}");
    }

    #[test]
    fn sigma_grid_starts_at_the_base_and_only_shrinks_it() {
        let g = sigma_grid();
        assert_eq!(g[0], (1.0, 1.0), "the base wins ties");
        assert_eq!(g.len(), SIGMA_FACTORS_XY.len() * SIGMA_FACTORS_Z.len());
        assert!(g
            .iter()
            .all(|&(xy, z)| xy > 0.0 && xy <= 1.0 && z > 0.0 && z <= 1.0));
    }
}
