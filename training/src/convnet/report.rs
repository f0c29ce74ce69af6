//! What training a network leaves beside its ONNX file (`train.json`: configuration, geometry,
//! cases, validation figures, history) and the bundle manifest entry made from it. One place
//! for both, so that `train` (which writes the report) and `export` (which reads it into a
//! bundle) depend on it rather than on each other.

use crate::convnet::model::ConvNetConfig;
use crate::convnet::train::EpochStats;
use crate::convnet::NetKind;
use crate::error::{Result, TrainError};
use pancseg::model::bundle::{NetworkEntry, HU_NORMALISATION};
use pancseg::pipeline::convnets::inputs::RegionGeometry;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What `train` writes to `OUT/train.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainReport {
    pub net: NetKind,
    pub config: ConvNetConfig,
    pub patch: pancseg::pipeline::convnets::inputs::PatchGeometry,
    pub region: pancseg::pipeline::convnets::inputs::RegionGeometry,
    pub hu_normalisation: String,
    pub onnx: OnnxInfo,
    pub train_cases: Vec<String>,
    pub val_cases: Vec<String>,
    pub train_examples: usize,
    pub val_examples: usize,
    pub best_epoch: usize,
    pub val_loss: f64,
    pub val_accuracy: f64,
    pub val_auc: f64,
    pub wall_seconds: f64,
    pub examples_per_second: f64,
    /// The device it trained on (reports from before devices were recorded: the CPU).
    #[serde(default)]
    pub device: crate::convnet::device::DeviceInfo,
    pub history: Vec<EpochStats>,
    /// R1 / R2: superpixel-level validation AUC per zoom-out scale (absent for the other
    /// networks and in reports from before the ablation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_ablation: Option<crate::convnet::scale_ablation::ScaleAblation>,
}

/// The exported model file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OnnxInfo {
    pub file: String,
    pub bytes: usize,
    pub sha256: String,
    pub opset: i64,
    pub input: String,
    pub output: String,
    /// Largest |burn - ONNX Runtime| probability over validation inputs (None: runtime absent).
    pub parity_max_abs_diff: Option<f64>,
    /// Inputs compared for parity.
    pub parity_inputs: usize,
}

/// Reads `DIR/train.json`.
pub fn read_report(dir: &Path) -> Result<TrainReport> {
    let path = dir.join("train.json");
    let text = std::fs::read_to_string(&path).map_err(|e| TrainError::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| TrainError::Json { path, source: e })
}

/// `g` without the fields only the boundary ConvNet sets (whether it reads P0, how far its box
/// reaches): the geometry every network of one bundle shares.
pub(crate) fn shared_region(g: &RegionGeometry) -> RegionGeometry {
    RegionGeometry {
        boundary_p0: false,
        context: RegionGeometry::default().context,
        ..g.clone()
    }
}

/// The manifest's names of a network's input channels.
fn channels(kind: NetKind, boundary_p0: bool) -> Vec<String> {
    let v: &[&str] = match kind {
        NetKind::P => &["ct axial", "ct coronal", "ct sagittal"],
        NetKind::R1 => &["ct"],
        NetKind::R2 => &["ct", "p0"],
        NetKind::Boundary if boundary_p0 => &["ct", "p0", "mask a", "mask b"],
        NetKind::Boundary => &["ct", "mask a", "mask b"],
    };
    v.iter().map(|s| s.to_string()).collect()
}

/// The manifest entry of a trained network stored as `file` with that SHA-256.
pub(crate) fn network_entry(r: &TrainReport, file: String, sha256: String) -> NetworkEntry {
    NetworkEntry {
        file,
        sha256,
        input: r.onnx.input.clone(),
        output: r.onnx.output.clone(),
        input_shape: [
            r.config.in_channels,
            r.config.input_size,
            r.config.input_size,
        ],
        channels: channels(r.net, r.region.boundary_p0),
        hu_normalisation: HU_NORMALISATION.to_string(),
    }
}
