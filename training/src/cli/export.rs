//! `pancseg-train export`: assemble a model bundle (manifest.json with SHA-256s, forests, ONNX networks) for the

use crate::cli::options::sigma_triple;
use crate::cli::CliResult;
use clap::Args;
use pancseg_train::error::TrainError;
use std::path::PathBuf;

/// Assemble a model bundle (manifest.json with SHA-256s, forests, ONNX networks) for the
/// library from a trained cascade and trained networks.
#[derive(Args)]
pub struct ExportArgs {
    /// Folder with level1.psrf and level2.psrf.
    #[arg(long)]
    pub forests: PathBuf,
    /// `train --net p` output folder.
    #[arg(long)]
    pub p: PathBuf,
    #[arg(long)]
    pub r1: PathBuf,
    #[arg(long)]
    pub r2: PathBuf,
    /// `train --net boundary` output folder (without it the bundle has no CRF).
    #[arg(long)]
    pub boundary: Option<PathBuf>,
    #[arg(long)]
    pub out: PathBuf,
    /// P0 grid stride n (voxels).
    #[arg(long, default_value_t = 2)]
    pub p0_stride: usize,
    /// P0 grid step in mm: the stride becomes round(step / in-plane spacing) per scan.
    #[arg(long)]
    pub p0_step_mm: Option<f64>,
    /// Smoothing sigma (voxels).
    #[arg(long, default_value_t = 3.0)]
    pub sigma: f64,
    /// Smoothing sigma in mm, one value or x,y,z: per scan it replaces --sigma by
    /// sigma_mm / spacing on each axis.
    #[arg(long, value_delimiter = ',')]
    pub sigma_mm: Vec<f64>,
    /// JSON file with the operating points {p0, p1, p2, g_p0, g_p1, g_p2} (default: 0.5 each).
    #[arg(long)]
    pub operating_points: Option<PathBuf>,
    #[arg(long, default_value_t = 1.0)]
    pub crf_weight: f64,
    /// The CRF unary's prior t in (0, 1): the P2 value at which the unary alone changes
    /// label (absent: 0.5, the paper's energy).
    #[arg(long)]
    pub crf_prior: Option<f64>,
    /// The CRF's pairwise form: linear (w * P(same), the default) or log-odds
    /// (w * max(0, logit P(same))).
    #[arg(long)]
    pub crf_pairwise: Option<pancseg::pipeline::fusion::crf::Pairwise>,
    /// Free text for the manifest (data and command).
    #[arg(long, default_value = "")]
    pub description: String,
    /// Working spacing in mm the networks and forests were trained at, one value or x,y,z
    /// (default 2,2,2.5, what `train` and `cv` resample cases to).
    #[arg(long, value_delimiter = ',')]
    pub working_spacing: Vec<f64>,
}

/// Runs `pancseg-train export`.
pub fn run(a: ExportArgs) -> CliResult {
    let ExportArgs {
        forests,
        p,
        r1,
        r2,
        boundary,
        out,
        p0_stride,
        p0_step_mm,
        sigma,
        sigma_mm,
        operating_points,
        crf_weight,
        crf_prior,
        crf_pairwise,
        description,
        working_spacing,
    } = a;
    let operating_points = match operating_points {
        None => pancseg::model::bundle::OperatingPoints::default(),
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|e| TrainError::io(&path, e))?;
            serde_json::from_str(&text).map_err(|e| TrainError::Json { path, source: e })?
        }
    };
    let args = pancseg_train::export_cmd::ExportArgs {
        forests,
        p,
        r1,
        r2,
        boundary,
        out: out.clone(),
        p0_stride,
        p0_step_mm,
        sigma_voxels: [sigma; 3],
        sigma_mm: sigma_triple(&sigma_mm)?,
        operating_points,
        crf_weight,
        crf_prior,
        crf_pairwise,
        working_spacing_mm: Some(crate::cli::options::working_spacing(&working_spacing)?),
        description,
    };
    let m = pancseg_train::export_cmd::run_export(&args)?;
    println!(
        "wrote bundle {} (format {}, networks p r1 r2{}, stride {}, sigma {})",
        out.display(),
        m.format_version,
        if m.networks.boundary.is_some() {
            " boundary"
        } else {
            ""
        },
        m.p0_stride,
        m.sigma_voxels[0]
    );
    Ok(())
}
