//! DICOM Segmentation output (and read-back): a BINARY Segmentation object
//! (SOP class 1.2.840.10008.5.1.4.1.1.66.4) for a mask computed on a CT series.
//!
//! PACS and viewers take segmentations in this form. The object references its source series the
//! way the standard asks: it joins the source's patient, study and frame of reference, lists every
//! source instance (Common Instance Reference), and each frame carries its derivation (the source
//! slice it was computed from), its plane position and its segment. One segment, "Pancreas", coded
//! in SNOMED CT (category 91723000 "Anatomical Structure", type 15776009 "Pancreas"), algorithm type
//! AUTOMATIC with the algorithm's name and version.
//!
//! Frames are the slices that hold at least one mask voxel (all slices when the mask is empty, so the
//! object is never frameless), in slice order; pixels are packed one bit per pixel across frames,
//! least significant bit first, as the Segmentation IOD requires for BINARY.
//!
//! Written here rather than with a crate because no maintained Rust crate writes Segmentation
//! objects; the encoding itself is dicom-rs. [`read_dicom_seg`] is the project's own reader, used by
//! the tests; the independent check is `tests/scripts/validate_dicom_seg.py` (pydicom + highdicom).

use crate::error::{Error, Result};
pub use crate::io::dicom::encode::new_uid;
use crate::io::dicom::encode::{
    code, ds, image_orientation, item, multi_ds, now_utc, seq, text, us, EXPLICIT_VR_LE,
};
pub use crate::io::dicom::source::SourceSeries;
use crate::volume::{cross, dot, Geometry, Mask};
use dicom::core::{DataElement, PrimitiveValue, Tag, VR};
use dicom::dictionary_std::tags;
use dicom::object::{FileMetaTableBuilder, InMemDicomObject};
use ndarray::{Array3, Axis};
use std::path::Path;

/// Segmentation Storage SOP class UID.
pub const SEGMENTATION_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.66.4";
/// Largest distance (mm) between a frame's plane and a slice of the grid for them to match.
pub const POSITION_TOLERANCE_MM: f64 = 0.01;

fn header_str(obj: &InMemDicomObject, tag: Tag) -> String {
    obj.get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).trim().to_string())
        .unwrap_or_default()
}

/// How the Segmentation object is written.
#[derive(Debug, Clone)]
pub struct SegWriteOptions {
    pub series_description: String,
    pub series_number: u32,
    /// SeriesInstanceUID and SOPInstanceUID; fresh "2.25." UUID-derived UIDs when `None`.
    pub series_uid: Option<String>,
    pub sop_instance_uid: Option<String>,
    /// ContentDate (YYYYMMDD) and ContentTime (HHMMSS); the current UTC time when `None`.
    pub content_date_time: Option<(String, String)>,
    /// AlgorithmVersion: the library version and, when known, the model bundle.
    pub algorithm_version: String,
    /// AlgorithmParameters, e.g. the method and its operating point.
    pub algorithm_parameters: String,
}

impl Default for SegWriteOptions {
    fn default() -> Self {
        SegWriteOptions {
            series_description: "pancseg pancreas segmentation".into(),
            series_number: 901,
            series_uid: None,
            sop_instance_uid: None,
            content_date_time: None,
            algorithm_version: env!("CARGO_PKG_VERSION").into(),
            algorithm_parameters: String::new(),
        }
    }
}

/// What was written.
#[derive(Debug, Clone, PartialEq)]
pub struct SegWriteSummary {
    pub sop_instance_uid: String,
    pub series_uid: String,
    pub frames: usize,
}

/// A Source Image Sequence item: the image (and its frame, for a multi-frame source) a frame
/// was computed from.
fn source_image_item(
    class: &str,
    inst: &str,
    frame: u32,
    purpose: InMemDicomObject,
) -> InMemDicomObject {
    let mut elements = vec![
        text(tags::REFERENCED_SOP_CLASS_UID, VR::UI, class),
        text(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, inst),
    ];
    if frame > 0 {
        elements.push(text(
            tags::REFERENCED_FRAME_NUMBER,
            VR::IS,
            &frame.to_string(),
        ));
    }
    elements.push(seq(tags::PURPOSE_OF_REFERENCE_CODE_SEQUENCE, vec![purpose]));
    item(elements)
}

/// Writes `mask` (on the grid of the source series, slice k computed from `source.instances[k]`)
/// as a BINARY DICOM Segmentation to `path`.
pub fn write_dicom_seg(
    mask: &Mask,
    source: &SourceSeries,
    path: &Path,
    opts: &SegWriteOptions,
) -> Result<SegWriteSummary> {
    let g = &mask.geometry;
    g.validate()?;
    source.check_referencable(path)?;
    let (nz, ny, nx) = mask.data.dim();
    if nz != source.instances.len() {
        return Err(Error::InvalidArgument(format!(
            "the mask has {nz} slices but the source series {} has {} instances",
            source.series_uid,
            source.instances.len()
        )));
    }
    let (rows, cols) = (
        u16::try_from(ny)
            .map_err(|_| Error::InvalidArgument(format!("{ny} rows exceed DICOM's 65535")))?,
        u16::try_from(nx)
            .map_err(|_| Error::InvalidArgument(format!("{nx} columns exceed DICOM's 65535")))?,
    );
    let mut frames: Vec<usize> = (0..nz)
        .filter(|&k| mask.data.index_axis(Axis(0), k).iter().any(|&v| v != 0))
        .collect();
    if frames.is_empty() {
        frames = (0..nz).collect();
    }
    let series_uid = opts.series_uid.clone().unwrap_or_else(new_uid);
    let sop_uid = opts.sop_instance_uid.clone().unwrap_or_else(new_uid);
    let dim_org_uid = format!("{sop_uid}.1");
    let (date, time) = opts.content_date_time.clone().unwrap_or_else(now_utc);

    let mut obj = InMemDicomObject::new_empty();
    let mut put = |e: DataElement<InMemDicomObject>| {
        obj.put(e);
    };
    // SOP Common; Patient, General Study and Frame of Reference from the source
    put(text(tags::SOP_CLASS_UID, VR::UI, SEGMENTATION_STORAGE));
    put(text(tags::SOP_INSTANCE_UID, VR::UI, &sop_uid));
    for e in source.identity_elements() {
        put(e);
    }
    // General Series, Segmentation Series
    put(text(tags::MODALITY, VR::CS, "SEG"));
    put(text(tags::SERIES_INSTANCE_UID, VR::UI, &series_uid));
    put(text(
        tags::SERIES_NUMBER,
        VR::IS,
        &opts.series_number.to_string(),
    ));
    put(text(
        tags::SERIES_DESCRIPTION,
        VR::LO,
        &opts.series_description,
    ));
    put(text(tags::SERIES_DATE, VR::DA, &date));
    put(text(tags::SERIES_TIME, VR::TM, &time));
    // Frame of Reference (its UID is the source's)
    put(text(tags::POSITION_REFERENCE_INDICATOR, VR::LO, ""));
    // General and Enhanced General Equipment
    put(text(tags::MANUFACTURER, VR::LO, "pancseg"));
    put(text(tags::MANUFACTURER_MODEL_NAME, VR::LO, "pancseg"));
    put(text(tags::DEVICE_SERIAL_NUMBER, VR::LO, "0"));
    put(text(
        tags::SOFTWARE_VERSIONS,
        VR::LO,
        env!("CARGO_PKG_VERSION"),
    ));
    // General Image, Segmentation Image, Multi-frame Functional Groups
    put(text(tags::INSTANCE_NUMBER, VR::IS, "1"));
    put(text(tags::CONTENT_DATE, VR::DA, &date));
    put(text(tags::CONTENT_TIME, VR::TM, &time));
    put(text(tags::IMAGE_TYPE, VR::CS, "DERIVED\\PRIMARY"));
    put(text(tags::CONTENT_LABEL, VR::CS, "PANCREAS"));
    put(text(
        tags::CONTENT_DESCRIPTION,
        VR::LO,
        "Automatic pancreas segmentation",
    ));
    put(text(tags::CONTENT_CREATOR_NAME, VR::PN, ""));
    put(text(tags::SEGMENTATION_TYPE, VR::CS, "BINARY"));
    put(text(tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00"));
    put(text(
        tags::NUMBER_OF_FRAMES,
        VR::IS,
        &frames.len().to_string(),
    ));
    // Image Pixel
    put(us(tags::SAMPLES_PER_PIXEL, 1));
    put(text(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2",
    ));
    put(us(tags::ROWS, rows));
    put(us(tags::COLUMNS, cols));
    put(us(tags::BITS_ALLOCATED, 1));
    put(us(tags::BITS_STORED, 1));
    put(us(tags::HIGH_BIT, 0));
    put(us(tags::PIXEL_REPRESENTATION, 0));
    // Common Instance Reference: every source instance
    put(seq(
        tags::REFERENCED_SERIES_SEQUENCE,
        vec![item(vec![
            text(tags::SERIES_INSTANCE_UID, VR::UI, &source.series_uid),
            seq(
                tags::REFERENCED_INSTANCE_SEQUENCE,
                source
                    .distinct_instances()
                    .iter()
                    .map(|(class, inst)| {
                        item(vec![
                            text(tags::REFERENCED_SOP_CLASS_UID, VR::UI, class),
                            text(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, inst),
                        ])
                    })
                    .collect(),
            ),
        ])],
    ));
    // Segment description
    put(seq(
        tags::SEGMENT_SEQUENCE,
        vec![item(vec![
            seq(
                tags::SEGMENTED_PROPERTY_CATEGORY_CODE_SEQUENCE,
                vec![code("91723000", "SCT", "Anatomical Structure")],
            ),
            us(tags::SEGMENT_NUMBER, 1),
            text(tags::SEGMENT_LABEL, VR::LO, "Pancreas"),
            text(tags::SEGMENT_ALGORITHM_TYPE, VR::CS, "AUTOMATIC"),
            text(tags::SEGMENT_ALGORITHM_NAME, VR::LO, "pancseg"),
            seq(
                tags::SEGMENTATION_ALGORITHM_IDENTIFICATION_SEQUENCE,
                vec![item(vec![
                    seq(
                        tags::ALGORITHM_FAMILY_CODE_SEQUENCE,
                        vec![code("123110", "DCM", "Artificial Intelligence")],
                    ),
                    text(tags::ALGORITHM_VERSION, VR::LO, &opts.algorithm_version),
                    text(
                        tags::ALGORITHM_PARAMETERS,
                        VR::LT,
                        &opts.algorithm_parameters,
                    ),
                    text(tags::ALGORITHM_NAME, VR::LO, "pancseg"),
                ])],
            ),
            seq(
                tags::SEGMENTED_PROPERTY_TYPE_CODE_SEQUENCE,
                vec![code("15776009", "SCT", "Pancreas")],
            ),
        ])],
    ));
    // Multi-frame Dimension: segment number, then plane position
    put(seq(
        tags::DIMENSION_ORGANIZATION_SEQUENCE,
        vec![item(vec![text(
            tags::DIMENSION_ORGANIZATION_UID,
            VR::UI,
            &dim_org_uid,
        )])],
    ));
    put(text(tags::DIMENSION_ORGANIZATION_TYPE, VR::CS, "3D"));
    let dim_index = |pointer: Tag, group: Tag, label: &str| {
        item(vec![
            text(tags::DIMENSION_ORGANIZATION_UID, VR::UI, &dim_org_uid),
            DataElement::new(
                tags::DIMENSION_INDEX_POINTER,
                VR::AT,
                PrimitiveValue::Tags(vec![pointer].into()),
            ),
            DataElement::new(
                tags::FUNCTIONAL_GROUP_POINTER,
                VR::AT,
                PrimitiveValue::Tags(vec![group].into()),
            ),
            text(tags::DIMENSION_DESCRIPTION_LABEL, VR::LO, label),
        ])
    };
    put(seq(
        tags::DIMENSION_INDEX_SEQUENCE,
        vec![
            dim_index(
                tags::REFERENCED_SEGMENT_NUMBER,
                tags::SEGMENT_IDENTIFICATION_SEQUENCE,
                "ReferencedSegmentNumber",
            ),
            dim_index(
                tags::IMAGE_POSITION_PATIENT,
                tags::PLANE_POSITION_SEQUENCE,
                "ImagePositionPatient",
            ),
        ],
    ));
    // Shared functional groups: orientation and pixel measures
    put(seq(
        tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
        vec![item(vec![
            seq(
                tags::PLANE_ORIENTATION_SEQUENCE,
                vec![item(vec![text(
                    tags::IMAGE_ORIENTATION_PATIENT,
                    VR::DS,
                    &multi_ds(&image_orientation(g)),
                )])],
            ),
            seq(
                tags::PIXEL_MEASURES_SEQUENCE,
                vec![item(vec![
                    text(tags::SLICE_THICKNESS, VR::DS, &ds(g.spacing[2])),
                    text(tags::SPACING_BETWEEN_SLICES, VR::DS, &ds(g.spacing[2])),
                    text(
                        tags::PIXEL_SPACING,
                        VR::DS,
                        &multi_ds(&[g.spacing[1], g.spacing[0]]),
                    ),
                ])],
            ),
        ])],
    ));
    // Per-frame functional groups
    let purpose = code(
        "121322",
        "DCM",
        "Source image for image processing operation",
    );
    let derivation = code("113076", "DCM", "Segmentation");
    let per_frame = frames
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            let (class, inst) = &source.instances[k];
            let position = g.index_to_lps([0.0, 0.0, k as f64]);
            item(vec![
                seq(
                    tags::DERIVATION_IMAGE_SEQUENCE,
                    vec![item(vec![
                        seq(
                            tags::SOURCE_IMAGE_SEQUENCE,
                            vec![source_image_item(
                                class,
                                inst,
                                source.frame_number(k),
                                purpose.clone(),
                            )],
                        ),
                        seq(tags::DERIVATION_CODE_SEQUENCE, vec![derivation.clone()]),
                    ])],
                ),
                seq(
                    tags::FRAME_CONTENT_SEQUENCE,
                    vec![item(vec![DataElement::new(
                        tags::DIMENSION_INDEX_VALUES,
                        VR::UL,
                        PrimitiveValue::U32(vec![1, i as u32 + 1].into()),
                    )])],
                ),
                seq(
                    tags::PLANE_POSITION_SEQUENCE,
                    vec![item(vec![text(
                        tags::IMAGE_POSITION_PATIENT,
                        VR::DS,
                        &multi_ds(&position),
                    )])],
                ),
                seq(
                    tags::SEGMENT_IDENTIFICATION_SEQUENCE,
                    vec![item(vec![us(tags::REFERENCED_SEGMENT_NUMBER, 1)])],
                ),
            ])
        })
        .collect();
    put(seq(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, per_frame));
    // Pixel data: one bit per pixel, LSB first, frames back to back, padded to an even length
    let frame_pixels = nx * ny;
    let total_bits = frame_pixels * frames.len();
    let mut bytes = vec![0u8; total_bits.div_ceil(8).next_multiple_of(2)];
    for (i, &k) in frames.iter().enumerate() {
        let base = i * frame_pixels;
        for (p, &v) in mask.data.index_axis(Axis(0), k).iter().enumerate() {
            if v != 0 {
                let bit = base + p;
                bytes[bit / 8] |= 1 << (bit % 8);
            }
        }
    }
    put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::U8(bytes.into()),
    ));

    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(EXPLICIT_VR_LE)
                .media_storage_sop_class_uid(SEGMENTATION_STORAGE)
                .media_storage_sop_instance_uid(sop_uid.as_str()),
        )
        .map_err(|e| Error::dicom(path, format!("cannot build file meta: {e}")))?;
    file.write_to_file(path)
        .map_err(|e| Error::dicom(path, format!("cannot write: {e}")))?;
    Ok(SegWriteSummary {
        sop_instance_uid: sop_uid,
        series_uid,
        frames: frames.len(),
    })
}

/// One frame of a read Segmentation.
#[derive(Debug, Clone, PartialEq)]
pub struct SegFrame {
    pub segment: u16,
    pub position: [f64; 3],
    /// SOPInstanceUID of the source slice the frame was derived from (empty when absent).
    pub source_instance: String,
    /// Rows x columns values 0/1, row by row.
    pub pixels: Vec<u8>,
}

/// A BINARY Segmentation read back.
#[derive(Debug, Clone, PartialEq)]
pub struct DicomSeg {
    pub rows: usize,
    pub columns: usize,
    pub orientation: [f64; 6],
    /// PixelSpacing: row spacing, column spacing (mm).
    pub pixel_spacing: [f64; 2],
    pub frame_of_reference_uid: String,
    pub study_uid: String,
    pub referenced_series_uid: String,
    pub segment_labels: Vec<String>,
    pub frames: Vec<SegFrame>,
}

fn child(obj: &InMemDicomObject, tag: Tag) -> Option<&InMemDicomObject> {
    obj.get(tag)
        .and_then(|e| e.items())
        .and_then(|items| items.first())
}

fn floats_of(
    path: &Path,
    obj: Option<&InMemDicomObject>,
    tag: Tag,
    name: &str,
) -> Result<Vec<f64>> {
    obj.and_then(|o| o.get(tag))
        .ok_or_else(|| Error::dicom(path, format!("no {name}")))?
        .to_multi_float64()
        .map_err(|e| Error::dicom(path, format!("{name} is not numeric: {e}")))
}

/// Reads a BINARY DICOM Segmentation written by [`write_dicom_seg`] or any conforming writer
/// (shared orientation and pixel measures, per-frame plane position and segment).
pub fn read_dicom_seg(path: &Path) -> Result<DicomSeg> {
    let obj = dicom::object::open_file(path)
        .map_err(|e| Error::dicom(path, format!("cannot parse: {e}")))?;
    let sop_class = header_str(&obj, tags::SOP_CLASS_UID);
    if sop_class != SEGMENTATION_STORAGE {
        return Err(Error::dicom(
            path,
            format!("SOP class {sop_class} is not Segmentation Storage"),
        ));
    }
    let seg_type = header_str(&obj, tags::SEGMENTATION_TYPE);
    if seg_type != "BINARY" {
        return Err(Error::dicom(
            path,
            format!("SegmentationType {seg_type} is not BINARY"),
        ));
    }
    let int = |tag: Tag, name: &str| -> Result<usize> {
        obj.get(tag)
            .ok_or_else(|| Error::dicom(path, format!("no {name}")))?
            .to_int::<u32>()
            .map(|v| v as usize)
            .map_err(|e| Error::dicom(path, format!("{name} is not an integer: {e}")))
    };
    let (rows, columns, n_frames) = (
        int(tags::ROWS, "Rows")?,
        int(tags::COLUMNS, "Columns")?,
        int(tags::NUMBER_OF_FRAMES, "NumberOfFrames")?,
    );
    if int(tags::BITS_ALLOCATED, "BitsAllocated")? != 1 {
        return Err(Error::dicom(path, "BitsAllocated is not 1"));
    }
    let shared = child(&obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
    let iop = floats_of(
        path,
        shared.and_then(|s| child(s, tags::PLANE_ORIENTATION_SEQUENCE)),
        tags::IMAGE_ORIENTATION_PATIENT,
        "shared ImageOrientationPatient",
    )?;
    let ps = floats_of(
        path,
        shared.and_then(|s| child(s, tags::PIXEL_MEASURES_SEQUENCE)),
        tags::PIXEL_SPACING,
        "shared PixelSpacing",
    )?;
    let orientation = <[f64; 6]>::try_from(iop.as_slice())
        .map_err(|_| Error::dicom(path, "ImageOrientationPatient needs 6 values"))?;
    let pixel_spacing = <[f64; 2]>::try_from(ps.as_slice())
        .map_err(|_| Error::dicom(path, "PixelSpacing needs 2 values"))?;
    let per_frame = obj
        .get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .and_then(|e| e.items())
        .ok_or_else(|| Error::dicom(path, "no PerFrameFunctionalGroupsSequence"))?;
    if per_frame.len() != n_frames {
        return Err(Error::dicom(
            path,
            format!(
                "{} per-frame items for NumberOfFrames {n_frames}",
                per_frame.len()
            ),
        ));
    }
    let pixel_bytes = obj
        .get(tags::PIXEL_DATA)
        .ok_or_else(|| Error::dicom(path, "no PixelData"))?
        .to_bytes()
        .map_err(|e| Error::dicom(path, format!("PixelData: {e}")))?;
    let frame_pixels = rows * columns;
    let needed = (frame_pixels * n_frames).div_ceil(8);
    if pixel_bytes.len() < needed {
        return Err(Error::dicom(
            path,
            format!("PixelData holds {} bytes, {needed} needed for {n_frames} frames of {rows}x{columns}", pixel_bytes.len()),
        ));
    }
    let mut frames = Vec::with_capacity(n_frames);
    for (i, f) in per_frame.iter().enumerate() {
        let pos = floats_of(
            path,
            child(f, tags::PLANE_POSITION_SEQUENCE),
            tags::IMAGE_POSITION_PATIENT,
            &format!("ImagePositionPatient of frame {}", i + 1),
        )?;
        let position = <[f64; 3]>::try_from(pos.as_slice()).map_err(|_| {
            Error::dicom(
                path,
                format!("frame {}: ImagePositionPatient needs 3 values", i + 1),
            )
        })?;
        let segment = child(f, tags::SEGMENT_IDENTIFICATION_SEQUENCE)
            .and_then(|s| s.get(tags::REFERENCED_SEGMENT_NUMBER))
            .and_then(|e| e.to_int::<u16>().ok())
            .ok_or_else(|| {
                Error::dicom(path, format!("frame {}: no ReferencedSegmentNumber", i + 1))
            })?;
        let source_instance = child(f, tags::DERIVATION_IMAGE_SEQUENCE)
            .and_then(|d| child(d, tags::SOURCE_IMAGE_SEQUENCE))
            .map(|s| header_str(s, tags::REFERENCED_SOP_INSTANCE_UID))
            .unwrap_or_default();
        let base = i * frame_pixels;
        let pixels = (0..frame_pixels)
            .map(|p| (pixel_bytes[(base + p) / 8] >> ((base + p) % 8)) & 1)
            .collect();
        frames.push(SegFrame {
            segment,
            position,
            source_instance,
            pixels,
        });
    }
    let segment_labels = obj
        .get(tags::SEGMENT_SEQUENCE)
        .and_then(|e| e.items())
        .map(|items| {
            items
                .iter()
                .map(|s| header_str(s, tags::SEGMENT_LABEL))
                .collect()
        })
        .unwrap_or_default();
    Ok(DicomSeg {
        rows,
        columns,
        orientation,
        pixel_spacing,
        frame_of_reference_uid: header_str(&obj, tags::FRAME_OF_REFERENCE_UID),
        study_uid: header_str(&obj, tags::STUDY_INSTANCE_UID),
        referenced_series_uid: child(&obj, tags::REFERENCED_SERIES_SEQUENCE)
            .map(|s| header_str(s, tags::SERIES_INSTANCE_UID))
            .unwrap_or_default(),
        segment_labels,
        frames,
    })
}

impl DicomSeg {
    /// Places segment `segment`'s frames on a voxel grid of `dims` (z, y, x) with `geometry`
    /// (the source series' grid): each frame must lie on a slice of the grid, in its orientation
    /// and with its pixel spacing.
    pub fn to_mask(
        &self,
        segment: u16,
        dims: (usize, usize, usize),
        geometry: &Geometry,
    ) -> Result<Array3<u8>> {
        let (nz, ny, nx) = dims;
        let bad = |m: String| Error::Geometry(format!("segmentation does not fit the grid: {m}"));
        if (self.rows, self.columns) != (ny, nx) {
            return Err(bad(format!(
                "frames are {}x{}, slices {ny}x{nx}",
                self.rows, self.columns
            )));
        }
        let want = image_orientation(geometry);
        if self
            .orientation
            .iter()
            .zip(want)
            .any(|(a, b)| (a - b).abs() > 1e-4)
        {
            return Err(bad(format!(
                "orientation {:?} differs from {want:?}",
                self.orientation
            )));
        }
        if (self.pixel_spacing[0] - geometry.spacing[1]).abs() > 1e-4
            || (self.pixel_spacing[1] - geometry.spacing[0]).abs() > 1e-4
        {
            return Err(bad(format!("pixel spacing {:?}", self.pixel_spacing)));
        }
        let row = [want[0], want[1], want[2]];
        let col = [want[3], want[4], want[5]];
        let normal = cross(row, col);
        let mut out = Array3::<u8>::zeros(dims);
        for (i, f) in self
            .frames
            .iter()
            .enumerate()
            .filter(|(_, f)| f.segment == segment)
        {
            let d = [0, 1, 2].map(|a| f.position[a] - geometry.origin[a]);
            let kf = dot(d, normal) / geometry.spacing[2];
            let k = kf.round();
            let drift = dot(d, row).abs().max(dot(d, col).abs());
            if (kf - k).abs() * geometry.spacing[2] > POSITION_TOLERANCE_MM
                || drift > POSITION_TOLERANCE_MM
                || k < 0.0
                || k >= nz as f64
            {
                return Err(bad(format!(
                    "frame {} at {:?} is not on a slice",
                    i + 1,
                    f.position
                )));
            }
            let mut slice = out.index_axis_mut(Axis(0), k as usize);
            for (dst, &src) in slice.iter_mut().zip(&f.pixels) {
                *dst |= src;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::Image;

    fn source(n: usize) -> SourceSeries {
        SourceSeries {
            patient_name: "DOE^JANE".into(),
            patient_id: "P1".into(),
            patient_birth_date: "19700101".into(),
            patient_sex: "F".into(),
            study_uid: "1.2.3.1".into(),
            study_date: "20260101".into(),
            study_time: "120000".into(),
            study_id: "S1".into(),
            accession_number: "A1".into(),
            referring_physician_name: String::new(),
            series_uid: "1.2.3.2".into(),
            frame_of_reference_uid: "1.2.3.3".into(),
            specific_character_set: String::new(),
            instances: (0..n)
                .map(|k| {
                    (
                        "1.2.840.10008.5.1.4.1.1.2".to_string(),
                        format!("1.2.3.2.{}", k + 1),
                    )
                })
                .collect(),
            frame_numbers: Vec::new(),
        }
    }

    fn oblique_geometry() -> Geometry {
        let (c, s) = (0.8f64, 0.6f64);
        Geometry {
            spacing: [0.7, 0.8, 2.5],
            origin: [-100.0, 20.5, -300.25],
            direction: [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]],
        }
    }

    #[test]
    fn write_then_read_gives_the_mask_back() {
        let dir = tempfile::tempdir().unwrap();
        let g = oblique_geometry();
        let mut data = Array3::<u8>::zeros((6, 5, 7));
        data[[1, 2, 3]] = 1;
        data[[1, 0, 0]] = 1;
        data[[4, 4, 6]] = 1;
        let mask = Image::new(data.clone(), g).unwrap();
        let path = dir.path().join("seg.dcm");
        let s = write_dicom_seg(&mask, &source(6), &path, &SegWriteOptions::default()).unwrap();
        assert_eq!(s.frames, 2);
        let seg = read_dicom_seg(&path).unwrap();
        assert_eq!(seg.segment_labels, vec!["Pancreas".to_string()]);
        assert_eq!(seg.referenced_series_uid, "1.2.3.2");
        assert_eq!(seg.frame_of_reference_uid, "1.2.3.3");
        assert_eq!(seg.frames[0].source_instance, "1.2.3.2.2");
        assert_eq!(seg.frames[1].source_instance, "1.2.3.2.5");
        assert_eq!(seg.to_mask(1, (6, 5, 7), &g).unwrap(), data);
        // another grid: refused, not misplaced
        let mut shifted = g;
        shifted.origin[0] += 1.0;
        assert!(seg.to_mask(1, (6, 5, 7), &shifted).is_err());
        assert!(seg.to_mask(1, (6, 5, 8), &g).is_err());
    }

    #[test]
    fn empty_mask_keeps_every_frame_and_mismatch_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mask = Image::new(Array3::<u8>::zeros((3, 4, 4)), Geometry::default()).unwrap();
        let path = dir.path().join("empty.dcm");
        let s = write_dicom_seg(&mask, &source(3), &path, &SegWriteOptions::default()).unwrap();
        assert_eq!(s.frames, 3);
        let back = read_dicom_seg(&path).unwrap();
        assert_eq!(
            back.to_mask(1, (3, 4, 4), &Geometry::default())
                .unwrap()
                .sum(),
            0
        );
        let err =
            write_dicom_seg(&mask, &source(4), &path, &SegWriteOptions::default()).unwrap_err();
        assert!(err.to_string().contains("3 slices"), "{err}");
    }

    #[test]
    fn uids_are_valid_and_distinct() {
        let (a, b) = (new_uid(), new_uid());
        assert_ne!(a, b);
        for u in [a, b] {
            assert!(u.len() <= 64 && u.starts_with("2.25."), "{u}");
            assert!(!u[5..].starts_with('0'));
        }
        let (d, t) = now_utc();
        assert_eq!((d.len(), t.len()), (8, 6));
        assert!(d.as_str() >= "20260101");
    }
}
