//! `calibrate` end to end: the fixture bundle's boundary ConvNet replaced by one trained with
//! the P0 channel, the operating points and the CRF re-calibrated on two phantoms, the new
//! bundle loaded and used by the library.

use pancseg::model::bundle::Bundle;
use pancseg_train::calibrate_cmd::{run_calibrate, CalibrateArgs};
use pancseg_train::convnet::NetKind;
use pancseg_train::train_cmd::{run_train, TrainArgs};
use std::path::Path;

/// Trains a one-epoch `net` into `out` on the fixture bundle's cascade and P-ConvNet (half the
/// cases held out), with `edit` applied to the arguments.
fn train_on_tiny(cohort: &Path, net: NetKind, out: &Path, edit: impl FnOnce(&mut TrainArgs)) {
    let tiny = crate::tiny_bundle();
    let _serial = crate::TRAINING.lock().unwrap_or_else(|e| e.into_inner());
    let mut a = crate::train::args(cohort, net, out, 1);
    a.forests = Some(tiny.clone());
    a.p_net = Some(tiny);
    a.val_fraction = 0.5;
    edit(&mut a);
    run_train(&a).unwrap();
}

#[test]
fn calibrate_replaces_the_boundary_net_and_never_loses_on_its_cases() {
    let dir = tempfile::tempdir().unwrap();
    let cohort = crate::small_cohort(dir.path(), 2, 41);
    let tiny = crate::tiny_bundle();
    let boundary = dir.path().join("boundary");
    train_on_tiny(&cohort, NetKind::Boundary, &boundary, |a| {
        a.boundary_p0 = true
    });
    let out = dir.path().join("calibrated");
    let args = CalibrateArgs {
        bundle: tiny.clone(),
        cohort: cohort.clone(),
        cases: Vec::new(),
        boundary: Some(boundary.clone()),
        r2: None,
        r1: None,
        crf_only: false,
        floor_search: false,
        out: out.clone(),
        threads: 2,
    };
    let c = run_calibrate(&args).unwrap();
    assert_eq!(c.cases.len(), 2);
    // the bundle's own thresholds and CRF pair lie on the searched grids, so the values chosen
    // on these cases cannot do worse on them
    for k in 0..7 {
        assert!(
            c.mean_after[k] >= c.mean_before[k] - 1e-12,
            "column {k}: {} < {}",
            c.mean_after[k],
            c.mean_before[k]
        );
    }
    assert_eq!(c.crf_grid.len(), pancseg_train::cv::crf_grid().len());
    let b = Bundle::load(&out).unwrap();
    let m = b.manifest.clone();
    assert!(m.region.boundary_p0);
    assert_eq!(
        m.networks.boundary.as_ref().map(|e| e.input_shape),
        Some([4, 64, 64])
    );
    assert_eq!(m.crf_setting(), c.after.crf);
    assert_eq!(m.operating_points.g_p2, c.after.operating_points.g_p2);
    assert!(out.join("calibration.json").is_file() && out.join("calibration.md").is_file());
    // the other networks are the fixture's, byte for byte
    let fixture = Bundle::load(&tiny).unwrap();
    assert_eq!(m.networks.r2.sha256, fixture.manifest.networks.r2.sha256);
    // the calibrated bundle runs CRF(P2) with the 4-channel boundary net
    let seg = pancseg::pipeline::Segmenter::new(b, Default::default(), 2).unwrap();
    let ct = pancseg::io::nifti::read_nifti(cohort.join("case_001/ct.nii.gz"))
        .unwrap()
        .volume;
    let opts = pancseg::pipeline::SegmentOptions {
        method: pancseg::pipeline::Method::CrfP2,
        ..Default::default()
    };
    let seg_out = seg.segment(&ct, &opts).unwrap();
    assert_eq!(seg_out.mask.data.dim(), ct.data.dim());

    // CRF only: the operating points stay
    let crf_only = dir.path().join("crf-only");
    let c = run_calibrate(&CalibrateArgs {
        crf_only: true,
        out: crf_only.clone(),
        boundary: None,
        bundle: out.clone(),
        ..args.clone()
    })
    .unwrap();
    assert_eq!(c.mean_after[..6], c.mean_before[..6]);
    let again = Bundle::load(&crf_only).unwrap();
    assert_eq!(
        again.manifest.operating_points.g_p2,
        m.operating_points.g_p2
    );
    // the input bundle is never the output, and a P-ConvNet is not a boundary ConvNet
    let e = run_calibrate(&CalibrateArgs {
        out: tiny.clone(),
        ..args.clone()
    })
    .unwrap_err();
    assert!(e.to_string().contains("--out"), "{e}");
    let e = run_calibrate(&CalibrateArgs {
        boundary: Some(tiny.clone()),
        out: dir.path().join("bad"),
        ..args.clone()
    })
    .unwrap_err();
    assert!(e.to_string().contains("train.json"), "{e}");
    // a boundary ConvNet is not an R2-ConvNet
    let e = run_calibrate(&CalibrateArgs {
        r2: Some(boundary.clone()),
        boundary: None,
        out: dir.path().join("bad-r2"),
        ..args.clone()
    })
    .unwrap_err();
    assert!(e.to_string().contains("not a r2 network"), "{e}");
}

#[test]
fn calibrate_replaces_r2_and_searches_the_volume_floor() {
    let dir = tempfile::tempdir().unwrap();
    let cohort = crate::small_cohort(dir.path(), 2, 43);
    let tiny = crate::tiny_bundle();
    let r2 = dir.path().join("r2");
    train_on_tiny(&cohort, NetKind::R2, &r2, |_| {});
    let out = dir.path().join("calibrated");
    let c = run_calibrate(&CalibrateArgs {
        bundle: tiny.clone(),
        cohort: cohort.clone(),
        cases: Vec::new(),
        boundary: None,
        r2: Some(r2.clone()),
        r1: None,
        crf_only: false,
        floor_search: true,
        out: out.clone(),
        threads: 2,
    })
    .unwrap();
    let fixture = Bundle::load(&tiny).unwrap();
    let b = Bundle::load(&out).unwrap();
    // R2 is the new network, byte for byte; the others are the fixture's
    let trained = std::fs::read(r2.join("model.onnx")).unwrap();
    assert_eq!(
        b.manifest.networks.r2.sha256,
        pancseg::model::bundle::sha256_hex(&trained)
    );
    assert_ne!(
        b.manifest.networks.r2.sha256,
        fixture.manifest.networks.r2.sha256
    );
    assert_eq!(
        b.manifest.networks.p.sha256,
        fixture.manifest.networks.p.sha256
    );
    assert_eq!(c.r2.as_deref(), Some(r2.as_path()));
    // every floor of the grid is measured; the one chosen is in the bundle, and since the grid
    // holds the fixture's own floor and threshold, G(P2) cannot lose on these cases
    let grid = pancseg_train::calibrate_cmd::floor_grid();
    assert_eq!(c.floor_grid.len(), grid.len());
    assert!(grid.contains(&c.floor_after));
    assert_eq!(b.manifest.volume_floor, c.floor_after);
    assert!(c.mean_after[5] >= c.mean_before[5] - 1e-12);
    let best = c.floor_grid.iter().map(|g| g.2).fold(0.0, f64::max);
    assert!((c.mean_after[5] - best).abs() < 1e-12);
    assert!(std::fs::read_to_string(out.join("calibration.md"))
        .unwrap()
        .contains("G(P2) volume floor:"));
}

#[test]
fn calibrate_takes_new_zoom_out_boxes_only_from_r1_and_r2_together() {
    let dir = tempfile::tempdir().unwrap();
    let cohort = crate::small_cohort(dir.path(), 2, 47);
    let tiny = crate::tiny_bundle();
    let wide = vec![1.0, 2.0, 4.0];
    let train = |net: NetKind, name: &str, scales: Option<Vec<f64>>| {
        let out = dir.path().join(name);
        train_on_tiny(&cohort, net, &out, |a| a.scales = scales);
        out
    };
    let r1_wide = train(NetKind::R1, "r1-wide", Some(wide.clone()));
    let r2_wide = train(NetKind::R2, "r2-wide", Some(wide.clone()));
    let r2_own = train(NetKind::R2, "r2-own", None);
    let args = |r1: Option<&Path>, r2: Option<&Path>, out: &str| CalibrateArgs {
        bundle: tiny.clone(),
        cohort: cohort.clone(),
        cases: vec!["case_001".into()],
        boundary: None,
        r2: r2.map(Path::to_path_buf),
        r1: r1.map(Path::to_path_buf),
        crf_only: false,
        floor_search: false,
        out: dir.path().join(out),
        threads: 2,
    };
    // one R-ConvNet alone cannot change the boxes the other reads
    let e = run_calibrate(&args(None, Some(&r2_wide), "alone")).unwrap_err();
    assert!(e.to_string().contains("--r1 and --r2"), "{e}");
    assert!(!dir.path().join("alone").exists(), "nothing written");
    // nor can two R-ConvNets trained on different boxes
    let e = run_calibrate(&args(Some(&r1_wide), Some(&r2_own), "mixed")).unwrap_err();
    assert!(e.to_string().contains("different zoom-out boxes"), "{e}");
    // together they bring their boxes; the boundary ConvNet's P0 channel and context stay
    let c = run_calibrate(&args(Some(&r1_wide), Some(&r2_wide), "both")).unwrap();
    assert_eq!(c.r1.as_deref(), Some(r1_wide.as_path()));
    let fixture = Bundle::load(&tiny).unwrap().manifest;
    let m = Bundle::load(dir.path().join("both")).unwrap().manifest;
    assert_eq!(m.region.scales, wide);
    assert_eq!(m.region.boundary_p0, fixture.region.boundary_p0);
    assert_eq!(m.region.context, fixture.region.context);
    let trained = std::fs::read(r1_wide.join("model.onnx")).unwrap();
    assert_eq!(
        m.networks.r1.sha256,
        pancseg::model::bundle::sha256_hex(&trained)
    );
    assert!(
        std::fs::read_to_string(dir.path().join("both/calibration.md"))
            .unwrap()
            .contains("R1-ConvNet from")
    );
}
