//! What each zoom-out scale of an R-ConvNet contributes (DeepOrgan Sec. 2.3: the R-ConvNets
//! classify a superpixel from Ns boxes and P1 / P2 average their probabilities). On the
//! candidate superpixels of the validation cases, the trained network is evaluated at every
//! scale; the ablation reports the superpixel-level AUC of each scale alone, of the average
//! over all scales (what the pipeline computes) and of the average with one scale left out.
//! The box-level validation AUC of training mixes the scales; this one is the number P1 and P2
//! are made of.

use super::examples::{Example, ExampleCase, Geometry, Site};
use super::metrics::auc;
use super::model::{ConvNet, ConvNetConfig};
use super::train::{batch_inputs, predict};
use super::NetKind;
use crate::error::Result;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Superpixel-level validation AUCs of an R-ConvNet per scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaleAblation {
    /// The zoom-out factors, in the bundle's order.
    pub scales: Vec<f64>,
    /// Superpixels evaluated (positive, negative).
    pub superpixels: [usize; 2],
    /// AUC of each scale alone.
    pub alone: Vec<f64>,
    /// AUC of the mean probability over every scale.
    pub all: f64,
    /// AUC of the mean over every scale but the k-th.
    pub without: Vec<f64>,
}

/// A superpixel's label and its example index at each scale.
type ScaleExamples = (bool, Vec<Option<usize>>);

/// The ablation of `net` on the region examples `val` (every scale of each superpixel, as
/// [`super::examples::case_examples`] lists them), at most `per_class` superpixels per class,
/// undeformed. `None` for networks without scales or when a class is missing.
#[allow(clippy::too_many_arguments)]
pub fn scale_ablation(
    kind: NetKind,
    net: &ConvNet,
    cfg: &ConvNetConfig,
    cases: &[ExampleCase],
    val: &[Example],
    g: &Geometry,
    per_class: usize,
    seed: u64,
    device: &burn::tensor::Device,
) -> Result<Option<ScaleAblation>> {
    let ns = g.region.scales.len();
    if !matches!(kind, NetKind::R1 | NetKind::R2) || ns == 0 {
        return Ok(None);
    }
    // superpixel (case, id) -> its label and example index per scale
    let mut by_sp: BTreeMap<(usize, u32), ScaleExamples> = BTreeMap::new();
    for (i, e) in val.iter().enumerate() {
        if let Site::Region { sp, scale } = e.site {
            let entry = by_sp
                .entry((e.case, sp))
                .or_insert_with(|| (e.label, vec![None; ns]));
            if let Some(slot) = entry.1.get_mut(scale as usize) {
                *slot = Some(i);
            }
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x005C_A1E5);
    let mut chosen: Vec<(bool, Vec<usize>)> = Vec::new();
    for label in [true, false] {
        let mut v: Vec<(bool, Vec<usize>)> = by_sp
            .values()
            .filter(|(l, idx)| *l == label && idx.iter().all(Option::is_some))
            .map(|(l, idx)| (*l, idx.iter().flatten().copied().collect()))
            .collect();
        v.shuffle(&mut rng);
        v.truncate(per_class);
        chosen.extend(v);
    }
    let counts = [
        chosen.iter().filter(|c| c.0).count(),
        chosen.iter().filter(|c| !c.0).count(),
    ];
    if counts[0] == 0 || counts[1] == 0 {
        return Ok(None);
    }
    let items: Vec<(usize, usize)> = chosen
        .iter()
        .flat_map(|(_, idx)| idx.iter().map(|&i| (i, 0)))
        .collect();
    let inputs = batch_inputs(kind, cases, val, &items, g, cfg, seed);
    let p = predict(net, cfg, &inputs, device, 64)?;
    let labels: Vec<bool> = chosen.iter().map(|c| c.0).collect();
    let (alone, all, without) = scale_aucs(&p, &labels, ns);
    Ok(Some(ScaleAblation {
        scales: g.region.scales.clone(),
        superpixels: counts,
        alone,
        all,
        without,
    }))
}

/// From probabilities `p[k * ns + s]` (superpixel k at scale s) and the superpixels' labels:
/// the AUC of each scale alone, of the mean over all scales, and of the mean without each
/// scale (empty for one scale).
pub fn scale_aucs(p: &[f32], labels: &[bool], ns: usize) -> (Vec<f64>, f64, Vec<f64>) {
    let mean_of = |keep: &dyn Fn(usize) -> bool| -> Vec<f32> {
        (0..labels.len())
            .map(|k| {
                let v: Vec<f32> = (0..ns)
                    .filter(|&s| keep(s))
                    .map(|s| p[k * ns + s])
                    .collect();
                v.iter().sum::<f32>() / v.len().max(1) as f32
            })
            .collect()
    };
    let alone = (0..ns)
        .map(|s| auc(&mean_of(&|t| t == s), labels))
        .collect();
    let without = if ns > 1 {
        (0..ns)
            .map(|s| auc(&mean_of(&|t| t != s), labels))
            .collect()
    } else {
        Vec::new()
    };
    (alone, auc(&mean_of(&|_| true), labels), without)
}

/// One line per figure of the ablation, for the training log.
pub fn describe(a: &ScaleAblation) -> String {
    let list = |v: &[f64]| {
        a.scales
            .iter()
            .zip(v)
            .map(|(s, x)| format!("{s}: {x:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "superpixel-level validation AUC ({} positive, {} negative superpixels): all scales {:.3}; \
         each scale alone {}; without one scale {}",
        a.superpixels[0],
        a.superpixels[1],
        a.all,
        list(&a.alone),
        list(&a.without)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_scale_alone_all_scales_and_each_left_out() {
        // 4 superpixels (2 positive), 3 scales: scale 0 ranks them perfectly, scale 1 inverts
        // them, scale 2 is constant
        let labels = [true, true, false, false];
        let p = [
            0.9, 0.1, 0.5, //
            0.8, 0.2, 0.5, //
            0.2, 0.8, 0.5, //
            0.1, 0.9, 0.5,
        ];
        let (alone, all, without) = scale_aucs(&p, &labels, 3);
        assert_eq!(alone, vec![1.0, 0.0, 0.5]);
        // scales 0 and 1 cancel: every mean is 0.5
        assert_eq!(all, 0.5);
        assert_eq!(without, vec![0.0, 1.0, 0.5]);
        let (alone, all, without) = scale_aucs(&[0.9, 0.8, 0.2, 0.1], &labels, 1);
        assert_eq!((alone, all), (vec![1.0], 1.0));
        assert!(without.is_empty());
    }
}
