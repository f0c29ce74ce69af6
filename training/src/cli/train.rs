//! `pancseg-train train`: train one ConvNet (p, r1, r2 or boundary) on cohort cases and export it to ONNX.

use crate::cli::CliResult;
use clap::Args;
use pancseg_train::error::TrainError;
use std::path::PathBuf;

/// Train one ConvNet (p, r1, r2 or boundary) on cohort cases and export it to ONNX.
#[derive(Args)]
pub struct TrainArgs {
    #[arg(long)]
    pub cohort: PathBuf,
    /// Comma-separated case ids (default: every case of the cohort).
    #[arg(long, value_delimiter = ',')]
    pub cases: Vec<String>,
    /// Which network: p, r1, r2 or boundary.
    #[arg(long)]
    pub net: String,
    #[arg(long)]
    pub out: PathBuf,
    /// Cascade to take the candidates from (level1.psrf, level2.psrf); default:
    /// cross-fitted cascades trained here.
    #[arg(long)]
    pub forests: Option<PathBuf>,
    /// A trained P-ConvNet (`train --net p` output folder) or a model bundle (its `p.onnx`),
    /// needed for r2's P0 channel and for `--boundary-p0`.
    #[arg(long)]
    pub p_net: Option<PathBuf>,
    /// The boundary ConvNet also reads the P0 map over its box (CT, P0 and the two masks:
    /// 4 channels); needs `--p-net`.
    #[arg(long)]
    pub boundary_p0: bool,
    /// Boundary ConvNet: leave out of training the pairs whose smaller superpixel has fewer
    /// pixels than this (fragments whose label rests on a few pixels); validation keeps every
    /// pair. 0 keeps all.
    #[arg(long, default_value_t = 0)]
    pub pair_min_pixels: usize,
    /// Boundary ConvNet: growth of its box around the two superpixels' bounding box (the
    /// bundle's `region.context`; 1.5 unless given).
    #[arg(long)]
    pub boundary_context: Option<f64>,
    /// R-ConvNets: the zoom-out factors of the superpixel boxes, comma-separated (the
    /// bundle's `region.scales`; 1,1.5,2,3 unless given). Every network of one bundle uses the
    /// same scales and floor.
    #[arg(long, value_delimiter = ',')]
    pub scales: Vec<f64>,
    /// Smallest side (mm) of a superpixel's unscaled box (the bundle's `region.floor_mm`;
    /// 16 unless given).
    #[arg(long)]
    pub box_floor_mm: Option<f64>,
    #[arg(long, default_value_t = 12)]
    pub epochs: usize,
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Examples per epoch (half positive, half negative).
    #[arg(long, default_value_t = 8192)]
    pub examples_per_epoch: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 1e-4)]
    pub weight_decay: f32,
    /// Epochs without a better validation loss before stopping.
    #[arg(long, default_value_t = 3)]
    pub patience: usize,
    /// Share of the cases held out for validation.
    #[arg(long, default_value_t = 0.2)]
    pub val_fraction: f64,
    /// Validation examples per class.
    #[arg(long, default_value_t = 1000)]
    pub val_per_class: usize,
    /// P-ConvNet training voxels per class and case.
    #[arg(long, default_value_t = 2000)]
    pub max_voxels: usize,
    /// Grid step (voxels) of the P0 map.
    #[arg(long, default_value_t = 2)]
    pub p0_stride: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Continue from the checkpoint in OUT.
    #[arg(long)]
    pub resume: bool,
    /// Five convolution widths (default 32,64,64,64,64).
    #[arg(long, value_delimiter = ',')]
    pub widths: Vec<usize>,
    /// Fully connected width (default 256).
    #[arg(long)]
    pub fc: Option<usize>,
    /// Start of the weights: he (default) or uniform (burn's layer default, which the
    /// project's earliest networks used).
    #[arg(long, value_enum, default_value = "he")]
    pub init: pancseg_train::convnet::model::WeightInit,
    /// Working spacing in mm the cases are resampled to and the bundle runs at, one value or
    /// x,y,z (default 2,2,2.5).
    #[arg(long, value_delimiter = ',')]
    pub working_spacing: Vec<f64>,
    /// Where to train: cpu (burn's CPU backend), gpu (the first-ranked wgpu adapter) or
    /// gpu:N (the N-th); gpu needs a build with `--features gpu`.
    #[arg(long, default_value = "cpu")]
    pub device: pancseg_train::convnet::device::ComputeDevice,
}

/// Runs `pancseg-train train`.
pub fn run(a: TrainArgs) -> CliResult {
    let TrainArgs {
        cohort,
        cases,
        net,
        out,
        forests,
        p_net,
        boundary_p0,
        pair_min_pixels,
        boundary_context,
        scales,
        box_floor_mm,
        epochs,
        batch,
        examples_per_epoch,
        lr,
        weight_decay,
        patience,
        val_fraction,
        val_per_class,
        max_voxels,
        p0_stride,
        seed,
        resume,
        widths,
        fc,
        init,
        working_spacing,
        device,
    } = a;
    let widths = match widths.len() {
        0 => None,
        5 => Some([widths[0], widths[1], widths[2], widths[3], widths[4]]),
        n => {
            return Err(TrainError::Invalid(format!(
                "--widths takes 5 comma-separated values, got {n}"
            ))
            .into())
        }
    };
    let net = pancseg_train::convnet::NetKind::parse(&net).ok_or_else(|| {
        TrainError::Invalid(format!(
            "unknown network {net:?}: use p, r1, r2 or boundary"
        ))
    })?;
    let args = pancseg_train::train_cmd::TrainArgs {
        cohort,
        cases,
        net,
        out,
        forests,
        p_net,
        boundary_p0,
        pair_min_pixels,
        boundary_context,
        scales: (!scales.is_empty()).then_some(scales),
        box_floor_mm,
        working_spacing: crate::cli::options::working_spacing(&working_spacing)?,
        options: pancseg_train::convnet::train::TrainOptions {
            epochs,
            batch,
            examples_per_epoch,
            val_per_class,
            lr,
            weight_decay,
            patience,
            seed,
            init,
            device,
        },
        val_fraction,
        resume,
        max_voxels,
        p0_stride,
        widths,
        fc,
    };
    print!("{}", pancseg_train::train_cmd::run_train(&args)?);
    Ok(())
}
