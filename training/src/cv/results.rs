//! What `cv` reads and writes: its arguments, the per-case and per-fold results
//! (`OUT/fold_K/results.json`), and the bundle's sigma for a factor pair.

use super::profile::Profile;
use crate::convnet::model::WeightInit;
use crate::fig5::Curves;
use pancseg::model::bundle::OperatingPoints;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Arguments of `cv`.
#[derive(Debug, Clone)]
pub struct CvArgs {
    pub cohort: PathBuf,
    pub folds: usize,
    pub seed: u64,
    pub out: PathBuf,
    pub profile: Profile,
    pub threads: usize,
    /// Also train on every case, calibrate on every case and write that bundle here (the
    /// shipped default bundle is made this way); its run lives in `OUT/final`.
    pub final_bundle: Option<PathBuf>,
    /// Start of the ConvNets' weights (`uniform` reproduces the project's earliest runs).
    pub init: WeightInit,
    /// Smoothing sigma in mm (x, y, z) of the bundles (`None`: 3 voxels, the paper's figure).
    pub sigma_mm: Option<[f64; 3]>,
    /// Working spacing (x, y, z, mm) every case is resampled to and the bundles run at.
    pub working_spacing: [f64; 3],
    /// Where the ConvNets train.
    pub device: crate::convnet::device::ComputeDevice,
}

/// One case's figures at the calibrated operating points, per column (`None`: a surface distance
/// with an empty mask).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    pub id: String,
    pub fold: usize,
    /// "train" or "test".
    pub split: String,
    pub dsc: Vec<f64>,
    pub assd_mm: Vec<Option<f64>>,
    pub hd95_mm: Vec<Option<f64>>,
}

/// What one fold produced (`OUT/fold_K/results.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FoldResult {
    pub fold: usize,
    pub train_cases: Vec<String>,
    pub test_cases: Vec<String>,
    /// Scans without pancreas the cascade and ConvNets also trained on (never evaluated; absent
    /// in results written before cohorts could hold them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub train_only_cases: Vec<String>,
    pub operating_points: OperatingPoints,
    pub crf_weight: Option<f64>,
    /// The calibrated CRF unary prior (absent in results written before it was calibrated:
    /// those folds ran at 0.5).
    #[serde(default)]
    pub crf_prior: Option<f64>,
    /// The calibrated CRF pairwise form (absent in results written before it was searched:
    /// those folds used the linear form).
    #[serde(default)]
    pub crf_pairwise: Option<pancseg::pipeline::fusion::crf::Pairwise>,
    /// The calibrated sigma factors (in-plane, axial) of [`sigma_grid`] (absent in results
    /// written before sigma was calibrated: those folds smoothed by the base sigma).
    #[serde(default)]
    pub sigma_factors: Option<(f64, f64)>,
    pub cases: Vec<CaseResult>,
    pub curves: Curves,
    pub seconds: f64,
}

/// A bundle's smoothing settings (`sigma_voxels`, `sigma_mm`) for the base sigma of `a` scaled
/// by the factors `(xy, z)`.
pub(super) fn scaled_sigma(a: &CvArgs, (xy, z): (f64, f64)) -> ([f64; 3], Option<[f64; 3]>) {
    let f = [xy, xy, z];
    (
        [0, 1, 2].map(|i| 3.0 * f[i]),
        a.sigma_mm.map(|mm| [0, 1, 2].map(|i| mm[i] * f[i])),
    )
}
