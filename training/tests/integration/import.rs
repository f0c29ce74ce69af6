//! Importers on tiny fixtures in both dataset layouts: NIH Pancreas-CT (DICOM series + NIfTI
//! labels stored with a flipped y axis) and MSD Task07 (NIfTI images and 0/1/2 labels).

use ndarray::{Array3, Axis};
use pancseg::io::dicom::ct_writer::{write_ct_series, SeriesWriteOptions};
use pancseg::io::nifti::{write_ct, write_nifti};
use pancseg::volume::IDENTITY;
use pancseg::{Geometry, Image, Mask, Volume};
use pancseg_train::cohort::Cohort;
use pancseg_train::import::{import_msd, import_nih};
use std::path::Path;

const DIMS_ZYX: (usize, usize, usize) = (4, 5, 6);

fn ct_geometry() -> Geometry {
    Geometry {
        spacing: [0.75, 0.8, 2.5],
        origin: [-12.0, 30.5, -100.0],
        direction: IDENTITY,
    }
}

/// A 6x5x4 CT with distinct integer HU values.
fn ct(seed: i32) -> Volume {
    let data = Array3::from_shape_fn(DIMS_ZYX, |(k, j, i)| {
        (-1000 + seed + 100 * k as i32 + 10 * j as i32 + i as i32) as f32
    });
    Image::new(data, ct_geometry()).unwrap()
}

/// An asymmetric mask on the CT grid (so a wrong flip or permutation would be visible).
fn ct_mask() -> Array3<u8> {
    Array3::from_shape_fn(DIMS_ZYX, |(k, j, i)| u8::from(j <= 1 && i >= k && i < 5))
}

/// The CT-grid mask stored as a NIfTI label with the y axis reversed, as in NIH Pancreas-CT.
fn flipped_y_label(mask: &Array3<u8>, g: &Geometry) -> Mask {
    let ny = mask.dim().1;
    let mut geometry = *g;
    geometry.origin = g.index_to_lps([0.0, (ny - 1) as f64, 0.0]);
    for r in 0..3 {
        geometry.direction[r][1] = -g.direction[r][1];
    }
    let mut data = mask.clone();
    data.invert_axis(Axis(1));
    Image::new(data.as_standard_layout().into_owned(), geometry).unwrap()
}

fn write_nih_case(images: &Path, labels: &Path, number: &str, volume: &Volume, label: &Mask) {
    let series_dir = images.join(format!("PANCREAS_{number}/study-1/series-2"));
    let opts = SeriesWriteOptions::new(&format!("1.2.826.0.1.3680043.10.999.{number}"));
    write_ct_series(volume, &series_dir, &opts).unwrap();
    std::fs::create_dir_all(labels).unwrap();
    write_nifti(labels.join(format!("label{number}.nii.gz")), label).unwrap();
}

fn voxel_ml(g: &Geometry) -> f64 {
    g.spacing.iter().product::<f64>() / 1000.0
}

fn assert_close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-6 * b.abs().max(1.0),
        "{what}: {a} vs {b}"
    );
}

#[test]
fn nih_import_recovers_the_ct_grid_label() {
    let tmp = tempfile::tempdir().unwrap();
    let (images, labels, out) = (
        tmp.path().join("images"),
        tmp.path().join("labels"),
        tmp.path().join("cohort"),
    );
    let volume = ct(0);
    let mask = ct_mask();
    let label = flipped_y_label(&mask, &volume.geometry);
    // The fixture really is flipped: the stored array differs from the CT-grid mask.
    assert_ne!(label.data, mask);
    write_nih_case(&images, &labels, "0001", &volume, &label);
    // Non-case entries of a TCIA download are ignored.
    std::fs::write(images.join("metadata.csv"), "Subject ID\n").unwrap();

    assert_eq!(import_nih(&images, &labels, &out).unwrap(), 1);

    let cohort = Cohort::open(&out).unwrap();
    assert_eq!(cohort.manifest.source, "nih-pancreas-ct");
    assert_eq!(cohort.manifest.cases.len(), 1);
    let record = &cohort.manifest.cases[0];
    assert_eq!(record.id, "case_001");
    assert_eq!(record.source.as_deref(), Some("PANCREAS_0001"));
    assert_eq!(record.dims, [6, 5, 4]);
    for (a, b) in record.spacing.iter().zip(volume.geometry.spacing) {
        assert_close(*a, b, "spacing");
    }
    let voxels = mask.iter().filter(|&&v| v != 0).count();
    assert!(voxels > 0);
    assert_close(
        record.pancreas_volume_ml,
        voxels as f64 * voxel_ml(&volume.geometry),
        "pancreas volume",
    );

    let (ct_back, mask_back) = cohort.load_native_case("case_001").unwrap();
    assert_eq!(ct_back.data, volume.data);
    assert_eq!(mask_back.data, mask);
    assert_eq!(mask_back.geometry, ct_back.geometry);
    for r in 0..3 {
        assert!((ct_back.geometry.origin[r] - volume.geometry.origin[r]).abs() < 1e-4);
    }

    // The output already holds a cohort: a second import refuses to overwrite it.
    let err = import_nih(&images, &labels, &out).unwrap_err().to_string();
    assert!(err.contains("already holds a cohort"), "{err}");
}

#[test]
fn nih_label_with_other_spacing_is_an_error_naming_the_case() {
    let tmp = tempfile::tempdir().unwrap();
    let (images, labels, out) = (
        tmp.path().join("images"),
        tmp.path().join("labels"),
        tmp.path().join("cohort"),
    );
    let volume = ct(0);
    write_nih_case(
        &images,
        &labels,
        "0001",
        &volume,
        &flipped_y_label(&ct_mask(), &volume.geometry),
    );
    let mut other = volume.geometry;
    other.spacing[1] = 0.9;
    let bad = flipped_y_label(&ct_mask(), &other);
    write_nih_case(&images, &labels, "0002", &ct(7), &bad);

    let err = import_nih(&images, &labels, &out).unwrap_err().to_string();
    assert!(err.contains("PANCREAS_0002"), "{err}");
    assert!(err.contains("label0002.nii.gz"), "{err}");
    assert!(err.contains("spacing differs"), "{err}");
    assert!(!err.contains("PANCREAS_0001"), "{err}");
    // No manifest for a failed import.
    assert!(!out.join("cohort.json").exists());
}

#[test]
fn nih_missing_label_and_empty_input_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let (images, labels, out) = (
        tmp.path().join("images"),
        tmp.path().join("labels"),
        tmp.path().join("cohort"),
    );
    std::fs::create_dir_all(&images).unwrap();
    std::fs::create_dir_all(&labels).unwrap();
    let err = import_nih(&images, &labels, &out).unwrap_err().to_string();
    assert!(err.contains("no PANCREAS_NNNN case folders"), "{err}");

    let volume = ct(0);
    write_nih_case(
        &images,
        &labels,
        "0001",
        &volume,
        &flipped_y_label(&ct_mask(), &volume.geometry),
    );
    let opts = SeriesWriteOptions::new("1.2.826.0.1.3680043.10.999.3");
    write_ct_series(&volume, &images.join("PANCREAS_0003/a/b"), &opts).unwrap();
    let err = import_nih(&images, &labels, &out).unwrap_err().to_string();
    assert!(err.contains("PANCREAS_0003"), "{err}");
    assert!(err.contains("label0003.nii.gz not found"), "{err}");
    assert!(!out.exists(), "nothing is written when a label is missing");
}

/// MSD case: CT and a label with pancreas (1) and tumour (2) on the same grid.
fn write_msd_case(root: &Path, name: &str, volume: &Volume, label: &Array3<u8>) {
    let (images, labels) = (root.join("imagesTr"), root.join("labelsTr"));
    std::fs::create_dir_all(&images).unwrap();
    std::fs::create_dir_all(&labels).unwrap();
    write_ct(images.join(name), volume).unwrap();
    let label = Image::new(label.clone(), volume.geometry).unwrap();
    write_nifti(labels.join(name), &label).unwrap();
}

#[test]
fn msd_import_merges_tumour_and_ignores_resource_forks() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, out) = (
        tmp.path().join("Task07_Pancreas"),
        tmp.path().join("cohort"),
    );

    let first = ct(0);
    let label1 = Array3::from_shape_fn(DIMS_ZYX, |(k, j, i)| match (k, j, i) {
        (1, 2, 2..=4) => 2,
        (1..=2, 1..=3, 1..=4) => 1,
        _ => 0,
    });
    write_msd_case(&root, "pancreas_001.nii.gz", &first, &label1);

    let mut second = ct(50);
    second.geometry.spacing = [0.5, 0.5, 1.25];
    second.geometry.origin = [100.0, -50.0, 20.0];
    let label2 = Array3::from_shape_fn(DIMS_ZYX, |(k, j, i)| {
        u8::from(k == 0 && j == 0 && i < 3) + u8::from(k == 0 && j == 0 && i == 1)
    });
    write_msd_case(&root, "pancreas_004.nii.gz", &second, &label2);

    // AppleDouble files from the MSD tarball: not NIfTI, must be ignored.
    for dir in ["imagesTr", "labelsTr"] {
        std::fs::write(root.join(dir).join("._pancreas_001.nii.gz"), b"Mac OS X").unwrap();
    }
    std::fs::write(
        root.join("dataset.json"),
        r#"{"name": "Pancreas", "labels": {"0": "background", "1": "pancreas", "2": "cancer"}}"#,
    )
    .unwrap();

    assert_eq!(import_msd(&root, &out).unwrap(), 2);
    let cohort = Cohort::open(&out).unwrap();
    assert_eq!(cohort.manifest.source, "msd-pancreas");
    assert_eq!(cohort.manifest.parameters["dataset_name"], "Pancreas");
    let cases = &cohort.manifest.cases;
    assert_eq!(cases.len(), 2);

    for (record, (id, source, volume, label)) in cases.iter().zip([
        ("case_001", "pancreas_001", &first, &label1),
        ("case_002", "pancreas_004", &second, &label2),
    ]) {
        assert_eq!(record.id, id);
        assert_eq!(record.source.as_deref(), Some(source));
        assert_eq!(record.dims, [6, 5, 4]);
        let merged = label.mapv(|v| u8::from(v > 0));
        let voxels = merged.iter().filter(|&&v| v != 0).count();
        let tumour = label.iter().filter(|&&v| v == 2).count();
        assert!(tumour > 0 && voxels > tumour);
        assert_eq!(record.details["tumour_voxels"], tumour);
        // The manifest spacing is the NIfTI (f32) spacing.
        assert_close(
            record.pancreas_volume_ml,
            voxels as f64 * voxel_ml(&volume.geometry),
            "pancreas volume",
        );

        let (ct_back, mask_back) = cohort.load_native_case(id).unwrap();
        assert_eq!(ct_back.data, volume.data);
        assert_eq!(mask_back.data, merged);
    }
}

#[test]
fn msd_missing_label_and_empty_input_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, out) = (
        tmp.path().join("Task07_Pancreas"),
        tmp.path().join("cohort"),
    );
    std::fs::create_dir_all(root.join("imagesTr")).unwrap();
    std::fs::create_dir_all(root.join("labelsTr")).unwrap();
    std::fs::write(root.join("imagesTr/._pancreas_001.nii.gz"), b"Mac OS X").unwrap();
    let err = import_msd(&root, &out).unwrap_err().to_string();
    assert!(err.contains("no NIfTI images"), "{err}");

    write_ct(root.join("imagesTr/pancreas_002.nii.gz"), &ct(0)).unwrap();
    let err = import_msd(&root, &out).unwrap_err().to_string();
    assert!(err.contains("pancreas_002"), "{err}");
    assert!(
        err.contains("labelsTr/pancreas_002.nii.gz not found"),
        "{err}"
    );

    let err = import_msd(&tmp.path().join("nowhere"), &out)
        .unwrap_err()
        .to_string();
    assert!(err.contains("nowhere"), "{err}");
}
