//! End-to-end pipeline tests on the committed fixture: a small bundle of narrow networks
//! (`tests/fixtures/bundle-tiny`, rebuilt by `scripts/make-test-bundle.sh`) and a small phantom
//! none of its models saw (`tests/fixtures/phantom`).

use pancseg::io::nifti::read_nifti;
use pancseg::model::bundle::Bundle;
use pancseg::model::network::RuntimeOptions;
use pancseg::pipeline::{Method, SegmentOptions, Segmenter};
use pancseg::{Error, Image, Volume};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(p)
}

fn ct() -> &'static Volume {
    static CT: OnceLock<Volume> = OnceLock::new();
    CT.get_or_init(|| read_nifti(fixture("phantom/ct.nii.gz")).unwrap().volume)
}

fn truth() -> ndarray::Array3<u8> {
    read_nifti(fixture("phantom/label.nii.gz"))
        .unwrap()
        .volume
        .data
        .mapv(|v| u8::from(v == 1.0))
}

fn segmenter(threads: usize) -> Segmenter {
    let bundle = Bundle::load(fixture("bundle-tiny")).unwrap();
    Segmenter::new(bundle, RuntimeOptions::default(), threads).unwrap()
}

fn shared() -> &'static Segmenter {
    static S: OnceLock<Segmenter> = OnceLock::new();
    S.get_or_init(|| segmenter(2))
}

/// The default segmentation (G(P2), with the probability map) by the shared 2-thread segmenter,
/// computed once for the tests that compare against it.
fn default_result() -> &'static pancseg::pipeline::Segmentation {
    static R: OnceLock<pancseg::pipeline::Segmentation> = OnceLock::new();
    R.get_or_init(|| {
        shared()
            .segment(
                ct(),
                &SegmentOptions {
                    probability: true,
                    ..Default::default()
                },
            )
            .unwrap()
    })
}

fn dsc(a: &ndarray::Array3<u8>, b: &ndarray::Array3<u8>) -> f64 {
    let (mut inter, mut sa, mut sb) = (0usize, 0usize, 0usize);
    for (&x, &y) in a.iter().zip(b) {
        inter += usize::from(x != 0 && y != 0);
        sa += usize::from(x != 0);
        sb += usize::from(y != 0);
    }
    2.0 * inter as f64 / (sa + sb).max(1) as f64
}

#[test]
fn segments_the_phantom_on_its_own_grid() {
    let ct = ct();
    let seg = default_result().clone();
    assert_eq!(seg.mask.data.dim(), ct.data.dim());
    assert_eq!(seg.mask.geometry, ct.geometry);
    assert!(seg.mask.data.iter().all(|&v| v <= 1));
    let r = &seg.report;
    assert_eq!(r.method, Method::GP2);
    assert_eq!(r.provider, "cpu");
    assert!(r.candidates > 0 && r.p_inputs > 0 && r.r_inputs == r.candidates * 4);
    let d = dsc(&seg.mask.data, &truth());
    eprintln!(
        "g-p2 DSC {d:.3}, {:.1} mL, {} candidates, {:.2} s",
        r.pancreas_ml, r.candidates, r.total_seconds
    );
    assert!(r.pancreas_voxels > 0, "the pancreas was not found at all");
    // the fixture bundle is weak (narrow networks, short training: DSC 0.37 on its sample when
    // it was last rebuilt) but must find the pancreas
    assert!(d > 0.3, "DSC {d:.3} of the fixture bundle on its sample");
    let ml = r.pancreas_voxels as f64 * ct.geometry.voxel_volume_mm3() / 1000.0;
    assert!((r.pancreas_ml - ml).abs() < 1e-9);
    // the mask is exactly the smoothed map at the operating point
    let p = seg.probability.unwrap();
    let t = shared().manifest().operating_points.g_p2;
    for (&m, &v) in seg.mask.data.iter().zip(&p.data) {
        assert_eq!(m, u8::from(v >= t));
    }
    let stages: Vec<&str> = r.stage_seconds.iter().map(|s| s.stage).collect();
    for s in ["superpixels", "cascade", "p0", "p2", "smoothing"] {
        assert!(stages.contains(&s), "stage {s} missing from {stages:?}");
    }
    assert!(r.peak_rss_bytes.unwrap_or(1) > 0);
}

#[test]
fn every_method_gives_a_mask_inside_the_working_box() {
    let ct = ct();
    // the evaluation maps (pancseg-train cv) threshold to exactly the masks segment returns
    let m = shared().manifest();
    let maps = shared().stage_maps(ct, &[m.crf_setting()]).unwrap();
    let ops = m.operating_points;
    for method in Method::ALL {
        let (map, t) = match method {
            Method::P0 => (&maps.p0, ops.p0),
            Method::GP0 => (&maps.g_p0, ops.g_p0),
            Method::P1 => (&maps.p1, ops.p1),
            Method::GP1 => (&maps.g_p1, ops.g_p1),
            Method::P2 => (&maps.p2, ops.p2),
            Method::GP2 => (&maps.g_p2, ops.g_p2),
            Method::CrfP2 => (&maps.crf[0].1.mapv(f32::from), 0.5),
        };
        let expected = maps.mask_on_input(map, t, ct.data.dim()).unwrap();
        if method == Method::GP2 {
            // the default, checked in segments_the_phantom_on_its_own_grid
            assert_eq!(
                default_result().mask.data,
                expected,
                "{method}: stage maps disagree with segment"
            );
            continue;
        }
        let seg = shared()
            .segment(
                ct,
                &SegmentOptions {
                    method,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(
            seg.mask.data, expected,
            "{method}: stage maps disagree with segment"
        );
        let r = &seg.report;
        // the box is on the working grid: every mask voxel maps into it (within the one
        // working voxel the map falls to zero over)
        let b = r.working_box.unwrap();
        let g = maps.grid.axes;
        for ((z, y, x), &v) in seg.mask.data.indexed_iter() {
            if v != 0 {
                let w = [
                    g[0].to_working(x as f64),
                    g[1].to_working(y as f64),
                    g[2].to_working(z as f64),
                ];
                let inside =
                    (0..3).all(|k| w[k] > b[k] as f64 - 1.0 && w[k] < b[k + 3] as f64 + 1.0);
                assert!(inside, "{method}: voxel outside the box");
            }
        }
        let used_p = r.p_inputs > 0;
        assert_eq!(
            used_p,
            !matches!(method, Method::P1 | Method::GP1),
            "{method}"
        );
        assert_eq!(r.pair_inputs > 0, method == Method::CrfP2, "{method}");
        eprintln!(
            "{method}: {} voxels, DSC {:.3}",
            r.pancreas_voxels,
            dsc(&seg.mask.data, &truth())
        );
    }
}

#[test]
fn masks_are_identical_for_1_2_and_8_threads() {
    let ct = ct();
    let two = &default_result().mask.data;
    for t in [1, 8] {
        let s = segmenter(t);
        assert_eq!(s.threads(), t);
        let m = s.segment(ct, &SegmentOptions::default()).unwrap().mask.data;
        assert_eq!(&m, two, "{t} threads");
    }
}

#[test]
fn a_reoriented_input_gives_the_same_mask_reoriented() {
    // the same anatomy stored RAS-style: x and y reversed, direction diag(-1, -1, 1)
    let ct = ct();
    let (_, ny, nx) = ct.data.dim();
    let mut data = ct.data.clone();
    data.invert_axis(ndarray::Axis(1));
    data.invert_axis(ndarray::Axis(2));
    let data = data.as_standard_layout().into_owned();
    let mut g = ct.geometry;
    g.origin = ct
        .geometry
        .index_to_lps([(nx - 1) as f64, (ny - 1) as f64, 0.0]);
    g.direction = [[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]];
    let flipped = Image::new(data, g).unwrap();
    assert_eq!(flipped.data[[3, 0, 0]], ct.data[[3, ny - 1, nx - 1]]);
    let a = shared().segment(ct, &SegmentOptions::default()).unwrap();
    let b = shared()
        .segment(&flipped, &SegmentOptions::default())
        .unwrap();
    assert_eq!(b.mask.geometry, g);
    let mut back = b.mask.data.clone();
    back.invert_axis(ndarray::Axis(1));
    back.invert_axis(ndarray::Axis(2));
    assert_eq!(back, a.mask.data);
    assert!(a.mask.data.iter().any(|&v| v != 0));
}

#[test]
fn progress_increases_to_one_and_cancellation_stops_the_run() {
    let ct = ct();
    for at in [0.1f32, 0.5, 0.8] {
        let cancel = AtomicBool::new(false);
        let cb = |v: f32| {
            if v >= at {
                cancel.store(true, Ordering::Relaxed);
            }
        };
        let poll = || cancel.load(Ordering::Relaxed);
        let r = shared().segment(
            ct,
            &SegmentOptions {
                progress: Some(&cb),
                cancel: Some(&poll),
                ..Default::default()
            },
        );
        assert!(matches!(r, Err(Error::Cancelled)), "cancel at {at}: {r:?}");
    }
    // after the cancellations the segmenter still runs to the end, reporting progress, and
    // gives the default mask
    let seen = parking_lot::Mutex::new(Vec::<f32>::new());
    let cb = |v: f32| seen.lock().push(v);
    let again = shared()
        .segment(
            ct,
            &SegmentOptions {
                progress: Some(&cb),
                ..Default::default()
            },
        )
        .unwrap();
    let v = seen.lock().clone();
    assert!(v.len() > 5, "{v:?}");
    assert!(v.windows(2).all(|w| w[1] > w[0]), "{v:?}");
    assert_eq!(*v.last().unwrap(), 1.0);
    assert_eq!(again.mask.data, default_result().mask.data);
}

#[test]
fn bad_volumes_are_errors() {
    let mut ct = ct().clone();
    ct.data[[1, 2, 3]] = f32::NAN;
    let e = shared()
        .segment(&ct, &SegmentOptions::default())
        .unwrap_err();
    assert!(e.to_string().contains("non-finite"), "{e}");
    let mut ct = self::ct().clone();
    ct.geometry.spacing[2] = f64::NAN;
    let e = shared()
        .segment(&ct, &SegmentOptions::default())
        .unwrap_err();
    assert!(e.to_string().contains("spacing"), "{e}");
}

fn copy_bundle(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(fixture("bundle-tiny")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn tampered_missing_or_newer_bundles_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("b");
    copy_bundle(&b);
    assert!(Bundle::load(&b).is_ok());
    // one flipped byte in a network
    let p = b.join("r2.onnx");
    let mut bytes = std::fs::read(&p).unwrap();
    let k = bytes.len() / 2;
    bytes[k] ^= 1;
    std::fs::write(&p, &bytes).unwrap();
    let e = Bundle::load(&b).unwrap_err().to_string();
    assert!(e.contains("r2.onnx") && e.contains("SHA-256"), "{e}");
    bytes[k] ^= 1;
    std::fs::write(&p, &bytes).unwrap();
    // a missing forest
    std::fs::rename(b.join("level2.psrf"), b.join("x")).unwrap();
    let e = Bundle::load(&b).unwrap_err().to_string();
    assert!(e.contains("level2.psrf"), "{e}");
    std::fs::rename(b.join("x"), b.join("level2.psrf")).unwrap();
    // a newer format version, a malformed manifest, a path outside the bundle
    let m = b.join("manifest.json");
    let text = std::fs::read_to_string(&m).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["format_version"] = 99.into();
    std::fs::write(&m, json.to_string()).unwrap();
    let e = Bundle::load(&b).unwrap_err().to_string();
    assert!(e.contains("format version 99"), "{e}");
    std::fs::write(&m, &text[..text.len() / 2]).unwrap();
    let e = Bundle::load(&b).unwrap_err().to_string();
    assert!(e.contains("malformed manifest"), "{e}");
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["networks"]["p"]["file"] = "../p.onnx".into();
    std::fs::write(&m, json.to_string()).unwrap();
    let e = Bundle::load(&b).unwrap_err().to_string();
    assert!(e.contains("plain path"), "{e}");
    // no manifest at all; not a directory
    std::fs::remove_file(&m).unwrap();
    assert!(Bundle::load(&b)
        .unwrap_err()
        .to_string()
        .contains("manifest.json"));
    let e = Bundle::load(dir.path().join("nothing"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not exist"), "{e}");
}

#[test]
fn the_volume_floor_lowers_the_crf_prior_as_far_as_it_must() {
    let ct = ct();
    let crf = SegmentOptions {
        method: Method::CrfP2,
        ..Default::default()
    };
    let plain = shared().segment(ct, &crf).unwrap();
    let prior = shared().manifest().crf_setting().prior;
    assert_eq!(plain.report.crf_prior, Some(prior));
    assert_eq!(plain.report.threshold, None);
    // a floor no mask reaches: the prior goes down to `lowest`, which keeps at least what the
    // bundle's prior kept (the min-cut gives up no pancreas label when the prior falls)
    let floored = |ml: f64| {
        let mut bundle = Bundle::load(fixture("bundle-tiny")).unwrap();
        bundle.manifest.volume_floor =
            Some(pancseg::pipeline::fusion::volume_floor::VolumeFloor { ml, lowest: 0.3 });
        let s = Segmenter::new(bundle, RuntimeOptions::default(), 2).unwrap();
        s.segment(ct, &crf).unwrap()
    };
    let deep = floored(1e6);
    assert_eq!(deep.report.crf_prior, Some(0.3f64.min(prior)));
    assert!(deep.report.pancreas_voxels >= plain.report.pancreas_voxels);
    // a floor the bundle's prior already reaches changes nothing
    let reached = floored(0.0);
    assert_eq!(reached.report.crf_prior, Some(prior));
    assert_eq!(reached.mask.data, plain.mask.data);
    // G(P2) reports its threshold and no CRF prior
    assert_eq!(default_result().report.crf_prior, None);
    assert!(default_result().report.threshold.is_some());
}

#[test]
fn crf_needs_a_boundary_network() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("b");
    copy_bundle(&b);
    let m = b.join("manifest.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&m).unwrap()).unwrap();
    json["networks"].as_object_mut().unwrap().remove("boundary");
    std::fs::write(&m, json.to_string()).unwrap();
    let s = Segmenter::new(Bundle::load(&b).unwrap(), RuntimeOptions::default(), 1).unwrap();
    let e = s
        .segment(
            ct(),
            &SegmentOptions {
                method: Method::CrfP2,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("boundary"), "{e}");
}

#[test]
fn cuda_falls_back_to_the_cpu_unless_strict() {
    // this ONNX Runtime build (the CPU package from PyPI) has no CUDA provider
    let bundle = || Bundle::load(fixture("bundle-tiny")).unwrap();
    let rt = RuntimeOptions {
        device: pancseg::model::network::Device::Cuda(0),
        ..Default::default()
    };
    let s = Segmenter::new(bundle(), rt.clone(), 1).unwrap();
    assert!(
        s.provider().starts_with("cpu (CUDA device 0 not usable"),
        "{}",
        s.provider()
    );
    let strict = RuntimeOptions { strict: true, ..rt };
    let e = Segmenter::new(bundle(), strict, 1).unwrap_err();
    assert!(matches!(e, Error::Runtime { .. }), "{e}");
    assert!(e.to_string().contains("strict"), "{e}");
}

#[test]
fn models_are_built_from_the_verified_contents() {
    // a file changed on disk after the bundle was verified is never used
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("b");
    copy_bundle(&b);
    let bundle = Bundle::load(&b).unwrap();
    std::fs::write(b.join("r2.onnx"), b"not a model").unwrap();
    std::fs::write(b.join("level1.psrf"), b"not a forest").unwrap();
    let s = Segmenter::new(bundle, RuntimeOptions::default(), 1).unwrap();
    assert_eq!(s.provider(), "cpu");
}

/// A synthetic chest: a soft-tissue body whose every slice holds two large air-filled lungs.
fn synthetic_chest() -> Volume {
    let (nz, ny, nx) = (40, 160, 160);
    let data = ndarray::Array3::from_shape_fn((nz, ny, nx), |(_, y, x)| {
        let (u, v) = ((x as f64 - 80.0) / 70.0, (y as f64 - 80.0) / 50.0);
        let lung =
            |cx: f64| ((x as f64 - cx) / 25.0).powi(2) + ((y as f64 - 75.0) / 35.0).powi(2) < 1.0;
        if u * u + v * v >= 1.0 {
            -1000.0
        } else if lung(50.0) || lung(110.0) {
            -850.0
        } else {
            40.0
        }
    });
    Image {
        data,
        geometry: pancseg::Geometry {
            spacing: [2.0, 2.0, 2.5],
            ..Default::default()
        },
    }
}

#[test]
fn a_chest_only_scan_gives_an_empty_mask_and_says_so() {
    let r = shared()
        .segment(&synthetic_chest(), &SegmentOptions::default())
        .unwrap();
    assert!(r.mask.data.iter().all(|&v| v == 0));
    let rep = &r.report;
    assert_eq!(rep.field_of_view, pancseg::FieldOfView::Absent);
    assert_eq!(rep.landmarks.lung_base, pancseg::Landmark::Below);
    assert!(rep.slab.is_none() && rep.candidates == 0 && rep.p_inputs == 0);
    // the evaluation maps agree: nothing ran
    let maps = shared().stage_maps(&synthetic_chest(), &[]).unwrap();
    assert!(maps.slab.is_none() && maps.p0.is_empty());
    assert!(maps.candidates_mask().iter().all(|&v| v == 0));
}

/// A synthetic pelvis: a soft-tissue body with a broad bone plate (an iliac wing) on each side,
/// on every slice but the highest `gap` (the lumbar gap over the crests).
fn synthetic_pelvis(gap: usize) -> Volume {
    let nz = 40;
    let data = ndarray::Array3::from_shape_fn((nz, 160, 160), |(z, y, x)| {
        let (u, v) = ((x as f64 - 80.0) / 70.0, (y as f64 - 80.0) / 50.0);
        let wing =
            |cx: f64| ((x as f64 - cx) / 6.0).powi(2) + ((y as f64 - 85.0) / 22.0).powi(2) < 1.0;
        if u * u + v * v >= 1.0 {
            -1000.0
        } else if z + gap < nz && (wing(30.0) || wing(130.0)) {
            700.0
        } else {
            40.0
        }
    });
    Image {
        data,
        geometry: pancseg::Geometry {
            spacing: [2.0, 2.0, 2.5],
            ..Default::default()
        },
    }
}

#[test]
fn a_pelvis_only_scan_reports_its_iliac_wings() {
    let r = shared()
        .segment(&synthetic_pelvis(0), &SegmentOptions::default())
        .unwrap();
    assert_eq!(r.report.landmarks.iliac_crest, pancseg::Landmark::Above);
    // the crest alone does not bound the search (pipeline::abdomen::region): not "absent"
    assert_ne!(r.report.field_of_view, pancseg::FieldOfView::Absent);
    assert_eq!(r.report.landmarks.top_above_pelvis_mm, None);
}

#[test]
fn a_pelvis_only_scan_ending_in_the_lumbar_gap_gives_an_empty_mask_and_says_so() {
    // 6 slices of 2.5 mm without lateral bone over the wings: 15 mm above the crest
    let r = shared()
        .segment(&synthetic_pelvis(6), &SegmentOptions::default())
        .unwrap();
    let rep = &r.report;
    assert_eq!(rep.landmarks.top_above_pelvis_mm, Some(15.0));
    assert_eq!(rep.field_of_view, pancseg::FieldOfView::Absent);
    assert!(r.mask.data.iter().all(|&v| v == 0));
    assert!(rep.slab.is_none() && rep.candidates == 0);
    // 40 mm above the crest the gland's lowest part can lie in the scan: it is searched
    let r = shared()
        .segment(&synthetic_pelvis(16), &SegmentOptions::default())
        .unwrap();
    assert_eq!(r.report.landmarks.top_above_pelvis_mm, Some(40.0));
    assert_ne!(r.report.field_of_view, pancseg::FieldOfView::Absent);
}
