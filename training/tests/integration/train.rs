//! `train` end to end on a tiny phantom cohort: a P-ConvNet and an R2-ConvNet (on the P-ConvNet's
//! P0) train for a couple of short epochs, write their ONNX models and reports, resume from a
//! checkpoint, and a rerun with the same seed gives byte-identical weights.

use pancseg_train::convnet::report::TrainReport;
use pancseg_train::convnet::train::TrainOptions;
use pancseg_train::convnet::NetKind;
use pancseg_train::export_cmd::{run_export, ExportArgs};
use pancseg_train::train_cmd::{run_train, TrainArgs};
use std::path::Path;

pub(crate) fn args(cohort: &Path, net: NetKind, out: &Path, epochs: usize) -> TrainArgs {
    TrainArgs {
        cohort: cohort.to_path_buf(),
        cases: vec![],
        net,
        out: out.to_path_buf(),
        forests: None,
        p_net: None,
        boundary_p0: false,
        pair_min_pixels: 0,
        boundary_context: None,
        scales: None,
        box_floor_mm: None,
        working_spacing: pancseg::pipeline::working_grid::DEFAULT_SPACING_MM,
        options: TrainOptions {
            epochs,
            batch: 32,
            examples_per_epoch: 128,
            val_per_class: 32,
            lr: 1e-3,
            weight_decay: 1e-4,
            patience: 10,
            seed: 5,
            init: Default::default(),
            device: Default::default(),
        },
        val_fraction: 0.34,
        resume: false,
        max_voxels: 200,
        p0_stride: 3,
        // narrow networks: this test checks the mechanics, not the accuracy
        widths: Some([8, 16, 16, 16, 16]),
        fc: Some(32),
    }
}

fn report(dir: &Path) -> TrainReport {
    serde_json::from_str(&std::fs::read_to_string(dir.join("train.json")).unwrap()).unwrap()
}

#[test]
fn train_export_resume_and_reproduce() {
    let _serial = crate::TRAINING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let cohort = crate::small_cohort(dir.path(), 3, 21);
    let p = dir.path().join("p");
    run_train(&args(&cohort, NetKind::P, &p, 1)).unwrap();
    let r = report(&p);
    assert_eq!(r.history.len(), 1);
    assert_eq!(r.val_cases.len(), 1);
    assert_eq!(r.train_cases.len(), 2);
    assert!(r.val_auc.is_finite() && r.val_loss.is_finite());
    let d = r
        .onnx
        .parity_max_abs_diff
        .expect("ONNX Runtime parity was checked");
    assert!(d <= 1e-4, "burn vs ONNX Runtime: {d}");
    let onnx = std::fs::read(p.join("model.onnx")).unwrap();
    assert_eq!(onnx.len(), r.onnx.bytes);

    // resume to 2 epochs
    let mut a = args(&cohort, NetKind::P, &p, 2);
    a.resume = true;
    run_train(&a).unwrap();
    assert_eq!(report(&p).history.len(), 2);

    // same seed, fresh folder: identical first epoch weights
    let p2 = dir.path().join("p2");
    run_train(&args(&cohort, NetKind::P, &p2, 1)).unwrap();
    assert_eq!(
        std::fs::read(p2.join("model.onnx")).unwrap(),
        onnx,
        "same seed must give the same model"
    );

    // R2 on the P-ConvNet's P0; without --p-net it is refused
    let r2 = dir.path().join("r2");
    let e = run_train(&args(&cohort, NetKind::R2, &r2, 1)).unwrap_err();
    assert!(e.to_string().contains("--p-net"), "{e}");
    let mut a = args(&cohort, NetKind::R2, &r2, 1);
    a.p_net = Some(p.clone());
    run_train(&a).unwrap();
    let r = report(&r2);
    assert_eq!(r.config.in_channels, 2);
    assert_eq!(r.config.widths, [8, 16, 16, 16, 16]);
    assert!(r2.join("model.onnx").is_file());
    // the R networks report what each zoom-out scale contributes, the others do not
    let ab = r
        .scale_ablation
        .expect("an R-ConvNet reports its scale ablation");
    assert_eq!(ab.scales, vec![1.0, 1.5, 2.0, 3.0]);
    assert_eq!((ab.alone.len(), ab.without.len()), (4, 4));
    assert!(ab.superpixels[0] > 0 && ab.superpixels[1] > 0);
    assert!((0.0..=1.0).contains(&ab.all));
    assert!(report(&p).scale_ablation.is_none());
    // P0 from a model bundle's P-ConvNet (the fixture bundle's p.onnx)
    let r2b = dir.path().join("r2-bundle-p0");
    let mut a = args(&cohort, NetKind::R2, &r2b, 1);
    a.p_net = Some(crate::tiny_bundle());
    run_train(&a).unwrap();
    assert_eq!(report(&r2b).config.in_channels, 2);

    // export a bundle (with the fixture's forests) and segment a case with the library
    let r1 = dir.path().join("r1");
    run_train(&args(&cohort, NetKind::R1, &r1, 1)).unwrap();
    let forests = crate::tiny_bundle();
    let bundle = dir.path().join("bundle");
    let m = run_export(&ExportArgs {
        forests,
        p: p.clone(),
        r1,
        r2: r2.clone(),
        boundary: None,
        out: bundle.clone(),
        p0_stride: 3,
        p0_step_mm: Some(6.0),
        sigma_voxels: [3.0; 3],
        sigma_mm: Some([2.0, 2.0, 5.0]),
        operating_points: Default::default(),
        crf_weight: 1.0,
        crf_prior: None,
        crf_pairwise: None,
        working_spacing_mm: Some([2.0, 2.0, 2.5]),
        description: "test".into(),
    })
    .unwrap();
    assert_eq!(m.networks.r2.input_shape, [2, 64, 64]);
    assert_eq!(m.working_spacing_mm, Some([2.0, 2.0, 2.5]));
    assert!(m.networks.boundary.is_none());
    // the grid step in mm: stride 3 at 2 mm, 8 at 0.75 mm
    assert_eq!(m.p0_stride_for([2.0, 2.0, 2.5]), 3);
    assert_eq!(m.p0_stride_for([0.75, 0.75, 1.0]), 8);
    // the smoothing sigma in mm: 1 voxel in-plane and 2 in z at 2 x 2 x 2.5 mm
    assert_eq!(m.sigma_for([2.0, 2.0, 2.5]), [1.0, 1.0, 2.0]);
    // a swapped network is refused
    let e = run_export(&ExportArgs {
        forests: crate::tiny_bundle(),
        p: r2.clone(),
        r1: p.clone(),
        r2,
        boundary: None,
        out: dir.path().join("bad"),
        p0_stride: 3,
        p0_step_mm: None,
        sigma_voxels: [3.0; 3],
        sigma_mm: None,
        operating_points: Default::default(),
        crf_weight: 1.0,
        crf_prior: None,
        crf_pairwise: None,
        working_spacing_mm: None,
        description: String::new(),
    })
    .unwrap_err();
    assert!(e.to_string().contains("not p"), "{e}");
    // an R1 of other zoom-out scales cannot join the others' bundle
    let r1_two = dir.path().join("r1-two");
    let mut a = args(&cohort, NetKind::R1, &r1_two, 1);
    a.scales = Some(vec![1.0, 2.0]);
    run_train(&a).unwrap();
    let r = report(&r1_two);
    assert_eq!(r.region.scales, vec![1.0, 2.0]);
    assert_eq!(r.scale_ablation.map(|ab| ab.alone.len()), Some(2));
    let e = run_export(&ExportArgs {
        forests: crate::tiny_bundle(),
        p: p.clone(),
        r1: r1_two,
        r2: dir.path().join("r2"),
        boundary: None,
        out: dir.path().join("bad-scales"),
        p0_stride: 3,
        p0_step_mm: None,
        sigma_voxels: [3.0; 3],
        sigma_mm: None,
        operating_points: Default::default(),
        crf_weight: 1.0,
        crf_prior: None,
        crf_pairwise: None,
        working_spacing_mm: None,
        description: String::new(),
    })
    .unwrap_err();
    assert!(e.to_string().contains("region geometry"), "{e}");
    let seg = pancseg::pipeline::Segmenter::new(
        pancseg::model::bundle::Bundle::load(&bundle).unwrap(),
        Default::default(),
        2,
    )
    .unwrap();
    let ct = pancseg::io::nifti::read_nifti(cohort.join("case_001/ct.nii.gz"))
        .unwrap()
        .volume;
    let out = seg
        .segment(&ct, &pancseg::pipeline::SegmentOptions::default())
        .unwrap();
    assert_eq!(out.mask.data.dim(), ct.data.dim());
    assert!(out.report.candidates > 0 && out.report.r_inputs > 0);
}
