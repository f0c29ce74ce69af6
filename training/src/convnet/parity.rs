//! Parity of an exported ONNX graph with the burn network it came from: the same inputs through
//! burn and through ONNX Runtime (ort, the runtime the library uses), compared probability by
//! probability.

use super::model::{ConvNet, ConvNetConfig};
use super::onnx_export::{INPUT_NAME, OUTPUT_NAME};
use super::train::predict;
use crate::error::{Result, TrainError};
use burn::tensor::Device;

/// Positive-class probabilities of `inputs` through the ONNX model on ONNX Runtime.
pub fn ort_probabilities(model: &[u8], cfg: &ConvNetConfig, inputs: &[f32]) -> Result<Vec<f32>> {
    let err = |e: ort::Error| TrainError::Invalid(format!("ONNX Runtime: {e}"));
    let env = pancseg::model::runtime::environment(None)?;
    let mut session = ort::session::Session::builder(&env)
        .map_err(err)?
        .commit_from_memory(model)
        .map_err(err)?;
    let (c, s) = (cfg.in_channels, cfg.input_size);
    let n = inputs.len() / (c * s * s);
    let x = ort::value::Tensor::from_array(([n, c, s, s], inputs.to_vec())).map_err(err)?;
    let outputs = session.run(ort::inputs![INPUT_NAME => x]).map_err(err)?;
    let (_, y) = outputs[OUTPUT_NAME]
        .try_extract_tensor::<f32>()
        .map_err(err)?;
    Ok(y.chunks(2).map(|r| r[1]).collect())
}

/// Largest absolute difference between burn's and ONNX Runtime's probabilities on `inputs`.
pub fn max_abs_difference(
    net: &ConvNet,
    cfg: &ConvNetConfig,
    model: &[u8],
    inputs: &[f32],
    device: &Device,
) -> Result<f64> {
    let a = predict(net, cfg, inputs, device, 64)?;
    let b = ort_probabilities(model, cfg, inputs)?;
    if a.len() != b.len() {
        return Err(TrainError::Invalid(format!(
            "burn gave {} outputs, ONNX Runtime {}",
            a.len(),
            b.len()
        )));
    }
    Ok(a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs() as f64)
        .fold(0.0, f64::max))
}
