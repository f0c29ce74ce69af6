//! The C ABI (`pancseg_*`). Every exported function catches panics, so nothing unwinds into C.
//! The header `include/pancseg.h` is generated from this module by cbindgen in `build.rs`.

use std::ffi::c_char;

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

static VERSION: &[u8] = concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes();

/// The library version as a NUL-terminated string ("MAJOR.MINOR.PATCH"), owned by the library
/// and valid for the life of the process. Thread-safe.
#[no_mangle]
pub extern "C" fn pancseg_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

/// A static, NUL-terminated English description of a status code. Never NULL; thread-safe.
#[no_mangle]
pub extern "C" fn pancseg_status_string(status: pancseg_status) -> *const c_char {
    let s: &'static [u8] = match status {
        pancseg_status::PANCSEG_OK => b"ok\0",
        pancseg_status::PANCSEG_INVALID_ARGUMENT => b"invalid argument\0",
        pancseg_status::PANCSEG_IO_ERROR => b"input/output error\0",
        pancseg_status::PANCSEG_GEOMETRY_ERROR => b"invalid geometry\0",
        pancseg_status::PANCSEG_MODEL_ERROR => b"model bundle error\0",
        pancseg_status::PANCSEG_RUNTIME_ERROR => b"ONNX Runtime error\0",
        pancseg_status::PANCSEG_CANCELLED => b"cancelled\0",
        pancseg_status::PANCSEG_LIMIT_EXCEEDED => b"resource limit exceeded\0",
        pancseg_status::PANCSEG_INTERNAL_ERROR => b"internal error\0",
    };
    s.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn version_matches_cargo() {
        let v = unsafe { CStr::from_ptr(pancseg_version()) }
            .to_str()
            .unwrap();
        assert_eq!(v, env!("CARGO_PKG_VERSION"));
        let s = unsafe { CStr::from_ptr(pancseg_status_string(pancseg_status::PANCSEG_CANCELLED)) };
        assert_eq!(s.to_str().unwrap(), "cancelled");
    }
}
