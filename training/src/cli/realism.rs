//! `pancseg-train realism`: the held-out AUC of a classifier telling phantom patches from real
//! scans (0.5 = indistinguishable), per display window, for one or more cohorts.

use crate::cli::options::working_spacing;
use crate::cli::CliResult;
use clap::Args;
use pancseg_train::realism::{realism, RealismOptions};
use std::path::PathBuf;

/// Score how far phantoms look from real scans: the held-out AUC of a random forest telling
/// their 2.5D body patches apart (0.5 = indistinguishable), per display window. No labels are
/// used, and nothing pancreas-specific is measured.
#[derive(Args)]
pub struct RealismArgs {
    /// A cohort to score (repeat for several: each is scored on its own, in one report).
    #[arg(long = "cohort", required = true)]
    pub cohorts: Vec<PathBuf>,
    /// A real scan: a NIfTI file or a DICOM directory (repeat for several).
    #[arg(long = "real", required = true)]
    pub real: Vec<PathBuf>,
    /// Cases used per cohort, evenly spread over its manifest.
    #[arg(long, default_value_t = 16)]
    pub max_cases: usize,
    /// Patches per real scan (the phantom side draws as many in total).
    #[arg(long, default_value_t = 1500)]
    pub patches: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Working spacing in mm both sides are resampled to, one value or x,y,z (default 2,2,2.5).
    #[arg(long, value_delimiter = ',')]
    pub working_spacing: Vec<f64>,
    /// Write the report as JSON to this file (the Markdown table goes to stdout).
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Runs `pancseg-train realism`.
pub fn run(a: RealismArgs) -> CliResult {
    let report = realism(&RealismOptions {
        cohorts: a.cohorts,
        real: a.real,
        max_cases: a.max_cases,
        patches_per_scan: a.patches,
        seed: a.seed,
        working_spacing: working_spacing(&a.working_spacing)?,
    })?;
    print!("{}", report.to_markdown());
    if let Some(p) = a.json {
        std::fs::write(&p, serde_json::to_string_pretty(&report)? + "\n")?;
    }
    Ok(())
}
