//! `pancseg-train cv`: the paper's evaluation: k-fold cross-validation of the whole pipeline (cascade and

use crate::cli::options::{sigma_triple, working_spacing as working_spacing_of};
use crate::cli::CliResult;
use clap::Args;
use std::path::PathBuf;

/// The paper's evaluation: k-fold cross-validation of the whole pipeline (cascade and
/// ConvNets trained per fold, operating points calibrated on the training cases), Table 1
/// (table1.json, table1.md) and Fig. 5 (fig5.png). Resumable. Cases without pancreas that the
/// segmenter searches (chest-only or pelvis-only scans) train every fold as negatives and are
/// not evaluated.
#[derive(Args)]
pub struct CvArgs {
    #[arg(long)]
    pub cohort: PathBuf,
    #[arg(long, default_value_t = 4)]
    pub folds: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long)]
    pub out: PathBuf,
    /// quick (narrow networks, short training: the CI run) or paper (the paper's settings).
    #[arg(long, default_value = "paper")]
    pub profile: pancseg_train::cv::Profile,
    /// Worker threads of the segmentations (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Before the folds, train on every case, calibrate on every case and write that bundle
    /// to this directory (how models/default is made; its uncalibrated form is
    /// OUT/final/bundle-uncalibrated, for calibrating on other cases).
    #[arg(long)]
    pub final_bundle: Option<PathBuf>,
    /// Run only fold K (1-based) of the split and write OUT/fold_K/, so the folds can run
    /// on separate machines; a later run without it reuses them and writes Table 1.
    #[arg(long, value_name = "K")]
    pub only_fold: Option<usize>,
    /// Start of the ConvNets' weights: he (default) or uniform (reproduces the project's
    /// earliest runs).
    #[arg(long, value_enum, default_value = "he")]
    pub init: pancseg_train::convnet::model::WeightInit,
    /// Smoothing sigma of the bundles in mm, one value or x,y,z (default: 3 voxels, the
    /// paper's figure on its own ~0.7 mm scans).
    #[arg(long, value_delimiter = ',')]
    pub sigma_mm: Vec<f64>,
    /// Working spacing in mm the cases are resampled to and the bundle runs at, one value or
    /// x,y,z (default 2,2,2.5).
    #[arg(long, value_delimiter = ',')]
    pub working_spacing: Vec<f64>,
    /// Where the ConvNets train: cpu, gpu or gpu:N (gpu needs a build with `--features gpu`).
    #[arg(long, default_value = "cpu")]
    pub device: pancseg_train::convnet::device::ComputeDevice,
}

/// Runs `pancseg-train cv`.
pub fn run(a: CvArgs) -> CliResult {
    let CvArgs {
        cohort,
        folds,
        seed,
        out,
        profile,
        threads,
        final_bundle,
        only_fold,
        init,
        sigma_mm,
        working_spacing,
        device,
    } = a;
    let args = pancseg_train::cv::CvArgs {
        cohort,
        folds,
        seed,
        out,
        profile,
        threads,
        final_bundle,
        init,
        sigma_mm: sigma_triple(&sigma_mm)?,
        working_spacing: working_spacing_of(&working_spacing)?,
        device,
    };
    match only_fold {
        Some(k) => {
            let r = pancseg_train::cv::run_single_fold(&args, k)?;
            let test: Vec<_> = r.cases.iter().filter(|c| c.split == "test").collect();
            println!(
                "fold {k}: {} test cases written to {}",
                test.len(),
                args.out.join(format!("fold_{k}")).display()
            );
        }
        None => print!("{}", pancseg_train::cv::run_cv(&args)?.to_markdown()),
    }
    Ok(())
}
