//! The header of one DICOM instance, read without its pixel data, from a file or from memory.
//!
//! A classic CT Image (1.2.840.10008.5.1.4.1.1.2) is one frame whose plane position, orientation,
//! pixel spacing and rescale are top-level attributes. An Enhanced CT Image
//! (1.2.840.10008.5.1.4.1.1.2.1) is one object of many frames whose geometry and rescale sit in
//! functional groups: the Shared Functional Groups Sequence for what all frames share and the
//! Per-Frame Functional Groups Sequence for what each frame has of its own (Plane Position,
//! Plane Orientation, Pixel Measures, Pixel Value Transformation, CT Image Frame Type); a
//! per-frame macro overrides a shared one. Both come out as the same [`Frame`] list, so the
//! series reader sorts, checks and decodes them alike.
//!
//! Alongside the geometry the header keeps what the series selection needs (SOP class,
//! ImageType, ConvolutionKernel, SliceThickness, Modality) and what a Segmentation or RT
//! Structure Set written for the series must copy (patient, study, frame of reference).
//!
//! Every file or buffer is first walked by the length guard ([`crate::io::dicom::guard`]), so no
//! element is read past the end of its bytes.

use crate::error::{Error, Result};
use dicom::core::Tag;
use dicom::dictionary_std::tags;
use dicom::object::file::ReadPreamble;
use dicom::object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// CT Image Storage SOP class UID.
pub const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
/// Enhanced CT Image Storage SOP class UID (multi-frame).
pub const ENHANCED_CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2.1";
/// Media Storage Directory Storage: the DICOMDIR index of a CD or a USB export, not an image.
pub const MEDIA_STORAGE_DIRECTORY: &str = "1.2.840.10008.1.3.10";

/// Where the bytes of an instance are: a file, or a buffer the caller holds for the whole read.
#[derive(Debug, Clone)]
pub(crate) enum InstanceBytes<'a> {
    File(PathBuf),
    Memory { label: PathBuf, data: &'a [u8] },
}

impl InstanceBytes<'_> {
    /// How errors name the instance: the file's path, or "memory buffer N".
    pub(crate) fn label(&self) -> &Path {
        match self {
            InstanceBytes::File(p) => p,
            InstanceBytes::Memory { label, .. } => label,
        }
    }

    /// The whole instance (read from disk for a file, borrowed for a buffer).
    pub(crate) fn bytes(&self) -> Result<Cow<'_, [u8]>> {
        match self {
            InstanceBytes::File(p) => std::fs::read(p)
                .map(Cow::Owned)
                .map_err(|e| Error::io(p, e)),
            InstanceBytes::Memory { data, .. } => Ok(Cow::Borrowed(data)),
        }
    }
}

/// Whether bytes start like a DICOM Part 10 file (128-byte preamble, then "DICM").
pub(crate) fn has_dicm_marker(bytes: &[u8]) -> bool {
    bytes.len() >= 132 && &bytes[128..132] == b"DICM"
}

/// Parses a Part 10 instance from its bytes; `header_only` stops before the pixel data. The
/// header pass, which every instance goes through first, runs the length guard over the whole
/// instance; the pixel pass parses the bytes it has checked.
pub(crate) fn parse(bytes: &[u8], label: &Path, header_only: bool) -> Result<DefaultDicomObject> {
    if !has_dicm_marker(bytes) {
        return Err(Error::dicom(
            label,
            "not a DICOM file (no DICM marker at byte 128)",
        ));
    }
    if header_only {
        crate::io::dicom::guard::check_element_lengths(bytes, label)?;
    }
    let options = OpenFileOptions::new().read_preamble(ReadPreamble::Always);
    let options = if header_only {
        options.read_until(tags::PIXEL_DATA)
    } else {
        options
    };
    options
        .from_reader(bytes)
        .map_err(|e| Error::dicom(label, format!("cannot parse: {e}")))
}

/// Geometry and rescale of one frame.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Frame {
    /// 1-based frame number within a multi-frame object; 0 for a single-frame image.
    pub number: u32,
    pub pixel_spacing: Option<[f64; 2]>,
    pub orientation: Option<[f64; 6]>,
    pub position: Option<[f64; 3]>,
    pub slice_thickness: Option<f64>,
    pub spacing_between: Option<f64>,
    pub slope: f64,
    pub intercept: f64,
    /// FrameType of an Enhanced CT frame (ImageType for a classic image).
    pub image_type: Vec<String>,
}

/// Patient, study and frame of reference: what derived objects copy from their source.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Identity {
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
    pub frame_of_reference_uid: String,
    pub specific_character_set: String,
}

/// Header fields of one instance.
#[derive(Debug, Clone)]
pub(crate) struct Instance<'a> {
    pub bytes: InstanceBytes<'a>,
    pub sop_class: String,
    pub sop_instance: String,
    pub series_uid: String,
    pub series_number: Option<i64>,
    pub description: String,
    pub modality: String,
    pub transfer_syntax: String,
    pub image_type: Vec<String>,
    pub kernel: String,
    pub rows: u32,
    pub columns: u32,
    pub samples: u16,
    /// NumberOfFrames as written (1 when absent).
    pub declared_frames: u32,
    pub frames: Vec<Frame>,
    pub identity: Identity,
}

fn trimmed(s: &str) -> String {
    s.trim_end_matches(['\0', ' ']).trim().to_string()
}

pub(crate) fn opt_str(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    obj.element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.to_str().ok())
        .map(|s| trimmed(&s))
}

fn multi_str(obj: &InMemDicomObject, tag: Tag) -> Vec<String> {
    opt_str(obj, tag)
        .map(|s| {
            s.split('\\')
                .map(|v| v.trim().to_ascii_uppercase())
                .collect()
        })
        .unwrap_or_default()
}

fn opt_floats(
    label: &Path,
    obj: &InMemDicomObject,
    tag: Tag,
    name: &str,
) -> Result<Option<Vec<f64>>> {
    use dicom::core::header::HasLength;
    match obj.element_opt(tag) {
        Ok(Some(e)) => {
            if e.is_empty() {
                return Ok(None);
            }
            let v = e
                .to_multi_float64()
                .map_err(|err| Error::dicom(label, format!("{name} is not numeric: {err}")))?;
            if v.iter().any(|x| !x.is_finite()) {
                return Err(Error::dicom(label, format!("{name} {v:?} is not finite")));
            }
            Ok(Some(v))
        }
        _ => Ok(None),
    }
}

fn fixed<const N: usize>(
    label: &Path,
    v: Option<Vec<f64>>,
    name: &str,
) -> Result<Option<[f64; N]>> {
    match v {
        None => Ok(None),
        Some(v) => <[f64; N]>::try_from(v.as_slice()).map(Some).map_err(|_| {
            Error::dicom(label, format!("{name} has {} values, expected {N}", v.len()))
        }),
    }
}

fn first(v: Option<Vec<f64>>) -> Option<f64> {
    v.and_then(|v| v.first().copied())
}

fn read_u32(label: &Path, obj: &InMemDicomObject, tag: Tag, name: &str) -> Result<Option<u32>> {
    use dicom::core::header::HasLength;
    match obj.element_opt(tag) {
        Ok(Some(e)) if !e.is_empty() => e
            .to_int::<u32>()
            .map(Some)
            .map_err(|err| Error::dicom(label, format!("{name} is not an unsigned integer: {err}"))),
        _ => Ok(None),
    }
}

/// The first item of a sequence, if the sequence is there and has one.
fn first_item(obj: &InMemDicomObject, tag: Tag) -> Option<&InMemDicomObject> {
    obj.element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.items())
        .and_then(|items| items.first())
}

/// What the functional group macros of one frame set (None: not set at this level).
#[derive(Debug, Clone, Default)]
struct Groups {
    pixel_spacing: Option<[f64; 2]>,
    slice_thickness: Option<f64>,
    spacing_between: Option<f64>,
    orientation: Option<[f64; 6]>,
    position: Option<[f64; 3]>,
    slope: Option<f64>,
    intercept: Option<f64>,
    frame_type: Option<Vec<String>>,
}

impl Groups {
    /// Reads the macros of one functional groups item (shared or per frame).
    fn read(label: &Path, item: &InMemDicomObject) -> Result<Groups> {
        let mut g = Groups::default();
        if let Some(m) = first_item(item, tags::PIXEL_MEASURES_SEQUENCE) {
            g.pixel_spacing = fixed::<2>(
                label,
                opt_floats(label, m, tags::PIXEL_SPACING, "PixelSpacing")?,
                "PixelSpacing",
            )?;
            g.slice_thickness = first(opt_floats(
                label,
                m,
                tags::SLICE_THICKNESS,
                "SliceThickness",
            )?);
            g.spacing_between = first(opt_floats(
                label,
                m,
                tags::SPACING_BETWEEN_SLICES,
                "SpacingBetweenSlices",
            )?);
        }
        if let Some(o) = first_item(item, tags::PLANE_ORIENTATION_SEQUENCE) {
            g.orientation = fixed::<6>(
                label,
                opt_floats(
                    label,
                    o,
                    tags::IMAGE_ORIENTATION_PATIENT,
                    "ImageOrientationPatient",
                )?,
                "ImageOrientationPatient",
            )?;
        }
        if let Some(p) = first_item(item, tags::PLANE_POSITION_SEQUENCE) {
            g.position = fixed::<3>(
                label,
                opt_floats(
                    label,
                    p,
                    tags::IMAGE_POSITION_PATIENT,
                    "ImagePositionPatient",
                )?,
                "ImagePositionPatient",
            )?;
        }
        if let Some(t) = first_item(item, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE) {
            g.slope = first(opt_floats(label, t, tags::RESCALE_SLOPE, "RescaleSlope")?);
            g.intercept = first(opt_floats(
                label,
                t,
                tags::RESCALE_INTERCEPT,
                "RescaleIntercept",
            )?);
        }
        if let Some(t) = first_item(item, tags::CT_IMAGE_FRAME_TYPE_SEQUENCE) {
            let v = multi_str(t, tags::FRAME_TYPE);
            if !v.is_empty() {
                g.frame_type = Some(v);
            }
        }
        Ok(g)
    }

    /// This level's values where set, else `shared`'s.
    fn over(self, shared: &Groups) -> Groups {
        Groups {
            pixel_spacing: self.pixel_spacing.or(shared.pixel_spacing),
            slice_thickness: self.slice_thickness.or(shared.slice_thickness),
            spacing_between: self.spacing_between.or(shared.spacing_between),
            orientation: self.orientation.or(shared.orientation),
            position: self.position.or(shared.position),
            slope: self.slope.or(shared.slope),
            intercept: self.intercept.or(shared.intercept),
            frame_type: self.frame_type.or_else(|| shared.frame_type.clone()),
        }
    }
}

fn check_slope(label: &Path, slope: f64) -> Result<f64> {
    if slope == 0.0 {
        return Err(Error::dicom(label, "RescaleSlope is 0"));
    }
    Ok(slope)
}

/// The frames of an Enhanced CT object from its functional groups.
fn enhanced_frames(label: &Path, obj: &InMemDicomObject, declared: u32) -> Result<Vec<Frame>> {
    let shared = match first_item(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE) {
        Some(item) => Groups::read(label, item)?,
        None => Groups::default(),
    };
    let per_frame = obj
        .element_opt(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .ok()
        .flatten()
        .and_then(|e| e.items())
        .ok_or_else(|| {
            Error::dicom(
                label,
                "Enhanced CT image without a Per-Frame Functional Groups Sequence",
            )
        })?;
    if per_frame.len() != declared as usize {
        return Err(Error::dicom(
            label,
            format!(
                "NumberOfFrames is {declared} but the Per-Frame Functional Groups Sequence has {} items",
                per_frame.len()
            ),
        ));
    }
    per_frame
        .iter()
        .enumerate()
        .map(|(k, item)| {
            let g = Groups::read(label, item)?.over(&shared);
            Ok(Frame {
                number: k as u32 + 1,
                pixel_spacing: g.pixel_spacing,
                orientation: g.orientation,
                position: g.position,
                slice_thickness: g.slice_thickness,
                spacing_between: g.spacing_between,
                slope: check_slope(label, g.slope.unwrap_or(1.0))?,
                intercept: g.intercept.unwrap_or(0.0),
                image_type: g.frame_type.unwrap_or_default(),
            })
        })
        .collect()
}

/// The convolution kernel, top level or (Enhanced CT) in the CT Reconstruction macro.
fn kernel(obj: &InMemDicomObject) -> String {
    if let Some(k) = opt_str(obj, tags::CONVOLUTION_KERNEL) {
        return k;
    }
    first_item(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE)
        .and_then(|s| first_item(s, tags::CT_RECONSTRUCTION_SEQUENCE))
        .and_then(|r| opt_str(r, tags::CONVOLUTION_KERNEL))
        .unwrap_or_default()
}

fn identity(obj: &InMemDicomObject) -> Identity {
    let s = |tag| opt_str(obj, tag).unwrap_or_default();
    Identity {
        patient_name: s(tags::PATIENT_NAME),
        patient_id: s(tags::PATIENT_ID),
        patient_birth_date: s(tags::PATIENT_BIRTH_DATE),
        patient_sex: s(tags::PATIENT_SEX),
        study_uid: s(tags::STUDY_INSTANCE_UID),
        study_date: s(tags::STUDY_DATE),
        study_time: s(tags::STUDY_TIME),
        study_id: s(tags::STUDY_ID),
        accession_number: s(tags::ACCESSION_NUMBER),
        referring_physician_name: s(tags::REFERRING_PHYSICIAN_NAME),
        frame_of_reference_uid: s(tags::FRAME_OF_REFERENCE_UID),
        specific_character_set: s(tags::SPECIFIC_CHARACTER_SET),
    }
}

/// Reads the header of one instance (pixel data is not parsed); `None` for a DICOMDIR, which
/// indexes a medium's files and belongs to no series.
pub(crate) fn read_instance(bytes: InstanceBytes<'_>) -> Result<Option<Instance<'_>>> {
    let raw = bytes.bytes()?;
    let label = bytes.label().to_path_buf();
    let label = label.as_path();
    let obj = parse(&raw, label, true)?;
    let meta = obj.meta();
    // anonymised files may leave the dataset's UIDs empty; the file meta has them too
    let or_meta = |v: Option<String>, m: &str| {
        v.filter(|v| !v.is_empty())
            .unwrap_or_else(|| trimmed(m))
    };
    let sop_class = or_meta(
        opt_str(&obj, tags::SOP_CLASS_UID),
        meta.media_storage_sop_class_uid(),
    );
    let sop_instance = or_meta(
        opt_str(&obj, tags::SOP_INSTANCE_UID),
        meta.media_storage_sop_instance_uid(),
    );
    if sop_class == MEDIA_STORAGE_DIRECTORY {
        return Ok(None);
    }
    let transfer_syntax = trimmed(meta.transfer_syntax());
    // an anonymiser may empty it (the instances then form one series with an empty UID)
    let series_uid = opt_str(&obj, tags::SERIES_INSTANCE_UID)
        .ok_or_else(|| Error::dicom(label, "no SeriesInstanceUID"))?;
    let declared_frames = read_u32(label, &obj, tags::NUMBER_OF_FRAMES, "NumberOfFrames")?
        .unwrap_or(1);
    let image_type = multi_str(&obj, tags::IMAGE_TYPE);
    let frames = if sop_class == ENHANCED_CT_IMAGE_STORAGE {
        enhanced_frames(label, &obj, declared_frames)?
    } else {
        let floats = |tag, name| opt_floats(label, &obj, tag, name);
        vec![Frame {
            number: 0,
            pixel_spacing: fixed::<2>(
                label,
                floats(tags::PIXEL_SPACING, "PixelSpacing")?,
                "PixelSpacing",
            )?,
            orientation: fixed::<6>(
                label,
                floats(tags::IMAGE_ORIENTATION_PATIENT, "ImageOrientationPatient")?,
                "ImageOrientationPatient",
            )?,
            position: fixed::<3>(
                label,
                floats(tags::IMAGE_POSITION_PATIENT, "ImagePositionPatient")?,
                "ImagePositionPatient",
            )?,
            slice_thickness: first(floats(tags::SLICE_THICKNESS, "SliceThickness")?),
            spacing_between: first(floats(tags::SPACING_BETWEEN_SLICES, "SpacingBetweenSlices")?),
            slope: check_slope(
                label,
                first(floats(tags::RESCALE_SLOPE, "RescaleSlope")?).unwrap_or(1.0),
            )?,
            intercept: first(floats(tags::RESCALE_INTERCEPT, "RescaleIntercept")?).unwrap_or(0.0),
            image_type: image_type.clone(),
        }]
    };
    let series_number = opt_str(&obj, tags::SERIES_NUMBER).and_then(|s| s.parse::<i64>().ok());
    let instance = Instance {
        sop_class,
        sop_instance,
        series_uid,
        series_number,
        description: opt_str(&obj, tags::SERIES_DESCRIPTION).unwrap_or_default(),
        modality: opt_str(&obj, tags::MODALITY).unwrap_or_default(),
        transfer_syntax,
        image_type,
        kernel: kernel(&obj),
        rows: read_u32(label, &obj, tags::ROWS, "Rows")?.unwrap_or(0),
        columns: read_u32(label, &obj, tags::COLUMNS, "Columns")?.unwrap_or(0),
        samples: read_u32(label, &obj, tags::SAMPLES_PER_PIXEL, "SamplesPerPixel")?.unwrap_or(1)
            as u16,
        declared_frames,
        frames,
        identity: identity(&obj),
        bytes: InstanceBytes::File(PathBuf::new()),
    };
    drop(raw);
    Ok(Some(Instance { bytes, ..instance }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_or_unmarked_bytes_are_not_dicom() {
        assert!(!has_dicm_marker(b"DICM"));
        let mut b = vec![0u8; 132];
        assert!(!has_dicm_marker(&b));
        b[128..132].copy_from_slice(b"DICM");
        assert!(has_dicm_marker(&b));
        let e = parse(&b[..100], Path::new("memory buffer 0"), true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("memory buffer 0") && e.contains("no DICM marker"), "{e}");
        // a marker and nothing after it: the parser's error, naming the buffer
        let e = parse(&b, Path::new("memory buffer 1"), true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("memory buffer 1"), "{e}");
    }
}
