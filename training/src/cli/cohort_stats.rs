//! `pancseg-train cohort-stats`: per-case pancreas volume, HU statistics and best-window DSC of a cohort.

use crate::cli::CliResult;
use clap::Args;
use pancseg_train::cohort_stats;
use std::path::PathBuf;

/// Per-case pancreas volume, HU statistics and best-window DSC of a cohort.
#[derive(Args)]
pub struct CohortStatsArgs {
    pub dir: PathBuf,
    /// Also write the statistics as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Runs `pancseg-train cohort-stats`.
pub fn run(a: CohortStatsArgs) -> CliResult {
    let CohortStatsArgs { dir, json } = a;
    let stats = cohort_stats::cohort_stats(&dir)?;
    print!("{}", stats.to_text());
    if let Some(p) = json {
        std::fs::write(&p, stats.to_json())?;
    }
    Ok(())
}
