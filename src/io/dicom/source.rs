//! The source series a derived object references: patient, study, series, frame of reference and
//! every source image (with its frame number for a multi-frame Enhanced CT), in the volume's
//! slice order.
//!
//! A DICOM Segmentation and an RT Structure Set written for a mask join their source's patient
//! and study, share its frame of reference and name the images they were computed from. The
//! series reader builds this from the headers it has already read (so in-memory instances need
//! no second pass); [`SourceSeries::read`] builds it from a list of files.

use crate::error::{Error, Result};
use crate::io::dicom::encode::text;
use crate::io::dicom::instance::{read_instance, Frame, Instance, InstanceBytes};
use dicom::core::{DataElement, VR};
use dicom::dictionary_std::tags;
use dicom::object::InMemDicomObject;
use std::path::PathBuf;

/// Identifying attributes of the source series.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSeries {
    pub patient_name: String,
    pub patient_id: String,
    pub patient_birth_date: String,
    pub patient_sex: String,
    pub study_uid: String,
    pub study_date: String,
    pub study_time: String,
    pub study_id: String,
    pub accession_number: String,
    pub referring_physician_name: String,
    pub series_uid: String,
    pub frame_of_reference_uid: String,
    pub specific_character_set: String,
    /// (SOP class UID, SOP instance UID) of every slice, in the volume's slice order (the same
    /// instance repeated for the frames of a multi-frame image).
    pub instances: Vec<(String, String)>,
    /// The 1-based frame number of every slice within its instance, 0 for single-frame images;
    /// empty means all single-frame.
    pub frame_numbers: Vec<u32>,
}

impl SourceSeries {
    /// Builds the source of slices given in slice order as (instance, frame).
    pub(crate) fn of_slices(slices: &[(&Instance<'_>, &Frame)]) -> Result<SourceSeries> {
        let (first, _) = slices
            .first()
            .ok_or_else(|| Error::InvalidArgument("the source series has no images".into()))?;
        for (inst, _) in slices {
            if inst.identity.study_uid != first.identity.study_uid
                || inst.series_uid != first.series_uid
                || inst.identity.frame_of_reference_uid != first.identity.frame_of_reference_uid
            {
                return Err(Error::dicom(
                    inst.bytes.label(),
                    format!(
                        "study, series or frame of reference differ from {}",
                        first.bytes.label().display()
                    ),
                ));
            }
            if inst.sop_class.is_empty() || inst.sop_instance.is_empty() {
                return Err(Error::dicom(
                    inst.bytes.label(),
                    "no SOPClassUID or SOPInstanceUID",
                ));
            }
        }
        let id = &first.identity;
        let multi_frame = slices.iter().any(|(_, f)| f.number > 0);
        Ok(SourceSeries {
            patient_name: id.patient_name.clone(),
            patient_id: id.patient_id.clone(),
            patient_birth_date: id.patient_birth_date.clone(),
            patient_sex: id.patient_sex.clone(),
            study_uid: id.study_uid.clone(),
            study_date: id.study_date.clone(),
            study_time: id.study_time.clone(),
            study_id: id.study_id.clone(),
            accession_number: id.accession_number.clone(),
            referring_physician_name: id.referring_physician_name.clone(),
            series_uid: first.series_uid.clone(),
            frame_of_reference_uid: id.frame_of_reference_uid.clone(),
            specific_character_set: id.specific_character_set.clone(),
            instances: slices
                .iter()
                .map(|(i, _)| (i.sop_class.clone(), i.sop_instance.clone()))
                .collect(),
            frame_numbers: if multi_frame {
                slices.iter().map(|(_, f)| f.number).collect()
            } else {
                Vec::new()
            },
        })
    }

    /// Reads the identifying attributes from the series' files (headers only), given in slice order
    /// (as [`crate::io::dicom::series::DicomSeries::files`] holds them). All files must share the series,
    /// study and frame of reference, and these must be set.
    pub fn read(files: &[PathBuf]) -> Result<SourceSeries> {
        let instances = files
            .iter()
            .map(|p| {
                read_instance(InstanceBytes::File(p.clone()))?
                    .ok_or_else(|| Error::dicom(p, "a DICOMDIR, not a source image"))
            })
            .collect::<Result<Vec<_>>>()?;
        let slices: Vec<(&Instance<'_>, &Frame)> = instances
            .iter()
            .flat_map(|i| i.frames.iter().map(move |f| (i, f)))
            .collect();
        let source = SourceSeries::of_slices(&slices)?;
        source.check_referencable(&files[0])?;
        Ok(source)
    }

    /// The UIDs a derived object needs (study, series, frame of reference) are all set.
    pub fn check_referencable(&self, origin: &std::path::Path) -> Result<()> {
        for (name, value) in [
            ("StudyInstanceUID", &self.study_uid),
            ("SeriesInstanceUID", &self.series_uid),
            ("FrameOfReferenceUID", &self.frame_of_reference_uid),
        ] {
            if value.is_empty() {
                return Err(Error::dicom(
                    origin,
                    format!("no {name}: a segmentation cannot reference this series"),
                ));
            }
        }
        Ok(())
    }

    /// The elements a derived object copies from its source: the character set (when set),
    /// the Patient and General Study modules, and the frame of reference.
    pub(crate) fn identity_elements(&self) -> Vec<DataElement<InMemDicomObject>> {
        let mut e = Vec::with_capacity(13);
        if !self.specific_character_set.is_empty() {
            e.push(text(
                tags::SPECIFIC_CHARACTER_SET,
                VR::CS,
                &self.specific_character_set,
            ));
        }
        e.extend([
            text(tags::PATIENT_NAME, VR::PN, &self.patient_name),
            text(tags::PATIENT_ID, VR::LO, &self.patient_id),
            text(tags::PATIENT_BIRTH_DATE, VR::DA, &self.patient_birth_date),
            text(tags::PATIENT_SEX, VR::CS, &self.patient_sex),
            text(tags::STUDY_INSTANCE_UID, VR::UI, &self.study_uid),
            text(tags::STUDY_DATE, VR::DA, &self.study_date),
            text(tags::STUDY_TIME, VR::TM, &self.study_time),
            text(tags::STUDY_ID, VR::SH, &self.study_id),
            text(tags::ACCESSION_NUMBER, VR::SH, &self.accession_number),
            text(
                tags::REFERRING_PHYSICIAN_NAME,
                VR::PN,
                &self.referring_physician_name,
            ),
            text(
                tags::FRAME_OF_REFERENCE_UID,
                VR::UI,
                &self.frame_of_reference_uid,
            ),
        ]);
        e
    }

    /// The distinct (SOP class, SOP instance) pairs, in first-use order.
    pub fn distinct_instances(&self) -> Vec<(String, String)> {
        let mut seen = std::collections::BTreeSet::new();
        self.instances
            .iter()
            .filter(|i| seen.insert(i.1.clone()))
            .cloned()
            .collect()
    }

    /// The frame number of slice `k` within its instance (0: single-frame).
    pub fn frame_number(&self, k: usize) -> u32 {
        self.frame_numbers.get(k).copied().unwrap_or(0)
    }
}
