//! DICOM Segmentation output end to end: `pancseg segment <DICOM dir> ... --dicom-seg OUT.dcm` on a
//! phantom written as a CT series (the real series is checked through the C API by
//! `scripts/ffi-test.sh`); the object is
//! read back by the project's reader (the mask must equal the NIfTI output) and checked by an
//! independent reader (`tests/scripts/validate_dicom_seg.py`: pydicom + highdicom + nibabel).

use pancseg::io::dicom::ct_writer::{write_ct_series, SeriesWriteOptions};
use pancseg::io::dicom::seg::read_dicom_seg;
use pancseg::io::nifti::read_nifti;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn segment_to_seg(input: &Path, out: &Path) -> (PathBuf, PathBuf) {
    let (mask, seg) = (out.join("mask.nii.gz"), out.join("seg.dcm"));
    let o = Command::new(env!("CARGO_BIN_EXE_pancseg"))
        .arg("segment")
        .arg(input)
        .arg(&mask)
        .arg("--model")
        .arg(root().join("tests/fixtures/bundle-tiny"))
        .arg("--dicom-seg")
        .arg(&seg)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("DICOM Segmentation"));
    (mask, seg)
}

/// Our reader: the SEG placed on the NIfTI mask's grid equals that mask.
fn check_read_back(mask: &Path, seg: &Path) -> usize {
    let m = read_nifti(mask).unwrap().volume;
    let s = read_dicom_seg(seg).unwrap();
    assert_eq!(s.segment_labels, vec!["Pancreas".to_string()]);
    let placed = s.to_mask(1, m.data.dim(), &m.geometry).unwrap();
    let want = m.data.mapv(|v| u8::from(v > 0.5));
    assert_eq!(placed, want);
    want.iter().filter(|&&v| v != 0).count()
}

fn validate_independently(seg: &Path, source: &Path, mask: &Path) {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let have = Command::new(&python)
        .args(["-c", "import highdicom, pydicom, nibabel"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !have {
        if std::env::var_os("CI").is_some() {
            panic!("CI must install highdicom, pydicom and nibabel for the DICOM SEG check");
        }
        eprintln!("SKIPPED: python3 with highdicom, pydicom and nibabel not available");
        return;
    }
    let o = Command::new(&python)
        .arg(root().join("tests/scripts/validate_dicom_seg.py"))
        .args([seg, source, mask])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    eprintln!("{text}{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success() && text.contains("DICOM SEG OK"));
}

#[test]
fn phantom_series_gives_a_valid_segmentation() {
    let dir = tempfile::tempdir().unwrap();
    let ct = read_nifti(root().join("tests/fixtures/phantom/ct.nii.gz"))
        .unwrap()
        .volume;
    let series = dir.path().join("series");
    let mut opts = SeriesWriteOptions::new("1.2.826.0.1.3680043.10.1234.77");
    opts.patient_name = "PHANTOM^SEG".into();
    write_ct_series(&ct, &series, &opts).unwrap();
    let (mask, seg) = segment_to_seg(&series, dir.path());
    let voxels = check_read_back(&mask, &seg);
    assert!(
        voxels > 100,
        "the fixture sample has a pancreas: {voxels} voxels"
    );
    validate_independently(&seg, &series, &mask);
}

/// The real series (JPEG 2000) as shipped is anonymised down to empty Study and Series Instance
/// UIDs, which a Segmentation must reference: `--dicom-seg` refuses it by name before segmenting.
/// (With the UIDs filled in, `scripts/ffi-test.sh` segments it through the C API and validates
/// the Segmentation with pydicom + highdicom.)
#[test]
fn real_series_without_study_uid_is_refused() {
    let real = root().join("../shared/data/real-ct/dicom");
    if !real.is_dir() {
        eprintln!("SKIPPED: {} not present", real.display());
        return;
    }
    refused_before_segmenting(&real, "no StudyInstanceUID");
}

#[test]
fn nifti_input_is_refused_before_segmenting() {
    refused_before_segmenting(
        &root().join("tests/fixtures/phantom/ct.nii.gz"),
        "needs a DICOM series",
    );
}

/// `segment INPUT ... --dicom-seg` fails with `reason` and writes no mask.
fn refused_before_segmenting(input: &Path, reason: &str) {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_pancseg"))
        .arg("segment")
        .arg(input)
        .arg(dir.path().join("m.nii.gz"))
        .arg("--model")
        .arg(root().join("tests/fixtures/bundle-tiny"))
        .arg("--dicom-seg")
        .arg(dir.path().join("s.dcm"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains(reason), "{err}");
    assert!(!dir.path().join("m.nii.gz").exists());
}
