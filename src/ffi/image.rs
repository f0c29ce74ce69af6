//! The image object: `pancseg_image`, a CT loaded by the library from a NIfTI file, a DICOM
//! directory or DICOM instances in memory (keeping what a DICOM Segmentation or RT Structure Set
//! written for it must reference, and how its series was chosen), its `pancseg_volume` view and
//! `pancseg_image_free`.

use crate::ffi::boundary::{
    free_box, give, guard, guard_value, invalid, out_ptr, path_arg, required_path, try_ref,
    write_versioned,
};
use crate::ffi::status::{from_error, pancseg_status};
use crate::ffi::volume::pancseg_volume;
use crate::io::dicom::series::{read_dicom_buffers, DicomReadOptions};
use crate::io::dicom::source::SourceSeries;
use crate::io::input::{load_volume, LoadedVolume, Source};
use crate::volume::Volume;
use std::ffi::{c_char, CString};

/// A CT volume loaded by the library (NIfTI file, DICOM directory or DICOM in memory).
#[allow(non_camel_case_types)]
pub struct pancseg_image {
    pub(crate) volume: Volume,
    /// What derived DICOM objects reference, when the image was read from DICOM.
    pub(crate) dicom_source: Option<SourceSeries>,
    /// The series selection table as JSON, when the image was read from DICOM.
    selection_json: Option<CString>,
}

impl pancseg_image {
    fn of(loaded: LoadedVolume) -> pancseg_image {
        let (dicom_source, selection_json) = match loaded.source {
            Source::Dicom {
                reference,
                selection,
                ..
            } => (
                Some(*reference),
                serde_json::to_string(&selection)
                    .ok()
                    .and_then(|j| CString::new(j).ok()),
            ),
            Source::Nifti { .. } => (None, None),
        };
        pancseg_image {
            volume: loaded.volume,
            dicom_source,
            selection_json,
        }
    }
}

/// Loads a CT from a NIfTI file or a DICOM directory into a library-owned image; free it with
/// `pancseg_image_free`. A directory's series is chosen by the selection policy (the CLI's
/// `--series auto`: original axial CT, soft-tissue kernel, 1-3 mm slices preferred;
/// `pancseg_image_series_json` tells which and why).
#[no_mangle]
pub extern "C" fn pancseg_image_load(
    path: *const c_char,
    out: *mut *mut pancseg_image,
) -> pancseg_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        let p = required_path(path, "path")?;
        let loaded = load_volume(&p, &DicomReadOptions::default()).map_err(from_error)?;
        give(out, pancseg_image::of(loaded));
        Ok(())
    })
}

/// One DICOM instance held by the caller: the bytes of a whole Part 10 file (128-byte preamble,
/// "DICM", file meta group, data set).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct pancseg_dicom_buffer {
    /// The first byte; may be NULL only when `length` is 0.
    pub data: *const u8,
    /// Bytes at `data`; nothing past them is read.
    pub length: usize,
}

/// Builds a library-owned image from `count` DICOM instances in memory (`buffers[0..count]`),
/// with the same series selection, geometry checks and limits as a directory: `series_uid`
/// NULL applies the selection policy, else names the SeriesInstanceUID to read. The buffers
/// are only read during the call (the image owns copies of what it keeps). Errors name an
/// instance as "memory buffer N", N its index. Free the image with `pancseg_image_free`.
#[no_mangle]
pub extern "C" fn pancseg_image_load_dicom_memory(
    buffers: *const pancseg_dicom_buffer,
    count: usize,
    series_uid: *const c_char,
    out: *mut *mut pancseg_image,
) -> pancseg_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        if buffers.is_null() {
            return invalid("buffers is NULL");
        }
        if count == 0 {
            return invalid("count is 0: no DICOM instances given");
        }
        // SAFETY: non-NULL; the caller passes `count` readable structs (header docs).
        let list = unsafe { std::slice::from_raw_parts(buffers, count) };
        let mut slices = Vec::with_capacity(count);
        for (k, b) in list.iter().enumerate() {
            if b.data.is_null() {
                if b.length == 0 {
                    slices.push(&[][..]);
                    continue;
                }
                return invalid(format!("buffers[{k}].data is NULL but its length is {}", b.length));
            }
            if b.length > isize::MAX as usize {
                return invalid(format!("buffers[{k}].length {} is too large", b.length));
            }
            // SAFETY: non-NULL; the caller guarantees `length` readable bytes (header docs).
            slices.push(unsafe { std::slice::from_raw_parts(b.data, b.length) });
        }
        let uid = path_arg(series_uid, "series_uid")?.map(|p| p.to_string_lossy().into_owned());
        let options = DicomReadOptions {
            series_uid: uid,
            ..DicomReadOptions::default()
        };
        let series = read_dicom_buffers(&slices, &options).map_err(from_error)?;
        give(out, pancseg_image::of(series.into()));
        Ok(())
    })
}

/// How the image's DICOM series was chosen, as JSON: `mode` ("auto" or "uid"), `chosen_uid`,
/// and `series`, one entry per series of the input (UID, number, description, SOP class, image
/// type, kernel and its class, slices, thickness, coverage, tilt, `chosen`, `reason`). Borrowed
/// from the image; NULL for a NULL image or one not read from DICOM.
#[no_mangle]
pub extern "C" fn pancseg_image_series_json(image: *const pancseg_image) -> *const c_char {
    guard_value(std::ptr::null(), || {
        // SAFETY: NULL or a live image (caller contract).
        let image = unsafe { image.as_ref() };
        image
            .and_then(|i| i.selection_json.as_ref())
            .map_or(std::ptr::null(), |s| s.as_ptr())
    })
}

/// Fills `*view` with a float32 (HU) view of the image for `pancseg_segment`, borrowed from the
/// image (valid until `pancseg_image_free`). Set `view->struct_size = sizeof(pancseg_volume)`
/// first: the library writes no more than that many bytes (nor more than the fields it knows)
/// and leaves `struct_size` at the number it wrote.
#[no_mangle]
pub extern "C" fn pancseg_image_volume(
    image: *const pancseg_image,
    view: *mut pancseg_volume,
) -> pancseg_status {
    guard(|| {
        let image = try_ref!(image);
        if view.is_null() {
            return invalid("view is NULL");
        }
        write_versioned(
            view,
            pancseg_volume::view_of(&image.volume),
            " before pancseg_image_volume",
        )
    })
}

/// Frees an image (NULL is ignored).
#[no_mangle]
pub extern "C" fn pancseg_image_free(image: *mut pancseg_image) {
    free_box(image)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::status::pancseg_status::*;

    #[test]
    fn null_arguments_are_errors() {
        pancseg_image_free(std::ptr::null_mut());
        let mut img = std::ptr::dangling_mut::<pancseg_image>();
        assert_eq!(
            pancseg_image_load(std::ptr::null(), &mut img),
            PANCSEG_INVALID_ARGUMENT
        );
        assert!(img.is_null());
        assert!(pancseg_image_series_json(std::ptr::null()).is_null());
        assert_eq!(
            pancseg_image_load_dicom_memory(std::ptr::null(), 1, std::ptr::null(), &mut img),
            PANCSEG_INVALID_ARGUMENT
        );
        let empty = pancseg_dicom_buffer {
            data: std::ptr::null(),
            length: 4,
        };
        assert_eq!(
            pancseg_image_load_dicom_memory(&empty, 1, std::ptr::null(), &mut img),
            PANCSEG_INVALID_ARGUMENT
        );
        assert!(img.is_null());
        let mut view = std::mem::MaybeUninit::<pancseg_volume>::uninit();
        assert_eq!(
            pancseg_image_volume(std::ptr::null(), view.as_mut_ptr()),
            PANCSEG_INVALID_ARGUMENT
        );
    }
}
