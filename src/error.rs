//! Error type of the library: every fallible operation returns [`Error`], whose message names the
//! file (when there is one) and the cause, so a vendor can log it without further context.

use std::path::{Path, PathBuf};

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in pancseg.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed at the operating-system level.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A NIfTI file is malformed or unsupported.
    #[error("{path}: invalid NIfTI: {reason}")]
    Nifti { path: PathBuf, reason: String },
    /// A DICOM file or series is malformed, unsupported or ambiguous.
    #[error("{path}: invalid DICOM: {reason}")]
    Dicom { path: PathBuf, reason: String },
    /// Patient geometry (spacing, origin, direction) is invalid.
    #[error("invalid geometry: {0}")]
    Geometry(String),
    /// A caller-supplied argument is invalid (wrong dimensions, bad option values...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The ONNX Runtime library could not be found or loaded, or a model failed in it.
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
    /// A model file (e.g. a random forest, see [`crate::model::forest`]) is malformed, corrupted,
    /// truncated or of an unsupported format version.
    #[error("{path}: invalid model file: {reason}")]
    Model { path: PathBuf, reason: String },
    /// The caller cancelled the operation.
    #[error("cancelled")]
    Cancelled,
    /// An input exceeds a configured resource limit (voxel count, memory budget).
    #[error("resource limit exceeded: {0}")]
    LimitExceeded(String),
    /// A bug: an internal invariant did not hold. The library stays usable.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub(crate) fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    pub(crate) fn nifti(path: impl AsRef<Path>, reason: impl Into<String>) -> Self {
        Error::Nifti {
            path: path.as_ref().to_path_buf(),
            reason: reason.into(),
        }
    }

    pub(crate) fn dicom(path: impl AsRef<Path>, reason: impl Into<String>) -> Self {
        Error::Dicom {
            path: path.as_ref().to_path_buf(),
            reason: reason.into(),
        }
    }

    pub(crate) fn model(path: impl AsRef<Path>, reason: impl Into<String>) -> Self {
        Error::Model {
            path: path.as_ref().to_path_buf(),
            reason: reason.into(),
        }
    }
}
