//! `pancseg-train phantom`: generate a seeded cohort of synthetic abdominal CT phantoms with pancreas labels.

use crate::cli::options::Format;
use crate::cli::options::Size;
use crate::cli::CliResult;
use clap::Args;
use pancseg_train::phantom;
use std::path::PathBuf;

/// Generate a seeded cohort of synthetic abdominal CT phantoms with pancreas labels.
#[derive(Args)]
pub struct PhantomArgs {
    #[arg(long)]
    pub count: usize,
    #[arg(long)]
    pub seed: u64,
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value = "small")]
    pub size: Size,
    #[arg(long, value_enum, default_value = "nifti")]
    pub format: Format,
}

/// Runs `pancseg-train phantom`.
pub fn run(a: PhantomArgs) -> CliResult {
    let PhantomArgs {
        count,
        seed,
        out,
        size,
        format,
    } = a;
    let size = size.phantom();
    let (nifti, dicom) = match format {
        Format::Nifti => (true, false),
        Format::Dicom => (false, true),
        Format::Both => (true, true),
    };
    phantom::generate_cohort(&phantom::CohortOptions {
        count,
        seed,
        size,
        out,
        nifti,
        dicom,
        progress: true,
    })?;
    Ok(())
}
