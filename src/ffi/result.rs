//! The result object: `pancseg_result` (the mask, the optional probability map, the report) with
//! its accessors and its writers (NIfTI, DICOM Segmentation, overlay PNG), and
//! `pancseg_result_free`.

use crate::ffi::boundary::{
    bad_value,    free_box, guard, guard_value, invalid, read_versioned, required_path, try_ref,
};
use crate::ffi::c_enum::c_enum_table;
use crate::ffi::image::pancseg_image;
use crate::ffi::status::{from_error, pancseg_status, Failure};
use crate::ffi::volume::{pancseg_volume, volume_of};
use crate::io::dicom::rtstruct::{write_rtstruct, RtStructWriteOptions};
use crate::io::dicom::seg::{write_dicom_seg, SegWriteOptions};
use crate::io::dicom::source::SourceSeries;
use crate::io::render::{render_png, RenderOptions};
use crate::pipeline::abdomen::FieldOfView;
use crate::pipeline::{Limits, Segmentation};
use crate::volume::{Geometry, Image, Mask};
use ndarray::Array3;
use std::ffi::{c_char, CString};

/// Whether the scan holds the pancreas region (`pancseg_result_field_of_view`), from the
/// landmarks the pipeline finds (lung bases, iliac crests) and the mask's extent.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum pancseg_field_of_view {
    /// The region lies inside the scan.
    PANCSEG_FOV_FULL = 0,
    /// The scan's edge cuts the region (a short slab, or the mask reaches the first or last
    /// slice): the mask may miss part of the gland.
    PANCSEG_FOV_CUT = 1,
    /// The scan holds no pancreas region (chest only, or pelvis only ending in the lumbar gap
    /// close over the iliac crests): the mask is empty.
    PANCSEG_FOV_ABSENT = 2,
}

c_enum_table!(pancseg_field_of_view => FieldOfView {
    PANCSEG_FOV_FULL => FieldOfView::Full,
    PANCSEG_FOV_CUT => FieldOfView::Cut,
    PANCSEG_FOV_ABSENT => FieldOfView::Absent,
});

/// A segmentation: the mask (and optionally the probability map) on the input's grid.
#[allow(non_camel_case_types)]
pub struct pancseg_result {
    mask: Array3<u8>,
    field_of_view: FieldOfView,
    probability: Option<Array3<f32>>,
    geometry: Geometry,
    volume_ml: f64,
    stages: Vec<(CString, f64)>,
    report: CString,
}

impl pancseg_result {
    /// The C result of a segmentation.
    pub(crate) fn of(seg: Segmentation) -> pancseg_result {
        let r = &seg.report;
        let report = serde_json::to_string(r).unwrap_or_default();
        pancseg_result {
            stages: r
                .stage_seconds
                .iter()
                .map(|s| (CString::new(s.stage).unwrap_or_default(), s.seconds))
                .collect(),
            volume_ml: r.pancreas_ml,
            field_of_view: r.field_of_view,
            report: CString::new(report).unwrap_or_default(),
            geometry: seg.mask.geometry,
            mask: seg.mask.data,
            probability: seg.probability.map(|p| p.data),
        }
    }

    /// The mask as an image with the input's geometry.
    fn mask_image(&self) -> Mask {
        Image {
            data: self.mask.clone(),
            geometry: self.geometry,
        }
    }
}

/// Frees a result (NULL is ignored); independent of its context.
#[no_mangle]
pub extern "C" fn pancseg_result_free(result: *mut pancseg_result) {
    free_box(result)
}

fn result_ref<'a>(r: *const pancseg_result) -> Option<&'a pancseg_result> {
    // SAFETY: NULL or a live result (caller contract).
    unsafe { r.as_ref() }
}

/// Writes `value` to an optional out-pointer.
fn put<T>(p: *mut T, value: T) {
    if !p.is_null() {
        // SAFETY: non-NULL out pointer (caller contract).
        unsafe { p.write(value) };
    }
}

/// Writes the result's dims (x, y, z: the input's) to `dims[0..3]`.
#[no_mangle]
pub extern "C" fn pancseg_result_dims(
    result: *const pancseg_result,
    dims: *mut usize,
) -> pancseg_status {
    guard(|| {
        let r = try_ref!(result);
        if dims.is_null() {
            return invalid("dims is NULL");
        }
        let (nz, ny, nx) = r.mask.dim();
        // SAFETY: dims points to 3 writable size_t (header docs).
        unsafe {
            dims.write(nx);
            dims.add(1).write(ny);
            dims.add(2).write(nz);
        }
        Ok(())
    })
}

/// The 0/1 mask, x fastest (the input's layout); `*len` (may be NULL) gets the voxel count.
/// Borrowed from the result. NULL for a NULL result.
#[no_mangle]
pub extern "C" fn pancseg_result_mask(result: *const pancseg_result, len: *mut usize) -> *const u8 {
    guard_value(std::ptr::null(), || {
        let Some(r) = result_ref(result) else {
            return std::ptr::null();
        };
        put(len, r.mask.len());
        r.mask.as_ptr()
    })
}

/// The probability map the mask was thresholded from (when asked for with
/// `want_probability`), x fastest; NULL otherwise. Borrowed from the result.
#[no_mangle]
pub extern "C" fn pancseg_result_probability(
    result: *const pancseg_result,
    len: *mut usize,
) -> *const f32 {
    guard_value(std::ptr::null(), || {
        let Some(p) = result_ref(result).and_then(|r| r.probability.as_ref()) else {
            put(len, 0);
            return std::ptr::null();
        };
        put(len, p.len());
        p.as_ptr()
    })
}

/// Pancreas volume in mL; NaN for a NULL result.
#[no_mangle]
pub extern "C" fn pancseg_result_volume_ml(result: *const pancseg_result) -> f64 {
    guard_value(f64::NAN, || {
        result_ref(result).map_or(f64::NAN, |r| r.volume_ml)
    })
}

/// The field-of-view verdict, a `pancseg_field_of_view` value; -1 for a NULL result.
#[no_mangle]
pub extern "C" fn pancseg_result_field_of_view(result: *const pancseg_result) -> i32 {
    guard_value(-1, || {
        result_ref(result).map_or(-1, |r| {
            pancseg_field_of_view::ALL
                .iter()
                .find(|v| v.value() == r.field_of_view)
                .map_or(-1, |v| *v as i32)
        })
    })
}

/// Number of timed stages in the result (0 for NULL).
#[no_mangle]
pub extern "C" fn pancseg_result_stage_count(result: *const pancseg_result) -> usize {
    guard_value(0, || result_ref(result).map_or(0, |r| r.stages.len()))
}

/// Name (borrowed from the result) and seconds of stage `index`.
#[no_mangle]
pub extern "C" fn pancseg_result_stage(
    result: *const pancseg_result,
    index: usize,
    name: *mut *const c_char,
    seconds: *mut f64,
) -> pancseg_status {
    guard(|| {
        let r = try_ref!(result);
        let Some((n, s)) = r.stages.get(index) else {
            return invalid(format!("stage {index} of {}", r.stages.len()));
        };
        put(name, n.as_ptr());
        put(seconds, *s);
        Ok(())
    })
}

/// The whole report as JSON (method, provider, volume, candidates, stage times, peak memory),
/// borrowed from the result; NULL for a NULL result.
#[no_mangle]
pub extern "C" fn pancseg_result_report_json(result: *const pancseg_result) -> *const c_char {
    guard_value(std::ptr::null(), || {
        result_ref(result).map_or(std::ptr::null(), |r| r.report.as_ptr())
    })
}

/// Writes the mask as NIfTI (`.nii` or `.nii.gz`, uint8) with the input's geometry.
#[no_mangle]
pub extern "C" fn pancseg_result_write_nifti(
    result: *const pancseg_result,
    path: *const c_char,
) -> pancseg_status {
    guard(|| {
        let r = try_ref!(result);
        let p = required_path(path, "path")?;
        let name = p.to_string_lossy();
        if !(name.ends_with(".nii") || name.ends_with(".nii.gz")) {
            return invalid(format!("{name}: the name must end in .nii or .nii.gz"));
        }
        crate::io::nifti::write_nifti(&p, &r.mask_image()).map_err(from_error)
    })
}

/// The DICOM series `source` gives a derived object (`what`) of `r` to reference: it must have
/// been read from DICOM and lie on the result's grid.
fn referenced_series<'a>(
    r: &pancseg_result,
    source: &'a pancseg_image,
    what: &str,
) -> Result<&'a SourceSeries, Failure> {
    let Some(series) = &source.dicom_source else {
        return invalid(format!(
            "source was not read from DICOM: {what} needs a series to reference"
        ));
    };
    if source.volume.data.dim() != r.mask.dim() || source.volume.geometry != r.geometry {
        return invalid("source is not on the result's grid (dims or geometry differ)");
    }
    Ok(series)
}

/// Writes the mask as a DICOM Segmentation object (BINARY, SOP class 1.2.840.10008.5.1.4.1.1.66.4,
/// one segment "Pancreas") that references `source`: the DICOM series the result was computed from,
/// loaded with `pancseg_image_load` (same grid). Fails with PANCSEG_INVALID_ARGUMENT when `source`
/// was not read from DICOM or does not match the result's grid.
#[no_mangle]
pub extern "C" fn pancseg_result_write_dicom_seg(
    result: *const pancseg_result,
    source: *const pancseg_image,
    path: *const c_char,
) -> pancseg_status {
    guard(|| {
        let r = try_ref!(result);
        let source = try_ref!(source);
        let p = required_path(path, "path")?;
        let series = referenced_series(r, source, "a DICOM Segmentation")?;
        write_dicom_seg(&r.mask_image(), series, &p, &SegWriteOptions::default())
            .map(|_| ())
            .map_err(from_error)
    })
}

/// Writes the mask as a DICOM RT Structure Set (SOP class 1.2.840.10008.5.1.4.1.1.481.3): one ROI
/// "Pancreas" (SNOMED CT 15776009) of closed planar contours traced along the voxel edges of each
/// slice (every island and hole its own contour; the even-odd fill gives the mask back), each
/// referencing its source image. `source` is the DICOM series the result was computed from,
/// loaded with `pancseg_image_load` or `pancseg_image_load_dicom_memory` (same grid). Fails with
/// PANCSEG_INVALID_ARGUMENT when `source` was not read from DICOM or is not on the result's grid.
#[no_mangle]
pub extern "C" fn pancseg_result_write_rtstruct(
    result: *const pancseg_result,
    source: *const pancseg_image,
    path: *const c_char,
) -> pancseg_status {
    guard(|| {
        let r = try_ref!(result);
        let source = try_ref!(source);
        let p = required_path(path, "path")?;
        let series = referenced_series(r, source, "an RT Structure Set")?;
        write_rtstruct(&r.mask_image(), series, &p, &RtStructWriteOptions::default())
            .map(|_| ())
            .map_err(from_error)
    })
}

/// Writes an overlay PNG: the axial CT slice with the largest mask area (soft-tissue window,
/// radiological orientation, square pixels) with the mask outlined in red. `ct` must be the
/// volume the result was computed from (same dims).
#[no_mangle]
pub extern "C" fn pancseg_result_write_overlay_png(
    result: *const pancseg_result,
    ct: *const pancseg_volume,
    path: *const c_char,
) -> pancseg_status {
    guard(|| {
        let r = try_ref!(result);
        if ct.is_null() {
            return invalid("ct is NULL");
        }
        let p = required_path(path, "path")?;
        if !p.to_string_lossy().to_ascii_lowercase().ends_with(".png") {
            return invalid(format!("{}: the name must end in .png", p.display()));
        }
        let v = read_versioned(ct)?.ok_or_else(|| bad_value("ct is NULL".into()))?;
        let volume = volume_of(
            &v,
            &Limits {
                max_voxels: u64::MAX,
                memory_budget: u64::MAX,
            },
        )?;
        if volume.data.dim() != r.mask.dim() {
            return invalid("ct does not have the result's dims");
        }
        render_png(
            &volume,
            Some(&r.mask_image()),
            None,
            &RenderOptions::default(),
            &p,
        )
        .map_err(from_error)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::status::pancseg_status::*;

    #[test]
    fn null_results_give_null_values_and_errors() {
        pancseg_result_free(std::ptr::null_mut());
        assert!(pancseg_result_volume_ml(std::ptr::null()).is_nan());
        assert!(pancseg_result_mask(std::ptr::null(), std::ptr::null_mut()).is_null());
        let mut len = 5usize;
        assert!(pancseg_result_probability(std::ptr::null(), &mut len).is_null());
        assert_eq!(len, 0);
        assert_eq!(pancseg_result_stage_count(std::ptr::null()), 0);
        assert!(pancseg_result_report_json(std::ptr::null()).is_null());
        let mut dims = [0usize; 3];
        assert_eq!(
            pancseg_result_dims(std::ptr::null(), dims.as_mut_ptr()),
            PANCSEG_INVALID_ARGUMENT
        );
        assert_eq!(
            pancseg_result_write_nifti(std::ptr::null(), c"x.nii".as_ptr()),
            PANCSEG_INVALID_ARGUMENT
        );
        let msg = unsafe { std::ffi::CStr::from_ptr(crate::ffi::status::pancseg_last_error()) };
        assert_eq!(msg.to_str().unwrap(), "result is NULL");
    }
}
