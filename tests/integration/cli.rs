//! The `pancseg` binary: `info --json` output and the help texts are stable (insta snapshots),
//! `convert` writes a NIfTI that reads back identical; bad inputs exit non-zero with the cause.

use ndarray::Array3;
use pancseg::io::nifti::{read_nifti, write_ct};
use pancseg::volume::{Geometry, Image};
use std::process::Command;

fn pancseg() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pancseg"))
}

fn sample(dir: &std::path::Path) {
    let data = Array3::from_shape_fn((4, 5, 6), |(z, y, x)| {
        (z as f32 * 100.0) - (y * x) as f32 - 50.0
    });
    let g = Geometry {
        spacing: [0.7, 0.7, 2.5],
        origin: [10.0, -20.5, 300.25],
        direction: [[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]],
    };
    write_ct(dir.join("sample.nii.gz"), &Image::new(data, g).unwrap()).unwrap();
}

#[test]
fn info_json_is_stable() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let o = pancseg()
        .current_dir(dir.path())
        .args(["info", "sample.nii.gz", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    insta::assert_snapshot!(String::from_utf8(o.stdout).unwrap());
}

#[test]
fn convert_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let o = pancseg()
        .current_dir(dir.path())
        .args(["convert", "sample.nii.gz", "out.nii"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let a = read_nifti(dir.path().join("sample.nii.gz")).unwrap();
    let b = read_nifti(dir.path().join("out.nii")).unwrap();
    assert_eq!(a.volume, b.volume);
}

#[test]
fn bad_inputs_fail_with_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("junk.nii"), b"hello").unwrap();
    let o = pancseg()
        .current_dir(dir.path())
        .args(["info", "junk.nii"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("junk.nii") && err.contains("348"), "{err}");

    let o = pancseg()
        .current_dir(dir.path())
        .args(["info", "missing.nii.gz"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.nii.gz"));

    sample(dir.path());
    let o = pancseg()
        .current_dir(dir.path())
        .args(["convert", "sample.nii.gz", "out.png"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains(".nii"));
}

#[test]
fn segment_writes_the_mask_on_the_input_grid_and_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let fx = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let ct = fx.join("phantom/ct.nii.gz");
    let o = pancseg()
        .arg("segment")
        .arg(&ct)
        .arg(dir.path().join("mask.nii.gz"))
        .arg("--model")
        .arg(fx.join("bundle-tiny"))
        .arg("--report")
        .arg(dir.path().join("report.json"))
        .arg("--truth")
        .arg(fx.join("phantom/label.nii.gz"))
        .args(["--threads", "2"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains("pancreas") && out.contains("DSC") && out.contains("HD95"),
        "{out}"
    );
    let mask = read_nifti(dir.path().join("mask.nii.gz")).unwrap().volume;
    let input = read_nifti(&ct).unwrap().volume;
    assert_eq!(mask.data.dim(), input.data.dim());
    assert_eq!(mask.geometry, input.geometry);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    for key in [
        "pancreas_ml",
        "provider",
        "stage_seconds",
        "peak_rss_bytes",
        "dsc",
        "assd_mm",
        "hd95_mm",
        "onnx_runtime",
    ] {
        assert!(report.get(key).is_some(), "{key} missing from {report}");
    }
    assert!(report["onnx_runtime"].as_str().unwrap().starts_with("1."));

    // limits, a missing bundle, a bad method: non-zero exit with the cause
    for (args, cause) in [
        (vec!["--memory-budget-mb", "1"], "memory budget"),
        (vec!["--max-voxels", "1000"], "limit"),
        (
            vec!["--model", "/nonexistent/bundle"],
            "/nonexistent/bundle",
        ),
        (vec!["--method", "g-p9"], "g-p9"),
    ] {
        let o = pancseg()
            .arg("segment")
            .arg(&ct)
            .arg(dir.path().join("m2.nii.gz"))
            .args(if args[0] == "--model" {
                vec![]
            } else {
                vec![
                    "--model".to_string(),
                    fx.join("bundle-tiny").display().to_string(),
                ]
            })
            .args(&args)
            .output()
            .unwrap();
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(cause), "{args:?}: {err}");
    }
}

/// `pancseg --help` and every subcommand's help (units and defaults included) are kept by a
/// snapshot: a changed flag, unit or default shows up in review.
#[test]
fn help_texts_are_stable() {
    let mut all = String::new();
    for sub in [
        None,
        Some("info"),
        Some("convert"),
        Some("render"),
        Some("segment"),
    ] {
        let mut c = pancseg();
        if let Some(s) = sub {
            c.arg(s);
        }
        let o = c.arg("--help").output().unwrap();
        assert!(o.status.success(), "{sub:?}");
        all.push_str(&format!(
            "$ pancseg {}--help\n{}\n",
            sub.map(|s| format!("{s} ")).unwrap_or_default(),
            String::from_utf8(o.stdout).unwrap()
        ));
    }
    for (flag, unit) in [
        ("--memory-budget-mb", "MiB"),
        ("--threads", "0: every core"),
        ("--max-voxels", "[default: "),
    ] {
        let line = all
            .lines()
            .skip_while(|l| !l.contains(flag))
            .nth(1)
            .unwrap_or("");
        assert!(line.contains(unit), "{flag}: {line}");
    }
    insta::assert_snapshot!(all);
}
