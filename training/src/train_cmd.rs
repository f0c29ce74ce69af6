//! `pancseg-train train`: trains one ConvNet on listed cohort cases and exports it to ONNX.
//!
//! Candidates of the training cases come from the random-forest cascade. Without `--forests`
//! they are cross-fitted: the cases are split in two halves and each half's candidates come from
//! a cascade trained on the other half, so the ConvNets see candidate sets like those of unseen
//! cases (an in-sample cascade would pass almost only true pancreas). A share of the listed
//! cases (`--val-fraction`) is held out whole for validation. R2 needs the P0 maps of the cases:
//! `--p-net DIR` names a trained P-ConvNet, evaluated on a grid inside the candidates and filled
//! by nearest neighbour ([`pancseg::pipeline::convnets::prob_map`]), exactly as at inference.

use crate::candidates_cv::{
    prepare_case, split_folds, train_cascade, CandidateOptions, PreparedCase,
};
use crate::cohort::Cohort;
use crate::convnet::examples::{case_examples, Example, ExampleCase, Geometry, Site};
use crate::convnet::model::ConvNet;
use crate::convnet::onnx_export::{export_onnx, INPUT_NAME, OPSET, OUTPUT_NAME};
use crate::convnet::report::{OnnxInfo, TrainReport};
use crate::convnet::train::{fit, predict, validation_subset, TrainOptions};
use crate::convnet::validation_cases::validation_cases;
use crate::convnet::NetKind;
use crate::error::{Result, TrainError};
use burn::module::Module;
use burn::tensor::Device;
use pancseg::model::forest::Forest;
use pancseg::pipeline::candidates::cascade::Cascade;
use pancseg::pipeline::candidates::superpixels::SuperpixelConfig;
use pancseg::pipeline::convnets::inputs::p_patch;
use pancseg::pipeline::convnets::prob_map::{grid_points, nearest_fill};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Arguments of `train`.
#[derive(Debug, Clone)]
pub struct TrainArgs {
    pub cohort: PathBuf,
    /// Case ids; empty: every case of the cohort.
    pub cases: Vec<String>,
    pub net: NetKind,
    pub out: PathBuf,
    pub forests: Option<PathBuf>,
    pub p_net: Option<PathBuf>,
    /// The boundary ConvNet reads P0 too (4 channels; needs `p_net` or the cases' maps).
    pub boundary_p0: bool,
    /// Boundary ConvNet: training pairs whose smaller superpixel has fewer pixels are left
    /// out (validation keeps every pair); 0 keeps all.
    pub pair_min_pixels: usize,
    /// Boundary ConvNet: its box's growth around the pair (None: the default 1.5).
    pub boundary_context: Option<f64>,
    /// Zoom-out factors of the R boxes (None: the default 1, 1.5, 2, 3).
    pub scales: Option<Vec<f64>>,
    /// Smallest side of an unscaled box in mm (None: the default 16).
    pub box_floor_mm: Option<f64>,
    /// Working spacing (x, y, z, mm) the cases are resampled to.
    pub working_spacing: [f64; 3],
    pub options: TrainOptions,
    pub val_fraction: f64,
    pub resume: bool,
    /// P-ConvNet voxels per class and case.
    pub max_voxels: usize,
    /// Grid step of the P0 map (voxels).
    pub p0_stride: usize,
    /// Convolution widths instead of the standard 32/64/64/64/64.
    pub widths: Option<[usize; 5]>,
    /// Fully connected width instead of the standard 256.
    pub fc: Option<usize>,
}

/// Candidates of every case: from the given cascade, or cross-fitted over two halves.
fn candidates(
    prepared: &[PreparedCase],
    forests: Option<&Path>,
    seed: u64,
) -> Result<Vec<Vec<bool>>> {
    let score = |cascade: &Cascade, c: &PreparedCase| -> Result<Vec<bool>> {
        Ok(cascade.score(&c.ct, c.set.clone())?.selected)
    };
    if let Some(dir) = forests {
        let cascade = Cascade {
            superpixels: SuperpixelConfig::default(),
            level1: Forest::load(dir.join("level1.psrf"))?,
            level2: Forest::load(dir.join("level2.psrf"))?,
        };
        return prepared.iter().map(|c| score(&cascade, c)).collect();
    }
    if prepared.len() < 2 {
        return Err(TrainError::Invalid(
            "cross-fitted candidates need at least 2 cases (or give --forests)".into(),
        ));
    }
    let half = split_folds(prepared.len(), 2, seed);
    let mut out = vec![Vec::new(); prepared.len()];
    for f in 0..2 {
        let others: Vec<&PreparedCase> = prepared
            .iter()
            .zip(&half)
            .filter(|(_, &h)| h != f)
            .map(|(c, _)| c)
            .collect();
        let cascade = train_cascade(&others, &CandidateOptions::default(), seed + f as u64)?;
        for (i, c) in prepared.iter().enumerate() {
            if half[i] == f {
                out[i] = score(&cascade, c)?;
            }
        }
    }
    Ok(out)
}

/// Loads a trained network from a `train` output folder (`best.bpk` and `train.json`).
pub fn load_trained(dir: &Path, device: &Device) -> Result<(ConvNet, TrainReport)> {
    let path = dir.join("train.json");
    let text = std::fs::read_to_string(&path).map_err(|e| TrainError::io(&path, e))?;
    let report: TrainReport = serde_json::from_str(&text)
        .map_err(|e| TrainError::Invalid(format!("{}: {e}", path.display())))?;
    let weights = dir.join("best.bpk");
    let net = report
        .config
        .init(device)
        .try_load_file(&weights)
        .map_err(|e| TrainError::Invalid(format!("{}: {e:?}", weights.display())))?;
    Ok((net, report))
}

/// The exported P-ConvNet of a `train` folder as an ONNX Runtime session (what inference runs;
/// faster than burn's forward pass here); None when ONNX Runtime cannot be loaded.
fn p_session(dir: &Path, r: &TrainReport) -> Option<pancseg::model::network::Network> {
    let path = dir.join(&r.onnx.file);
    let bytes = std::fs::read(&path).ok()?;
    let entry =
        crate::convnet::report::network_entry(r, r.onnx.file.clone(), r.onnx.sha256.clone());
    let opts = pancseg::model::network::RuntimeOptions::default();
    match pancseg::model::network::Network::load("p", &path, &bytes, &entry, &opts) {
        Ok(n) => Some(n),
        Err(e) => {
            eprintln!("P0 maps through burn ({e})");
            None
        }
    }
}

/// The P-ConvNet that makes the P0 maps of training cases: a `train` folder's network (through
/// ONNX Runtime when it loads, else burn) or a model bundle's `p.onnx`.
enum P0Net {
    Trained {
        net: Box<ConvNet>,
        report: Box<TrainReport>,
        onnx: Option<pancseg::model::network::Network>,
    },
    Bundle {
        onnx: pancseg::model::network::Network,
        patch: pancseg::pipeline::convnets::inputs::PatchGeometry,
    },
}

impl P0Net {
    /// From a `train --net p` folder or a bundle folder (`manifest.json`).
    fn open(dir: &Path, device: &Device) -> Result<P0Net> {
        if dir.join("manifest.json").is_file() {
            let bundle = pancseg::model::bundle::Bundle::load(dir)?;
            let e = &bundle.manifest.networks.p;
            let onnx = pancseg::model::network::Network::load(
                "p",
                &bundle.path(&e.file),
                bundle.file_contents(&e.file)?,
                e,
                &pancseg::model::network::RuntimeOptions::default(),
            )?;
            return Ok(P0Net::Bundle {
                onnx,
                patch: bundle.manifest.patch,
            });
        }
        let (net, report) = load_trained(dir, device)?;
        if report.net != NetKind::P {
            return Err(TrainError::Invalid(format!(
                "{} holds a {} network, not a P-ConvNet",
                dir.display(),
                report.net.name()
            )));
        }
        let onnx = p_session(dir, &report);
        Ok(P0Net::Trained {
            net: Box::new(net),
            report: Box::new(report),
            onnx,
        })
    }

    fn patch(&self) -> &pancseg::pipeline::convnets::inputs::PatchGeometry {
        match self {
            P0Net::Trained { report, .. } => &report.patch,
            P0Net::Bundle { patch, .. } => patch,
        }
    }

    /// Values per input patch.
    fn input_len(&self) -> usize {
        match self {
            P0Net::Trained { report, .. } => {
                let c = &report.config;
                c.in_channels * c.input_size * c.input_size
            }
            P0Net::Bundle { onnx, .. } => onnx.input_len(),
        }
    }

    fn probabilities(&self, inputs: &[f32], device: &Device) -> Result<Vec<f32>> {
        let len = self.input_len();
        match self {
            P0Net::Trained {
                onnx: Some(session),
                ..
            }
            | P0Net::Bundle { onnx: session, .. } => {
                let mut out = Vec::with_capacity(inputs.len() / len.max(1));
                for batch in inputs.chunks(len * 256) {
                    out.extend(session.probabilities(batch)?);
                }
                Ok(out)
            }
            P0Net::Trained { net, report, .. } => predict(net, &report.config, inputs, device, 256),
        }
    }
}

/// P0 of a training case, exactly as the pipeline computes it: the P-ConvNet on the grid
/// inside the candidates, nearest-neighbour filled.
fn p0_map(
    pnet: &P0Net,
    c: &ExampleCase,
    stride: usize,
    device: &Device,
) -> Result<pancseg::pipeline::convnets::prob_map::MapCrop> {
    let region = pancseg::pipeline::candidates::cascade::selection_mask(&c.set, &c.candidates);
    let pts = grid_points(&region, stride);
    let len = pnet.input_len();
    let mut probs = Vec::with_capacity(pts.len());
    for chunk in pts.chunks(1024) {
        let mut inputs = vec![0f32; chunk.len() * len];
        inputs
            .par_chunks_mut(len)
            .zip(chunk.par_iter())
            .for_each(|(buf, p)| p_patch(&c.ct, *p, pnet.patch(), None, buf));
        probs.extend(pnet.probabilities(&inputs, device)?);
    }
    Ok(pancseg::pipeline::convnets::prob_map::MapCrop::whole(
        nearest_fill(&region, stride, c.ct.geometry.spacing, &pts, &probs),
    ))
}

/// Sets the P0 map of every case, as the pipeline computes it, from the P-ConvNet in `dir`: a
/// `train --net p` folder, or a model bundle (its `p.onnx`, for example the shipped one on
/// cases it has not seen).
pub fn fill_p0_maps(dir: &Path, cases: &mut [ExampleCase], stride: usize) -> Result<()> {
    let plain = burn::tensor::Device::flex();
    let pnet = P0Net::open(dir, &plain)?;
    eprintln!("P0 maps of {} cases (stride {stride})...", cases.len());
    for c in cases.iter_mut() {
        c.p0 = Some(p0_map(&pnet, c, stride, &plain)?);
    }
    Ok(())
}

/// Runs `train`; returns a summary text.
pub fn run_train(a: &TrainArgs) -> Result<String> {
    let mut cohort = Cohort::open(&a.cohort)?;
    cohort.working_spacing = a.working_spacing;
    let ids: Vec<String> = if a.cases.is_empty() {
        cohort.manifest.cases.iter().map(|c| c.id.clone()).collect()
    } else {
        a.cases.clone()
    };
    if ids.len() < 2 {
        return Err(TrainError::Invalid(
            "train needs at least 2 cases (training and validation)".into(),
        ));
    }
    let prepared = prepare_cases(&cohort, &ids, &SuperpixelConfig::default())?;
    let mut cases = example_cases(prepared, a.forests.as_deref(), a.options.seed)?;
    train_on_cases(
        &TrainArgs {
            cases: ids,
            ..a.clone()
        },
        &mut cases,
    )
}

/// Superpixels, features and optimal labels of the listed cases (cases in parallel).
pub fn prepare_cases(
    cohort: &Cohort,
    ids: &[String],
    cfg: &SuperpixelConfig,
) -> Result<Vec<PreparedCase>> {
    eprintln!("preparing {} cases (superpixels, features)...", ids.len());
    ids.par_iter()
        .map(|id| prepare_case(cohort, id, cfg))
        .collect()
}

/// The network training cases: prepared cases with their candidates (from the cascade in
/// `forests`, or cross-fitted when `None`).
pub fn example_cases(
    prepared: Vec<PreparedCase>,
    forests: Option<&Path>,
    seed: u64,
) -> Result<Vec<ExampleCase>> {
    eprintln!("candidates...");
    let cands = candidates(&prepared, forests, seed)?;
    Ok(prepared
        .into_iter()
        .zip(cands)
        .map(|(p, c)| ExampleCase {
            id: p.id,
            ct: p.ct,
            mask: p.mask,
            set: p.set,
            positive: p.positive,
            candidates: c,
            p0: None,
        })
        .collect())
}

/// Trains `a.net` on prepared cases (`a.cases` are their ids, in order) and exports it. R2
/// writes the P0 map of each case into `cases` (from `a.p_net`); the other networks only read
/// them, so one set of cases serves every network of a run.
pub fn train_on_cases(a: &TrainArgs, cases: &mut [ExampleCase]) -> Result<String> {
    let ids = &a.cases;
    if ids.len() != cases.len() || ids.len() < 2 {
        return Err(TrainError::Invalid(format!(
            "train needs at least 2 cases and one id per case ({} ids, {} cases)",
            ids.len(),
            cases.len()
        )));
    }
    let seed = a.options.seed;
    let mut g = Geometry::default();
    g.region.boundary_p0 = a.net == NetKind::Boundary && a.boundary_p0;
    if let Some(c) = a.boundary_context.filter(|_| a.net == NetKind::Boundary) {
        if !(1.0..=8.0).contains(&c) {
            return Err(TrainError::Invalid(format!(
                "--boundary-context {c} is not in 1..=8"
            )));
        }
        g.region.context = c;
    }
    if let Some(v) = &a.scales {
        if v.is_empty() || v.len() > 8 || v.iter().any(|s| !(0.25..=16.0).contains(s)) {
            return Err(TrainError::Invalid(format!(
                "--scales {v:?}: give 1 to 8 factors in 0.25..=16"
            )));
        }
        g.region.scales = v.clone();
    }
    if let Some(f) = a.box_floor_mm {
        if !(1.0..=200.0).contains(&f) {
            return Err(TrainError::Invalid(format!(
                "--box-floor-mm {f} is not in 1..=200"
            )));
        }
        g.region.floor_mm = f;
    }
    let plain = burn::tensor::Device::flex();
    // R2 (and a boundary ConvNet with P0) reads P0: from `--p-net` unless the caller has filled
    // every case's map already (cross-fitted maps, see `cv`)
    let reads_p0 = a.net == NetKind::R2 || g.region.boundary_p0;
    if reads_p0 && cases.iter().any(|c| c.p0.is_none()) {
        let dir = a.p_net.as_ref().ok_or_else(|| {
            TrainError::Invalid(format!(
                "--net {}{} needs --p-net DIR (a trained P-ConvNet)",
                a.net.name(),
                if g.region.boundary_p0 {
                    " --boundary-p0"
                } else {
                    ""
                }
            ))
        })?;
        fill_p0_maps(dir, cases, a.p0_stride)?;
    }
    // validation: whole cases, stratified by whether they hold pancreas
    let rank = split_folds(ids.len(), ids.len(), seed ^ 0xA11CE);
    let has_pancreas: Vec<bool> = cases
        .iter()
        .map(|c| c.mask.data.iter().any(|&v| v != 0))
        .collect();
    let is_val = validation_cases(&rank, &has_pancreas, a.val_fraction);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut train, mut val_all): (Vec<Example>, Vec<Example>) = (Vec::new(), Vec::new());
    for (i, c) in cases.iter().enumerate() {
        let ex = case_examples(a.net, c, i, &g, a.max_voxels, &mut rng);
        if is_val[i] {
            val_all.extend(ex);
        } else {
            train.extend(ex.into_iter().filter(|e| match e.site {
                Site::Pair { a: x, b: y } => {
                    let sps = &c.set.superpixels;
                    sps[x as usize - 1].pixels.min(sps[y as usize - 1].pixels) >= a.pair_min_pixels
                }
                _ => true,
            }));
        }
    }
    let val = validation_subset(&val_all, a.options.val_per_class, seed);
    let count = |v: &[Example]| v.iter().filter(|e| e.label).count();
    eprintln!(
        "{}: {} training examples ({} positive), {} validation examples ({} positive)",
        a.net.name(),
        train.len(),
        count(&train),
        val.len(),
        count(&val)
    );
    let mut cfg = a.net.config();
    if g.region.boundary_p0 {
        cfg.in_channels = g.region.boundary_channels();
    }
    if let Some(w) = a.widths {
        cfg.widths = w;
    }
    if let Some(f) = a.fc {
        cfg.fc = f;
    }
    cfg.init = a.options.init;
    cfg.validate().map_err(TrainError::Invalid)?;
    let fitted = fit(
        a.net, &cfg, cases, &train, &val, &g, &a.options, &a.out, a.resume,
    )?;
    let bytes = export_onnx(&fitted.net, &cfg, &format!("pancseg-{}", a.net.name()))
        .map_err(TrainError::Invalid)?;
    // parity of the exported graph on (up to) 64 validation inputs
    let m = val.len().min(64);
    let items: Vec<(usize, usize)> = (0..m).map(|i| (i, 0)).collect();
    let inputs = crate::convnet::train::batch_inputs(a.net, cases, &val, &items, &g, &cfg, seed);
    let parity = match crate::convnet::parity::max_abs_difference(
        &fitted.net,
        &cfg,
        &bytes,
        &inputs,
        &plain,
    ) {
        Ok(d) => Some(d),
        Err(e) => {
            eprintln!("parity check skipped: {e}");
            None
        }
    };
    let ablation = crate::convnet::scale_ablation::scale_ablation(
        a.net,
        &fitted.net,
        &cfg,
        cases,
        &val_all,
        &g,
        a.options.val_per_class,
        seed,
        &plain,
    )?;
    if let Some(ab) = &ablation {
        eprintln!(
            "{}: {}",
            a.net.name(),
            crate::convnet::scale_ablation::describe(ab)
        );
    }
    let onnx_path = a.out.join("model.onnx");
    std::fs::write(&onnx_path, &bytes).map_err(|e| TrainError::io(&onnx_path, e))?;
    let best = fitted
        .state
        .history
        .iter()
        .find(|h| h.epoch == fitted.state.best_epoch)
        .cloned()
        .ok_or_else(|| TrainError::Invalid("no epoch was trained".into()))?;
    let eps = fitted
        .state
        .history
        .iter()
        .map(|h| h.examples_per_second)
        .sum::<f64>()
        / fitted.state.history.len().max(1) as f64;
    let report = TrainReport {
        net: a.net,
        config: cfg,
        patch: g.patch,
        region: g.region.clone(),
        hu_normalisation: "(clamp(HU, -160, 240) + 160) / 400 - 0.5".into(),
        onnx: OnnxInfo {
            file: "model.onnx".into(),
            bytes: bytes.len(),
            sha256: format!("{:x}", Sha256::digest(&bytes)),
            opset: OPSET,
            input: INPUT_NAME.into(),
            output: OUTPUT_NAME.into(),
            parity_max_abs_diff: parity,
            parity_inputs: m,
        },
        train_cases: ids
            .iter()
            .zip(&is_val)
            .filter(|(_, &v)| !v)
            .map(|(i, _)| i.clone())
            .collect(),
        val_cases: ids
            .iter()
            .zip(&is_val)
            .filter(|(_, &v)| v)
            .map(|(i, _)| i.clone())
            .collect(),
        train_examples: train.len(),
        val_examples: val.len(),
        best_epoch: best.epoch,
        val_loss: best.val_loss,
        val_accuracy: best.val_accuracy,
        val_auc: best.val_auc,
        wall_seconds: fitted.wall_seconds,
        examples_per_second: eps,
        device: fitted.device.clone(),
        history: fitted.state.history.clone(),
        scale_ablation: ablation,
    };
    let path = a.out.join("train.json");
    let text = serde_json::to_string_pretty(&report).unwrap_or_default();
    std::fs::write(&path, text).map_err(|e| TrainError::io(&path, e))?;
    Ok(format!(
        "{}: best epoch {} of {}: validation accuracy {:.3}, AUC {:.3}, loss {:.4}; {:.0} examples/s on {}; training {:.0} s; {} ({} bytes); ONNX parity {}\n",
        a.net.name(),
        report.best_epoch,
        report.history.len(),
        report.val_accuracy,
        report.val_auc,
        report.val_loss,
        report.examples_per_second,
        report.device.line(),
        report.wall_seconds,
        onnx_path.display(),
        report.onnx.bytes,
        parity.map_or("not checked".to_string(), |d| format!("{d:.1e}"))
    ))
}
