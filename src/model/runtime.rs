//! Loading the ONNX Runtime shared library (ort with `load-dynamic`).
//!
//! The library is looked up, in order: an explicit path given by the caller, the
//! `ORT_DYLIB_PATH` environment variable, then the default locations of
//! [`default_locations`]: `libonnxruntime.so` next to the running executable or in `../lib` from
//! it (how a vendor ships it), then `.ort/libonnxruntime.so` in this source tree (where
//! `scripts/fetch-onnxruntime.sh` unpacks it for development and CI).
//!
//! ONNX Runtime can be loaded once per process: a later request for a different file is an error,
//! a request for the same file (or with no preference) returns the loaded one.
//!
//! Minimum ONNX Runtime version: 1.17 (the crate is built with ort's `api-17`); an older library
//! is refused with a clear error, never a crash.

use crate::error::{Error, Result};
use parking_lot::Mutex;
use std::path::{Path, PathBuf};

/// File name of the runtime on this platform.
pub const LIBRARY_NAME: &str = if cfg!(target_os = "windows") {
    "onnxruntime.dll"
} else if cfg!(target_os = "macos") {
    "libonnxruntime.dylib"
} else {
    "libonnxruntime.so"
};

/// Oldest ONNX Runtime release this build accepts.
pub const MINIMUM_ORT_VERSION: &str = "1.17";

/// The loaded library's path and the process-wide environment (kept alive for the process).
static LOADED: Mutex<Option<(PathBuf, ort::environment::Environment)>> = Mutex::new(None);

/// Default locations searched when neither an explicit path nor `ORT_DYLIB_PATH` is given.
pub fn default_locations() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            out.push(dir.join(LIBRARY_NAME));
            out.push(dir.join("..").join("lib").join(LIBRARY_NAME));
            // cargo places test binaries one level deeper (target/debug/deps)
            out.push(dir.join("..").join(LIBRARY_NAME));
        }
    }
    out.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(".ort")
            .join(LIBRARY_NAME),
    );
    out
}

/// An ONNX Runtime error kept as the cause of an [`Error::Runtime`]: its message and its status
/// code (ort's `Display` gives the message only; logs need the code too).
#[derive(Debug, thiserror::Error)]
#[error("{message} (ONNX Runtime status {code:?})")]
pub struct OrtFailure {
    /// The ONNX Runtime status code.
    pub code: ort::error::ErrorCode,
    /// ONNX Runtime's message.
    pub message: String,
}

impl<R> From<ort::Error<R>> for OrtFailure {
    fn from(e: ort::Error<R>) -> Self {
        OrtFailure {
            code: e.code(),
            message: e.message().to_string(),
        }
    }
}

/// An [`Error::Runtime`] for `context` caused by the ONNX Runtime error `e`.
pub(crate) fn ort_error<R>(context: impl Into<String>, e: ort::Error<R>) -> Error {
    Error::runtime_from(context, OrtFailure::from(e))
}

/// Resolves which file would be loaded, without loading it.
pub fn resolve_library(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(Error::runtime(format!(
                "ONNX Runtime library {} does not exist",
                p.display()
            )))
        };
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(Error::runtime(format!(
                "ORT_DYLIB_PATH points to {}, which does not exist",
                p.display()
            )))
        };
    }
    let tried = default_locations();
    tried.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        Error::runtime(format!(
            "{LIBRARY_NAME} not found; set ORT_DYLIB_PATH, pass a path, or run scripts/fetch-onnxruntime.sh (tried: {})",
            tried
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// Loads ONNX Runtime once for the process and returns the file it came from.
pub fn ensure_loaded(explicit: Option<&Path>) -> Result<PathBuf> {
    let mut loaded = LOADED.lock();
    if let Some((current, _)) = loaded.as_ref() {
        return match explicit {
            Some(p) if !same_file(p, current) => Err(Error::runtime(format!(
                "ONNX Runtime is already loaded from {}; it cannot be switched to {} in the same process",
                current.display(),
                p.display()
            ))),
            _ => Ok(current.clone()),
        };
    }
    let path = resolve_library(explicit)?;
    let path = path.canonicalize().map_err(|e| Error::io(&path, e))?;
    let builder = ort::init_from(&path)
        .map_err(|e| Error::runtime_from(format!("cannot load {}", path.display()), e))?;
    let env = builder
        .with_name("pancseg")
        .build()
        .map_err(|e| Error::runtime(format!("cannot create the environment: {e}")))?;
    *loaded = Some((path.clone(), env));
    Ok(path)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// The process-wide ONNX Runtime environment (loads the library first if needed); sessions are
/// built on it with `ort::session::Session::builder(&env)`.
pub fn environment(explicit: Option<&Path>) -> Result<ort::environment::Environment> {
    ensure_loaded(explicit)?;
    let loaded = LOADED.lock();
    loaded
        .as_ref()
        .map(|(_, env)| env.clone())
        .ok_or_else(|| Error::runtime("environment missing after load"))
}

/// The ONNX Runtime version string of the loaded library, e.g. "1.31.1" (loads it first if
/// needed). Read through the library's own `OrtGetApiBase()->GetVersionString()`.
pub fn runtime_version(explicit: Option<&Path>) -> Result<String> {
    let path = ensure_loaded(explicit)?;
    Ok(version_of(&path).unwrap_or_else(|| "unknown".to_string()))
}

#[cfg(unix)]
fn version_of(path: &Path) -> Option<String> {
    use std::ffi::{c_char, c_void, CStr, CString};
    use std::os::unix::ffi::OsStrExt;
    /// The first two members of ONNX Runtime's `OrtApiBase`, a stable C ABI.
    #[repr(C)]
    struct ApiBase {
        get_api: unsafe extern "C" fn(u32) -> *const c_void,
        get_version_string: unsafe extern "C" fn() -> *const c_char,
    }
    let name = CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: the library is already loaded (RTLD_NOLOAD only takes a reference to it); the
    // symbol is ONNX Runtime's documented entry point returning a static struct whose second
    // member returns a static NUL-terminated string.
    unsafe {
        let h = libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD);
        if h.is_null() {
            return None;
        }
        let sym = libc::dlsym(h, c"OrtGetApiBase".as_ptr());
        let out = if sym.is_null() {
            None
        } else {
            let get: unsafe extern "C" fn() -> *const ApiBase = std::mem::transmute(sym);
            let base = get();
            if base.is_null() {
                None
            } else {
                let v = ((*base).get_version_string)();
                (!v.is_null()).then(|| CStr::from_ptr(v).to_string_lossy().into_owned())
            }
        };
        libc::dlclose(h);
        out
    }
}

#[cfg(not(unix))]
fn version_of(_path: &Path) -> Option<String> {
    None
}
