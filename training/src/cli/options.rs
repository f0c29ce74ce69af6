//! Argument types shared by several subcommands: phantom size and format, and `--sigma-mm`.

use clap::ValueEnum;
use pancseg_train::error::TrainError;

/// `--size`: the phantom matrix.
#[derive(Clone, Copy, ValueEnum)]
pub enum Size {
    Small,
    Full,
}

impl Size {
    /// The phantom generator's size.
    pub fn phantom(self) -> pancseg_train::phantom::PhantomSize {
        match self {
            Size::Small => pancseg_train::phantom::PhantomSize::Small,
            Size::Full => pancseg_train::phantom::PhantomSize::Full,
        }
    }
}

/// `--format`: what a phantom cohort is written as.
#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Nifti,
    Dicom,
    Both,
}

/// `--sigma-mm`: none, one value for every axis, or x,y,z.
pub fn sigma_triple(v: &[f64]) -> Result<Option<[f64; 3]>, TrainError> {
    mm_triple("--sigma-mm", v)
}

/// `--working-spacing`: one value for every axis, or x,y,z (mm); none gives the library's
/// default working spacing.
pub fn working_spacing(v: &[f64]) -> Result<[f64; 3], TrainError> {
    let s = mm_triple("--working-spacing", v)?
        .unwrap_or(pancseg::pipeline::working_grid::DEFAULT_SPACING_MM);
    pancseg::pipeline::working_grid::validate_spacing(s)
        .map_err(|e| TrainError::Invalid(format!("--working-spacing: {e}")))?;
    Ok(s)
}

/// A millimetre triple given as none, one value, or x,y,z.
fn mm_triple(flag: &str, v: &[f64]) -> Result<Option<[f64; 3]>, TrainError> {
    match *v {
        [] => Ok(None),
        [s] => Ok(Some([s; 3])),
        [x, y, z] => Ok(Some([x, y, z])),
        _ => Err(TrainError::Invalid(format!(
            "{flag} takes 1 or 3 comma-separated values, got {}",
            v.len()
        ))),
    }
}
