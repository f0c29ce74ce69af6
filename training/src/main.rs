//! The `pancseg-train` command-line tool: one module per subcommand under `cli/` (its clap
//! arguments and its `run`), over the `pancseg_train` library.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cli;

#[derive(Parser)]
#[command(
    name = "pancseg-train",
    version,
    about = "Phantoms, dataset import, training and evaluation for pancseg"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a seeded cohort of synthetic abdominal CT phantoms with pancreas labels.
    Phantom(cli::phantom::PhantomArgs),
    /// Per-case pancreas volume, HU statistics and best-window DSC of a cohort.
    CohortStats(cli::cohort_stats::CohortStatsArgs),
    /// Import a public dataset into the cohort layout.
    #[command(subcommand)]
    Import(cli::import::ImportCommand),
    /// The paper's evaluation: k-fold cross-validation of the whole pipeline (cascade and
    /// ConvNets trained per fold, operating points calibrated on the training cases), Table 1
    /// (table1.json, table1.md) and Fig. 5 (fig5.png). Resumable. Cases without pancreas that
    /// the segmenter searches (chest-only or pelvis-only scans) train every fold as negatives
    /// and are not evaluated.
    Cv(cli::cv::CvArgs),
    /// Train the random-forest cascade per fold and evaluate its candidates {S_RF}.
    Candidates(cli::candidates::CandidatesArgs),
    /// Train one ConvNet (p, r1, r2 or boundary) on cohort cases and export it to ONNX.
    Train(cli::train::TrainArgs),
    /// Assemble a model bundle (manifest.json with SHA-256s, forests, ONNX networks) for the
    /// library from a trained cascade and trained networks.
    Export(cli::export::ExportArgs),
    /// Re-calibrate a bundle's operating points and CRF (weight, prior) by mean DSC on labelled
    /// cases it was not trained on, optionally replacing its boundary ConvNet; writes the new
    /// bundle with calibration.json and calibration.md.
    Calibrate(cli::calibrate::CalibrateArgs),
    /// Picture what a network sees: positive and negative training examples, channels side by
    /// side.
    Inputs(cli::inputs::InputsArgs),
    /// Score how far phantoms look from real scans (held-out AUC of a patch classifier per
    /// display window; 0.5 = indistinguishable). No labels used.
    Realism(cli::realism::RealismArgs),
    /// Benchmarks (speed figures are measured here, never in unit tests).
    #[command(subcommand)]
    Bench(cli::bench::BenchCommand),
}

fn run(cli: Cli) -> cli::CliResult {
    match cli.command {
        Command::Phantom(a) => cli::phantom::run(a),
        Command::CohortStats(a) => cli::cohort_stats::run(a),
        Command::Import(c) => cli::import::run(c),
        Command::Cv(a) => cli::cv::run(a),
        Command::Candidates(a) => cli::candidates::run(a),
        Command::Train(a) => cli::train::run(a),
        Command::Export(a) => cli::export::run(a),
        Command::Calibrate(a) => cli::calibrate::run(a),
        Command::Inputs(a) => cli::inputs::run(a),
        Command::Realism(a) => cli::realism::run(a),
        Command::Bench(c) => cli::bench::run(c),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "pancseg-train: error: {}",
                pancseg::message_chain(e.as_ref())
            );
            ExitCode::FAILURE
        }
    }
}
