//! DICOM CT series reader on dicom-rs.
//!
//! Input is a directory (searched recursively), an explicit list of files, or instances held in
//! memory. Instances are grouped by SeriesInstanceUID and the series to read is chosen by the
//! policy of [`crate::io::dicom::selection`] (or by an explicit UID) from the headers alone.
//! Classic CT Image Storage series (one frame per instance) and Enhanced CT Image Storage
//! (multi-frame, geometry from the functional groups: [`crate::io::dicom::instance`]) become the
//! same list of slices. Slices are sorted by the projection of their ImagePositionPatient on the
//! slice normal (row × column cosines of ImageOrientationPatient), never by file name,
//! InstanceNumber or frame number.
//!
//! Checks, each failing with an error naming the file (and frame) or the positions:
//! - orientation: unit, orthogonal row/column cosines (tolerance [`ORIENTATION_TOLERANCE`]), the
//!   same on every slice; slice positions must lie along the normal (a tilted gantry is refused);
//! - spacing: every step between sorted positions within [`SPACING_TOLERANCE`] (relative) of the
//!   median step, else missing slices (a step of about k times the median) or duplicate positions
//!   are reported by position;
//! - pixels: Rows/Columns/PixelSpacing equal across slices, one sample per pixel; a classic image
//!   has one frame, an Enhanced CT as many per-frame functional group items as frames.
//!
//! Pixel data is decoded by dicom-pixeldata (native, deflated, JPEG baseline/extended/lossless,
//! JPEG-LS via CharLS, JPEG 2000 via OpenJPEG, RLE), once per instance (all frames of a
//! multi-frame object together). The stored value is then extracted here from
//! BitsAllocated/BitsStored/HighBit, sign-extended when PixelRepresentation is 1, and the frame's
//! RescaleSlope/RescaleIntercept are applied in f64.
//!
//! Directory search skips files without the DICOM "DICM" marker (listed in
//! [`DicomSeries::skipped`]); a file with the marker that fails to parse is an error. In-memory
//! instances get the same checks; no buffer is read past its length.

use crate::error::{Error, Result};
pub use crate::io::dicom::instance::{CT_IMAGE_STORAGE, ENHANCED_CT_IMAGE_STORAGE};
use crate::io::dicom::instance::{
    has_dicm_marker, parse, read_instance, Frame, Instance, InstanceBytes,
};
use crate::io::dicom::selection::{select_series, KernelClass, SeriesSelection, SeriesSummary};
use crate::io::dicom::source::SourceSeries;
use crate::volume::{cross, dot, Geometry, Image, Volume};
use dicom::core::header::HasLength;
use dicom::dictionary_std::tags;
use dicom_pixeldata::PixelDecoder;
use ndarray::Array3;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Tolerance on unit length and orthogonality of ImageOrientationPatient cosines.
pub const ORIENTATION_TOLERANCE: f64 = 1e-3;
/// Allowed relative deviation of a slice step from the median step.
pub const SPACING_TOLERANCE: f64 = 0.01;
/// Largest in-plane drift of slice positions (mm) before the series counts as gantry-tilted.
pub const TILT_TOLERANCE_MM: f64 = 0.05;

/// Options of the series reader.
#[derive(Debug, Clone)]
pub struct DicomReadOptions {
    /// SeriesInstanceUID to read; `None` applies the selection policy (`--series auto`).
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
    /// Files of the series in slice order (index k of the volume; the same file for every frame
    /// of an Enhanced CT); empty when read from memory.
    pub files: Vec<PathBuf>,
    /// Files of a directory search that were not DICOM and were skipped.
    pub skipped: Vec<PathBuf>,
    /// How the series was chosen, with every series of the input and why it was or was not.
    pub selection: SeriesSelection,
    /// What a Segmentation or RT Structure Set written for the volume references.
    pub source: SourceSeries,
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

fn file_has_dicm_marker(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = [0u8; 132];
    match f.read_exact(&mut buf) {
        Ok(()) => Ok(has_dicm_marker(&buf)),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Lists the CT series found under a directory (recursively) without decoding pixels.
pub fn list_series(dir: impl AsRef<Path>) -> Result<Vec<SeriesInfo>> {
    let (instances, _) = scan_directory(dir.as_ref())?;
    Ok(group(instances)
        .into_values()
        .filter(|v| v[0].sop_class == CT_IMAGE_STORAGE || v[0].sop_class == ENHANCED_CT_IMAGE_STORAGE)
        .map(|v| series_info(&v))
        .collect())
}

/// The selection table of a directory or DICOM file (headers only): every series, whether
/// `options` would read it and why.
pub fn survey_series(path: impl AsRef<Path>, options: &DicomReadOptions) -> Result<SeriesSelection> {
    let path = path.as_ref();
    let instances = if path.is_dir() {
        scan_directory(path)?.0
    } else {
        read_file_headers(&[path.to_path_buf()])?
    };
    Ok(select_series(summaries(&group(instances)), options.series_uid.as_deref()))
}

fn scan_directory(dir: &Path) -> Result<(Vec<Instance<'static>>, Vec<PathBuf>)> {
    let mut files = Vec::new();
    collect_files(dir, &mut files)?;
    let mut dicom_files = Vec::new();
    let mut skipped = Vec::new();
    for f in files {
        if file_has_dicm_marker(&f)? {
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
    let read = dicom_files
        .into_par_iter()
        .map(|f| Ok((read_instance(InstanceBytes::File(f.clone()))?, f)))
        .collect::<Result<Vec<_>>>()?;
    let mut instances = Vec::with_capacity(read.len());
    for (instance, file) in read {
        match instance {
            Some(i) => instances.push(i),
            // a DICOMDIR: an index of the files, read from the files themselves
            None => skipped.push(file),
        }
    }
    if instances.is_empty() {
        return Err(Error::dicom(dir, "no DICOM images found (only a DICOMDIR)"));
    }
    Ok((instances, skipped))
}

fn read_file_headers(files: &[PathBuf]) -> Result<Vec<Instance<'static>>> {
    files
        .par_iter()
        .map(|f| {
            read_instance(InstanceBytes::File(f.clone()))?.ok_or_else(|| {
                Error::dicom(
                    f,
                    "a DICOMDIR (the index of a medium), not an image: give its folder",
                )
            })
        })
        .collect()
}

/// Every instance by SeriesInstanceUID (any SOP class: the policy rejects what is not CT).
fn group<'a>(instances: Vec<Instance<'a>>) -> BTreeMap<String, Vec<Instance<'a>>> {
    let mut by_series: BTreeMap<String, Vec<Instance<'a>>> = BTreeMap::new();
    for inst in instances {
        by_series
            .entry(inst.series_uid.clone())
            .or_default()
            .push(inst);
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

fn series_info(instances: &[Instance<'_>]) -> SeriesInfo {
    let first = &instances[0];
    SeriesInfo {
        series_uid: first.series_uid.clone(),
        description: first.description.clone(),
        slice_count: instances.iter().map(|i| i.frames.len()).sum(),
        transfer_syntax_uid: first.transfer_syntax.clone(),
        transfer_syntax: transfer_syntax_name(&first.transfer_syntax),
    }
}

/// What the selection policy sees of each series.
fn summaries(groups: &BTreeMap<String, Vec<Instance<'_>>>) -> Vec<SeriesSummary> {
    groups
        .values()
        .map(|v| {
            let first = &v[0];
            let frames: Vec<&Frame> = v.iter().flat_map(|i| i.frames.iter()).collect();
            let f0 = frames.first().copied();
            let normal = f0.and_then(|f| f.orientation).map(|o| {
                let n = cross([o[0], o[1], o[2]], [o[3], o[4], o[5]]);
                let len = dot(n, n).sqrt();
                if len > 0.0 {
                    n.map(|c| c / len)
                } else {
                    n
                }
            });
            let tilt_degrees = normal.map(|n| n[2].abs().min(1.0).acos().to_degrees());
            let coverage_mm = normal.and_then(|n| {
                let along: Vec<f64> = frames
                    .iter()
                    .filter_map(|f| f.position.map(|p| dot(p, n)))
                    .collect();
                if along.len() != frames.len() || along.is_empty() {
                    return None;
                }
                let lo = along.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = along.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let step = if along.len() > 1 {
                    (hi - lo) / (along.len() - 1) as f64
                } else {
                    f0.and_then(|f| f.slice_thickness).unwrap_or(0.0)
                };
                Some(hi - lo + step)
            });
            let image_type = if first.sop_class == ENHANCED_CT_IMAGE_STORAGE {
                f0.map(|f| f.image_type.clone())
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| first.image_type.clone())
            } else {
                first.image_type.clone()
            };
            SeriesSummary {
                series_uid: first.series_uid.clone(),
                series_number: first.series_number,
                description: first.description.clone(),
                modality: first.modality.clone(),
                sop_class: first.sop_class.clone(),
                image_type,
                kernel: first.kernel.clone(),
                kernel_class: KernelClass::of(&first.kernel),
                slices: frames.len(),
                slice_thickness_mm: f0.and_then(|f| f.slice_thickness),
                coverage_mm,
                tilt_degrees,
            }
        })
        .collect()
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
    for f in files {
        if !file_has_dicm_marker(f)? {
            return Err(Error::dicom(
                f,
                "not a DICOM file (no DICM marker at byte 128)",
            ));
        }
    }
    let instances = read_file_headers(files)?;
    let origin = files[0].parent().unwrap_or(Path::new("."));
    select(origin, instances, options)
}

/// Reads a CT series from DICOM Part 10 instances held in memory (each a whole file's bytes:
/// preamble, "DICM", meta group, data set), with the same selection, checks and limits as the
/// directory reader. Errors name an instance as "memory buffer N" (its index in `buffers`).
pub fn read_dicom_buffers(buffers: &[&[u8]], options: &DicomReadOptions) -> Result<DicomSeries> {
    if buffers.is_empty() {
        return Err(Error::InvalidArgument("no DICOM instances given".into()));
    }
    let instances: Vec<Instance> = buffers
        .par_iter()
        .enumerate()
        .map(|(k, data)| {
            read_instance(InstanceBytes::Memory {
                label: PathBuf::from(format!("memory buffer {k}")),
                data,
            })
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten() // a DICOMDIR among the instances indexes them and is left out
        .collect();
    if instances.is_empty() {
        return Err(Error::InvalidArgument(
            "no DICOM images among the instances (only a DICOMDIR)".into(),
        ));
    }
    select(Path::new("memory"), instances, options)
}

fn select<'a>(
    source: &Path,
    instances: Vec<Instance<'a>>,
    options: &DicomReadOptions,
) -> Result<DicomSeries> {
    let total = instances.len();
    let mut groups = group(instances);
    let selection = select_series(summaries(&groups), options.series_uid.as_deref());
    let describe = || {
        selection
            .series
            .iter()
            .map(|v| {
                format!(
                    "{} \"{}\" ({} slices): {}",
                    v.series.series_uid, v.series.description, v.series.slices, v.reason
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let Some(uid) = selection.chosen_uid.clone() else {
        return Err(Error::dicom(
            source,
            match &options.series_uid {
                Some(uid) => format!("no series with SeriesInstanceUID {uid}; found: {}", describe()),
                None if !selection.series.iter().any(|v| {
                    v.series.sop_class == CT_IMAGE_STORAGE
                        || v.series.sop_class == ENHANCED_CT_IMAGE_STORAGE
                }) =>
                {
                    format!(
                        "none of the {total} DICOM instances is a CT image (SOP class {CT_IMAGE_STORAGE} or {ENHANCED_CT_IMAGE_STORAGE}): {}",
                        describe()
                    )
                }
                None => format!(
                    "no series qualifies for segmentation; choose one by SeriesInstanceUID: {}",
                    describe()
                ),
            },
        ));
    };
    let chosen = groups.remove(&uid).unwrap_or_default();
    let sop_class = &chosen[0].sop_class;
    if sop_class != CT_IMAGE_STORAGE && sop_class != ENHANCED_CT_IMAGE_STORAGE {
        return Err(Error::dicom(
            chosen[0].bytes.label(),
            format!("series {uid} is SOP class {sop_class}, not CT image storage"),
        ));
    }
    let mut series = assemble(chosen, options.max_voxels)?;
    series.selection = selection;
    Ok(series)
}

/// One slice of the volume: a frame of an instance.
#[derive(Clone, Copy)]
struct Slice<'i, 'a> {
    inst: &'i Instance<'a>,
    frame: &'i Frame,
    /// Where the slice's pixels are: the instance's index in the series and the frame's in it.
    at: (usize, usize),
}

impl Slice<'_, '_> {
    /// The file or buffer, with the frame number for a multi-frame object.
    fn label(&self) -> PathBuf {
        let l = self.inst.bytes.label();
        if self.frame.number > 0 {
            PathBuf::from(format!("{} (frame {})", l.display(), self.frame.number))
        } else {
            l.to_path_buf()
        }
    }
}

/// Slice geometry checks and sort; returns the slices in order with the geometry.
fn order_slices<'i, 'a>(mut slices: Vec<Slice<'i, 'a>>) -> Result<(Vec<Slice<'i, 'a>>, Geometry)> {
    let first = slices[0];
    let iop = first
        .frame
        .orientation
        .ok_or_else(|| Error::dicom(first.label(), "no ImageOrientationPatient"))?;
    let row = [iop[0], iop[1], iop[2]];
    let col = [iop[3], iop[4], iop[5]];
    let (nr, nc, rc) = (dot(row, row).sqrt(), dot(col, col).sqrt(), dot(row, col));
    if (nr - 1.0).abs() > ORIENTATION_TOLERANCE
        || (nc - 1.0).abs() > ORIENTATION_TOLERANCE
        || rc.abs() > ORIENTATION_TOLERANCE
    {
        return Err(Error::dicom(
            first.label(),
            format!("non-orthogonal ImageOrientationPatient {iop:?} (|row| {nr:.5}, |col| {nc:.5}, row·col {rc:.5})"),
        ));
    }
    let row = row.map(|v| v / nr);
    let col = col.map(|v| v / nc);
    let normal = cross(row, col);
    let ps = first
        .frame
        .pixel_spacing
        .ok_or_else(|| Error::dicom(first.label(), "no PixelSpacing"))?;
    if ps.iter().any(|&s| s <= 0.0) {
        return Err(Error::dicom(
            first.label(),
            format!("PixelSpacing {ps:?} must be positive"),
        ));
    }
    for s in &slices {
        let inst = s.inst;
        if inst.rows != first.inst.rows || inst.columns != first.inst.columns {
            return Err(Error::dicom(
                s.label(),
                format!(
                    "Rows/Columns {}x{} differ from {}x{} in {}",
                    inst.rows,
                    inst.columns,
                    first.inst.rows,
                    first.inst.columns,
                    first.label().display()
                ),
            ));
        }
        let classic_multi_frame = inst.sop_class == CT_IMAGE_STORAGE && inst.declared_frames != 1;
        if inst.samples != 1 || classic_multi_frame {
            return Err(Error::dicom(
                s.label(),
                format!(
                    "{} samples per pixel and {} frames: only grayscale CT with one frame per CT Image (or an Enhanced CT Image) is supported",
                    inst.samples, inst.declared_frames
                ),
            ));
        }
        match s.frame.orientation {
            Some(o) if o.iter().zip(iop).all(|(a, b)| (a - b).abs() <= ORIENTATION_TOLERANCE) => {}
            other => {
                return Err(Error::dicom(
                    s.label(),
                    format!("ImageOrientationPatient {other:?} differs from {iop:?} in the rest of the series"),
                ))
            }
        }
        match s.frame.pixel_spacing {
            Some(p)
                if p.iter()
                    .zip(ps)
                    .all(|(a, b)| (a - b).abs() <= 1e-4 * b.abs().max(1.0)) => {}
            other => {
                return Err(Error::dicom(
                    s.label(),
                    format!("PixelSpacing {other:?} differs from {ps:?} in the rest of the series"),
                ))
            }
        }
        if s.frame.position.is_none() {
            return Err(Error::dicom(s.label(), "no ImagePositionPatient"));
        }
    }
    let key = |s: &Slice| dot(s.frame.position.unwrap_or_default(), normal);
    slices.sort_by(|a, b| key(a).total_cmp(&key(b)));
    let origin = slices[0].frame.position.unwrap_or_default();
    // Tilted gantry: positions drift within the slice plane.
    for s in &slices {
        let p = s.frame.position.unwrap_or_default();
        let d = [p[0] - origin[0], p[1] - origin[1], p[2] - origin[2]];
        let drift = (dot(d, row).powi(2) + dot(d, col).powi(2)).sqrt();
        if drift > TILT_TOLERANCE_MM {
            return Err(Error::dicom(
                s.label(),
                format!(
                    "slice position {p:?} is shifted {drift:.3} mm within the slice plane relative to the first slice: tilted gantry or oblique stack, not supported"
                ),
            ));
        }
    }
    let positions: Vec<f64> = slices.iter().map(key).collect();
    let dz = slice_spacing(&slices, &positions)?;
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
    Ok((slices, geometry))
}

/// Where errors about the series as a whole point: the folder of a file, or the buffer.
fn series_origin(s: &Slice) -> PathBuf {
    let l = s.inst.bytes.label();
    match &s.inst.bytes {
        InstanceBytes::File(_) => l.parent().unwrap_or(l).to_path_buf(),
        InstanceBytes::Memory { .. } => l.to_path_buf(),
    }
}

fn slice_spacing(slices: &[Slice], positions: &[f64]) -> Result<f64> {
    let origin = series_origin(&slices[0]);
    if positions.len() == 1 {
        let f = slices[0].frame;
        let s = f
            .spacing_between
            .or(f.slice_thickness)
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
                slices[k].label().display(),
                slices[k + 1].label().display()
            )
        })
        .collect();
    if !duplicates.is_empty() {
        return Err(Error::dicom(
            &origin,
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
            &origin,
            format!(
                "missing slices (spacing {median:.4} mm): {}",
                missing.join(", ")
            ),
        ));
    }
    if !uneven.is_empty() {
        return Err(Error::dicom(
            &origin,
            format!(
                "non-uniform slice spacing (median {median:.4} mm, tolerance {}%): {}",
                SPACING_TOLERANCE * 100.0,
                uneven.join(", ")
            ),
        ));
    }
    Ok((positions[positions.len() - 1] - positions[0]) / (positions.len() - 1) as f64)
}

/// Decodes every frame of one instance into HU values (row-major, x fastest), in frame order.
fn decode_instance(inst: &Instance<'_>) -> Result<Vec<Vec<f32>>> {
    let label = inst.bytes.label();
    let raw = inst.bytes.bytes()?;
    let obj = parse(&raw, label, false)?;
    let Some(pixel_data) = obj.element_opt(tags::PIXEL_DATA).ok().flatten() else {
        return Err(Error::dicom(label, "no PixelData element"));
    };
    let frames = inst.frames.len();
    let pixels = inst.rows as usize * inst.columns as usize;
    // native pixel data must hold every frame before the decoder allocates them
    if let Some(len) = pixel_data.length().get() {
        let bits = obj
            .element_opt(tags::BITS_ALLOCATED)
            .ok()
            .flatten()
            .and_then(|e| e.to_int::<u32>().ok())
            .unwrap_or(16) as usize;
        let need = (pixels * frames * bits).div_ceil(8);
        if (len as usize) < need {
            return Err(Error::dicom(
                label,
                format!(
                    "PixelData holds {len} bytes, {need} needed for {frames} frame(s) of {}x{} pixels of {bits} bits",
                    inst.columns, inst.rows
                ),
            ));
        }
    }
    let decoded = obj.decode_pixel_data().map_err(|e| {
        Error::dicom(
            label,
            format!("cannot decode pixel data ({}): {e}", inst.transfer_syntax),
        )
    })?;
    let (rows, cols) = (decoded.rows() as usize, decoded.columns() as usize);
    if rows != inst.rows as usize || cols != inst.columns as usize || rows == 0 || cols == 0 {
        return Err(Error::dicom(
            label,
            format!(
                "decoded image is {cols}x{rows}, header says {}x{}",
                inst.columns, inst.rows
            ),
        ));
    }
    if decoded.number_of_frames() as usize != frames {
        return Err(Error::dicom(
            label,
            format!(
                "decoded {} frames, the header describes {frames}",
                decoded.number_of_frames()
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
            label,
            format!("unsupported bit layout: BitsAllocated {allocated}, BitsStored {stored}, HighBit {high}"),
        ));
    }
    let signed = decoded.pixel_representation() == dicom_pixeldata::PixelRepresentation::Signed;
    let bytes = (allocated / 8) as usize;
    let data = decoded.data();
    let frame_bytes = pixels * bytes;
    if data.len() < frame_bytes * frames {
        return Err(Error::dicom(
            label,
            format!(
                "pixel data has {} bytes, {frames} frame(s) of {cols}x{rows} pixels of {allocated} bits need {}",
                data.len(),
                frame_bytes * frames
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
    let out = inst
        .frames
        .iter()
        .enumerate()
        .map(|(f, frame)| {
            let (slope, intercept) = (frame.slope, frame.intercept);
            data[f * frame_bytes..(f + 1) * frame_bytes]
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
                .collect()
        })
        .collect();
    Ok(out)
}

fn assemble(instances: Vec<Instance<'_>>, max_voxels: u64) -> Result<DicomSeries> {
    let info = series_info(&instances);
    let slices: Vec<Slice> = instances
        .iter()
        .enumerate()
        .flat_map(|(i, inst)| {
            inst.frames.iter().enumerate().map(move |(f, frame)| Slice {
                inst,
                frame,
                at: (i, f),
            })
        })
        .collect();
    if slices.is_empty() {
        return Err(Error::dicom(
            instances[0].bytes.label(),
            "the series has no frames",
        ));
    }
    let (slices, geometry) = order_slices(slices)?;
    let (ny, nx, nz) = (
        slices[0].inst.rows as usize,
        slices[0].inst.columns as usize,
        slices.len(),
    );
    let voxels = (nx as u64) * (ny as u64) * (nz as u64);
    if voxels > max_voxels {
        return Err(Error::LimitExceeded(format!(
            "DICOM series {} is {nx} x {ny} x {nz} = {voxels} voxels, more than the limit of {max_voxels}",
            info.series_uid
        )));
    }
    // every frame is decoded straight into its slice of the volume (instances in parallel), so
    // the series never exists twice: decoded frames and the assembled volume
    let mut values = Vec::new();
    values
        .try_reserve_exact(nx * ny * nz)
        .map_err(|e| Error::LimitExceeded(format!("{voxels} voxels cannot be allocated: {e}")))?;
    values.resize(nx * ny * nz, 0.0f32);
    let mut targets: Vec<Vec<(usize, &mut [f32])>> = instances.iter().map(|_| Vec::new()).collect();
    for (s, slice) in slices.iter().zip(values.chunks_mut(nx * ny)) {
        let (i, f) = s.at;
        targets[i].push((f, slice));
    }
    instances
        .par_iter()
        .zip(targets.par_iter_mut())
        .filter(|(_, t)| !t.is_empty())
        .try_for_each(|(inst, t)| -> Result<()> {
            let frames = decode_instance(inst)?;
            for (f, slice) in t.iter_mut() {
                let Some(frame) = frames.get(*f).filter(|v| v.len() == slice.len()) else {
                    return Err(Error::dicom(
                        inst.bytes.label(),
                        format!("frame {f} does not hold the series' {nx} x {ny} pixels"),
                    ));
                };
                slice.copy_from_slice(frame);
            }
            Ok(())
        })?;
    drop(targets);
    let data = Array3::from_shape_vec((nz, ny, nx), values)
        .map_err(|e| Error::InvalidArgument(format!("series shape: {e}")))?;
    let pairs: Vec<(&Instance, &Frame)> = slices.iter().map(|s| (s.inst, s.frame)).collect();
    let source = SourceSeries::of_slices(&pairs)?;
    let files = slices
        .iter()
        .filter_map(|s| match &s.inst.bytes {
            InstanceBytes::File(p) => Some(p.clone()),
            InstanceBytes::Memory { .. } => None,
        })
        .collect();
    Ok(DicomSeries {
        volume: Image::new(data, geometry)?,
        info,
        files,
        skipped: Vec::new(),
        selection: SeriesSelection {
            mode: String::new(),
            chosen_uid: None,
            series: Vec::new(),
        },
        source,
    })
}
