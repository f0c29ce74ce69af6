//! RT Structure Set output (and read-back): the mask as one ROI "Pancreas" of closed planar
//! contours, for radiotherapy planning systems, which take structure sets rather than
//! segmentations.
//!
//! Each slice holding mask voxels gets the contours of [`crate::io::contours::trace_slice`]
//! (traced along the voxel edges: every island and every hole its own CLOSED_PLANAR contour,
//! holes running opposite to their outer boundary; planning systems fill a slice's contours by
//! the even-odd rule, which gives the mask back exactly). Points are in LPS mm on the slice's
//! plane through the source grid's geometry. Each contour references the source image of its
//! slice (and its frame number for an Enhanced CT).
//!
//! The object joins its source's patient and study, shares its frame of reference, and lists
//! every source image in the Referenced Frame of Reference Sequence's Contour Image Sequence.
//! The ROI is coded in SNOMED CT (15776009 "Pancreas") in its RT ROI Identification Code
//! Sequence, interpreted type ORGAN, generation algorithm AUTOMATIC, and identified in the ROI
//! Derivation Algorithm Identification Sequence the way the Segmentation names its algorithm.
//!
//! Written here rather than with a crate because no maintained Rust crate writes RT Structure
//! Sets; the encoding is dicom-rs. [`read_rtstruct`] is the project's own reader for the tests;
//! the independent check is `tests/scripts/validate_rtstruct.py` (pydicom + nibabel).

use crate::error::{Error, Result};
use crate::io::contours::{fill_even_odd, trace_slice};
use crate::io::dicom::encode::{
    code, ds, item, new_uid, now_utc, seq, text, EXPLICIT_VR_LE,
};
use crate::io::dicom::source::SourceSeries;
use crate::volume::{dot, Mask};
use dicom::core::{DataElement, PrimitiveValue, VR};
use dicom::dictionary_std::tags;
use dicom::object::{FileMetaTableBuilder, InMemDicomObject, OpenFileOptions};
use ndarray::{Array3, Axis};
use std::path::Path;

/// RT Structure Set Storage SOP class UID.
pub const RT_STRUCTURE_SET_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.481.3";
/// The SOP class a structure set's RT Referenced Study names (Detached Study Management, as
/// the RT IODs ask for).
const STUDY_REFERENCE_CLASS: &str = "1.2.840.10008.3.1.2.3.1";
/// Largest distance (mm) between a contour's plane and a slice of the grid for them to match.
pub const PLANE_TOLERANCE_MM: f64 = 0.01;

/// How the structure set is written.
#[derive(Debug, Clone)]
pub struct RtStructWriteOptions {
    pub series_description: String,
    pub series_number: u32,
    /// SeriesInstanceUID and SOPInstanceUID; fresh "2.25." UUID-derived UIDs when `None`.
    pub series_uid: Option<String>,
    pub sop_instance_uid: Option<String>,
    /// StructureSetDate (YYYYMMDD) and StructureSetTime (HHMMSS); now (UTC) when `None`.
    pub date_time: Option<(String, String)>,
    /// AlgorithmVersion: the library version and, when known, the model bundle.
    pub algorithm_version: String,
    /// AlgorithmParameters, e.g. the method and its operating point.
    pub algorithm_parameters: String,
    /// ROIDisplayColor (RGB).
    pub color: [u8; 3],
}

impl Default for RtStructWriteOptions {
    fn default() -> Self {
        RtStructWriteOptions {
            series_description: "pancseg pancreas contours".into(),
            series_number: 902,
            series_uid: None,
            sop_instance_uid: None,
            date_time: None,
            algorithm_version: env!("CARGO_PKG_VERSION").into(),
            algorithm_parameters: String::new(),
            color: [255, 128, 0],
        }
    }
}

/// What was written.
#[derive(Debug, Clone, PartialEq)]
pub struct RtStructWriteSummary {
    pub sop_instance_uid: String,
    pub series_uid: String,
    /// Contours written, and the slices they lie on.
    pub contours: usize,
    pub slices: usize,
}

fn image_reference(source: &SourceSeries, k: usize) -> InMemDicomObject {
    let (class, inst) = &source.instances[k];
    let mut e = vec![
        text(tags::REFERENCED_SOP_CLASS_UID, VR::UI, class),
        text(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, inst),
    ];
    let frame = source.frame_number(k);
    if frame > 0 {
        e.push(text(tags::REFERENCED_FRAME_NUMBER, VR::IS, &frame.to_string()));
    }
    item(e)
}

/// Writes `mask` (on the grid of the source series, slice k computed from `source.instances[k]`)
/// as an RT Structure Set to `path`.
pub fn write_rtstruct(
    mask: &Mask,
    source: &SourceSeries,
    path: &Path,
    opts: &RtStructWriteOptions,
) -> Result<RtStructWriteSummary> {
    let g = &mask.geometry;
    g.validate()?;
    source.check_referencable(path)?;
    let (nz, ny, nx) = mask.data.dim();
    if nz != source.instances.len() {
        return Err(Error::InvalidArgument(format!(
            "the mask has {nz} slices but the source series {} has {} images",
            source.series_uid,
            source.instances.len()
        )));
    }
    let series_uid = opts.series_uid.clone().unwrap_or_else(new_uid);
    let sop_uid = opts.sop_instance_uid.clone().unwrap_or_else(new_uid);
    let (date, time) = opts.date_time.clone().unwrap_or_else(now_utc);

    // the contours, slice by slice
    let mut contour_items = Vec::new();
    let mut slices = 0;
    for k in 0..nz {
        let plane = mask.data.index_axis(Axis(0), k);
        let contours = trace_slice(nx, ny, |i, j| plane[[j, i]] != 0);
        if contours.is_empty() {
            continue;
        }
        slices += 1;
        for c in contours {
            let mut data = Vec::with_capacity(c.len() * 3);
            for p in &c {
                data.extend(g.index_to_lps([p[0], p[1], k as f64]));
            }
            contour_items.push(item(vec![
                seq(tags::CONTOUR_IMAGE_SEQUENCE, vec![image_reference(source, k)]),
                text(tags::CONTOUR_GEOMETRIC_TYPE, VR::CS, "CLOSED_PLANAR"),
                text(
                    tags::NUMBER_OF_CONTOUR_POINTS,
                    VR::IS,
                    &c.len().to_string(),
                ),
                text(tags::CONTOUR_NUMBER, VR::IS, &(contour_items.len() + 1).to_string()),
                text(
                    tags::CONTOUR_DATA,
                    VR::DS,
                    &data.iter().map(|&v| ds(v)).collect::<Vec<_>>().join("\\"),
                ),
            ]));
        }
    }
    let contours = contour_items.len();

    let mut obj = InMemDicomObject::new_empty();
    let mut put = |e: DataElement<InMemDicomObject>| {
        obj.put(e);
    };
    // SOP Common; Patient, General Study and Frame of Reference from the source
    put(text(tags::SOP_CLASS_UID, VR::UI, RT_STRUCTURE_SET_STORAGE));
    put(text(tags::SOP_INSTANCE_UID, VR::UI, &sop_uid));
    for e in source.identity_elements() {
        put(e);
    }
    // RT Series, General Equipment
    put(text(tags::MODALITY, VR::CS, "RTSTRUCT"));
    put(text(tags::SERIES_INSTANCE_UID, VR::UI, &series_uid));
    put(text(tags::SERIES_NUMBER, VR::IS, &opts.series_number.to_string()));
    put(text(tags::SERIES_DESCRIPTION, VR::LO, &opts.series_description));
    put(text(tags::SERIES_DATE, VR::DA, &date));
    put(text(tags::SERIES_TIME, VR::TM, &time));
    put(text(tags::OPERATORS_NAME, VR::PN, ""));
    put(text(tags::MANUFACTURER, VR::LO, "pancseg"));
    put(text(tags::MANUFACTURER_MODEL_NAME, VR::LO, "pancseg"));
    put(text(tags::SOFTWARE_VERSIONS, VR::LO, env!("CARGO_PKG_VERSION")));
    // Structure Set
    put(text(tags::INSTANCE_NUMBER, VR::IS, "1"));
    put(text(tags::STRUCTURE_SET_LABEL, VR::SH, "PANCREAS"));
    put(text(tags::STRUCTURE_SET_NAME, VR::LO, "pancseg"));
    put(text(
        tags::STRUCTURE_SET_DESCRIPTION,
        VR::ST,
        "Automatic pancreas segmentation",
    ));
    put(text(tags::STRUCTURE_SET_DATE, VR::DA, &date));
    put(text(tags::STRUCTURE_SET_TIME, VR::TM, &time));
    let distinct: Vec<usize> = {
        let mut seen = std::collections::BTreeSet::new();
        (0..nz)
            .filter(|&k| seen.insert((source.instances[k].1.clone(), source.frame_number(k))))
            .collect()
    };
    put(seq(
        tags::REFERENCED_FRAME_OF_REFERENCE_SEQUENCE,
        vec![item(vec![
            text(tags::FRAME_OF_REFERENCE_UID, VR::UI, &source.frame_of_reference_uid),
            seq(
                tags::RT_REFERENCED_STUDY_SEQUENCE,
                vec![item(vec![
                    text(tags::REFERENCED_SOP_CLASS_UID, VR::UI, STUDY_REFERENCE_CLASS),
                    text(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, &source.study_uid),
                    seq(
                        tags::RT_REFERENCED_SERIES_SEQUENCE,
                        vec![item(vec![
                            text(tags::SERIES_INSTANCE_UID, VR::UI, &source.series_uid),
                            seq(
                                tags::CONTOUR_IMAGE_SEQUENCE,
                                distinct.iter().map(|&k| image_reference(source, k)).collect(),
                            ),
                        ])],
                    ),
                ])],
            ),
        ])],
    ));
    put(seq(
        tags::STRUCTURE_SET_ROI_SEQUENCE,
        vec![item(vec![
            text(tags::ROI_NUMBER, VR::IS, "1"),
            text(
                tags::REFERENCED_FRAME_OF_REFERENCE_UID,
                VR::UI,
                &source.frame_of_reference_uid,
            ),
            text(tags::ROI_NAME, VR::LO, "Pancreas"),
            text(tags::ROI_GENERATION_ALGORITHM, VR::CS, "AUTOMATIC"),
            text(
                tags::ROI_GENERATION_DESCRIPTION,
                VR::ST,
                "pancseg: coarse-to-fine ConvNet pancreas segmentation",
            ),
            seq(
                tags::ROI_DERIVATION_ALGORITHM_IDENTIFICATION_SEQUENCE,
                vec![item(vec![
                    seq(
                        tags::ALGORITHM_FAMILY_CODE_SEQUENCE,
                        vec![code("123110", "DCM", "Artificial Intelligence")],
                    ),
                    text(tags::ALGORITHM_VERSION, VR::LO, &opts.algorithm_version),
                    text(tags::ALGORITHM_PARAMETERS, VR::LT, &opts.algorithm_parameters),
                    text(tags::ALGORITHM_NAME, VR::LO, "pancseg"),
                ])],
            ),
        ])],
    ));
    // ROI Contour
    put(seq(
        tags::ROI_CONTOUR_SEQUENCE,
        vec![item(vec![
            DataElement::new(
                tags::ROI_DISPLAY_COLOR,
                VR::IS,
                PrimitiveValue::from(
                    opts.color
                        .iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join("\\"),
                ),
            ),
            seq(tags::CONTOUR_SEQUENCE, contour_items),
            text(tags::REFERENCED_ROI_NUMBER, VR::IS, "1"),
        ])],
    ));
    // RT ROI Observations
    put(seq(
        tags::RTROI_OBSERVATIONS_SEQUENCE,
        vec![item(vec![
            text(tags::OBSERVATION_NUMBER, VR::IS, "1"),
            text(tags::REFERENCED_ROI_NUMBER, VR::IS, "1"),
            seq(
                tags::RTROI_IDENTIFICATION_CODE_SEQUENCE,
                vec![code("15776009", "SCT", "Pancreas")],
            ),
            text(tags::RTROI_INTERPRETED_TYPE, VR::CS, "ORGAN"),
            text(tags::ROI_INTERPRETER, VR::PN, ""),
        ])],
    ));
    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(EXPLICIT_VR_LE)
                .media_storage_sop_class_uid(RT_STRUCTURE_SET_STORAGE)
                .media_storage_sop_instance_uid(sop_uid.as_str()),
        )
        .map_err(|e| Error::dicom(path, format!("cannot build file meta: {e}")))?;
    file.write_to_file(path)
        .map_err(|e| Error::dicom(path, format!("cannot write: {e}")))?;
    Ok(RtStructWriteSummary {
        sop_instance_uid: sop_uid,
        series_uid,
        contours,
        slices,
    })
}

/// Reads the first ROI of a structure set back onto a grid (the source's: `like` gives its
/// dims and geometry), filling each slice's contours by the even-odd rule at voxel centres.
/// Every contour must lie on a slice plane of the grid.
pub fn read_rtstruct(path: &Path, like: &Mask) -> Result<Mask> {
    let obj = OpenFileOptions::new()
        .open_file(path)
        .map_err(|e| Error::dicom(path, format!("cannot parse: {e}")))?;
    let g = &like.geometry;
    let (nz, ny, nx) = like.data.dim();
    let contours = obj
        .get(tags::ROI_CONTOUR_SEQUENCE)
        .and_then(|e| e.items())
        .and_then(|items| items.first())
        .and_then(|roi| roi.get(tags::CONTOUR_SEQUENCE))
        .and_then(|e| e.items())
        .map(|items| items.to_vec())
        .unwrap_or_default();
    // grid axes in LPS and the inverse map of a point to voxel indices
    let axis = |c: usize| [g.direction[0][c], g.direction[1][c], g.direction[2][c]];
    let mut per_slice: Vec<Vec<Vec<[f64; 2]>>> = vec![Vec::new(); nz];
    for c in &contours {
        let values = c
            .get(tags::CONTOUR_DATA)
            .ok_or_else(|| Error::dicom(path, "a contour without ContourData"))?
            .to_multi_float64()
            .map_err(|e| Error::dicom(path, format!("ContourData is not numeric: {e}")))?;
        if values.len() % 3 != 0 || values.is_empty() {
            return Err(Error::dicom(path, "ContourData is not a list of points"));
        }
        let mut poly = Vec::new();
        let mut plane = None;
        for p in values.chunks_exact(3) {
            let d = [p[0] - g.origin[0], p[1] - g.origin[1], p[2] - g.origin[2]];
            let ijk = [0, 1, 2].map(|c| dot(d, axis(c)) / g.spacing[c]);
            let k = ijk[2].round();
            if (ijk[2] - k).abs() * g.spacing[2] > PLANE_TOLERANCE_MM || k < 0.0 || k >= nz as f64 {
                return Err(Error::dicom(
                    path,
                    format!("contour point {p:?} lies on no slice of the grid"),
                ));
            }
            if plane.is_some_and(|q| q != k as usize) {
                return Err(Error::dicom(path, "a contour spans several slices"));
            }
            plane = Some(k as usize);
            poly.push([ijk[0], ijk[1]]);
        }
        if let Some(k) = plane {
            per_slice[k].push(poly);
        }
    }
    let mut data = Array3::<u8>::zeros((nz, ny, nx));
    for (k, polys) in per_slice.iter().enumerate() {
        if polys.is_empty() {
            continue;
        }
        let fill = fill_even_odd(nx, ny, polys);
        for j in 0..ny {
            for i in 0..nx {
                data[[k, j, i]] = u8::from(fill[j * nx + i]);
            }
        }
    }
    Ok(Mask {
        data,
        geometry: *g,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::{Geometry, Image};

    fn source(n: usize) -> SourceSeries {
        SourceSeries {
            patient_name: "DOE^JANE".into(),
            patient_id: "P1".into(),
            patient_birth_date: String::new(),
            patient_sex: String::new(),
            study_uid: "1.2.3.1".into(),
            study_date: String::new(),
            study_time: String::new(),
            study_id: String::new(),
            accession_number: String::new(),
            referring_physician_name: String::new(),
            series_uid: "1.2.3.2".into(),
            frame_of_reference_uid: "1.2.3.3".into(),
            specific_character_set: String::new(),
            instances: (0..n)
                .map(|k| ("1.2.840.10008.5.1.4.1.1.2".into(), format!("1.2.3.2.{}", k + 1)))
                .collect(),
            frame_numbers: Vec::new(),
        }
    }

    #[test]
    fn written_contours_fill_back_to_the_mask() {
        let dir = tempfile::tempdir().unwrap();
        let (c, s) = (0.8f64, 0.6f64);
        let g = Geometry {
            spacing: [0.7, 0.8, 2.5],
            origin: [-100.0, 20.5, -300.25],
            direction: [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]],
        };
        let mut data = Array3::<u8>::zeros((5, 9, 11));
        data.slice_mut(ndarray::s![1..4, 2..7, 2..9]).fill(1);
        data.slice_mut(ndarray::s![2, 3..5, 4..6]).fill(0); // a hole
        data[[3, 8, 10]] = 1; // an island at the edge
        let mask = Image::new(data, g).unwrap();
        let path = dir.path().join("rt.dcm");
        let summary = write_rtstruct(&mask, &source(5), &path, &RtStructWriteOptions::default())
            .unwrap();
        assert_eq!(summary.slices, 3);
        assert_eq!(summary.contours, 5, "{summary:?}");
        let back = read_rtstruct(&path, &mask).unwrap();
        assert_eq!(back.data, mask.data);
        // the mask must be on the source's grid
        let e = write_rtstruct(&mask, &source(4), &path, &RtStructWriteOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("5 slices") && e.contains("4 images"), "{e}");
    }
}
