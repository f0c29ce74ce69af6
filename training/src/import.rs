//! Importers of public pancreas datasets into the cohort layout of [`crate::cohort`].
//!
//! **NIH Pancreas-CT** (TCIA, Roth et al. 2015; [`import_nih`], source `nih-pancreas-ct`): the
//! images are one DICOM series per patient, the labels one NIfTI file per patient, in two
//! separate downloads:
//!
//! ```text
//! IMAGES/PANCREAS_0001/<study>/<series>/1-001.dcm ...   any depth below PANCREAS_NNNN
//! IMAGES/PANCREAS_0002/...
//! LABELS/label0001.nii.gz                               pancreas = 1 (any value > 0)
//! LABELS/label0002.nii.gz
//! ```
//!
//! Entries of IMAGES that are not `PANCREAS_` followed by digits (`LICENSE`, `metadata.csv`...)
//! are ignored. The label files store the same voxel grid as the CT but not in the same array
//! order (their rows run the other way), so each label is re-indexed onto the CT grid with
//! [`crate::align::align_to_grid`], which permutes and flips axes exactly and refuses, with the
//! case and the cause, a label that does not lie on the CT's voxel centres: nothing is
//! resampled.
//!
//! **Medical Segmentation Decathlon Task07 Pancreas** ([`import_msd`], source `msd-pancreas`):
//!
//! ```text
//! ROOT/dataset.json                 optional; its "name" is recorded in the manifest
//! ROOT/imagesTr/pancreas_001.nii.gz CT in HU
//! ROOT/labelsTr/pancreas_001.nii.gz 0 background, 1 pancreas, 2 tumour
//! ROOT/imagesTs/...                 ignored (no labels)
//! ```
//!
//! The tumour is part of the pancreas for segmentation, so every label value > 0 becomes 1 (the
//! tumour voxel count is kept in the case's details). Files whose name starts with `.`, notably
//! the `._pancreas_001.nii.gz` AppleDouble files found in the MSD tarball, are ignored.
//!
//! Both importers write cases `case_001`, `case_002`, ... in the sorted order of the source
//! identifiers (`PANCREAS_0001`, `pancreas_001`), each record naming its source identifier, and
//! write `cohort.json` last: an import that fails part-way leaves no manifest. The output folder
//! must not already hold a cohort.

use crate::align::align_to_grid;
use crate::cohort::{
    case_id, mask_volume_ml, write_case, write_manifest, CaseRecord, CohortManifest, MANIFEST,
};
use crate::error::{Result, TrainError};
use pancseg::io::dicom::series::{read_dicom_dir, DicomReadOptions};
use pancseg::io::nifti::read_nifti;
use pancseg::{Image, Mask, Volume};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Manifest source of an NIH Pancreas-CT import.
pub const NIH_SOURCE: &str = "nih-pancreas-ct";
/// Manifest source of an MSD Task07 import.
pub const MSD_SOURCE: &str = "msd-pancreas";

/// One entry of a directory listing.
struct Entry {
    name: String,
    path: PathBuf,
    is_dir: bool,
}

/// Entries of `dir` sorted by name; names that are not UTF-8 are skipped.
fn list_dir(dir: &Path) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| TrainError::io(dir, e))? {
        let entry = entry.map_err(|e| TrainError::io(dir, e))?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        // Follows symbolic links, as datasets are often linked from shared storage.
        let meta = std::fs::metadata(&path).map_err(|e| TrainError::io(&path, e))?;
        out.push(Entry {
            name,
            path,
            is_dir: meta.is_dir(),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn require_dir(dir: &Path, what: &str) -> Result<()> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(TrainError::Invalid(format!(
            "{}: not a directory (expected {what})",
            dir.display()
        ))),
        Err(e) => Err(TrainError::io(dir, e)),
    }
}

/// Creates the output folder; refuses one that already holds a cohort.
fn prepare_out(out: &Path) -> Result<()> {
    let manifest = out.join(MANIFEST);
    if manifest.exists() {
        return Err(TrainError::Invalid(format!(
            "{}: the output folder already holds a cohort; choose an empty folder",
            manifest.display()
        )));
    }
    std::fs::create_dir_all(out).map_err(|e| TrainError::io(out, e))
}

/// Re-indexes a label onto the CT grid and binarises it (value > 0 is pancreas).
fn label_on_ct_grid(case: &str, label_path: &Path, label: &Volume, ct: &Volume) -> Result<Mask> {
    let data = align_to_grid(label, &ct.geometry, ct.data.dim()).map_err(|e| {
        TrainError::Invalid(format!(
            "{case}: label {} does not lie on the CT voxel grid: {e}",
            label_path.display()
        ))
    })?;
    Ok(Image {
        data: data.mapv(|v| u8::from(v > 0.0)),
        geometry: ct.geometry,
    })
}

/// Writes one case and returns its manifest record.
fn finish_case(
    out: &Path,
    index: usize,
    source_id: &str,
    ct: &Volume,
    mask: &Mask,
    details: serde_json::Value,
) -> Result<CaseRecord> {
    let id = case_id(index);
    write_case(out, &id, ct, mask, None)
        .map_err(|e| TrainError::Invalid(format!("{source_id}: cannot write {id}: {e}")))?;
    Ok(CaseRecord {
        id,
        dims: ct.dims_xyz(),
        spacing: ct.geometry.spacing,
        pancreas_volume_ml: mask_volume_ml(mask),
        seed: None,
        source: Some(source_id.to_string()),
        details,
    })
}

/// The digits of a `PANCREAS_NNNN` folder name, or `None` for any other name.
fn nih_case_number(name: &str) -> Option<&str> {
    let digits = name.strip_prefix("PANCREAS_")?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// Imports NIH Pancreas-CT (see the module documentation for the layout) into the cohort
/// folder `out`; returns the number of cases.
pub fn import_nih(images: &Path, labels: &Path, out: &Path) -> Result<usize> {
    require_dir(
        images,
        "the folder holding PANCREAS_0001, PANCREAS_0002, ...",
    )?;
    require_dir(
        labels,
        "the folder holding label0001.nii.gz, label0002.nii.gz, ...",
    )?;
    let cases: Vec<(Entry, PathBuf)> = list_dir(images)?
        .into_iter()
        .filter(|e| e.is_dir)
        .filter_map(|e| {
            let number = nih_case_number(&e.name)?;
            let label = labels.join(format!("label{number}.nii.gz"));
            Some((e, label))
        })
        .collect();
    if cases.is_empty() {
        return Err(TrainError::Invalid(format!(
            "{}: no PANCREAS_NNNN case folders found (pass the folder that holds PANCREAS_0001, \
             PANCREAS_0002, ...)",
            images.display()
        )));
    }
    // Every label must exist before anything is written.
    for (case, label) in &cases {
        if !label.is_file() {
            return Err(TrainError::Invalid(format!(
                "{}: label file {} not found",
                case.name,
                label.display()
            )));
        }
    }
    prepare_out(out)?;

    let mut records = Vec::with_capacity(cases.len());
    for (index, (case, label_path)) in cases.iter().enumerate() {
        let name = &case.name;
        let series = read_dicom_dir(&case.path, &DicomReadOptions::default())
            .map_err(|e| TrainError::Invalid(format!("{name}: cannot read the CT series: {e}")))?;
        let label = read_nifti(label_path)
            .map_err(|e| TrainError::Invalid(format!("{name}: cannot read the label: {e}")))?;
        let ct = series.volume;
        let mask = label_on_ct_grid(name, label_path, &label.volume, &ct)?;
        let details = json!({
            "series_uid": series.info.series_uid,
            "series_description": series.info.description,
            "slices": series.files.len(),
            "label_orientation": label.volume.geometry.orientation_code(),
        });
        records.push(finish_case(out, index, name, &ct, &mask, details)?);
    }
    write_manifest(
        out,
        &CohortManifest {
            source: NIH_SOURCE.into(),
            parameters: json!({
                "images": images.display().to_string(),
                "labels": labels.display().to_string(),
            }),
            cases: records,
        },
    )?;
    Ok(cases.len())
}

/// Whether `name` is a NIfTI file of an MSD folder (hidden and AppleDouble `._` files are not).
fn is_msd_nifti(name: &str) -> bool {
    !name.starts_with('.') && (name.ends_with(".nii.gz") || name.ends_with(".nii"))
}

/// Name without the `.nii.gz` / `.nii` extension.
fn nifti_stem(name: &str) -> &str {
    name.strip_suffix(".nii.gz")
        .or_else(|| name.strip_suffix(".nii"))
        .unwrap_or(name)
}

/// `name` of `ROOT/dataset.json` when the file exists.
fn msd_dataset_name(root: &Path) -> Result<Option<String>> {
    let path = root.join("dataset.json");
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| TrainError::io(&path, e))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| TrainError::Json { path, source })?;
    Ok(value
        .get("name")
        .and_then(|v| v.as_str())
        .map(str::to_string))
}

/// Imports MSD Task07 Pancreas (see the module documentation for the layout) into the cohort
/// folder `out`; returns the number of cases.
pub fn import_msd(root: &Path, out: &Path) -> Result<usize> {
    require_dir(root, "the Task07_Pancreas folder")?;
    let images_dir = root.join("imagesTr");
    let labels_dir = root.join("labelsTr");
    require_dir(&images_dir, "the MSD training images folder imagesTr")?;
    require_dir(&labels_dir, "the MSD training labels folder labelsTr")?;
    let dataset_name = msd_dataset_name(root)?;
    let cases: Vec<(Entry, PathBuf)> = list_dir(&images_dir)?
        .into_iter()
        .filter(|e| !e.is_dir && is_msd_nifti(&e.name))
        .map(|e| {
            let label = labels_dir.join(&e.name);
            (e, label)
        })
        .collect();
    if cases.is_empty() {
        return Err(TrainError::Invalid(format!(
            "{}: no NIfTI images (pancreas_NNN.nii.gz) found",
            images_dir.display()
        )));
    }
    for (image, label) in &cases {
        if !label.is_file() {
            return Err(TrainError::Invalid(format!(
                "{}: label file {} not found",
                nifti_stem(&image.name),
                label.display()
            )));
        }
    }
    prepare_out(out)?;

    let mut records = Vec::with_capacity(cases.len());
    for (index, (image, label_path)) in cases.iter().enumerate() {
        let name = nifti_stem(&image.name);
        let ct = read_nifti(&image.path)
            .map_err(|e| TrainError::Invalid(format!("{name}: cannot read the CT: {e}")))?
            .volume;
        let label = read_nifti(label_path)
            .map_err(|e| TrainError::Invalid(format!("{name}: cannot read the label: {e}")))?
            .volume;
        let mask = label_on_ct_grid(name, label_path, &label, &ct)?;
        let tumour_voxels = label.data.iter().filter(|&&v| v > 1.5).count();
        let details = json!({
            "image": format!("imagesTr/{}", image.name),
            "tumour_voxels": tumour_voxels,
        });
        records.push(finish_case(out, index, name, &ct, &mask, details)?);
    }
    write_manifest(
        out,
        &CohortManifest {
            source: MSD_SOURCE.into(),
            parameters: json!({
                "root": root.display().to_string(),
                "dataset_name": dataset_name,
                "labels": "0 background, 1 pancreas, 2 tumour; tumour merged into pancreas",
            }),
            cases: records,
        },
    )?;
    Ok(cases.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nih_case_folder_names() {
        assert_eq!(nih_case_number("PANCREAS_0001"), Some("0001"));
        assert_eq!(nih_case_number("PANCREAS_"), None);
        assert_eq!(nih_case_number("PANCREAS_0001.zip"), None);
        assert_eq!(nih_case_number("LICENSE"), None);
    }

    #[test]
    fn msd_file_names() {
        assert!(is_msd_nifti("pancreas_001.nii.gz"));
        assert!(!is_msd_nifti("._pancreas_001.nii.gz"));
        assert!(!is_msd_nifti("dataset.json"));
        assert_eq!(nifti_stem("pancreas_001.nii.gz"), "pancreas_001");
    }
}
