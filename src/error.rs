//! Error type of the library: every fallible operation returns [`Error`], whose message names the
//! file (when there is one) and the cause, so a vendor can log it without further context.

use std::path::{Path, PathBuf};

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A cause kept under an error (an ONNX Runtime error with its code, a thread-pool error).
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in pancseg. New variants may be added in a minor release, so
/// matches need a wildcard arm. The underlying cause, where there is one, is kept as the error's
/// [`source`](std::error::Error::source); [`Error::chain`] gives the message with every cause.
///
/// ```
/// use pancseg::{load_volume, DicomReadOptions, Error};
///
/// match load_volume("/nonexistent.nii.gz", &DicomReadOptions::default()) {
///     Err(Error::Io { path, .. }) => assert_eq!(path.to_str(), Some("/nonexistent.nii.gz")),
///     other => panic!("expected an I/O error, got {other:?}"),
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    #[error("ONNX Runtime: {context}")]
    Runtime {
        /// What was being done, and what went wrong when there is no underlying cause.
        context: String,
        /// The error ONNX Runtime (or the thread pool) returned.
        #[source]
        source: Option<Cause>,
    },
    /// A model file (a random forest, a network, the manifest) is malformed, corrupted,
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

/// The message of `e` with every cause below it, joined by ": " (a cause already quoted in the
/// message is not repeated). For any error type: the training crate's errors use it too.
pub fn message_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        cause = c.source();
    }
    msg
}

impl Error {
    /// The message with every cause below it ([`message_chain`]): what a log line should carry.
    pub fn chain(&self) -> String {
        message_chain(self)
    }

    /// An ONNX Runtime error without an underlying cause.
    pub(crate) fn runtime(context: impl Into<String>) -> Self {
        Error::Runtime {
            context: context.into(),
            source: None,
        }
    }

    /// An ONNX Runtime error caused by `source`.
    pub(crate) fn runtime_from(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Runtime {
            context: context.into(),
            source: Some(Box::new(source)),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_carries_the_cause_once() {
        let cause = std::io::Error::other("code 7: no such provider");
        let e = Error::runtime_from("session of p.onnx", cause);
        assert_eq!(e.to_string(), "ONNX Runtime: session of p.onnx");
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(
            e.chain(),
            "ONNX Runtime: session of p.onnx: code 7: no such provider"
        );
        let io = Error::io("/x", std::io::Error::other("denied"));
        assert_eq!(io.chain(), "/x: denied");
        assert_eq!(Error::runtime("gone").chain(), "ONNX Runtime: gone");
    }
}
