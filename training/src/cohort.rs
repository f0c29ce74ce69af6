//! The cohort layout every data command writes and every training command reads:
//!
//! ```text
//! DIR/cohort.json              manifest: source, parameters, one record per case
//! DIR/case_NNN/ct.nii.gz       CT in HU (int16)
//! DIR/case_NNN/label.nii.gz    pancreas mask (u8, pancreas = 1)
//! DIR/case_NNN/organs.nii.gz   optional: one label per structure (phantoms only, see phantom::labels)
//! DIR/case_NNN/dicom/          optional: the CT as an uncompressed DICOM series
//! ```

use crate::error::{Result, TrainError};
use pancseg::io::nifti::{read_nifti, write_ct, write_nifti};
use pancseg::pipeline::abdomen::{locate, slab_volume, Slab};
use pancseg::pipeline::working_grid::{working_case, DEFAULT_SPACING_MM};
use pancseg::{Mask, Volume};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File name of the manifest.
pub const MANIFEST: &str = "cohort.json";

/// One case of a cohort.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CaseRecord {
    /// Folder name, `case_NNN`.
    pub id: String,
    /// `[nx, ny, nz]`.
    pub dims: [usize; 3],
    /// mm.
    pub spacing: [f64; 3],
    /// Pancreas volume in mL from the label.
    pub pancreas_volume_ml: f64,
    /// Generator seed (phantoms) or the source identifier (imports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Free-form per-case details (phase, noise, ...).
    #[serde(default)]
    pub details: serde_json::Value,
}

/// The manifest of a cohort.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CohortManifest {
    /// What produced the cohort: `phantom`, `nih-pancreas-ct`, `msd-pancreas`.
    pub source: String,
    #[serde(default)]
    pub parameters: serde_json::Value,
    pub cases: Vec<CaseRecord>,
}

/// A cohort on disk.
#[derive(Debug, Clone)]
pub struct Cohort {
    pub dir: PathBuf,
    pub manifest: CohortManifest,
    /// The working spacing (x, y, z, mm) [`Cohort::load_case`] resamples cases to
    /// (default [`DEFAULT_SPACING_MM`]).
    pub working_spacing: [f64; 3],
}

/// Folder name of case `index` (0-based): `case_001` for index 0.
pub fn case_id(index: usize) -> String {
    format!("case_{:03}", index + 1)
}

impl Cohort {
    /// Opens `DIR/cohort.json`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| TrainError::io(&path, e))?;
        let manifest: CohortManifest =
            serde_json::from_str(&text).map_err(|source| TrainError::Json { path, source })?;
        Ok(Cohort {
            dir,
            manifest,
            working_spacing: DEFAULT_SPACING_MM,
        })
    }

    pub fn case_dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    pub fn ct_path(&self, id: &str) -> PathBuf {
        self.case_dir(id).join("ct.nii.gz")
    }

    pub fn label_path(&self, id: &str) -> PathBuf {
        self.case_dir(id).join("label.nii.gz")
    }

    pub fn organs_path(&self, id: &str) -> PathBuf {
        self.case_dir(id).join("organs.nii.gz")
    }

    /// A case as training and calibration see it: CT and pancreas mask in canonical orientation
    /// on the working grid, through the library function the pipeline uses
    /// ([`pancseg::pipeline::working_grid::working_case`]).
    pub fn load_case(&self, id: &str) -> Result<(Volume, Mask)> {
        let (wct, wmask, slab) = self.working_case_and_slab(id)?;
        // the slab the segmenter searches (lung bases, iliac crest): training sees what
        // inference sees, and a whole-trunk case costs what an abdomen-only one does
        match slab {
            Some(slab) => {
                let ct = slab_volume(&wct, &slab).into_owned();
                let data = wmask
                    .data
                    .slice(ndarray::s![slab.first..=slab.last, .., ..])
                    .to_owned();
                let geometry = ct.geometry;
                Ok((ct, pancseg::Image { data, geometry }))
            }
            None => Ok((wct, wmask)),
        }
    }

    /// Whether the segmenter searches this case at all: its working-grid CT gets a slab that can
    /// hold the pancreas (a chest-only or pelvis-only scan may get none, and then holds nothing
    /// for training to learn from that inference would meet).
    pub fn searched(&self, id: &str) -> Result<bool> {
        Ok(self.working_case_and_slab(id)?.2.is_some())
    }

    /// A case on the working grid (canonical orientation) and the slab the segmenter finds in it.
    fn working_case_and_slab(&self, id: &str) -> Result<(Volume, Mask, Option<Slab>)> {
        let (ct, mask) = self.load_native_case(id)?;
        let (wct, wmask) = working_case(&ct, &mask, self.working_spacing)?;
        let slab = locate(&wct).slab;
        Ok((wct, wmask, slab))
    }

    /// Reads a case's CT and pancreas mask as stored (every slice, native grid).
    pub fn load_native_case(&self, id: &str) -> Result<(Volume, Mask)> {
        let ct = read_nifti(self.ct_path(id))?.volume;
        let label = read_nifti(self.label_path(id))?.volume;
        if label.data.dim() != ct.data.dim() {
            return Err(TrainError::Invalid(format!(
                "{id}: label dims {:?} differ from CT dims {:?}",
                label.data.dim(),
                ct.data.dim()
            )));
        }
        let mask = pancseg::Image {
            data: label.data.mapv(|v| u8::from(v > 0.5)),
            geometry: label.geometry,
        };
        Ok((ct, mask))
    }
}

/// Pancreas volume of a mask in mL.
pub fn mask_volume_ml(mask: &Mask) -> f64 {
    let n = mask.data.iter().filter(|&&v| v != 0).count() as f64;
    n * mask.geometry.voxel_volume_mm3() / 1000.0
}

/// Writes `ct.nii.gz`, `label.nii.gz` and optionally `organs.nii.gz` of one case.
pub fn write_case(
    cohort_dir: &Path,
    id: &str,
    ct: &Volume,
    label: &Mask,
    organs: Option<&Mask>,
) -> Result<PathBuf> {
    let dir = cohort_dir.join(id);
    std::fs::create_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
    write_ct(dir.join("ct.nii.gz"), ct)?;
    write_nifti(dir.join("label.nii.gz"), label)?;
    if let Some(o) = organs {
        write_nifti(dir.join("organs.nii.gz"), o)?;
    }
    Ok(dir)
}

/// Writes `DIR/cohort.json`.
pub fn write_manifest(cohort_dir: &Path, manifest: &CohortManifest) -> Result<()> {
    let path = cohort_dir.join(MANIFEST);
    let text = serde_json::to_string_pretty(manifest).map_err(|source| TrainError::Json {
        path: path.clone(),
        source,
    })?;
    std::fs::write(&path, text + "\n").map_err(|e| TrainError::io(&path, e))
}
