//! The image object: `pancseg_image`, a CT loaded by the library from a NIfTI file or a DICOM
//! directory (keeping the series' files for DICOM Segmentation output), its `pancseg_volume`
//! view and `pancseg_image_free`.

use crate::ffi::boundary::{
    free_box, give, guard, invalid, out_ptr, required_path, try_ref, write_versioned,
};
use crate::ffi::status::{from_error, pancseg_status};
use crate::ffi::volume::pancseg_volume;
use crate::io::dicom::series::DicomReadOptions;
use crate::io::input::{load_volume, Source};
use crate::volume::Volume;
use std::ffi::c_char;
use std::path::PathBuf;

/// A CT volume loaded by the library (NIfTI file or DICOM directory).
#[allow(non_camel_case_types)]
pub struct pancseg_image {
    pub(crate) volume: Volume,
    /// The series' files in slice order when the image was read from DICOM (for DICOM SEG output).
    pub(crate) dicom_files: Option<Vec<PathBuf>>,
}

/// Loads a CT from a NIfTI file or a DICOM directory (the first CT series) into a
/// library-owned image; free it with `pancseg_image_free`.
#[no_mangle]
pub extern "C" fn pancseg_image_load(
    path: *const c_char,
    out: *mut *mut pancseg_image,
) -> pancseg_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        let p = required_path(path, "path")?;
        let loaded = load_volume(&p, &DicomReadOptions::default()).map_err(from_error)?;
        let dicom_files = match loaded.source {
            Source::Dicom { files, .. } => Some(files),
            Source::Nifti { .. } => None,
        };
        give(
            out,
            pancseg_image {
                volume: loaded.volume,
                dicom_files,
            },
        );
        Ok(())
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
        let mut view = std::mem::MaybeUninit::<pancseg_volume>::uninit();
        assert_eq!(
            pancseg_image_volume(std::ptr::null(), view.as_mut_ptr()),
            PANCSEG_INVALID_ARGUMENT
        );
    }
}
