//! DICOM CT series reader on dicom-rs.
//!
//! Input is a directory (searched recursively) or an explicit list of files. Instances are grouped
//! by SeriesInstanceUID and only CT Image Storage (1.2.840.10008.5.1.4.1.1.2) is kept; when several
//! series qualify, the caller picks one by UID or gets an error listing them. Slices are sorted by
//! the projection of ImagePositionPatient on the slice normal (row × column cosines of
//! ImageOrientationPatient), never by file name or InstanceNumber.
//!
//! Checks, each failing with an error naming the file or the positions:
//! - orientation: unit, orthogonal row/column cosines (tolerance [`ORIENTATION_TOLERANCE`]), the
//!   same on every slice; slice positions must lie along the normal (a tilted gantry is refused);
//! - spacing: every step between sorted positions within [`SPACING_TOLERANCE`] (relative) of the
//!   median step, else missing slices (a step of about k times the median) or duplicate positions
//!   are reported by position;
//! - pixels: Rows/Columns/PixelSpacing equal across slices, one sample per pixel, one frame.
//!
//! Pixel data is decoded by dicom-pixeldata (native, deflated, JPEG baseline/extended/lossless,
//! JPEG-LS via CharLS, JPEG 2000 via OpenJPEG, RLE). The stored value is then extracted here from
//! BitsAllocated/BitsStored/HighBit, sign-extended when PixelRepresentation is 1, and
//! RescaleSlope/RescaleIntercept are applied per slice in f64.
//!
//! Directory search skips files without the DICOM "DICM" marker (listed in
//! [`DicomSeries::skipped`]); a file with the marker that fails to parse is an error.

use crate::error::{Error, Result};
use crate::volume::{cross, dot, Geometry, Image, Volume};
use dicom::core::header::HasLength;
use dicom::dictionary_std::tags;
use dicom::object::{DefaultDicomObject, OpenFileOptions};
use dicom_pixeldata::PixelDecoder;
use ndarray::Array3;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// CT Image Storage SOP class UID.
pub const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
/// Tolerance on unit length and orthogonality of ImageOrientationPatient cosines.
pub const ORIENTATION_TOLERANCE: f64 = 1e-3;
/// Allowed relative deviation of a slice step from the median step.
pub const SPACING_TOLERANCE: f64 = 0.01;
/// Largest in-plane drift of slice positions (mm) before the series counts as gantry-tilted.
pub const TILT_TOLERANCE_MM: f64 = 0.05;

/// Options of the series reader.
#[derive(Debug, Clone)]
pub struct DicomReadOptions {
    /// SeriesInstanceUID to read when the input holds several CT series.
    pub series_uid: Option<String>,
    /// Largest series (Rows x Columns x slices) to decode; larger ones are refused from their
    /// headers, before any pixel is decoded. Default 2^28 (512 x 512 x 1024).
    pub max_voxels: u64,
}

impl Default for DicomReadOptions {
    fn default() -> Self {
        DicomReadOptions {
            series_uid: None,
            max_voxels: 1 << 28,
        }
    }
}

/// What identifies a series to a user.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SeriesInfo {
    pub series_uid: String,
    pub description: String,
    pub slice_count: usize,
    pub transfer_syntax_uid: String,
    pub transfer_syntax: String,
}

/// A CT series read into a volume.
#[derive(Debug, Clone)]
pub struct DicomSeries {
    pub volume: Volume,
    pub info: SeriesInfo,
    /// Files of the series in slice order (index k of the volume).
    pub files: Vec<PathBuf>,
    /// Files of a directory search that were not DICOM and were skipped.
    pub skipped: Vec<PathBuf>,
}

/// Header fields of one instance, read without its pixel data.
#[derive(Debug, Clone)]
struct Instance {
    path: PathBuf,
    sop_class: String,
    series_uid: String,
    description: String,
    transfer_syntax: String,
    rows: u32,
    columns: u32,
    pixel_spacing: Option<[f64; 2]>,
    orientation: Option<[f64; 6]>,
    position: Option<[f64; 3]>,
    slice_thickness: Option<f64>,
    spacing_between: Option<f64>,
    slope: f64,
    intercept: f64,
    frames: u32,
    samples: u16,
}

fn has_dicm_marker(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = [0u8; 132];
    match f.read_exact(&mut buf) {
        Ok(()) => Ok(&buf[128..132] == b"DICM"),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn trimmed(s: &str) -> String {
    s.trim_end_matches(['\0', ' ']).trim().to_string()
}

fn opt_str(obj: &DefaultDicomObject, tag: dicom::core::Tag) -> Option<String> {
    obj.element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.to_str().ok())
        .map(|s| trimmed(&s))
}

fn opt_floats(
    path: &Path,
    obj: &DefaultDicomObject,
    tag: dicom::core::Tag,
    name: &str,
) -> Result<Option<Vec<f64>>> {
    match obj.element_opt(tag) {
        Ok(Some(e)) => {
            if e.is_empty() {
                return Ok(None);
            }
            let v = e
                .to_multi_float64()
                .map_err(|err| Error::dicom(path, format!("{name} is not numeric: {err}")))?;
            if v.iter().any(|x| !x.is_finite()) {
                return Err(Error::dicom(path, format!("{name} {v:?} is not finite")));
            }
            Ok(Some(v))
        }
        _ => Ok(None),
    }
}

fn fixed<const N: usize>(path: &Path, v: Option<Vec<f64>>, name: &str) -> Result<Option<[f64; N]>> {
    match v {
        None => Ok(None),
        Some(v) => <[f64; N]>::try_from(v.as_slice()).map(Some).map_err(|_| {
            Error::dicom(path, format!("{name} has {} values, expected {N}", v.len()))
        }),
    }
}

fn read_u32(
    path: &Path,
    obj: &DefaultDicomObject,
    tag: dicom::core::Tag,
    name: &str,
) -> Result<Option<u32>> {
    match obj.element_opt(tag) {
        Ok(Some(e)) if !e.is_empty() => e
            .to_int::<u32>()
            .map(Some)
            .map_err(|err| Error::dicom(path, format!("{name} is not an unsigned integer: {err}"))),
        _ => Ok(None),
    }
}

/// Refuses files whose element lengths run past their end (see [`crate::io::dicom::guard`]).
fn check_lengths(path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    crate::io::dicom::guard::check_element_lengths(&bytes, path)
}

fn open_header(path: &Path) -> Result<DefaultDicomObject> {
    check_lengths(path)?;
    OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .map_err(|e| Error::dicom(path, format!("cannot parse: {e}")))
}

fn read_instance(path: &Path) -> Result<Instance> {
    let obj = open_header(path)?;
    let meta = obj.meta();
    let sop_class = trimmed(meta.media_storage_sop_class_uid());
    let transfer_syntax = trimmed(meta.transfer_syntax());
    let series_uid = opt_str(&obj, tags::SERIES_INSTANCE_UID)
        .ok_or_else(|| Error::dicom(path, "no SeriesInstanceUID"))?;
    let floats = |tag, name| opt_floats(path, &obj, tag, name);
    let slope = floats(tags::RESCALE_SLOPE, "RescaleSlope")?
        .and_then(|v| v.first().copied())
        .unwrap_or(1.0);
    let intercept = floats(tags::RESCALE_INTERCEPT, "RescaleIntercept")?
        .and_then(|v| v.first().copied())
        .unwrap_or(0.0);
    if slope == 0.0 {
        return Err(Error::dicom(path, "RescaleSlope is 0"));
    }
    Ok(Instance {
        path: path.to_path_buf(),
        sop_class,
        description: opt_str(&obj, tags::SERIES_DESCRIPTION).unwrap_or_default(),
        transfer_syntax,
        rows: read_u32(path, &obj, tags::ROWS, "Rows")?.unwrap_or(0),
        columns: read_u32(path, &obj, tags::COLUMNS, "Columns")?.unwrap_or(0),
        pixel_spacing: fixed::<2>(
            path,
            floats(tags::PIXEL_SPACING, "PixelSpacing")?,
            "PixelSpacing",
        )?,
        orientation: fixed::<6>(
            path,
            floats(tags::IMAGE_ORIENTATION_PATIENT, "ImageOrientationPatient")?,
            "ImageOrientationPatient",
        )?,
        position: fixed::<3>(
            path,
            floats(tags::IMAGE_POSITION_PATIENT, "ImagePositionPatient")?,
            "ImagePositionPatient",
        )?,
        slice_thickness: floats(tags::SLICE_THICKNESS, "SliceThickness")?
            .and_then(|v| v.first().copied()),
        spacing_between: floats(tags::SPACING_BETWEEN_SLICES, "SpacingBetweenSlices")?
            .and_then(|v| v.first().copied()),
        slope,
        intercept,
        frames: read_u32(path, &obj, tags::NUMBER_OF_FRAMES, "NumberOfFrames")?.unwrap_or(1),
        samples: read_u32(path, &obj, tags::SAMPLES_PER_PIXEL, "SamplesPerPixel")?.unwrap_or(1)
            as u16,
        series_uid,
    })
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        paths.push(entry.path());
    }
    paths.sort();
    for p in paths {
        let meta = std::fs::metadata(&p).map_err(|e| Error::io(&p, e))?;
        if meta.is_dir() {
            collect_files(&p, out)?;
        } else if meta.is_file() {
            out.push(p);
        }
    }
    Ok(())
}

/// Lists the CT series found under a directory (recursively) without decoding pixels.
pub fn list_series(dir: impl AsRef<Path>) -> Result<Vec<SeriesInfo>> {
    let (instances, _) = scan_directory(dir.as_ref())?;
    Ok(group(instances)
        .into_values()
        .map(|v| series_info(&v))
        .collect())
}

fn scan_directory(dir: &Path) -> Result<(Vec<Instance>, Vec<PathBuf>)> {
    let mut files = Vec::new();
    collect_files(dir, &mut files)?;
    let mut dicom_files = Vec::new();
    let mut skipped = Vec::new();
    for f in files {
        if has_dicm_marker(&f)? {
            dicom_files.push(f);
        } else {
            skipped.push(f);
        }
    }
    if dicom_files.is_empty() {
        return Err(Error::dicom(
            dir,
            "no DICOM files (with the DICM marker) found",
        ));
    }
    let instances = dicom_files
        .par_iter()
        .map(|f| read_instance(f))
        .collect::<Result<Vec<_>>>()?;
    Ok((instances, skipped))
}

fn group(instances: Vec<Instance>) -> BTreeMap<String, Vec<Instance>> {
    let mut by_series: BTreeMap<String, Vec<Instance>> = BTreeMap::new();
    for inst in instances {
        if inst.sop_class == CT_IMAGE_STORAGE {
            by_series
                .entry(inst.series_uid.clone())
                .or_default()
                .push(inst);
        }
    }
    by_series
}

fn transfer_syntax_name(uid: &str) -> String {
    use dicom::encoding::TransferSyntaxIndex;
    dicom_transfer_syntax_registry::TransferSyntaxRegistry
        .get(uid)
        .map(|ts| ts.name().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn series_info(instances: &[Instance]) -> SeriesInfo {
    let first = &instances[0];
    SeriesInfo {
        series_uid: first.series_uid.clone(),
        description: first.description.clone(),
        slice_count: instances.len(),
        transfer_syntax_uid: first.transfer_syntax.clone(),
        transfer_syntax: transfer_syntax_name(&first.transfer_syntax),
    }
}

/// Reads the CT series under a directory (searched recursively).
pub fn read_dicom_dir(dir: impl AsRef<Path>, options: &DicomReadOptions) -> Result<DicomSeries> {
    let dir = dir.as_ref();
    let (instances, skipped) = scan_directory(dir)?;
    let mut series = select(dir, instances, options)?;
    series.skipped = skipped;
    Ok(series)
}

/// Reads a CT series from an explicit list of files; every file must be DICOM.
pub fn read_dicom_files(files: &[PathBuf], options: &DicomReadOptions) -> Result<DicomSeries> {
    if files.is_empty() {
        return Err(Error::InvalidArgument("empty list of DICOM files".into()));
    }
    let instances = files
        .par_iter()
        .map(|f| {
            if !has_dicm_marker(f)? {
                return Err(Error::dicom(
                    f,
                    "not a DICOM file (no DICM marker at byte 128)",
                ));
            }
            read_instance(f)
        })
        .collect::<Result<Vec<_>>>()?;
    let origin = files[0].parent().unwrap_or(Path::new("."));
    select(origin, instances, options)
}

fn select(
    source: &Path,
    instances: Vec<Instance>,
    options: &DicomReadOptions,
) -> Result<DicomSeries> {
    let total = instances.len();
    let mut groups = group(instances);
    let chosen = match &options.series_uid {
        Some(uid) => groups.remove(uid).ok_or_else(|| {
            Error::dicom(
                source,
                format!("no CT series with SeriesInstanceUID {uid}; found: {}", describe(&groups)),
            )
        })?,
        None => match groups.len() {
            0 => {
                return Err(Error::dicom(
                    source,
                    format!("none of the {total} DICOM instances is a CT image (SOP class {CT_IMAGE_STORAGE})"),
                ))
            }
            1 => groups.into_values().next().unwrap_or_default(),
            _ => {
                return Err(Error::dicom(
                    source,
                    format!(
                        "{} CT series found; choose one by SeriesInstanceUID: {}",
                        groups.len(),
                        describe(&groups)
                    ),
                ))
            }
        },
    };
    assemble(chosen, options.max_voxels)
}

fn describe(groups: &BTreeMap<String, Vec<Instance>>) -> String {
    groups
        .values()
        .map(|v| {
            let i = series_info(v);
            format!(
                "{} \"{}\" ({} slices)",
                i.series_uid, i.description, i.slice_count
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Slice geometry checks and sort; returns instances in order with the geometry.
fn order_slices(mut instances: Vec<Instance>) -> Result<(Vec<Instance>, Geometry)> {
    let first = instances[0].clone();
    let iop = first
        .orientation
        .ok_or_else(|| Error::dicom(&first.path, "no ImageOrientationPatient"))?;
    let row = [iop[0], iop[1], iop[2]];
    let col = [iop[3], iop[4], iop[5]];
    let (nr, nc, rc) = (dot(row, row).sqrt(), dot(col, col).sqrt(), dot(row, col));
    if (nr - 1.0).abs() > ORIENTATION_TOLERANCE
        || (nc - 1.0).abs() > ORIENTATION_TOLERANCE
        || rc.abs() > ORIENTATION_TOLERANCE
    {
        return Err(Error::dicom(
            &first.path,
            format!("non-orthogonal ImageOrientationPatient {iop:?} (|row| {nr:.5}, |col| {nc:.5}, row·col {rc:.5})"),
        ));
    }
    let row = row.map(|v| v / nr);
    let col = col.map(|v| v / nc);
    let normal = cross(row, col);
    let ps = first
        .pixel_spacing
        .ok_or_else(|| Error::dicom(&first.path, "no PixelSpacing"))?;
    if ps.iter().any(|&s| s <= 0.0) {
        return Err(Error::dicom(
            &first.path,
            format!("PixelSpacing {ps:?} must be positive"),
        ));
    }
    for inst in &instances {
        if inst.rows != first.rows || inst.columns != first.columns {
            return Err(Error::dicom(
                &inst.path,
                format!(
                    "Rows/Columns {}x{} differ from {}x{} in {}",
                    inst.rows,
                    inst.columns,
                    first.rows,
                    first.columns,
                    first.path.display()
                ),
            ));
        }
        if inst.samples != 1 || inst.frames != 1 {
            return Err(Error::dicom(
                &inst.path,
                format!(
                    "{} samples per pixel and {} frames: only single-frame grayscale CT is supported",
                    inst.samples, inst.frames
                ),
            ));
        }
        match inst.orientation {
            Some(o) if o.iter().zip(iop).all(|(a, b)| (a - b).abs() <= ORIENTATION_TOLERANCE) => {}
            other => {
                return Err(Error::dicom(
                    &inst.path,
                    format!("ImageOrientationPatient {other:?} differs from {iop:?} in the rest of the series"),
                ))
            }
        }
        match inst.pixel_spacing {
            Some(p)
                if p.iter()
                    .zip(ps)
                    .all(|(a, b)| (a - b).abs() <= 1e-4 * b.abs().max(1.0)) => {}
            other => {
                return Err(Error::dicom(
                    &inst.path,
                    format!("PixelSpacing {other:?} differs from {ps:?} in the rest of the series"),
                ))
            }
        }
        if inst.position.is_none() {
            return Err(Error::dicom(&inst.path, "no ImagePositionPatient"));
        }
    }
    let key = |i: &Instance| dot(i.position.unwrap_or_default(), normal);
    instances.sort_by(|a, b| key(a).total_cmp(&key(b)));
    let origin = instances[0].position.unwrap_or_default();
    // Tilted gantry: positions drift within the slice plane.
    for inst in &instances {
        let p = inst.position.unwrap_or_default();
        let d = [p[0] - origin[0], p[1] - origin[1], p[2] - origin[2]];
        let drift = (dot(d, row).powi(2) + dot(d, col).powi(2)).sqrt();
        if drift > TILT_TOLERANCE_MM {
            return Err(Error::dicom(
                &inst.path,
                format!(
                    "slice position {p:?} is shifted {drift:.3} mm within the slice plane relative to the first slice: tilted gantry or oblique stack, not supported"
                ),
            ));
        }
    }
    let positions: Vec<f64> = instances.iter().map(key).collect();
    let dz = slice_spacing(&instances, &positions)?;
    let geometry = Geometry {
        spacing: [ps[1], ps[0], dz],
        origin,
        direction: [
            [row[0], col[0], normal[0]],
            [row[1], col[1], normal[1]],
            [row[2], col[2], normal[2]],
        ],
    };
    geometry.validate()?;
    Ok((instances, geometry))
}

fn slice_spacing(instances: &[Instance], positions: &[f64]) -> Result<f64> {
    let path = &instances[0].path;
    if positions.len() == 1 {
        let s = instances[0]
            .spacing_between
            .or(instances[0].slice_thickness)
            .filter(|s| *s > 0.0)
            .unwrap_or(1.0);
        return Ok(s);
    }
    let steps: Vec<f64> = positions.windows(2).map(|w| w[1] - w[0]).collect();
    let duplicates: Vec<String> = steps
        .iter()
        .enumerate()
        .filter(|(_, s)| **s < 1e-3)
        .map(|(k, _)| {
            format!(
                "{:.3} mm ({} and {})",
                positions[k],
                instances[k].path.display(),
                instances[k + 1].path.display()
            )
        })
        .collect();
    if !duplicates.is_empty() {
        return Err(Error::dicom(
            path.parent().unwrap_or(path),
            format!(
                "duplicate slice positions along the normal: {}",
                duplicates.join(", ")
            ),
        ));
    }
    let mut sorted = steps.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let mut missing = Vec::new();
    let mut uneven = Vec::new();
    for (k, &s) in steps.iter().enumerate() {
        if (s - median).abs() <= SPACING_TOLERANCE * median {
            continue;
        }
        let ratio = s / median;
        if ratio > 1.5 && (ratio - ratio.round()).abs() <= SPACING_TOLERANCE * ratio {
            missing.push(format!(
                "{} slice(s) between {:.3} mm and {:.3} mm",
                ratio.round() as i64 - 1,
                positions[k],
                positions[k + 1]
            ));
        } else {
            uneven.push(format!("{:.3} mm step after {:.3} mm", s, positions[k]));
        }
    }
    if !missing.is_empty() {
        return Err(Error::dicom(
            path.parent().unwrap_or(path),
            format!(
                "missing slices (spacing {median:.4} mm): {}",
                missing.join(", ")
            ),
        ));
    }
    if !uneven.is_empty() {
        return Err(Error::dicom(
            path.parent().unwrap_or(path),
            format!(
                "non-uniform slice spacing (median {median:.4} mm, tolerance {}%): {}",
                SPACING_TOLERANCE * 100.0,
                uneven.join(", ")
            ),
        ));
    }
    Ok((positions[positions.len() - 1] - positions[0]) / (positions.len() - 1) as f64)
}

/// Decodes one slice into HU values (row-major, x fastest).
fn decode_slice(inst: &Instance) -> Result<Vec<f32>> {
    let path = &inst.path;
    // (element lengths were checked over the whole file when its header was read)
    let obj = OpenFileOptions::new()
        .open_file(path)
        .map_err(|e| Error::dicom(path, format!("cannot parse: {e}")))?;
    let Some(pixel_data) = obj.element_opt(tags::PIXEL_DATA).ok().flatten() else {
        return Err(Error::dicom(path, "no PixelData element"));
    };
    // native pixel data must hold the whole image before the decoder allocates it
    if let Some(len) = pixel_data.length().get() {
        let bits = obj
            .element_opt(tags::BITS_ALLOCATED)
            .ok()
            .flatten()
            .and_then(|e| e.to_int::<u32>().ok())
            .unwrap_or(16) as usize;
        let need = (inst.rows as usize * inst.columns as usize * bits).div_ceil(8);
        if (len as usize) < need {
            return Err(Error::dicom(
                path,
                format!(
                    "PixelData holds {len} bytes, {need} needed for {}x{} pixels of {bits} bits",
                    inst.columns, inst.rows
                ),
            ));
        }
    }
    let decoded = obj.decode_pixel_data().map_err(|e| {
        Error::dicom(
            path,
            format!("cannot decode pixel data ({}): {e}", inst.transfer_syntax),
        )
    })?;
    let (rows, cols) = (decoded.rows() as usize, decoded.columns() as usize);
    if rows != inst.rows as usize || cols != inst.columns as usize || rows == 0 || cols == 0 {
        return Err(Error::dicom(
            path,
            format!(
                "decoded image is {cols}x{rows}, header says {}x{}",
                inst.columns, inst.rows
            ),
        ));
    }
    let allocated = decoded.bits_allocated();
    let stored = decoded.bits_stored();
    let high = decoded.high_bit();
    if !matches!(allocated, 8 | 16 | 32)
        || stored == 0
        || stored > allocated
        || high + 1 < stored
        || high >= allocated
    {
        return Err(Error::dicom(
            path,
            format!("unsupported bit layout: BitsAllocated {allocated}, BitsStored {stored}, HighBit {high}"),
        ));
    }
    let signed = decoded.pixel_representation() == dicom_pixeldata::PixelRepresentation::Signed;
    let bytes = (allocated / 8) as usize;
    let n = rows * cols;
    let data = decoded.data();
    if data.len() < n * bytes {
        return Err(Error::dicom(
            path,
            format!(
                "pixel data has {} bytes, {cols}x{rows} pixels of {allocated} bits need {}",
                data.len(),
                n * bytes
            ),
        ));
    }
    let shift = (high + 1 - stored) as u32;
    let mask: u64 = if stored >= 64 {
        u64::MAX
    } else {
        (1u64 << stored) - 1
    };
    let sign_bit = 1u64 << (stored - 1);
    let (slope, intercept) = (inst.slope, inst.intercept);
    let out = data[..n * bytes]
        .chunks_exact(bytes)
        .map(|c| {
            let raw = match bytes {
                1 => c[0] as u64,
                2 => u16::from_le_bytes([c[0], c[1]]) as u64,
                _ => u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as u64,
            };
            let v = (raw >> shift) & mask;
            let value = if signed && v & sign_bit != 0 {
                v as i64 - (1i64 << stored)
            } else {
                v as i64
            };
            (value as f64 * slope + intercept) as f32
        })
        .collect();
    Ok(out)
}

fn assemble(instances: Vec<Instance>, max_voxels: u64) -> Result<DicomSeries> {
    let info = series_info(&instances);
    let (instances, geometry) = order_slices(instances)?;
    let (ny, nx, nz) = (
        instances[0].rows as usize,
        instances[0].columns as usize,
        instances.len(),
    );
    let voxels = (nx as u64) * (ny as u64) * (nz as u64);
    if voxels > max_voxels {
        return Err(Error::LimitExceeded(format!(
            "DICOM series {} is {nx} x {ny} x {nz} = {voxels} voxels, more than the limit of {max_voxels}",
            info.series_uid
        )));
    }
    let slices = instances
        .par_iter()
        .map(decode_slice)
        .collect::<Result<Vec<_>>>()?;
    let mut values = Vec::with_capacity(nx * ny * nz);
    for s in slices {
        values.extend_from_slice(&s);
    }
    let data = Array3::from_shape_vec((nz, ny, nx), values)
        .map_err(|e| Error::InvalidArgument(format!("series shape: {e}")))?;
    Ok(DicomSeries {
        volume: Image::new(data, geometry)?,
        info,
        files: instances.into_iter().map(|i| i.path).collect(),
        skipped: Vec::new(),
    })
}
