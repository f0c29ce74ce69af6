//! The exported ONNX graph computes what the burn network computes: for each of the four
//! networks (default shapes), 64 random inputs through burn and through ONNX Runtime (ort) agree
//! to 1e-4 in every probability; the ONNX checker accepts every graph.

use burn::tensor::Device;
use pancseg_train::convnet::onnx_export::export_onnx;
use pancseg_train::convnet::parity::ort_probabilities;
use pancseg_train::convnet::train::predict;
use pancseg_train::convnet::NetKind;
use rand::{Rng, SeedableRng};

#[test]
fn burn_and_onnx_runtime_agree_on_every_network() {
    for (k, kind) in NetKind::ALL.into_iter().enumerate() {
        let cfg = kind.config();
        let device = Device::flex();
        device.seed(100 + k as u64);
        let net = cfg.init(&device);
        let model = export_onnx(&net, &cfg, "parity").unwrap();
        let (c, s, n) = (cfg.in_channels, cfg.input_size, 64);
        let mut rng = rand::rngs::StdRng::seed_from_u64(k as u64);
        let inputs: Vec<f32> = (0..n * c * s * s)
            .map(|_| rng.random_range(-0.5f32..0.5))
            .collect();
        let p_burn = predict(&net, &cfg, &inputs, &device, 16).unwrap();
        let p_ort = ort_probabilities(&model, &cfg, &inputs).expect(
            "ONNX Runtime must be installed for the tests: run scripts/fetch-onnxruntime.sh",
        );
        assert_eq!(p_burn.len(), n);
        assert_eq!(p_ort.len(), n);
        let mut max_diff = 0f32;
        for i in 0..n {
            assert!((0.0..=1.0).contains(&p_ort[i]));
            max_diff = max_diff.max((p_ort[i] - p_burn[i]).abs());
        }
        eprintln!("{}: max |burn - ort| = {max_diff:.2e}", kind.name());
        assert!(max_diff <= 1e-4, "{}: {max_diff}", kind.name());
        // the outputs are not constant: the test could fail
        let spread = p_burn.iter().cloned().fold(f32::MIN, f32::max)
            - p_burn.iter().cloned().fold(f32::MAX, f32::min);
        assert!(spread > 1e-6, "{}: constant output", kind.name());
    }
}

/// `onnx.checker.check_model(full_check=True)` accepts every exported network (run when Python
/// with the onnx package is present; CI installs it from scripts/requirements-test.txt).
#[test]
fn the_onnx_checker_accepts_the_exported_graphs() {
    let has_onnx = std::process::Command::new("python3")
        .args(["-c", "import onnx"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !has_onnx {
        eprintln!("SKIPPED: Python's onnx package is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for kind in NetKind::ALL {
        let cfg = kind.config();
        let device = Device::flex();
        device.seed(7);
        let net = cfg.init(&device);
        let path = dir.path().join(format!("{}.onnx", kind.name()));
        std::fs::write(&path, export_onnx(&net, &cfg, kind.name()).unwrap()).unwrap();
        paths.push(path);
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/onnx_check.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .args(&paths)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success());
    assert_eq!(text.matches(": ok (opset 17").count(), 4);
    assert_eq!(
        text.matches("input['N', ").count(),
        4,
        "symbolic batch dimension"
    );
}
