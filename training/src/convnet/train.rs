//! The training loop of a ConvNet: balanced epochs of freshly deformed examples, AdamW with
//! weight decay and a cosine learning-rate schedule, validation on held-out cases after every
//! epoch, early stopping on validation loss (the best epoch's weights are kept), a checkpoint of
//! model and optimizer after every epoch so an interrupted run resumes where it stopped, and a
//! progress line with loss and accuracy. Runs on the CPU or, built with the `gpu` feature, on a
//! GPU ([`super::device`]): the same network, initial weights (always drawn on the CPU backend
//! from the seed, then moved), schedule and batch assembly on both. Seeded: the same seed gives
//! the same run on a backend (example order, deformations, initial weights and dropout masks all
//! derive from it), provided one training runs at a time in the process: burn's CPU backend
//! keeps its seeded RNG in one process-wide slot, so concurrent trainings interleave their draws.

use super::device::{ComputeDevice, DeviceInfo};
use super::examples::{balanced_epoch, deformation, write_input, Example, ExampleCase, Geometry};
use super::metrics::{accuracy, auc, cross_entropy};
use super::model::{ConvNet, ConvNetConfig, WeightInit};
use super::NetKind;
use crate::error::{Result, TrainError};
use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// Optimisation settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainOptions {
    pub epochs: usize,
    pub batch: usize,
    /// Examples drawn per epoch (half positive, half negative).
    pub examples_per_epoch: usize,
    /// Validation examples kept per class.
    pub val_per_class: usize,
    pub lr: f64,
    pub weight_decay: f32,
    /// Epochs without a better validation loss before stopping.
    pub patience: usize,
    pub seed: u64,
    /// Start of the hidden layers' weights (recorded in the network's config).
    #[serde(default)]
    pub init: WeightInit,
    /// Where the network trains (`cpu`, `gpu`, `gpu:N`).
    #[serde(default)]
    pub device: ComputeDevice,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 12,
            batch: 64,
            examples_per_epoch: 8192,
            val_per_class: 1000,
            lr: 1e-3,
            weight_decay: 1e-4,
            patience: 3,
            seed: 1,
            init: WeightInit::He,
            device: ComputeDevice::Cpu,
        }
    }
}

/// One epoch's figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochStats {
    pub epoch: usize,
    pub lr: f64,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub val_loss: f64,
    pub val_accuracy: f64,
    pub val_auc: f64,
    pub seconds: f64,
    pub examples_per_second: f64,
}

/// Resumable state written beside the checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainState {
    pub net: NetKind,
    pub config: ConvNetConfig,
    pub options: TrainOptions,
    pub history: Vec<EpochStats>,
    pub best_epoch: usize,
    pub best_val_loss: f64,
}

/// Builds the inputs of `items` (example index, deformation index) in parallel; the result does
/// not depend on the thread count.
pub fn batch_inputs(
    kind: NetKind,
    cases: &[ExampleCase],
    examples: &[Example],
    items: &[(usize, usize)],
    g: &Geometry,
    cfg: &ConvNetConfig,
    seed: u64,
) -> Vec<f32> {
    let len = cfg.in_channels * cfg.input_size * cfg.input_size;
    let mut out = vec![0f32; items.len() * len];
    out.par_chunks_mut(len)
        .zip(items.par_iter())
        .for_each(|(buf, &(i, k))| {
            let warp = deformation(seed, i, k);
            write_input(kind, cases, &examples[i], g, warp.as_ref(), buf);
        });
    out
}

/// Positive-class probabilities of `inputs` (`n` examples) through `net` on a plain device.
pub fn predict(
    net: &ConvNet,
    cfg: &ConvNetConfig,
    inputs: &[f32],
    device: &Device,
    batch: usize,
) -> Result<Vec<f32>> {
    let len = cfg.in_channels * cfg.input_size * cfg.input_size;
    let s = cfg.input_size;
    let mut out = Vec::with_capacity(inputs.len() / len.max(1));
    for chunk in inputs.chunks(len * batch.max(1)) {
        let b = chunk.len() / len;
        let x = Tensor::<4>::from_data(
            TensorData::new(chunk.to_vec(), [b, cfg.in_channels, s, s]),
            device,
        );
        let p = net.probabilities(x);
        let v: Vec<f32> = p
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .map_err(|e| TrainError::Invalid(format!("network output: {e:?}")))?;
        out.extend(v.chunks(2).map(|r| r[1]));
    }
    Ok(out)
}

fn to_tensor(inputs: Vec<f32>, b: usize, cfg: &ConvNetConfig, device: &Device) -> Tensor<4> {
    let s = cfg.input_size;
    Tensor::<4>::from_data(TensorData::new(inputs, [b, cfg.in_channels, s, s]), device)
}

/// A balanced validation subset: at most `per_class` examples of each class, fixed by `seed`.
pub fn validation_subset(examples: &[Example], per_class: usize, seed: u64) -> Vec<Example> {
    use rand::seq::SliceRandom;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x005E_ED0F_7A11);
    let mut out = Vec::new();
    for label in [true, false] {
        let mut v: Vec<Example> = examples
            .iter()
            .filter(|e| e.label == label)
            .copied()
            .collect();
        v.shuffle(&mut rng);
        v.truncate(per_class);
        out.extend(v);
    }
    out
}

/// Result of [`fit`].
pub struct Fitted {
    /// The best epoch's weights, on the CPU backend (what export and parity read).
    pub net: ConvNet,
    /// The device it trained on.
    pub device: DeviceInfo,
    pub state: TrainState,
    pub wall_seconds: f64,
}

/// Trains `kind` on `train` examples, validating on `val` (examples of other cases), writing
/// checkpoints into `out`. With `resume`, continues from `out`'s checkpoint.
#[allow(clippy::too_many_arguments)]
pub fn fit(
    kind: NetKind,
    cfg: &ConvNetConfig,
    cases: &[ExampleCase],
    train: &[Example],
    val: &[Example],
    g: &Geometry,
    o: &TrainOptions,
    out: &Path,
    resume: bool,
) -> Result<Fitted> {
    cfg.validate().map_err(TrainError::Invalid)?;
    if !train.iter().any(|e| e.label) || !train.iter().any(|e| !e.label) {
        return Err(TrainError::Invalid(format!(
            "the {} training examples do not hold both classes",
            train.len()
        )));
    }
    std::fs::create_dir_all(out).map_err(|e| TrainError::io(out, e))?;
    let (plain, info) = o.device.open()?;
    eprintln!("[{}] training on {}", kind.name(), info.line());
    plain.seed(o.seed);
    let device = plain.clone().autodiff();
    let ckpt = out.join("checkpoint.bpk");
    let opt_ckpt = out.join("optimizer.bpk");
    let state_path = out.join("checkpoint.json");
    let best_path = out.join("best.bpk");
    let mut net = initial_net(cfg, o, &device);
    let mut optim = AdamWConfig::new().with_weight_decay(o.weight_decay).init();
    let mut state = TrainState {
        net: kind,
        config: cfg.clone(),
        options: o.clone(),
        history: Vec::new(),
        best_epoch: 0,
        best_val_loss: f64::INFINITY,
    };
    if resume && state_path.is_file() {
        let text =
            std::fs::read_to_string(&state_path).map_err(|e| TrainError::io(&state_path, e))?;
        state = serde_json::from_str(&text)
            .map_err(|e| TrainError::Invalid(format!("{}: {e}", state_path.display())))?;
        if state.config != *cfg || state.net != kind {
            return Err(TrainError::Invalid(format!(
                "{} belongs to another network configuration",
                state_path.display()
            )));
        }
        net = net
            .try_load_file(&ckpt)
            .map_err(|e| TrainError::Invalid(format!("{}: {e:?}", ckpt.display())))?;
        optim = optim
            .load(&opt_ckpt)
            .map_err(|e| TrainError::Invalid(format!("{}: {e:?}", opt_ckpt.display())))?;
        eprintln!("resuming after epoch {}", state.history.len());
    }
    let val_inputs = batch_inputs(
        kind,
        cases,
        val,
        &(0..val.len()).map(|i| (i, 0)).collect::<Vec<_>>(),
        g,
        cfg,
        o.seed,
    );
    let val_labels: Vec<bool> = val.iter().map(|e| e.label).collect();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let start = Instant::now();
    let mut since_best = state.history.len().saturating_sub(state.best_epoch.max(1));
    for epoch in state.history.len() + 1..=o.epochs {
        if since_best >= o.patience {
            eprintln!(
                "early stop: no better validation loss for {} epochs",
                o.patience
            );
            break;
        }
        let t = Instant::now();
        let progress = (epoch - 1) as f64 / o.epochs.max(1) as f64;
        let lr = o.lr * (0.05 + 0.95 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()));
        let mut rng = ChaCha8Rng::seed_from_u64(o.seed.wrapping_add(epoch as u64 * 7919));
        let items = balanced_epoch(train, o.examples_per_epoch, &mut rng);
        let (mut loss_sum, mut hits, mut seen) = (0.0f64, 0usize, 0usize);
        let nb = items.len().div_ceil(o.batch.max(1));
        for (bi, chunk) in items.chunks(o.batch.max(1)).enumerate() {
            let b = chunk.len();
            let x = batch_inputs(kind, cases, train, chunk, g, cfg, o.seed);
            let labels: Vec<i64> = chunk.iter().map(|&(i, _)| train[i].label as i64).collect();
            let x = to_tensor(x, b, cfg, &device);
            let y = Tensor::<1, Int>::from_data(TensorData::new(labels.clone(), [b]), &device);
            let logits = net.forward(x);
            let loss = loss_fn.forward(logits.clone(), y);
            let l: f32 = loss.clone().into_scalar::<f32>();
            let pred: Vec<f32> = logits
                .argmax(1)
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .map_err(|e| TrainError::Invalid(format!("network output: {e:?}")))?;
            hits += pred
                .iter()
                .zip(&labels)
                .filter(|(p, &l)| **p as i64 == l)
                .count();
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = optim.step(lr, net, grads);
            loss_sum += l as f64 * b as f64;
            seen += b;
            if bi % 8 == 0 || bi + 1 == nb {
                eprint!(
                    "\r[{} {}] epoch {epoch}/{} {:>3}% loss {:.4} acc {:.3} ({:.0} ex/s)   ",
                    kind.name(),
                    info.device,
                    o.epochs,
                    (bi + 1) * 100 / nb,
                    loss_sum / seen as f64,
                    hits as f64 / seen as f64,
                    seen as f64 / t.elapsed().as_secs_f64()
                );
                let _ = std::io::stderr().flush();
            }
        }
        let train_seconds = t.elapsed().as_secs_f64();
        let valid = net.valid();
        let p = predict(&valid, cfg, &val_inputs, &plain, 256)?;
        let stats = EpochStats {
            epoch,
            lr,
            train_loss: loss_sum / seen.max(1) as f64,
            train_accuracy: hits as f64 / seen.max(1) as f64,
            val_loss: cross_entropy(&p, &val_labels),
            val_accuracy: accuracy(&p, &val_labels),
            val_auc: auc(&p, &val_labels),
            seconds: t.elapsed().as_secs_f64(),
            examples_per_second: seen as f64 / train_seconds,
        };
        eprintln!(
            "\r[{} {}] epoch {epoch}/{}: train loss {:.4} acc {:.3} | val loss {:.4} acc {:.3} AUC {:.3} | {:.0} ex/s, {:.0} s",
            kind.name(),
            info.device,
            o.epochs,
            stats.train_loss,
            stats.train_accuracy,
            stats.val_loss,
            stats.val_accuracy,
            stats.val_auc,
            stats.examples_per_second,
            stats.seconds
        );
        if stats.val_loss < state.best_val_loss {
            state.best_val_loss = stats.val_loss;
            state.best_epoch = epoch;
            since_best = 0;
            net.clone()
                .save_file(&best_path)
                .map_err(|e| TrainError::Invalid(format!("{}: {e:?}", best_path.display())))?;
        } else {
            since_best += 1;
        }
        state.history.push(stats);
        net.clone()
            .save_file(&ckpt)
            .map_err(|e| TrainError::Invalid(format!("{}: {e:?}", ckpt.display())))?;
        optim
            .save(&opt_ckpt)
            .map_err(|e| TrainError::Invalid(format!("{}: {e:?}", opt_ckpt.display())))?;
        let text = serde_json::to_string_pretty(&state).unwrap_or_default();
        std::fs::write(&state_path, text).map_err(|e| TrainError::io(&state_path, e))?;
    }
    let best = cfg
        .init(&Device::flex())
        .try_load_file(&best_path)
        .map_err(|e| TrainError::Invalid(format!("{}: {e:?}", best_path.display())))?;
    Ok(Fitted {
        net: best,
        device: info,
        state,
        wall_seconds: start.elapsed().as_secs_f64(),
    })
}

/// The starting weights of a training on `device` (autodiff): drawn from the seed on the CPU
/// backend, so that every backend starts from the same weights, and moved there for a GPU.
/// burn draws a parameter lazily, on the device it is on at its first use, so every parameter
/// is drawn here (in module order) before anything else touches the random stream (dropout)
/// and before the move.
pub fn initial_net(cfg: &ConvNetConfig, o: &TrainOptions, device: &Device) -> ConvNet {
    let cpu = Device::flex();
    cpu.seed(o.seed);
    let on_cpu = o.device == ComputeDevice::Cpu;
    let net = cfg.init(&if on_cpu {
        device.clone()
    } else {
        cpu.autodiff()
    });
    net.visit(&mut Materialise);
    if on_cpu {
        net
    } else {
        net.fork(device)
    }
}

/// Draws every lazily initialised float parameter of a module.
struct Materialise;

impl ModuleVisitor for Materialise {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let _ = param.val();
    }
}
