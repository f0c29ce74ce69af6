//! `pancseg-train bench inference`: images/s of each network of a bundle through the library's
//! own inference path ([`pancseg::model::network::Network`], the session options the segmenter
//! uses: `threads` intra-op threads, no CPU arena unless asked, the segmenter's batch size)
//! against Python's onnxruntime on the same ONNX file, batch, thread count and arena setting
//! (`training/bench/ort_infer.py`). The two alternate in rounds so that a slow period of the
//! machine hits both; each side's best round counts.

use crate::error::{Result, TrainError};
use pancseg::model::bundle::Bundle;
use pancseg::model::network::{Network, RuntimeOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write;
use std::time::Instant;

/// What to measure.
#[derive(Debug, Clone)]
pub struct InferenceBench {
    pub batch: usize,
    pub threads: usize,
    pub cpu_arena: bool,
    /// Seconds of runs per side and round.
    pub seconds: f64,
    pub rounds: usize,
}

/// Images/s of `net` on random inputs in [-0.5, 0.5], after one warm-up run.
fn library_images_per_second(net: &Network, batch: usize, seconds: f64) -> Result<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let x: Vec<f32> = (0..batch * net.input_len())
        .map(|_| rng.random_range(-0.5..0.5))
        .collect();
    net.probabilities(&x)?;
    let t = Instant::now();
    let mut n = 0;
    while t.elapsed().as_secs_f64() < seconds || n < 3 {
        net.probabilities(&x)?;
        n += 1;
    }
    Ok((n * batch) as f64 / t.elapsed().as_secs_f64())
}

/// Images/s of Python's onnxruntime on `path` (None when python3 or onnxruntime is missing).
fn python_images_per_second(path: &std::path::Path, b: &InferenceBench) -> Option<f64> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/ort_infer.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(path)
        .arg(b.batch.to_string())
        .arg(b.threads.to_string())
        .arg(if b.cpu_arena { "arena" } else { "no-arena" })
        .arg(b.seconds.to_string())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// Runs the comparison on every network of the bundle in `dir`; returns a Markdown report.
pub fn bench_inference(dir: &std::path::Path, b: &InferenceBench) -> Result<String> {
    if b.batch == 0 || b.threads == 0 || b.rounds == 0 || b.seconds.is_nan() || b.seconds <= 0.0 {
        return Err(TrainError::Invalid(
            "batch, threads, rounds and seconds must be positive".into(),
        ));
    }
    let bundle = Bundle::load(dir)?;
    let m = bundle.manifest.clone();
    let opts = RuntimeOptions {
        intra_threads: b.threads,
        batch_size: b.batch,
        cpu_arena: b.cpu_arena,
        ..RuntimeOptions::default()
    };
    let mut entries = vec![
        ("p", m.networks.p.clone()),
        ("r1", m.networks.r1.clone()),
        ("r2", m.networks.r2.clone()),
    ];
    if let Some(e) = &m.networks.boundary {
        entries.push(("boundary", e.clone()));
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "bundle {}; batch {}, {} intra-op threads, CPU arena {}; best of {} rounds of {} s per side\n",
        dir.display(),
        b.batch,
        b.threads,
        if b.cpu_arena { "on" } else { "off" },
        b.rounds,
        b.seconds
    );
    let _ = writeln!(
        out,
        "| net | input | pancseg (ort) images/s | Python onnxruntime images/s | ratio |\n|---|---|---|---|---|"
    );
    let mut ratios = Vec::new();
    for (name, e) in entries {
        let path = bundle.path(&e.file);
        let net = Network::load(name, &path, bundle.file_contents(&e.file)?, &e, &opts)?;
        let (mut ours, mut py) = (0.0f64, None::<f64>);
        for _ in 0..b.rounds {
            ours = ours.max(library_images_per_second(&net, b.batch, b.seconds)?);
            if let Some(v) = python_images_per_second(&path, b) {
                py = Some(py.map_or(v, |p: f64| p.max(v)));
            }
        }
        let [c, h, w] = e.input_shape;
        let (py_s, ratio_s) = match py {
            Some(p) => {
                ratios.push(ours / p);
                (format!("{p:.0}"), format!("{:.2}", ours / p))
            }
            None => ("(not installed)".into(), "-".into()),
        };
        let _ = writeln!(
            out,
            "| {name} | {c} x {h} x {w} | {ours:.0} | {py_s} | {ratio_s} |"
        );
    }
    if ratios.is_empty() {
        let _ = writeln!(
            out,
            "\nPython onnxruntime not found (`pip install onnxruntime`): no ratio measured"
        );
    } else {
        let worst = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let _ = writeln!(
            out,
            "\nTarget: pancseg at least 0.95x Python onnxruntime on every network: {} (lowest ratio {worst:.2})",
            if worst >= 0.95 { "met" } else { "NOT met" }
        );
    }
    Ok(out)
}
