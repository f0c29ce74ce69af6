//! `pancseg-train bench train`: training throughput of each ConvNet next to the machine's own
//! single-precision matrix-multiply rate (so examples/s reads as a fraction of what the CPU does
//! on its best-shaped work), the rate of building inputs (sampling with a TPS deformation), and
//! inference images/s of the exported ONNX graph through ort, next to Python's onnxruntime on the
//! same file when it is installed (`training/bench/ort_infer.py`). With `--device gpu` (a build
//! with the `gpu` feature) the training steps are timed on the GPU too, next to the CPU figure.

use crate::convnet::device::{ComputeDevice, DeviceInfo};
use crate::convnet::examples::{case_examples, ExampleCase, Geometry, NT};
use crate::convnet::model::ConvNet;
use crate::convnet::onnx_export::{export_onnx, INPUT_NAME, OUTPUT_NAME};
use crate::convnet::train::batch_inputs;
use crate::convnet::NetKind;
use crate::error::{Result, TrainError};
use crate::phantom::{case_seed, generate_case, PhantomSize};
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

/// Best-of-`reps` GFLOP/s of an n x n x n f32 matrix product on `device`.
fn matmul_gflops(device: &Device, n: usize, reps: usize) -> f64 {
    let a = Tensor::<2>::random([n, n], Distribution::Default, device);
    let b = Tensor::<2>::random([n, n], Distribution::Default, device);
    let mut best = f64::INFINITY;
    for rep in 0..reps {
        let t = Instant::now();
        // a new left factor each time and a value read back: a GPU backend runs work
        // asynchronously and may reuse a result it has already computed
        let c = (a.clone() + rep as f32 * 1e-3).matmul(b.clone());
        let _: f32 = c.sum().into_scalar::<f32>();
        best = best.min(t.elapsed().as_secs_f64());
    }
    2.0 * (n as f64).powi(3) / best / 1e9
}

fn ort_images_per_second(model: &[u8], c: usize, s: usize, batch: usize) -> Result<f64> {
    let env = pancseg::model::runtime::environment(None)?;
    let err = |e: ort::Error| TrainError::Invalid(format!("ONNX Runtime: {e}"));
    let mut session = ort::session::Session::builder(&env)
        .map_err(err)?
        .with_intra_threads(rayon::current_num_threads())
        .map_err(|e| TrainError::Invalid(format!("ONNX Runtime: {e}")))?
        .commit_from_memory(model)
        .map_err(err)?;
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let x: Vec<f32> = (0..batch * c * s * s)
        .map(|_| rng.random_range(-0.5..0.5))
        .collect();
    let mut run = || -> Result<()> {
        let t = ort::value::Tensor::from_array(([batch, c, s, s], x.clone())).map_err(err)?;
        let out = session.run(ort::inputs![INPUT_NAME => t]).map_err(err)?;
        let _ = out[OUTPUT_NAME].try_extract_tensor::<f32>().map_err(err)?;
        Ok(())
    };
    run()?;
    let t = Instant::now();
    let mut n = 0;
    while t.elapsed().as_secs_f64() < 2.0 || n < 3 {
        run()?;
        n += 1;
    }
    Ok((n * batch) as f64 / t.elapsed().as_secs_f64())
}

fn python_images_per_second(path: &std::path::Path, batch: usize) -> Option<f64> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/ort_infer.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(path)
        .arg(batch.to_string())
        .arg(rayon::current_num_threads().to_string())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// Examples/s of `batches` timed training steps (64 random examples each, after 2 warm-up
/// steps) of a fresh `kind` network on `plain` (its autodiff twin trains), and the trained net.
fn train_examples_per_second(
    kind: NetKind,
    plain: &Device,
    batches: usize,
    seed: u64,
) -> Result<(f64, ConvNet)> {
    let cfg = kind.config();
    let (c, s, b) = (cfg.in_channels, cfg.input_size, 64usize);
    plain.seed(seed);
    let device = plain.clone().autodiff();
    let mut net = cfg.init(&device);
    let mut optim = AdamWConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let labels: Vec<i64> = (0..b as i64).map(|i| i % 2).collect();
    let mut step = |net: ConvNet| -> Result<ConvNet> {
        let x = Tensor::<4>::random([b, c, s, s], Distribution::Uniform(-0.5, 0.5), &device);
        let y = Tensor::<1, Int>::from_data(TensorData::new(labels.clone(), [b]), &device);
        let loss = loss_fn.forward(net.forward(x), y);
        // read the loss back, as training does: the step is done when it is known
        let l: f32 = loss.clone().into_scalar::<f32>();
        if !l.is_finite() {
            return Err(TrainError::Invalid(format!("{}: loss {l}", kind.name())));
        }
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        Ok(optim.step(1e-3, net, grads))
    };
    for _ in 0..2 {
        net = step(net)?;
    }
    let t = Instant::now();
    for _ in 0..batches.max(1) {
        net = step(net)?;
    }
    let eps = (batches.max(1) * b) as f64 / t.elapsed().as_secs_f64();
    Ok((eps, net.valid()))
}

/// Runs the benchmark; `batches` timed training steps per network, on the CPU and, for
/// `device` a GPU, there too.
pub fn bench_train(batches: usize, seed: u64, device: ComputeDevice) -> Result<String> {
    let plain = Device::flex();
    plain.seed(seed);
    let gpu: Option<(Device, DeviceInfo)> = match device {
        ComputeDevice::Cpu => None,
        d => Some(d.open()?),
    };
    let threads = rayon::current_num_threads();
    let peak = matmul_gflops(&plain, 1024, 5);
    let mut out = format!(
        "machine: burn flex f32 matmul 1024^3 on {threads} threads: {peak:.1} GFLOP/s (the reference)\n"
    );
    let (gpu_head, gpu_rule) = match &gpu {
        Some((d, info)) => {
            out += &format!(
                "GPU: {}; f32 matmul 1024^3: {:.1} GFLOP/s\n",
                info.line(),
                matmul_gflops(d, 1024, 5)
            );
            (" GPU train examples/s | GPU / CPU |", "---|---|")
        }
        None => ("", ""),
    };
    out += &format!(
        "\n| net | input | train examples/s | GFLOP/s (fwd+bwd) | of matmul rate |{gpu_head} input building examples/s (TPS) | ort images/s | Python onnxruntime images/s |\n|---|---|---|---|---|{gpu_rule}---|---|---|\n"
    );
    // a small phantom with all superpixels as candidates, for input building
    let case = generate_case(case_seed(seed, 0), PhantomSize::Small)?;
    let set = pancseg::pipeline::candidates::superpixels::compute_superpixels(
        &case.ct,
        &pancseg::pipeline::candidates::superpixels::SuperpixelConfig::default(),
    );
    let (positive, _) = crate::selection::optimal_labels(&set, &case.label.data);
    let n_sp = set.superpixels.len();
    let p0 = ndarray::Array3::from_elem(case.ct.data.dim(), 0.5);
    let ec = ExampleCase {
        id: "bench".into(),
        ct: case.ct,
        mask: case.label,
        set,
        positive,
        candidates: vec![true; n_sp],
        p0: Some(pancseg::pipeline::convnets::prob_map::MapCrop::whole(p0)),
    };
    let cases = [ec];
    let g = Geometry::default();
    let tmp = std::env::temp_dir().join(format!("pancseg-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
    for kind in NetKind::ALL {
        let cfg = kind.config();
        let (c, s) = (cfg.in_channels, cfg.input_size);
        let (train_eps, net) = train_examples_per_second(kind, &plain, batches, seed)?;
        let gflops = train_eps * 3.0 * 2.0 * cfg.forward_macs() as f64 / 1e9;
        let gpu_cells = match &gpu {
            Some((d, _)) => {
                let (eps, _) = train_examples_per_second(kind, d, batches, seed)?;
                format!(" {eps:.0} | {:.2}x |", eps / train_eps)
            }
            None => String::new(),
        };
        // input building with a random deformation per example
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let examples = case_examples(kind, &cases[0], 0, &g, 2000, &mut rng);
        let items: Vec<(usize, usize)> = (0..512)
            .map(|_| {
                (
                    rng.random_range(0..examples.len()),
                    rng.random_range(1..=NT),
                )
            })
            .collect();
        let t = Instant::now();
        let _ = batch_inputs(kind, &cases, &examples, &items, &g, &cfg, seed);
        let input_eps = items.len() as f64 / t.elapsed().as_secs_f64();
        // inference of the exported graph
        let model = export_onnx(&net, &cfg, kind.name()).map_err(TrainError::Invalid)?;
        let path = tmp.join(format!("{}.onnx", kind.name()));
        std::fs::write(&path, &model).map_err(|e| TrainError::io(&path, e))?;
        let ort_ips = ort_images_per_second(&model, c, s, 256)?;
        let py = python_images_per_second(&path, 256)
            .map(|v| format!("{v:.0}"))
            .unwrap_or_else(|| "not installed".into());
        out += &format!(
            "| {} | {c}x{s}x{s} | {train_eps:.0} | {gflops:.1} | {:.0}% |{gpu_cells} {input_eps:.0} | {ort_ips:.0} | {py} |\n",
            kind.name(),
            100.0 * gflops / peak
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(out)
}
