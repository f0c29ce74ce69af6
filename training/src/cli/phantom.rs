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
    /// Phantom world: `realistic` (real protocols' framings, scanners, bodies, four phases) or
    /// `classic` (the original phantoms, kept for reproducing earlier results).
    #[arg(long, value_enum, default_value = "realistic")]
    pub profile: phantom::Profile,
    /// Realistic profile only: draw each case's framing from these (comma-separated) instead
    /// of from all seven.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub framing: Vec<phantom::realistic::draw::Framing>,
}

/// Runs `pancseg-train phantom`.
pub fn run(a: PhantomArgs) -> CliResult {
    let PhantomArgs {
        count,
        seed,
        out,
        size,
        format,
        profile,
        framing,
    } = a;
    if !framing.is_empty() && profile != phantom::Profile::Realistic {
        return Err(pancseg_train::error::TrainError::Invalid(
            "--framing needs --profile realistic".into(),
        )
        .into());
    }
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
        profile,
        framings: framing,
        out,
        nifti,
        dicom,
        progress: true,
    })?;
    Ok(())
}
