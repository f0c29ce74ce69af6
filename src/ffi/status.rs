//! Version and status of the C API: `pancseg_status` and its messages, the per-thread last error
//! message, the library version. Every other part of the boundary reports through these.

use crate::error::Error;
use crate::ffi::c_enum::c_enum_table;
use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};

/// Status code returned by every fallible `pancseg_*` function.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum pancseg_status {
    /// Success.
    PANCSEG_OK = 0,
    /// An argument is invalid (NULL pointer, bad dimensions, bad option).
    PANCSEG_INVALID_ARGUMENT = 1,
    /// An input file could not be read or is malformed.
    PANCSEG_IO_ERROR = 2,
    /// The input image has invalid or unsupported geometry.
    PANCSEG_GEOMETRY_ERROR = 3,
    /// The model bundle is missing, corrupted or incompatible.
    PANCSEG_MODEL_ERROR = 4,
    /// ONNX Runtime could not be loaded or failed.
    PANCSEG_RUNTIME_ERROR = 5,
    /// The operation was cancelled by the caller.
    PANCSEG_CANCELLED = 6,
    /// A resource limit (voxel count, memory budget) was exceeded.
    PANCSEG_LIMIT_EXCEEDED = 7,
    /// An internal error (a bug); the library stays usable.
    PANCSEG_INTERNAL_ERROR = 8,
}

use pancseg_status::*;

c_enum_table!(pancseg_status => &'static CStr {
    PANCSEG_OK => c"ok",
    PANCSEG_INVALID_ARGUMENT => c"invalid argument",
    PANCSEG_IO_ERROR => c"input/output error",
    PANCSEG_GEOMETRY_ERROR => c"invalid geometry",
    PANCSEG_MODEL_ERROR => c"model bundle error",
    PANCSEG_RUNTIME_ERROR => c"ONNX Runtime error",
    PANCSEG_CANCELLED => c"cancelled",
    PANCSEG_LIMIT_EXCEEDED => c"resource limit exceeded",
    PANCSEG_INTERNAL_ERROR => c"internal error",
});

/// A failed call: its status and message (the message `pancseg_last_error` returns).
pub(crate) type Failure = (pancseg_status, String);

/// The status of a library error.
pub(crate) fn status_of(e: &Error) -> pancseg_status {
    match e {
        Error::Io { .. } | Error::Nifti { .. } | Error::Dicom { .. } => PANCSEG_IO_ERROR,
        Error::Geometry(_) => PANCSEG_GEOMETRY_ERROR,
        Error::InvalidArgument(_) => PANCSEG_INVALID_ARGUMENT,
        Error::Runtime { .. } => PANCSEG_RUNTIME_ERROR,
        Error::Model { .. } => PANCSEG_MODEL_ERROR,
        Error::Cancelled => PANCSEG_CANCELLED,
        Error::LimitExceeded(_) => PANCSEG_LIMIT_EXCEEDED,
        Error::Internal(_) => PANCSEG_INTERNAL_ERROR,
    }
}

/// A library error as a failure: its status and its message with every cause
/// ([`Error::chain`]), so an ONNX Runtime error code reaches the caller's log.
pub(crate) fn from_error(e: Error) -> Failure {
    (status_of(&e), e.chain())
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records the calling thread's last error message (NUL bytes become spaces).
pub(crate) fn set_last_error(msg: &str) {
    let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    // a thread being torn down has no storage left; nothing to record then
    let _ = LAST_ERROR.try_with(|e| *e.borrow_mut() = c);
}

static VERSION: &[u8] = concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes();

/// The library version as a NUL-terminated string ("MAJOR.MINOR.PATCH"), owned by the library
/// and valid for the life of the process. Thread-safe.
#[no_mangle]
pub extern "C" fn pancseg_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

/// A static, NUL-terminated English description of a status code (a `pancseg_status` value;
/// "unknown status" for any other number). Never NULL; thread-safe.
#[no_mangle]
pub extern "C" fn pancseg_status_string(status: i32) -> *const c_char {
    pancseg_status::from_c(status)
        .map_or(c"unknown status", pancseg_status::value)
        .as_ptr()
}

/// The message of the last failed `pancseg_*` call on this thread ("" when the last call
/// succeeded). Valid until the next fallible `pancseg_*` call on this thread. Never NULL.
#[no_mangle]
pub extern "C" fn pancseg_last_error() -> *const c_char {
    // the pointer stays valid after `with` returns: the CString lives in the thread's storage
    // until the next fallible call on this thread replaces it
    LAST_ERROR
        .try_with(|e| e.borrow().as_ptr())
        .unwrap_or(c"".as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_matches_cargo() {
        let v = unsafe { CStr::from_ptr(pancseg_version()) }
            .to_str()
            .unwrap();
        assert_eq!(v, env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn every_status_has_its_message_and_out_of_range_values_are_unknown() {
        let expected = [
            "ok",
            "invalid argument",
            "input/output error",
            "invalid geometry",
            "model bundle error",
            "ONNX Runtime error",
            "cancelled",
            "resource limit exceeded",
            "internal error",
        ];
        assert_eq!(pancseg_status::ALL.len(), expected.len());
        for (i, (s, text)) in pancseg_status::ALL.iter().zip(expected).enumerate() {
            // the C values are 0..N in order: the header's numbering
            assert_eq!(*s as i32, i as i32);
            assert_eq!(pancseg_status::from_c(i as i32), Some(*s));
            let c = unsafe { CStr::from_ptr(pancseg_status_string(*s as i32)) };
            assert_eq!(c.to_str().unwrap(), text);
        }
        for v in [-3, expected.len() as i32, i32::MAX] {
            assert_eq!(pancseg_status::from_c(v), None);
            let c = unsafe { CStr::from_ptr(pancseg_status_string(v)) };
            assert_eq!(c.to_str().unwrap(), "unknown status");
        }
    }
}
