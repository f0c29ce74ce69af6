//! `pancseg-train calibrate`: re-calibrate a bundle's operating points and CRF on held-out
//! labelled cases, optionally with newly trained R1, R2 or boundary ConvNets in place of its own.

use crate::cli::CliResult;
use clap::Args;
use pancseg_train::calibrate_cmd::{run_calibrate, CalibrateArgs as Run};
use std::path::PathBuf;

/// Re-calibrate a bundle's operating points, CRF (weight, prior) and optionally G(P2)'s volume
/// floor by mean DSC on labelled cases it was not trained on, optionally replacing its R1, R2 or
/// boundary ConvNet; writes the new bundle with calibration.json and calibration.md.
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
    /// A `train --net r2` output folder whose network replaces the bundle's R2-ConvNet
    /// (trained with the bundle's input geometry, on P0 of the bundle's P-ConvNet).
    #[arg(long)]
    pub r2: Option<PathBuf>,
    /// A `train --net r1` output folder whose network replaces the bundle's R1-ConvNet; with
    /// `--r2` trained on the same zoom-out boxes, the bundle takes their scales and floor.
    #[arg(long)]
    pub r1: Option<PathBuf>,
    /// Keep the bundle's operating points; calibrate only the CRF's weight and prior.
    #[arg(long)]
    pub crf_only: bool,
    /// Also choose G(P2)'s volume floor (none, or 15-75 mL not below 0.3-0.5) with its
    /// operating point; without it G(P2) is calibrated under the bundle's own floor.
    #[arg(long)]
    pub floor_search: bool,
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
        r2: a.r2,
        r1: a.r1,
        crf_only: a.crf_only,
        floor_search: a.floor_search,
        out: a.out.clone(),
        threads: a.threads,
    })?;
    print!("{}", pancseg_train::calibrate_cmd::markdown(&c));
    println!("wrote bundle {}", a.out.display());
    Ok(())
}
