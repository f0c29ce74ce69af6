//! `pancseg-train calibrate`: re-calibrate a bundle's operating points and CRF on held-out
//! labelled cases, optionally with a newly trained boundary ConvNet in place of its own.

use crate::cli::CliResult;
use clap::Args;
use pancseg_train::calibrate_cmd::{run_calibrate, CalibrateArgs as Run};
use std::path::PathBuf;

/// Re-calibrate a bundle's operating points and CRF (weight, prior) by mean DSC on labelled
/// cases it was not trained on, optionally replacing its boundary ConvNet; writes the new
/// bundle with calibration.json and calibration.md.
#[derive(Args)]
pub struct CalibrateArgs {
    /// The bundle to calibrate (read only).
    #[arg(long)]
    pub bundle: PathBuf,
    /// Labelled cases the bundle's networks were not trained on.
    #[arg(long)]
    pub cohort: PathBuf,
    /// Comma-separated case ids (default: every case of the cohort).
    #[arg(long, value_delimiter = ',')]
    pub cases: Vec<String>,
    /// A `train --net boundary` output folder whose network replaces the bundle's boundary
    /// ConvNet (with its P0 channel and box context).
    #[arg(long)]
    pub boundary: Option<PathBuf>,
    /// Keep the bundle's operating points; calibrate only the CRF's weight and prior.
    #[arg(long)]
    pub crf_only: bool,
    /// Where the calibrated bundle goes (not the input bundle).
    #[arg(long)]
    pub out: PathBuf,
    /// Worker threads (0: every core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

/// Runs `pancseg-train calibrate`.
pub fn run(a: CalibrateArgs) -> CliResult {
    let c = run_calibrate(&Run {
        bundle: a.bundle,
        cohort: a.cohort,
        cases: a.cases,
        boundary: a.boundary,
        crf_only: a.crf_only,
        out: a.out.clone(),
        threads: a.threads,
    })?;
    print!("{}", pancseg_train::calibrate_cmd::markdown(&c));
    println!("wrote bundle {}", a.out.display());
    Ok(())
}
