//! `pancseg-train candidates`: train the random-forest cascade per fold and evaluate its candidates {S_RF}.

use crate::cli::CliResult;
use clap::Args;
use pancseg_train::candidates_cv;
use std::path::PathBuf;

/// Train the random-forest cascade per fold and evaluate its candidates {S_RF}.
#[derive(Args)]
pub struct CandidatesArgs {
    #[arg(long)]
    pub cohort: PathBuf,
    #[arg(long, default_value_t = 4)]
    pub folds: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long)]
    pub out: PathBuf,
    /// Trees per forest.
    #[arg(long)]
    pub trees: Option<usize>,
}

/// Runs `pancseg-train candidates`.
pub fn run(a: CandidatesArgs) -> CliResult {
    let CandidatesArgs {
        cohort,
        folds,
        seed,
        out,
        trees,
    } = a;
    let mut o = candidates_cv::CandidateOptions::default();
    if let Some(t) = trees {
        o.forest.n_trees = t;
    }
    let s = candidates_cv::run_candidates(&cohort, folds, seed, &out, &o)?;
    print!("{}", s.to_markdown());
    Ok(())
}
