//! The context object: `pancseg_options` (with the device and log enums and the log callback),
//! `pancseg_create` (load and verify a bundle, create its ONNX Runtime sessions), `pancseg_free`
//! and `pancseg_provider`.

use crate::error::Error;
use crate::ffi::boundary::{
    bad_value, free_box, give, guard, guard_value, invalid, out_ptr, path_arg, read_versioned,
    write_versioned, Versioned,
};
use crate::ffi::c_enum::c_enum_table;
use crate::ffi::status::{pancseg_status, status_of};
use crate::model::bundle::Bundle;
use crate::model::network::{Device, RuntimeOptions, DEFAULT_BATCH_SIZE};
use crate::pipeline::{Limits, Segmenter};
use pancseg_status::*;
use std::ffi::{c_char, c_void, CString};

/// Where the networks run (the `device` field of `pancseg_options`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum pancseg_device {
    /// The CPU (ONNX Runtime's CPU execution provider), on `threads` threads.
    PANCSEG_DEVICE_CPU = 0,
    /// CUDA GPU `device_id`; falls back to the CPU unless `strict` (see `pancseg_provider`).
    PANCSEG_DEVICE_CUDA = 1,
}

c_enum_table!(pancseg_device => &'static str {
    PANCSEG_DEVICE_CPU => "cpu",
    PANCSEG_DEVICE_CUDA => "cuda",
});

/// Severity of a log message.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum pancseg_log_level {
    /// A call failed (the message is also `pancseg_last_error`).
    PANCSEG_LOG_ERROR = 0,
    /// Something the caller should know, the call goes on (for example a CPU fallback).
    PANCSEG_LOG_WARNING = 1,
    /// Progress facts: the bundle loaded, a segmentation's volume and time.
    PANCSEG_LOG_INFO = 2,
}

c_enum_table!(pancseg_log_level => &'static str {
    PANCSEG_LOG_ERROR => "error",
    PANCSEG_LOG_WARNING => "warning",
    PANCSEG_LOG_INFO => "info",
});

/// Log callback: `level` is a `pancseg_log_level`; `message` is valid during the call only.
/// Called from any thread.
#[allow(non_camel_case_types)]
pub type pancseg_log_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, level: i32, message: *const c_char)>;

/// Options of `pancseg_create`. Set `struct_size`, fill with `pancseg_options_init`, then change
/// fields.
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
    /// Worker threads, 0 to 1024 (0: one per core; more than 1024 is
    /// `PANCSEG_INVALID_ARGUMENT`).
    pub threads: u32,
    /// Network inputs per ONNX Runtime call (0: 32).
    pub batch_size: u32,
    /// Path of the ONNX Runtime library (NULL: `ORT_DYLIB_PATH`, then next to the executable or
    /// in `../lib`). ONNX Runtime is loaded once per process.
    pub ort_library: *const c_char,
    /// Optional log callback and its user data.
    pub log: pancseg_log_callback,
    /// Passed unchanged to every `log` call (may be NULL).
    pub log_user_data: *mut c_void,
    /// Largest accepted volume in voxels (0: 2^28, enough for 512 x 512 x 1000).
    pub max_voxels: u64,
    /// Memory the library may allocate for one segmentation, bytes, besides the caller's volume
    /// (0: 4 GiB). A larger input is refused with `PANCSEG_LIMIT_EXCEEDED` before allocation.
    pub memory_budget: u64,
}

impl Versioned for pancseg_options {
    const NAME: &'static str = "pancseg_options";
}

impl pancseg_options {
    /// The defaults `pancseg_options_init` writes.
    pub(crate) fn defaults() -> Self {
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
}

/// A loaded bundle with its networks: create with `pancseg_create`, free with `pancseg_free`.
#[allow(non_camel_case_types)]
pub struct pancseg_context {
    pub(crate) segmenter: Segmenter,
    provider: CString,
    pub(crate) log: Logger,
    pub(crate) limits: Limits,
}

/// The caller's log callback.
#[derive(Clone, Copy)]
pub(crate) struct Logger {
    cb: pancseg_log_callback,
    user: *mut c_void,
}

// SAFETY: the caller promises (header docs) that the callback and its user data may be used from
// any thread.
unsafe impl Send for Logger {}
unsafe impl Sync for Logger {}

impl Logger {
    /// Sends `msg` to the callback, if there is one.
    pub(crate) fn log(&self, level: pancseg_log_level, msg: &str) {
        if let Some(cb) = self.cb {
            let text = CString::new(msg.replace('\0', " ")).unwrap_or_default();
            // SAFETY: a valid NUL-terminated string for the duration of the call.
            unsafe { cb(self.user, level as i32, text.as_ptr()) };
        }
    }
}

/// Fills `options` with the defaults (default bundle, CPU, all cores). Set
/// `options->struct_size = sizeof(pancseg_options)` first: the library writes no more than that
/// many bytes (nor more than the fields it knows) and leaves `struct_size` at the number it wrote.
#[no_mangle]
pub extern "C" fn pancseg_options_init(options: *mut pancseg_options) -> pancseg_status {
    guard(|| {
        if options.is_null() {
            return invalid("options is NULL");
        }
        write_versioned(
            options,
            pancseg_options::defaults(),
            " before pancseg_options_init",
        )
    })
}

/// The device of the options.
fn device_of(o: &pancseg_options) -> Result<Device, (pancseg_status, String)> {
    match pancseg_device::parse(o.device, "device").map_err(bad_value)? {
        pancseg_device::PANCSEG_DEVICE_CPU => Ok(Device::Cpu),
        pancseg_device::PANCSEG_DEVICE_CUDA if (0..1024).contains(&o.device_id) => {
            Ok(Device::Cuda(o.device_id as u32))
        }
        pancseg_device::PANCSEG_DEVICE_CUDA => {
            invalid(format!("device_id {} is not a GPU index", o.device_id))
        }
    }
}

/// The limits of the options (0: the default of each).
fn limits_of(o: &pancseg_options) -> Limits {
    let defaults = Limits::default();
    Limits {
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
    }
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
        let out = out_ptr(out, "out")?;
        let o = read_versioned(options)?.unwrap_or_else(pancseg_options::defaults);
        let log = Logger {
            cb: o.log,
            user: o.log_user_data,
        };
        let device = device_of(&o)?;
        if o.threads > 1024 {
            return invalid(format!(
                "threads {} is more than 1024, the most a context runs",
                o.threads
            ));
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
            (status, e.chain())
        })?;
        let dir = bundle.dir.display().to_string();
        let runtime = RuntimeOptions {
            device,
            strict: o.strict != 0,
            intra_threads: 0,
            ort_library,
            batch_size: if o.batch_size == 0 {
                DEFAULT_BATCH_SIZE
            } else {
                o.batch_size as usize
            },
            cpu_arena: false,
        };
        let limits = limits_of(&o);
        let segmenter = Segmenter::new(bundle, runtime, o.threads as usize)
            .map_err(|e| {
                let status = match e {
                    Error::Io { .. } => PANCSEG_MODEL_ERROR,
                    ref other => status_of(other),
                };
                (status, e.chain())
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
        give(
            out,
            pancseg_context {
                segmenter,
                provider,
                log,
                limits,
            },
        );
        Ok(())
    })
}

/// Frees a context (NULL is ignored). No `pancseg_segment` call may be running on it. Results
/// already returned stay valid.
#[no_mangle]
pub extern "C" fn pancseg_free(ctx: *mut pancseg_context) {
    free_box(ctx)
}

/// The execution provider the context's networks run on: "cpu", "cuda:N", or
/// "cpu (CUDA device N not usable: reason)" after a fallback. Owned by the context; NULL for a
/// NULL context.
#[no_mangle]
pub extern "C" fn pancseg_provider(ctx: *const pancseg_context) -> *const c_char {
    guard_value(std::ptr::null(), || {
        // SAFETY: NULL or a live context (caller contract).
        unsafe { ctx.as_ref() }.map_or(std::ptr::null(), |c| c.provider.as_ptr())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::status::pancseg_last_error;
    use std::ffi::CStr;

    #[test]
    fn null_out_is_an_error_with_a_message() {
        assert_eq!(
            pancseg_create(std::ptr::null(), std::ptr::null_mut()),
            PANCSEG_INVALID_ARGUMENT
        );
        let msg = unsafe { CStr::from_ptr(pancseg_last_error()) };
        assert!(msg.to_str().unwrap().contains("out is NULL"));
        pancseg_free(std::ptr::null_mut());
        assert!(pancseg_provider(std::ptr::null()).is_null());
    }

    #[test]
    fn devices_and_log_levels_convert_from_their_c_values() {
        for (i, d) in pancseg_device::ALL.iter().enumerate() {
            assert_eq!(*d as i32, i as i32);
            assert_eq!(pancseg_device::from_c(i as i32), Some(*d));
        }
        assert_eq!(pancseg_device::ALL.len(), 2);
        assert_eq!(pancseg_log_level::ALL.len(), 3);
        for (i, l) in pancseg_log_level::ALL.iter().enumerate() {
            assert_eq!(*l as i32, i as i32);
        }
        let mut o = pancseg_options::defaults();
        o.device = 2;
        let e = device_of(&o).unwrap_err();
        assert_eq!(
            e,
            (
                PANCSEG_INVALID_ARGUMENT,
                "device 2 is not a pancseg_device value".into()
            )
        );
        o.device = 1;
        o.device_id = -1;
        assert!(device_of(&o).unwrap_err().1.contains("not a GPU index"));
        o.device_id = 3;
        assert_eq!(device_of(&o).unwrap(), Device::Cuda(3));
    }
}
