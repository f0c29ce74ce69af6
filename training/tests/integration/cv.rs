//! `cv --profile quick` end to end (the CI run of the evaluation protocol): a 4-case small phantom
//! cohort, 2 folds; per fold the cascade and the four ConvNets are trained, the operating points
//! calibrated on the training cases, and every case evaluated. Checks Table 1's shape and
//! invariants (Opt. is an upper bound of S_RF, operating points come from the grid, the fold
//! split is a partition), Fig. 5's PNG, that a second run reuses the finished folds, and the
//! final bundle trained and calibrated on every case (`--final-bundle`), with its CRF prior and
//! R2 trained on cross-fitted P0. A fifth scan without pancreas trains every fold as a negative
//! and is never evaluated.

use pancseg_train::cv::{self, run_cv, run_single_fold, CvArgs, Profile, COLUMNS};

#[test]
fn quick_profile_writes_table1_and_fig5_and_resumes() {
    let _serial = crate::TRAINING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let cohort = crate::small_cohort(dir.path(), 4, 51);
    add_scan_without_pancreas(&cohort);
    let out = dir.path().join("cv");
    let final_dir = dir.path().join("final-bundle");
    let args = CvArgs {
        cohort,
        folds: 2,
        seed: 3,
        out: out.clone(),
        profile: Profile::Quick,
        threads: 2,
        final_bundle: Some(final_dir.clone()),
        init: Default::default(),
        sigma_mm: None,
        working_spacing: pancseg::pipeline::working_grid::DEFAULT_SPACING_MM,
        device: Default::default(),
    };
    let t = run_cv(&args).unwrap();
    assert_eq!((t.cases, t.folds, t.folds_detail.len()), (4, 2, 2));
    assert_eq!(t.training.len(), COLUMNS.len());
    assert_eq!(t.testing.len(), COLUMNS.len());
    // every case is tested exactly once and trained on in the other fold
    let mut tested: Vec<&str> = t
        .folds_detail
        .iter()
        .flat_map(|f| f.test_cases.iter().map(String::as_str))
        .collect();
    tested.sort();
    assert_eq!(tested, ["case_001", "case_002", "case_003", "case_004"]);
    for f in &t.folds_detail {
        assert_eq!(
            f.cases.len(),
            4,
            "the scan without pancreas is not evaluated"
        );
        assert_eq!(f.train_only_cases, ["case_005"]);
        for c in &f.cases {
            assert_eq!(c.dsc.len(), COLUMNS.len());
            // Opt. labels every superpixel the best way: no candidate subset does better
            assert!(
                c.dsc[0] + 1e-9 >= c.dsc[1],
                "{}: Opt {} < S_RF {}",
                c.id,
                c.dsc[0],
                c.dsc[1]
            );
            assert!(c.dsc.iter().all(|d| d.is_nan() || (0.0..=1.0).contains(d)));
        }
        let o = f.operating_points;
        for p in [o.p0, o.g_p0, o.p1, o.g_p1, o.p2, o.g_p2] {
            assert!((0.04..=0.96).contains(&p), "{p}");
        }
        assert!(f.crf_weight.is_some());
        let t = f.crf_prior.expect("a calibrated CRF prior");
        assert!(cv::CRF_PRIORS.contains(&t), "{t}");
        let g = f.sigma_factors.expect("calibrated sigma factors");
        assert!(cv::sigma_grid().contains(&g), "{g:?}");
        assert_eq!(f.curves.train.len(), 6);
        assert!(out
            .join(format!("fold_{}/bundle/manifest.json", f.fold))
            .is_file());
    }
    // the superpixel upper bound is high on phantoms; the candidates keep most of the pancreas
    assert!(t.testing[0].dsc.mean > 0.8, "Opt. {:?}", t.testing[0].dsc);
    let md = std::fs::read_to_string(out.join("table1.md")).unwrap();
    assert!(md.contains("| DSC mean |") && md.contains("CRF(P2)") && md.contains("## Testing"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("table1.json")).unwrap()).unwrap();
    assert_eq!(json["testing"][7]["column"], "G(P2)");
    let png = std::fs::read(out.join("fig5.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    assert_eq!(
        u32::from_be_bytes([png[16], png[17], png[18], png[19]]),
        1400
    );
    // resumable: the finished folds and the final bundle are reused and give the same table
    let again = run_cv(&args).unwrap();
    assert!(again.wall_seconds < 30.0, "{} s", again.wall_seconds);
    for (a, b) in again.testing.iter().zip(&t.testing) {
        // (read back from results.json: equal up to the last bit of the JSON float text)
        assert!((a.dsc.mean - b.dsc.mean).abs() < 1e-12, "{}", a.column);
        assert_eq!(a.above, b.above);
    }
    // one fold on its own (folds on separate machines): reused, the same cases; out of range fails
    let second = run_single_fold(&args, 2).unwrap();
    let ids = |f: &pancseg_train::cv::FoldResult| -> Vec<(String, String)> {
        f.cases
            .iter()
            .map(|c| (c.id.clone(), c.split.clone()))
            .collect()
    };
    assert_eq!(ids(&second), ids(&t.folds_detail[1]));
    for k in [0, 3] {
        let e = run_single_fold(&args, k).unwrap_err().to_string();
        assert!(e.contains("--only-fold"), "{e}");
    }
    let bundle = pancseg::model::bundle::Bundle::load(&final_dir).unwrap();
    let fin: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("final/results.json")).unwrap())
            .unwrap();
    assert_eq!(fin["train_cases"].as_array().unwrap().len(), 4);
    assert_eq!(fin["train_only_cases"], serde_json::json!(["case_005"]));
    assert!(fin["test_cases"].as_array().unwrap().is_empty());
    let g = fin["operating_points"]["g_p2"].as_f64().unwrap() as f32;
    assert_eq!(bundle.manifest.operating_points.g_p2, g);
    assert_eq!(
        bundle.manifest.crf_prior,
        fin["crf_prior"].as_f64(),
        "the calibrated CRF prior goes into the bundle"
    );
    // so does the calibrated sigma: the base (here the paper's 3 voxels) times the factors
    let (xy, z) = (
        fin["sigma_factors"][0].as_f64().unwrap(),
        fin["sigma_factors"][1].as_f64().unwrap(),
    );
    assert_eq!(bundle.manifest.sigma_voxels, [3.0 * xy, 3.0 * xy, 3.0 * z]);
    assert_eq!(bundle.manifest.sigma_mm, None);
    // the boundary ConvNet reads P0 (CT, P0 and the two masks), as the CRF then gives it
    assert!(bundle.manifest.region.boundary_p0);
    let b = bundle.manifest.networks.boundary.as_ref().unwrap();
    assert_eq!(b.input_shape[0], 4, "{:?}", b.input_shape);
    // R2's P0 is cross-fitted on the final run's 5 cases (halves of 2 and 3: each half's network
    // validates on one case); a fold's 3 training cases are too few
    for h in ["p_half_1", "p_half_2"] {
        assert!(out.join("final/nets").join(h).join("train.json").is_file());
        assert!(!out.join("fold_1/nets").join(h).exists());
    }
}

/// Adds `case_005`: case_001's CT with an empty label (a scan the segmenter searches that holds
/// no pancreas, as a chest-only or pelvis-only scan can be).
fn add_scan_without_pancreas(cohort: &std::path::Path) {
    use pancseg_train::cohort::{write_case, write_manifest, Cohort};
    let mut c = Cohort::open(cohort).unwrap();
    let (ct, mut label) = c.load_native_case("case_001").unwrap();
    label.data.fill(0);
    write_case(cohort, "case_005", &ct, &label, None).unwrap();
    let mut rec = c.manifest.cases[0].clone();
    rec.id = "case_005".into();
    rec.pancreas_volume_ml = 0.0;
    c.manifest.cases.push(rec);
    write_manifest(cohort, &c.manifest).unwrap();
}
