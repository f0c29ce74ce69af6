//! Training on the GPU backend (a build with `--features gpu`: burn's wgpu) against the CPU
//! backend. Where no Vulkan device exists the tests say SKIPPED, unless `PANCSEG_REQUIRE_GPU` is
//! set (scripts/test.sh sets it: CI installs Mesa's software Vulkan driver, lavapipe), which
//! makes a missing device a failure.
//!
//! - The same initial weights (drawn on the CPU from the seed, [`initial_net`]) give the same
//!   probabilities on both backends (1e-4), and eight AdamW steps on the same batches give
//!   losses that agree step by step within 2e-3 (float sums run in another order on the GPU,
//!   so the curves drift apart slowly; both must also fall, or the test proves nothing).
//! - The GPU-trained weights, exported to ONNX, give in ONNX Runtime what burn gives on the
//!   GPU (1e-4).
//! - `train --device gpu` end to end records the adapter in `train.json` and passes its parity
//!   check.

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use pancseg_train::convnet::device::{ComputeDevice, DeviceInfo};
use pancseg_train::convnet::model::{ConvNet, ConvNetConfig};
use pancseg_train::convnet::onnx_export::export_onnx;
use pancseg_train::convnet::parity::ort_probabilities;
use pancseg_train::convnet::train::{initial_net, predict, TrainOptions};
use pancseg_train::convnet::NetKind;
use rand::{Rng, SeedableRng};

/// The GPU device, or None (SKIPPED) where there is none and none is required.
fn gpu() -> Option<(Device, DeviceInfo)> {
    match ComputeDevice::Gpu(None).open() {
        Ok(d) => Some(d),
        Err(e) if std::env::var_os("PANCSEG_REQUIRE_GPU").is_some() => {
            panic!("PANCSEG_REQUIRE_GPU is set, but {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED: {e}");
            None
        }
    }
}

/// A narrow P-shaped network without dropout (dropout masks come from each backend's own RNG).
fn narrow() -> ConvNetConfig {
    ConvNetConfig {
        widths: [8, 16, 16, 16, 16],
        fc: 32,
        dropout: 0.0,
        ..NetKind::P.config()
    }
}

/// `n` inputs with labels alternating 0/1; class 1 is brighter in the centre (learnable).
fn batch(cfg: &ConvNetConfig, n: usize, seed: u64) -> (Vec<f32>, Vec<i64>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (c, s) = (cfg.in_channels, cfg.input_size);
    let mut x = Vec::with_capacity(n * c * s * s);
    let labels: Vec<i64> = (0..n as i64).map(|i| i % 2).collect();
    for &l in &labels {
        for _ in 0..c {
            for y in 0..s {
                for xx in 0..s {
                    let centre =
                        (y as i64 - s as i64 / 2).abs() < 6 && (xx as i64 - s as i64 / 2).abs() < 6;
                    let signal = if centre && l == 1 { 0.25 } else { 0.0 };
                    x.push(rng.random_range(-0.25f32..0.25) + signal);
                }
            }
        }
    }
    (x, labels)
}

/// Losses of `steps` AdamW steps (as `fit` takes them) of `net` on `device` (autodiff).
fn losses(
    mut net: ConvNet,
    cfg: &ConvNetConfig,
    device: &Device,
    steps: usize,
) -> (Vec<f32>, ConvNet) {
    let mut optim = AdamWConfig::new().with_weight_decay(1e-4).init();
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let (c, s, b) = (cfg.in_channels, cfg.input_size, 32);
    let mut out = Vec::new();
    for k in 0..steps {
        let (x, y) = batch(cfg, b, 100 + k as u64);
        let x = Tensor::<4>::from_data(TensorData::new(x, [b, c, s, s]), device);
        let y = Tensor::<1, Int>::from_data(TensorData::new(y, [b]), device);
        let loss = loss_fn.forward(net.forward(x), y);
        out.push(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        net = optim.step(2e-3, net, grads);
    }
    (out, net)
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn cpu_and_gpu_train_alike_and_the_gpu_weights_export() {
    let _serial = crate::TRAINING.lock().unwrap_or_else(|e| e.into_inner());
    let Some((gpu_plain, info)) = gpu() else {
        return;
    };
    eprintln!("GPU: {}", info.line());
    assert!(info.backend.starts_with("wgpu"), "{info:?}");
    assert!(!info.adapter.is_empty());
    let cfg = narrow();
    let seed = 11;
    let cpu_plain = Device::flex();
    let on = |device: ComputeDevice| TrainOptions {
        seed,
        device,
        ..TrainOptions::default()
    };
    cpu_plain.seed(seed);
    let cpu_net = initial_net(&cfg, &on(ComputeDevice::Cpu), &cpu_plain.clone().autodiff());
    gpu_plain.seed(seed);
    let gpu_net = initial_net(
        &cfg,
        &on(ComputeDevice::Gpu(None)),
        &gpu_plain.clone().autodiff(),
    );
    // the same starting weights
    let (probe, _) = batch(&cfg, 16, 7);
    let p_cpu = predict(&cpu_net.valid(), &cfg, &probe, &cpu_plain, 16).unwrap();
    let p_gpu = predict(&gpu_net.valid(), &cfg, &probe, &gpu_plain, 16).unwrap();
    let d0 = max_diff(&p_cpu, &p_gpu);
    eprintln!("initial weights: max |cpu - gpu| probability {d0:.2e}");
    assert!(d0 <= 1e-4, "initial probabilities differ by {d0}");

    let steps = 8;
    let (l_cpu, cpu_net) = losses(cpu_net, &cfg, &cpu_plain.clone().autodiff(), steps);
    let (l_gpu, gpu_net) = losses(gpu_net, &cfg, &gpu_plain.clone().autodiff(), steps);
    eprintln!("step | cpu loss | gpu loss | |diff|");
    for k in 0..steps {
        eprintln!(
            "{k} | {:.5} | {:.5} | {:.1e}",
            l_cpu[k],
            l_gpu[k],
            (l_cpu[k] - l_gpu[k]).abs()
        );
    }
    let dl = max_diff(&l_cpu, &l_gpu);
    assert!(dl <= 2e-3, "losses differ by {dl}: {l_cpu:?} vs {l_gpu:?}");
    for l in [&l_cpu, &l_gpu] {
        assert!(l[steps - 1] < l[0] - 0.05, "no learning: {l:?}");
    }

    // the GPU-trained weights through ONNX Runtime
    let gpu_valid = gpu_net.valid();
    let model = export_onnx(&gpu_valid, &cfg, "gpu-trained").unwrap();
    let p_burn = predict(&gpu_valid, &cfg, &probe, &gpu_plain, 16).unwrap();
    let p_ort = ort_probabilities(&model, &cfg, &probe)
        .expect("ONNX Runtime must be installed for the tests: run scripts/fetch-onnxruntime.sh");
    let d = max_diff(&p_burn, &p_ort);
    eprintln!("GPU-trained: max |burn on gpu - ONNX Runtime| = {d:.2e}");
    assert!(d <= 1e-4, "burn on the GPU vs ONNX Runtime: {d}");
    let p_cpu_trained = predict(&cpu_net.valid(), &cfg, &probe, &cpu_plain, 16).unwrap();
    eprintln!(
        "after {steps} steps: max |cpu-trained - gpu-trained| probability {:.2e}",
        max_diff(&p_cpu_trained, &p_burn)
    );
}

#[test]
fn train_on_the_gpu_records_the_device() {
    let _serial = crate::TRAINING.lock().unwrap_or_else(|e| e.into_inner());
    if gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cohort = crate::small_cohort(dir.path(), 3, 21);
    let out = dir.path().join("p");
    // the CPU training test's settings (narrow net, one short epoch), on the GPU
    let mut args = crate::train::args(&cohort, NetKind::P, &out, 1);
    args.options.device = ComputeDevice::Gpu(None);
    let summary = pancseg_train::train_cmd::run_train(&args).unwrap();
    eprint!("{summary}");
    let r = pancseg_train::convnet::report::read_report(&out).unwrap();
    assert_eq!(r.device.device, "gpu");
    assert!(r.device.backend.starts_with("wgpu"), "{:?}", r.device);
    assert!(summary.contains(&r.device.adapter));
    assert!(r.val_loss.is_finite());
    let d = r.onnx.parity_max_abs_diff.expect("parity was checked");
    assert!(d <= 1e-4, "burn vs ONNX Runtime: {d}");
}
