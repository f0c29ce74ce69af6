//! The C ABI (`pancseg_*`); `include/pancseg.h` is generated from this file by cbindgen.
//!
//! Conventions, for every function:
//! - **Errors**: fallible functions return a `pancseg_status`. On failure the message of the
//!   error is kept per thread: `pancseg_last_error()` returns it until the next fallible
//!   `pancseg_*` call on the same thread (each such call clears it first). Never NULL.
//! - **Panics**: every exported function catches panics (returning `PANCSEG_INTERNAL_ERROR`
//!   with a message); nothing unwinds into C and nothing aborts. The library stays usable.
//! - **Ownership**: objects the library creates (`pancseg_context`, `pancseg_result`,
//!   `pancseg_image`) are freed by their `*_free` function, which accepts NULL. Results and
//!   images own their data and stay valid after the context is freed; free them in any order.
//!   Pointers returned by accessors are borrowed from their object and valid until it is freed.
//! - **Extensible structs**: every caller-filled struct starts with `struct_size`, which the
//!   caller sets to `sizeof` the struct (the `*_init` functions do it, with defaults). Newer
//!   headers may append fields; the library reads only what `struct_size` covers.
//! - **Threads**: one context may be used from many threads at once (`pancseg_segment` is
//!   thread-safe on the same context); callbacks run on library threads.

// The exported functions are C entry points: C callers see no `unsafe`, every pointer argument
// is NULL-checked, and the validity contract of non-NULL pointers is stated in the header.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use crate::error::Error;
use crate::model::bundle::Bundle;
use crate::model::network::{Device, RuntimeOptions};
use crate::pipeline::{Limits, Method, SegmentOptions, Segmenter};
use crate::volume::{Geometry, Image, Volume};
use ndarray::Array3;
use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};

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

/// Where the networks run (the `device` field of `pancseg_options`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum pancseg_device {
    PANCSEG_DEVICE_CPU = 0,
    /// CUDA GPU `device_id`; falls back to the CPU unless `strict` (see `pancseg_provider`).
    PANCSEG_DEVICE_CUDA = 1,
}

/// Element type of a `pancseg_volume` buffer (its `dtype` field).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum pancseg_dtype {
    PANCSEG_DTYPE_INT16 = 0,
    PANCSEG_DTYPE_UINT16 = 1,
    PANCSEG_DTYPE_INT32 = 2,
    PANCSEG_DTYPE_FLOAT32 = 3,
}

/// What the mask is made from (the `method` field of `pancseg_segment_options`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum pancseg_method {
    /// G(P2) >= p2 (default): R2 probabilities smoothed in 3D.
    PANCSEG_METHOD_G_P2 = 0,
    PANCSEG_METHOD_G_P0 = 1,
    PANCSEG_METHOD_G_P1 = 2,
    PANCSEG_METHOD_P0 = 3,
    PANCSEG_METHOD_P1 = 4,
    PANCSEG_METHOD_P2 = 5,
    /// The superpixel CRF on P2 (needs a bundle with a boundary network).
    PANCSEG_METHOD_CRF_P2 = 6,
}

/// Severity of a log message.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum pancseg_log_level {
    PANCSEG_LOG_ERROR = 0,
    PANCSEG_LOG_WARNING = 1,
    PANCSEG_LOG_INFO = 2,
}

/// Log callback: `level` is a `pancseg_log_level`; `message` is valid during the call only.
/// Called from any thread.
#[allow(non_camel_case_types)]
pub type pancseg_log_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, level: i32, message: *const c_char)>;

/// Progress callback: `fraction` in [0, 1], strictly increasing within one call of
/// `pancseg_segment`. Called from library threads, never concurrently for one call.
#[allow(non_camel_case_types)]
pub type pancseg_progress_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, fraction: f32)>;

/// Options of `pancseg_create`. Fill with `pancseg_options_init`, then change fields.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct pancseg_options {
    /// `sizeof(pancseg_options)`.
    pub struct_size: usize,
    /// Model bundle directory (UTF-8); NULL: the default bundle (`PANCSEG_MODEL_DIR`, then the
    /// installed `share/pancseg/models/default`).
    pub model_dir: *const c_char,
    /// A `pancseg_device` value.
    pub device: i32,
    /// CUDA device index (with `PANCSEG_DEVICE_CUDA`).
    pub device_id: i32,
    /// Non-zero: fail with `PANCSEG_RUNTIME_ERROR` instead of falling back to the CPU.
    pub strict: i32,
    /// Worker threads (0: one per core).
    pub threads: u32,
    /// Network inputs per ONNX Runtime call (0: 32).
    pub batch_size: u32,
    /// Path of the ONNX Runtime library (NULL: `ORT_DYLIB_PATH`, then next to the executable or
    /// in `../lib`). ONNX Runtime is loaded once per process.
    pub ort_library: *const c_char,
    /// Optional log callback and its user data.
    pub log: pancseg_log_callback,
    pub log_user_data: *mut c_void,
    /// Largest accepted volume in voxels (0: 2^28, enough for 512 x 512 x 1000).
    pub max_voxels: u64,
    /// Memory the library may allocate for one segmentation, bytes, besides the caller's volume
    /// (0: 4 GiB). A larger input is refused with `PANCSEG_LIMIT_EXCEEDED` before allocation.
    pub memory_budget: u64,
}

/// A CT volume borrowed from the caller for the duration of `pancseg_segment`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct pancseg_volume {
    /// `sizeof(pancseg_volume)`.
    pub struct_size: usize,
    /// Contiguous voxels, x fastest, then y, then z (`dims[0] * dims[1] * dims[2]` values).
    pub data: *const c_void,
    /// Length of `data` in bytes (checked against the dims and dtype).
    pub data_bytes: usize,
    /// A `pancseg_dtype` value.
    pub dtype: i32,
    /// Voxels along x (columns), y (rows), z (slices).
    pub dims: [usize; 3],
    /// Voxel size in mm along x, y, z: finite and positive.
    pub spacing: [f64; 3],
    /// LPS position (mm) of the centre of the first voxel.
    pub origin: [f64; 3],
    /// Row-major 3x3: `direction[3 * r + c]` is LPS component r of the unit vector of voxel axis
    /// c (DICOM/ITK convention). Must be orthonormal.
    pub direction: [f64; 9],
    /// HU = stored value * slope + intercept (slope finite and non-zero).
    pub rescale_slope: f64,
    pub rescale_intercept: f64,
}

/// Options of one `pancseg_segment` call. Fill with `pancseg_segment_options_init`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct pancseg_segment_options {
    /// `sizeof(pancseg_segment_options)`.
    pub struct_size: usize,
    /// A `pancseg_method` value.
    pub method: i32,
    /// Non-zero: keep the probability map (`pancseg_result_probability`).
    pub want_probability: i32,
    /// Non-zero: keep only the largest connected component of the mask.
    pub largest_component: i32,
    /// Optional progress callback and its user data.
    pub progress: pancseg_progress_callback,
    pub progress_user_data: *mut c_void,
    /// Optional cancellation flag: the caller sets `*cancel` to non-zero (from any thread, with
    /// an atomic store) and the call returns `PANCSEG_CANCELLED` soon after. Must stay valid
    /// during the call; 4-byte aligned.
    pub cancel: *const i32,
}

/// A loaded bundle with its networks: create with `pancseg_create`, free with `pancseg_free`.
#[allow(non_camel_case_types)]
pub struct pancseg_context {
    segmenter: Segmenter,
    provider: CString,
    log: Logger,
    limits: Limits,
}

/// A segmentation: the mask (and optionally the probability map) on the input's grid.
#[allow(non_camel_case_types)]
pub struct pancseg_result {
    mask: Array3<u8>,
    probability: Option<Array3<f32>>,
    geometry: Geometry,
    volume_ml: f64,
    stages: Vec<(CString, f64)>,
    report: CString,
}

/// A CT volume loaded by the library (NIfTI file or DICOM directory).
#[allow(non_camel_case_types)]
pub struct pancseg_image {
    volume: Volume,
    /// The series' files in slice order when the image was read from DICOM (for DICOM SEG output).
    dicom_files: Option<Vec<std::path::PathBuf>>,
}

#[derive(Clone, Copy)]
struct Logger {
    cb: pancseg_log_callback,
    user: *mut c_void,
}

// SAFETY: the caller promises (header docs) that the callback and its user data may be used from
// any thread.
unsafe impl Send for Logger {}
unsafe impl Sync for Logger {}

impl Logger {
    fn log(&self, level: pancseg_log_level, msg: &str) {
        if let Some(cb) = self.cb {
            let text = CString::new(msg.replace('\0', " ")).unwrap_or_default();
            // SAFETY: a valid NUL-terminated string for the duration of the call.
            unsafe { cb(self.user, level as i32, text.as_ptr()) };
        }
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(msg: &str) {
    let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

type Failure = (pancseg_status, String);

fn fail<T>(status: pancseg_status, msg: impl Into<String>) -> Result<T, Failure> {
    Err((status, msg.into()))
}

fn status_of(e: &Error) -> pancseg_status {
    match e {
        Error::Io { .. } | Error::Nifti { .. } | Error::Dicom { .. } => PANCSEG_IO_ERROR,
        Error::Geometry(_) => PANCSEG_GEOMETRY_ERROR,
        Error::InvalidArgument(_) => PANCSEG_INVALID_ARGUMENT,
        Error::Runtime(_) => PANCSEG_RUNTIME_ERROR,
        Error::Model { .. } => PANCSEG_MODEL_ERROR,
        Error::Cancelled => PANCSEG_CANCELLED,
        Error::LimitExceeded(_) => PANCSEG_LIMIT_EXCEEDED,
        Error::Internal(_) => PANCSEG_INTERNAL_ERROR,
    }
}

fn from_error(e: Error) -> Failure {
    (status_of(&e), e.to_string())
}

/// Runs `f`, catching panics; records the error message of a failure.
fn guard(f: impl FnOnce() -> Result<(), Failure>) -> pancseg_status {
    set_last_error("");
    let out = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => return PANCSEG_OK,
        Ok(Err(fail)) => fail,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            (PANCSEG_INTERNAL_ERROR, format!("internal error: {what}"))
        }
    };
    set_last_error(&out.1);
    out.0
}

/// Runs an infallible accessor, returning `fallback` on a panic.
fn guard_value<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

fn path_arg(p: *const c_char, what: &str) -> Result<Option<PathBuf>, Failure> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL; the caller passes a NUL-terminated string (header docs).
    let s = unsafe { CStr::from_ptr(p) };
    match s.to_str() {
        Ok("") => fail(
            PANCSEG_INVALID_ARGUMENT,
            format!("{what} is an empty string"),
        ),
        Ok(v) => Ok(Some(PathBuf::from(v))),
        Err(_) => fail(PANCSEG_INVALID_ARGUMENT, format!("{what} is not UTF-8")),
    }
}

/// Checks `struct_size` of a caller struct: at least the size of the v1 layout.
fn check_size(size: usize, need: usize, what: &str) -> Result<(), Failure> {
    if size < need {
        return fail(
            PANCSEG_INVALID_ARGUMENT,
            format!("{what}.struct_size is {size}; this library needs at least {need} (set it to sizeof({what}))"),
        );
    }
    Ok(())
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
    let s: &'static [u8] = match status {
        0 => b"ok\0",
        1 => b"invalid argument\0",
        2 => b"input/output error\0",
        3 => b"invalid geometry\0",
        4 => b"model bundle error\0",
        5 => b"ONNX Runtime error\0",
        6 => b"cancelled\0",
        7 => b"resource limit exceeded\0",
        8 => b"internal error\0",
        _ => b"unknown status\0",
    };
    s.as_ptr().cast()
}

/// The message of the last failed `pancseg_*` call on this thread ("" when the last call
/// succeeded). Valid until the next fallible `pancseg_*` call on this thread. Never NULL.
#[no_mangle]
pub extern "C" fn pancseg_last_error() -> *const c_char {
    guard_value(c"".as_ptr(), || LAST_ERROR.with(|e| e.borrow().as_ptr()))
}

fn default_options() -> pancseg_options {
    pancseg_options {
        struct_size: std::mem::size_of::<pancseg_options>(),
        model_dir: std::ptr::null(),
        device: pancseg_device::PANCSEG_DEVICE_CPU as i32,
        device_id: 0,
        strict: 0,
        threads: 0,
        batch_size: 0,
        ort_library: std::ptr::null(),
        log: None,
        log_user_data: std::ptr::null_mut(),
        max_voxels: 0,
        memory_budget: 0,
    }
}

fn default_segment_options() -> pancseg_segment_options {
    pancseg_segment_options {
        struct_size: std::mem::size_of::<pancseg_segment_options>(),
        method: pancseg_method::PANCSEG_METHOD_G_P2 as i32,
        want_probability: 0,
        largest_component: 0,
        progress: None,
        progress_user_data: std::ptr::null_mut(),
        cancel: std::ptr::null(),
    }
}

/// Fills `options` with the defaults (default bundle, CPU, all cores) and its `struct_size`.
#[no_mangle]
pub extern "C" fn pancseg_options_init(options: *mut pancseg_options) -> pancseg_status {
    guard(|| {
        if options.is_null() {
            return fail(PANCSEG_INVALID_ARGUMENT, "options is NULL");
        }
        // SAFETY: non-NULL and points to a pancseg_options (header docs).
        unsafe { options.write(default_options()) };
        Ok(())
    })
}

/// Fills `options` with the defaults (method G(P2), no probability map, no callbacks).
#[no_mangle]
pub extern "C" fn pancseg_segment_options_init(
    options: *mut pancseg_segment_options,
) -> pancseg_status {
    guard(|| {
        if options.is_null() {
            return fail(PANCSEG_INVALID_ARGUMENT, "options is NULL");
        }
        // SAFETY: non-NULL and points to a pancseg_segment_options (header docs).
        unsafe { options.write(default_segment_options()) };
        Ok(())
    })
}

/// Loads and verifies a model bundle and creates its ONNX Runtime sessions. `options` may be
/// NULL (all defaults). On success `*out` owns a context to free with `pancseg_free`; on failure
/// `*out` is set to NULL. A missing, corrupted or tampered bundle is `PANCSEG_MODEL_ERROR`.
#[no_mangle]
pub extern "C" fn pancseg_create(
    options: *const pancseg_options,
    out: *mut *mut pancseg_context,
) -> pancseg_status {
    guard(|| {
        if out.is_null() {
            return fail(PANCSEG_INVALID_ARGUMENT, "out is NULL");
        }
        // SAFETY: non-NULL pointer to a pointer (header docs).
        unsafe { out.write(std::ptr::null_mut()) };
        let mut o = default_options();
        if !options.is_null() {
            // SAFETY: non-NULL; struct_size is the first field of every version of the struct.
            let size = unsafe { (*options).struct_size };
            check_size(
                size,
                std::mem::size_of::<pancseg_options>(),
                "pancseg_options",
            )?;
            // SAFETY: the caller's struct is at least as large as ours.
            o = unsafe { *options };
        }
        let log = Logger {
            cb: o.log,
            user: o.log_user_data,
        };
        let device = match o.device {
            0 => Device::Cpu,
            1 if (0..1024).contains(&o.device_id) => Device::Cuda(o.device_id as u32),
            1 => {
                return fail(
                    PANCSEG_INVALID_ARGUMENT,
                    format!("device_id {} is not a GPU index", o.device_id),
                )
            }
            d => {
                return fail(
                    PANCSEG_INVALID_ARGUMENT,
                    format!("device {d} is not a pancseg_device value"),
                )
            }
        };
        if o.threads > 1024 {
            return fail(
                PANCSEG_INVALID_ARGUMENT,
                format!("threads {} is more than 1024", o.threads),
            );
        }
        let model = path_arg(o.model_dir, "model_dir")?;
        let ort_library = path_arg(o.ort_library, "ort_library")?;
        let bundle = match &model {
            Some(d) => Bundle::load(d),
            None => Bundle::load_default(),
        }
        .map_err(|e| {
            // a bundle file that cannot be read is a bundle problem, not an input problem
            let status = match e {
                Error::Io { .. } | Error::Model { .. } => PANCSEG_MODEL_ERROR,
                ref other => status_of(other),
            };
            (status, e.to_string())
        })?;
        let dir = bundle.dir.display().to_string();
        let runtime = RuntimeOptions {
            device,
            strict: o.strict != 0,
            intra_threads: 0,
            ort_library,
            batch_size: if o.batch_size == 0 {
                crate::model::network::DEFAULT_BATCH_SIZE
            } else {
                o.batch_size as usize
            },
            cpu_arena: false,
        };
        let defaults = Limits::default();
        let limits = Limits {
            max_voxels: if o.max_voxels == 0 {
                defaults.max_voxels
            } else {
                o.max_voxels
            },
            memory_budget: if o.memory_budget == 0 {
                defaults.memory_budget
            } else {
                o.memory_budget
            },
        };
        let segmenter = Segmenter::new(bundle, runtime, o.threads as usize)
            .map_err(|e| {
                let status = match e {
                    Error::Io { .. } => PANCSEG_MODEL_ERROR,
                    ref other => status_of(other),
                };
                (status, e.to_string())
            })?
            .with_limits(limits);
        let provider = CString::new(segmenter.provider().replace('\0', " ")).unwrap_or_default();
        log.log(
            pancseg_log_level::PANCSEG_LOG_INFO,
            &format!(
                "pancseg {}: bundle {dir}, provider {}, {} threads",
                env!("CARGO_PKG_VERSION"),
                segmenter.provider(),
                segmenter.threads()
            ),
        );
        let ctx = Box::new(pancseg_context {
            segmenter,
            provider,
            log,
            limits,
        });
        // SAFETY: checked non-NULL above.
        unsafe { out.write(Box::into_raw(ctx)) };
        Ok(())
    })
}

/// Frees a context (NULL is ignored). No `pancseg_segment` call may be running on it. Results
/// already returned stay valid.
#[no_mangle]
pub extern "C" fn pancseg_free(ctx: *mut pancseg_context) {
    if ctx.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: created by Box::into_raw in pancseg_create; freed once (caller contract).
        drop(unsafe { Box::from_raw(ctx) });
    }));
}

/// The execution provider the context's networks run on: "cpu", "cuda:N", or
/// "cpu (CUDA device N not usable: reason)" after a fallback. Owned by the context; NULL for a
/// NULL context.
#[no_mangle]
pub extern "C" fn pancseg_provider(ctx: *const pancseg_context) -> *const c_char {
    if ctx.is_null() {
        return std::ptr::null();
    }
    // SAFETY: a live context (caller contract).
    guard_value(std::ptr::null(), || unsafe { (*ctx).provider.as_ptr() })
}

fn method_of(m: i32) -> Result<Method, Failure> {
    Ok(match m {
        0 => Method::GP2,
        1 => Method::GP0,
        2 => Method::GP1,
        3 => Method::P0,
        4 => Method::P1,
        5 => Method::P2,
        6 => Method::CrfP2,
        _ => {
            return fail(
                PANCSEG_INVALID_ARGUMENT,
                format!("method {m} is not a pancseg_method value"),
            )
        }
    })
}

/// The validation `pancseg_segment` applies to a caller's volume (with the default limits), for
/// the fuzz target of the C API: the status and message it would fail with, if any.
///
/// # Safety
/// `v.data` must be NULL or point to `v.data_bytes` readable bytes.
#[doc(hidden)]
pub unsafe fn check_volume(v: &pancseg_volume) -> Result<(), (pancseg_status, String)> {
    volume_of(v, &Limits::default()).map(|_| ())
}

/// Validates a caller volume and converts it to HU (f32).
fn volume_of(v: &pancseg_volume, limits: &Limits) -> Result<Volume, Failure> {
    let bad = |m: String| fail::<Volume>(PANCSEG_INVALID_ARGUMENT, m);
    let elem = match v.dtype {
        0 | 1 => 2usize,
        2 | 3 => 4,
        d => return bad(format!("dtype {d} is not a pancseg_dtype value")),
    };
    let [nx, ny, nz] = v.dims;
    if nx == 0 || ny == 0 || nz == 0 {
        return bad(format!("dims {:?} contain a zero", v.dims));
    }
    let count = nx
        .checked_mul(ny)
        .and_then(|n| n.checked_mul(nz))
        .filter(|&n| n <= isize::MAX as usize / 4);
    let Some(count) = count else {
        return fail(
            PANCSEG_LIMIT_EXCEEDED,
            format!("dims {:?} overflow the addressable size", v.dims),
        );
    };
    limits.check(count as u64).map_err(from_error)?;
    let need = count * elem;
    if v.data_bytes != need {
        return bad(format!(
            "data_bytes is {}, but dims {:?} of {elem}-byte values need {need}",
            v.data_bytes, v.dims
        ));
    }
    if v.data.is_null() {
        return bad("data is NULL".into());
    }
    if !(v.rescale_slope.is_finite() && v.rescale_slope != 0.0 && v.rescale_intercept.is_finite()) {
        return bad(format!(
            "rescale slope {} / intercept {} must be finite, slope non-zero",
            v.rescale_slope, v.rescale_intercept
        ));
    }
    let d = v.direction;
    let geometry = Geometry {
        spacing: v.spacing,
        origin: v.origin,
        direction: [[d[0], d[1], d[2]], [d[3], d[4], d[5]], [d[6], d[7], d[8]]],
    };
    geometry.validate().map_err(from_error)?;
    let mut data = Vec::new();
    if data.try_reserve_exact(count).is_err() {
        return fail(
            PANCSEG_LIMIT_EXCEEDED,
            format!("cannot allocate {count} voxels"),
        );
    }
    let (slope, icpt) = (v.rescale_slope, v.rescale_intercept);
    // SAFETY: data is non-NULL and holds data_bytes = count * elem bytes (caller contract); the
    // reads are unaligned-safe.
    unsafe {
        let p = v.data.cast::<u8>();
        for i in 0..count {
            let q = p.add(i * elem);
            let raw = match v.dtype {
                0 => f64::from(q.cast::<i16>().read_unaligned()),
                1 => f64::from(q.cast::<u16>().read_unaligned()),
                2 => f64::from(q.cast::<i32>().read_unaligned()),
                _ => f64::from(q.cast::<f32>().read_unaligned()),
            };
            data.push((raw * slope + icpt) as f32);
        }
    }
    let arr = Array3::from_shape_vec((nz, ny, nx), data)
        .map_err(|e| (PANCSEG_INTERNAL_ERROR, format!("volume shape: {e}")))?;
    Image::new(arr, geometry).map_err(from_error)
}

struct Callbacks {
    progress: pancseg_progress_callback,
    user: *mut c_void,
    cancel: *const i32,
}

// SAFETY: the caller promises (header docs) that the callback, its user data and the cancel
// flag may be used from library threads during the call.
unsafe impl Send for Callbacks {}
unsafe impl Sync for Callbacks {}

impl Callbacks {
    fn report(&self, f: f32) {
        if let Some(cb) = self.progress {
            // SAFETY: the caller's callback (header docs).
            unsafe { cb(self.user, f) };
        }
    }

    fn cancelled(&self) -> bool {
        // SAFETY: non-NULL, aligned (checked), valid during the call, written atomically by the
        // caller (header docs).
        !self.cancel.is_null()
            && unsafe { AtomicI32::from_ptr(self.cancel.cast_mut()) }.load(Ordering::Relaxed) != 0
    }
}

/// Segments `ct` with the context's bundle. `options` may be NULL (defaults). On success `*out`
/// owns a result to free with `pancseg_result_free`; on failure `*out` is NULL. Thread-safe:
/// many threads may segment with one context at once.
#[no_mangle]
pub extern "C" fn pancseg_segment(
    ctx: *mut pancseg_context,
    ct: *const pancseg_volume,
    options: *const pancseg_segment_options,
    out: *mut *mut pancseg_result,
) -> pancseg_status {
    guard(|| {
        if out.is_null() {
            return fail(PANCSEG_INVALID_ARGUMENT, "out is NULL");
        }
        // SAFETY: non-NULL pointer to a pointer.
        unsafe { out.write(std::ptr::null_mut()) };
        if ctx.is_null() {
            return fail(PANCSEG_INVALID_ARGUMENT, "ctx is NULL");
        }
        if ct.is_null() {
            return fail(PANCSEG_INVALID_ARGUMENT, "ct is NULL");
        }
        // SAFETY: a live context; shared use from many threads is what Segmenter supports.
        let ctx = unsafe { &*ctx };
        // SAFETY: non-NULL; struct_size is the first field.
        let size = unsafe { (*ct).struct_size };
        check_size(
            size,
            std::mem::size_of::<pancseg_volume>(),
            "pancseg_volume",
        )?;
        // SAFETY: the caller's struct is at least as large as ours.
        let v = unsafe { *ct };
        let mut so = default_segment_options();
        if !options.is_null() {
            // SAFETY: non-NULL; struct_size first.
            let size = unsafe { (*options).struct_size };
            check_size(
                size,
                std::mem::size_of::<pancseg_segment_options>(),
                "pancseg_segment_options",
            )?;
            // SAFETY: large enough.
            so = unsafe { *options };
        }
        let method = method_of(so.method)?;
        if !so.cancel.is_null() && so.cancel.align_offset(4) != 0 {
            return fail(PANCSEG_INVALID_ARGUMENT, "cancel is not 4-byte aligned");
        }
        // voxel count and memory budget before the volume is converted (allocated)
        let volume = volume_of(&v, &ctx.limits)?;
        let cbs = Callbacks {
            progress: so.progress,
            user: so.progress_user_data,
            cancel: so.cancel,
        };
        let cbs = &cbs;
        let progress = |f: f32| cbs.report(f);
        let cancel = || cbs.cancelled();
        let opts = SegmentOptions {
            method,
            probability: so.want_probability != 0,
            largest_component: so.largest_component != 0,
            progress: Some(&progress),
            cancel: Some(&cancel),
        };
        let seg = match ctx.segmenter.segment(&volume, &opts) {
            Ok(s) => s,
            Err(e) => {
                if !matches!(e, Error::Cancelled) {
                    ctx.log
                        .log(pancseg_log_level::PANCSEG_LOG_ERROR, &e.to_string());
                }
                return Err(from_error(e));
            }
        };
        drop(volume);
        let r = &seg.report;
        ctx.log.log(
            pancseg_log_level::PANCSEG_LOG_INFO,
            &format!(
                "segmented: {:.1} mL, {} candidates, {:.2} s",
                r.pancreas_ml, r.candidates, r.total_seconds
            ),
        );
        let report = serde_json::to_string(r).unwrap_or_default();
        let result = Box::new(pancseg_result {
            stages: r
                .stage_seconds
                .iter()
                .map(|s| (CString::new(s.stage).unwrap_or_default(), s.seconds))
                .collect(),
            volume_ml: r.pancreas_ml,
            report: CString::new(report).unwrap_or_default(),
            geometry: seg.mask.geometry,
            mask: seg.mask.data,
            probability: seg.probability.map(|p| p.data),
        });
        // SAFETY: checked non-NULL above.
        unsafe { out.write(Box::into_raw(result)) };
        Ok(())
    })
}

/// Frees a result (NULL is ignored); independent of its context.
#[no_mangle]
pub extern "C" fn pancseg_result_free(result: *mut pancseg_result) {
    if result.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: created by Box::into_raw in pancseg_segment; freed once (caller contract).
        drop(unsafe { Box::from_raw(result) });
    }));
}

fn result_ref<'a>(r: *const pancseg_result) -> Option<&'a pancseg_result> {
    // SAFETY: NULL or a live result (caller contract).
    unsafe { r.as_ref() }
}

/// Writes the result's dims (x, y, z: the input's) to `dims[0..3]`.
#[no_mangle]
pub extern "C" fn pancseg_result_dims(
    result: *const pancseg_result,
    dims: *mut usize,
) -> pancseg_status {
    guard(|| {
        let Some(r) = result_ref(result) else {
            return fail(PANCSEG_INVALID_ARGUMENT, "result is NULL");
        };
        if dims.is_null() {
            return fail(PANCSEG_INVALID_ARGUMENT, "dims is NULL");
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
        if !len.is_null() {
            // SAFETY: non-NULL out pointer.
            unsafe { len.write(r.mask.len()) };
        }
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
            if !len.is_null() {
                // SAFETY: non-NULL out pointer.
                unsafe { len.write(0) };
            }
            return std::ptr::null();
        };
        if !len.is_null() {
            // SAFETY: non-NULL out pointer.
            unsafe { len.write(p.len()) };
        }
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
        let Some(r) = result_ref(result) else {
            return fail(PANCSEG_INVALID_ARGUMENT, "result is NULL");
        };
        let Some((n, s)) = r.stages.get(index) else {
            return fail(
                PANCSEG_INVALID_ARGUMENT,
                format!("stage {index} of {}", r.stages.len()),
            );
        };
        // SAFETY: NULL-checked out pointers.
        unsafe {
            if !name.is_null() {
                name.write(n.as_ptr());
            }
            if !seconds.is_null() {
                seconds.write(*s);
            }
        }
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
        let Some(r) = result_ref(result) else {
            return fail(PANCSEG_INVALID_ARGUMENT, "result is NULL");
        };
        let Some(p) = path_arg(path, "path")? else {
            return fail(PANCSEG_INVALID_ARGUMENT, "path is NULL");
        };
        let name = p.to_string_lossy();
        if !(name.ends_with(".nii") || name.ends_with(".nii.gz")) {
            return fail(
                PANCSEG_INVALID_ARGUMENT,
                format!("{name}: the name must end in .nii or .nii.gz"),
            );
        }
        let img = Image {
            data: r.mask.clone(),
            geometry: r.geometry,
        };
        crate::io::nifti::write_nifti(&p, &img).map_err(from_error)
    })
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
        let Some(r) = result_ref(result) else {
            return fail(PANCSEG_INVALID_ARGUMENT, "result is NULL");
        };
        // SAFETY: NULL or a live image.
        let Some(img) = (unsafe { source.as_ref() }) else {
            return fail(PANCSEG_INVALID_ARGUMENT, "source is NULL");
        };
        let Some(p) = path_arg(path, "path")? else {
            return fail(PANCSEG_INVALID_ARGUMENT, "path is NULL");
        };
        let Some(files) = &img.dicom_files else {
            return fail(
                PANCSEG_INVALID_ARGUMENT,
                "source was not read from DICOM: a DICOM Segmentation needs a series to reference",
            );
        };
        if img.volume.data.dim() != r.mask.dim() || img.volume.geometry != r.geometry {
            return fail(
                PANCSEG_INVALID_ARGUMENT,
                "source is not on the result's grid (dims or geometry differ)",
            );
        }
        let series = crate::io::dicom::seg::SourceSeries::read(files).map_err(from_error)?;
        let img = Image {
            data: r.mask.clone(),
            geometry: r.geometry,
        };
        crate::io::dicom::seg::write_dicom_seg(
            &img,
            &series,
            &p,
            &crate::io::dicom::seg::SegWriteOptions::default(),
        )
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
        let Some(r) = result_ref(result) else {
            return fail(PANCSEG_INVALID_ARGUMENT, "result is NULL");
        };
        if ct.is_null() {
            return fail(PANCSEG_INVALID_ARGUMENT, "ct is NULL");
        }
        let Some(p) = path_arg(path, "path")? else {
            return fail(PANCSEG_INVALID_ARGUMENT, "path is NULL");
        };
        if !p.to_string_lossy().to_ascii_lowercase().ends_with(".png") {
            return fail(
                PANCSEG_INVALID_ARGUMENT,
                format!("{}: the name must end in .png", p.display()),
            );
        }
        // SAFETY: non-NULL; struct_size first.
        let size = unsafe { (*ct).struct_size };
        check_size(
            size,
            std::mem::size_of::<pancseg_volume>(),
            "pancseg_volume",
        )?;
        // SAFETY: large enough.
        let v = unsafe { *ct };
        let volume = volume_of(
            &v,
            &Limits {
                max_voxels: u64::MAX,
                memory_budget: u64::MAX,
            },
        )?;
        if volume.data.dim() != r.mask.dim() {
            return fail(
                PANCSEG_INVALID_ARGUMENT,
                "ct does not have the result's dims".to_string(),
            );
        }
        let mask = Image {
            data: r.mask.clone(),
            geometry: r.geometry,
        };
        crate::io::render::render_png(
            &volume,
            Some(&mask),
            None,
            &crate::io::render::RenderOptions::default(),
            &p,
        )
        .map_err(from_error)?;
        Ok(())
    })
}

/// Loads a CT from a NIfTI file or a DICOM directory (the first CT series) into a
/// library-owned image; free it with `pancseg_image_free`.
#[no_mangle]
pub extern "C" fn pancseg_image_load(
    path: *const c_char,
    out: *mut *mut pancseg_image,
) -> pancseg_status {
    guard(|| {
        if out.is_null() {
            return fail(PANCSEG_INVALID_ARGUMENT, "out is NULL");
        }
        // SAFETY: non-NULL pointer to a pointer.
        unsafe { out.write(std::ptr::null_mut()) };
        let Some(p) = path_arg(path, "path")? else {
            return fail(PANCSEG_INVALID_ARGUMENT, "path is NULL");
        };
        let loaded = crate::io::input::load_volume(
            &p,
            &crate::io::dicom::series::DicomReadOptions::default(),
        )
        .map_err(from_error)?;
        let dicom_files = match loaded.source {
            crate::io::input::Source::Dicom { files, .. } => Some(files),
            crate::io::input::Source::Nifti { .. } => None,
        };
        let img = Box::new(pancseg_image {
            volume: loaded.volume,
            dicom_files,
        });
        // SAFETY: checked non-NULL.
        unsafe { out.write(Box::into_raw(img)) };
        Ok(())
    })
}

/// Fills `*view` with a float32 (HU) view of the image for `pancseg_segment`, borrowed from the
/// image (valid until `pancseg_image_free`).
#[no_mangle]
pub extern "C" fn pancseg_image_volume(
    image: *const pancseg_image,
    view: *mut pancseg_volume,
) -> pancseg_status {
    guard(|| {
        // SAFETY: NULL or a live image.
        let Some(img) = (unsafe { image.as_ref() }) else {
            return fail(PANCSEG_INVALID_ARGUMENT, "image is NULL");
        };
        if view.is_null() {
            return fail(PANCSEG_INVALID_ARGUMENT, "view is NULL");
        }
        let g = img.volume.geometry;
        let d = g.direction;
        let v = pancseg_volume {
            struct_size: std::mem::size_of::<pancseg_volume>(),
            data: img.volume.data.as_ptr().cast(),
            data_bytes: img.volume.data.len() * 4,
            dtype: pancseg_dtype::PANCSEG_DTYPE_FLOAT32 as i32,
            dims: img.volume.dims_xyz(),
            spacing: g.spacing,
            origin: g.origin,
            direction: [
                d[0][0], d[0][1], d[0][2], d[1][0], d[1][1], d[1][2], d[2][0], d[2][1], d[2][2],
            ],
            rescale_slope: 1.0,
            rescale_intercept: 0.0,
        };
        // SAFETY: non-NULL out pointer.
        unsafe { view.write(v) };
        Ok(())
    })
}

/// Frees an image (NULL is ignored).
#[no_mangle]
pub extern "C" fn pancseg_image_free(image: *mut pancseg_image) {
    if image.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: created by Box::into_raw in pancseg_image_load; freed once.
        drop(unsafe { Box::from_raw(image) });
    }));
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
        let s = unsafe { CStr::from_ptr(pancseg_status_string(PANCSEG_CANCELLED as i32)) };
        assert_eq!(s.to_str().unwrap(), "cancelled");
        let s = unsafe { CStr::from_ptr(pancseg_status_string(-3)) };
        assert_eq!(s.to_str().unwrap(), "unknown status");
    }

    #[test]
    fn null_arguments_are_errors_with_messages() {
        assert_eq!(
            pancseg_create(std::ptr::null(), std::ptr::null_mut()),
            PANCSEG_INVALID_ARGUMENT
        );
        let msg = unsafe { CStr::from_ptr(pancseg_last_error()) };
        assert!(msg.to_str().unwrap().contains("out is NULL"));
        let mut r = std::ptr::null_mut();
        assert_eq!(
            pancseg_segment(
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
                &mut r
            ),
            PANCSEG_INVALID_ARGUMENT
        );
        assert!(r.is_null());
        pancseg_free(std::ptr::null_mut());
        pancseg_result_free(std::ptr::null_mut());
        assert!(pancseg_result_volume_ml(std::ptr::null()).is_nan());
        assert!(pancseg_result_mask(std::ptr::null(), std::ptr::null_mut()).is_null());
    }

    fn volume(dims: [usize; 3], data: &[i16]) -> pancseg_volume {
        pancseg_volume {
            struct_size: std::mem::size_of::<pancseg_volume>(),
            data: data.as_ptr().cast(),
            data_bytes: std::mem::size_of_val(data),
            dtype: 0,
            dims,
            spacing: [1.0, 1.0, 2.0],
            origin: [0.0; 3],
            direction: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
            rescale_slope: 1.0,
            rescale_intercept: -1024.0,
        }
    }

    #[test]
    fn volumes_are_validated_and_rescaled() {
        let data: Vec<i16> = (0..24).collect();
        let v = volume([4, 3, 2], &data);
        let vol = volume_of(&v, &Limits::default()).unwrap();
        assert_eq!(vol.data.dim(), (2, 3, 4));
        assert_eq!(vol.data[[1, 2, 3]], 23.0 - 1024.0);
        let check = |v: pancseg_volume, status: pancseg_status, text: &str| {
            let e = volume_of(&v, &Limits::default()).unwrap_err();
            assert_eq!(e.0, status, "{}", e.1);
            assert!(e.1.contains(text), "{}", e.1);
        };
        check(volume([4, 3, 0], &data), PANCSEG_INVALID_ARGUMENT, "zero");
        check(
            volume([4, 3, 3], &data),
            PANCSEG_INVALID_ARGUMENT,
            "data_bytes",
        );
        check(
            volume([usize::MAX, 3, 2], &data),
            PANCSEG_LIMIT_EXCEEDED,
            "overflow",
        );
        check(
            volume([1 << 20, 1 << 10, 1 << 10], &data),
            PANCSEG_LIMIT_EXCEEDED,
            "limit",
        );
        let mut bad = volume([4, 3, 2], &data);
        bad.spacing[1] = f64::NAN;
        check(bad, PANCSEG_GEOMETRY_ERROR, "spacing");
        let mut bad = volume([4, 3, 2], &data);
        bad.spacing[0] = -1.0;
        check(bad, PANCSEG_GEOMETRY_ERROR, "spacing");
        let mut bad = volume([4, 3, 2], &data);
        bad.direction[0] = 2.0;
        check(bad, PANCSEG_GEOMETRY_ERROR, "direction");
        let mut bad = volume([4, 3, 2], &data);
        bad.rescale_slope = 0.0;
        check(bad, PANCSEG_INVALID_ARGUMENT, "slope");
        let mut bad = volume([4, 3, 2], &data);
        bad.dtype = 9;
        check(bad, PANCSEG_INVALID_ARGUMENT, "dtype");
        let mut bad = volume([4, 3, 2], &data);
        bad.data = std::ptr::null();
        check(bad, PANCSEG_INVALID_ARGUMENT, "NULL");
    }

    #[test]
    fn panics_become_internal_errors() {
        let s = guard(|| panic!("boom"));
        assert_eq!(s, PANCSEG_INTERNAL_ERROR);
        let msg = unsafe { CStr::from_ptr(pancseg_last_error()) };
        assert!(msg.to_str().unwrap().contains("boom"));
        assert_eq!(guard(|| Ok(())), PANCSEG_OK);
        assert_eq!(
            unsafe { CStr::from_ptr(pancseg_last_error()) }.to_bytes(),
            b""
        );
    }
}
