//! Phantom cohorts: same seed gives the same bytes, the DICOM output reads back into the same
//! volume, labels are consistent, volumes and difficulty are in the documented ranges.

use pancseg::io::dicom::series::{read_dicom_dir, DicomReadOptions};
use pancseg::io::nifti::read_nifti;
use pancseg_train::cohort::Cohort;
use pancseg_train::cohort_stats::cohort_stats;
use pancseg_train::phantom::{generate_cohort, labels, CohortOptions, PhantomSize};
use std::path::Path;

fn cohort(dir: &Path, count: usize, seed: u64, dicom: bool) {
    generate_cohort(&CohortOptions {
        count,
        seed,
        size: PhantomSize::Small,
        profile: pancseg_train::phantom::Profile::Classic,
        framings: Vec::new(),
        out: dir.to_path_buf(),
        nifti: true,
        dicom,
        progress: false,
    })
    .unwrap();
}

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn same_seed_same_bytes_and_other_seed_differs() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    cohort(a.path(), 2, 42, true);
    // a different thread count must not change anything
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| cohort(b.path(), 2, 42, true));
    cohort(c.path(), 1, 43, false);
    let (fa, fb) = (files(a.path()), files(b.path()));
    assert_eq!(fa.len(), fb.len());
    assert!(fa.len() > 10, "NIfTI + DICOM files expected");
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(
            x.strip_prefix(a.path()).unwrap(),
            y.strip_prefix(b.path()).unwrap()
        );
        assert!(
            std::fs::read(x).unwrap() == std::fs::read(y).unwrap(),
            "{} differs",
            x.display()
        );
    }
    let ct_a = std::fs::read(a.path().join("case_001/ct.nii.gz")).unwrap();
    let ct_c = std::fs::read(c.path().join("case_001/ct.nii.gz")).unwrap();
    assert_ne!(ct_a, ct_c);
}

#[test]
fn dicom_reads_back_and_labels_are_consistent() {
    let dir = tempfile::tempdir().unwrap();
    cohort(dir.path(), 1, 7, true);
    let c = Cohort::open(dir.path()).unwrap();
    assert_eq!(c.manifest.source, "phantom");
    let rec = &c.manifest.cases[0];
    let (ct, label) = c.load_native_case(&rec.id).unwrap();
    let s = read_dicom_dir(
        c.case_dir(&rec.id).join("dicom"),
        &DicomReadOptions::default(),
    )
    .unwrap();
    assert_eq!(
        s.volume, ct,
        "DICOM series must read back into the NIfTI volume"
    );
    assert_eq!(rec.dims, ct.dims_xyz());
    let organs = read_nifti(c.organs_path(&rec.id)).unwrap().volume;
    assert_eq!(organs.geometry, ct.geometry);
    for (o, l) in organs.data.iter().zip(label.data.iter()) {
        assert_eq!(*o == labels::PANCREAS as f32, *l == 1);
    }
    // every structure of the anatomy list is present
    for &(l, name) in &labels::NAMES[..labels::CLASSIC_COUNT] {
        assert!(organs.data.iter().any(|&v| v == l as f32), "{name} missing");
    }
    let [nx, ny, nz] = ct.dims_xyz();
    assert_eq!((nx, ny, nz), (192, 192, 72));
    assert!((1.6..=2.3).contains(&ct.geometry.spacing[0]));
    let st = ct.stats();
    assert!(st.min >= -1024.0 && st.max <= 3071.0);
}

#[test]
fn volumes_and_difficulty_are_in_range() {
    let dir = tempfile::tempdir().unwrap();
    cohort(dir.path(), 4, 2026, false);
    let stats = cohort_stats(dir.path()).unwrap();
    for c in &stats.cases {
        assert!(
            (35.0..=125.0).contains(&c.pancreas_volume_ml),
            "{} {}",
            c.id,
            c.pancreas_volume_ml
        );
        assert!(
            c.own_window_dsc < 0.25,
            "{}: intensity alone finds the pancreas ({})",
            c.id,
            c.own_window_dsc
        );
    }
    assert!(stats.cohort_window_mean_dsc < 0.25);
    let text = stats.to_text();
    assert!(text.contains("case_004") && text.contains("best single window"));
}
