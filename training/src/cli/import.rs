//! `pancseg-train import ...`: imports a public dataset into the cohort layout.

use crate::cli::CliResult;
use clap::{Args, Subcommand};
use pancseg_train::import;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ImportCommand {
    /// NIH Pancreas-CT (TCIA): PANCREAS_NNNN/.../*.dcm images and labelNNNN.nii.gz labels.
    NihPancreasCt(NihPancreasCtArgs),
    /// Medical Segmentation Decathlon Task07 Pancreas (imagesTr, labelsTr; tumour merged).
    MsdPancreas(MsdPancreasArgs),
}

/// Runs the chosen subcommand.
pub fn run(cmd: ImportCommand) -> CliResult {
    match cmd {
        ImportCommand::NihPancreasCt(a) => nih_pancreas_ct(a),
        ImportCommand::MsdPancreas(a) => msd_pancreas(a),
    }
}

/// NIH Pancreas-CT (TCIA): PANCREAS_NNNN/.../*.dcm images and labelNNNN.nii.gz labels.
#[derive(Args)]
pub struct NihPancreasCtArgs {
    #[arg(long)]
    pub images: PathBuf,
    #[arg(long)]
    pub labels: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `pancseg-train import nih-pancreas-ct`.
pub fn nih_pancreas_ct(a: NihPancreasCtArgs) -> CliResult {
    let NihPancreasCtArgs {
        images,
        labels,
        out,
    } = a;
    let n = import::import_nih(&images, &labels, &out)?;
    println!("imported {n} cases into {}", out.display());
    Ok(())
}

/// Medical Segmentation Decathlon Task07 Pancreas (imagesTr, labelsTr; tumour merged).
#[derive(Args)]
pub struct MsdPancreasArgs {
    #[arg(long)]
    pub root: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `pancseg-train import msd-pancreas`.
pub fn msd_pancreas(a: MsdPancreasArgs) -> CliResult {
    let MsdPancreasArgs { root, out } = a;
    let n = import::import_msd(&root, &out)?;
    println!("imported {n} cases into {}", out.display());
    Ok(())
}
