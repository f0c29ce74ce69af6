//! The command-line tool's own code: what `pancseg info` prints and how `pancseg segment` runs
//! (arguments, progress, outputs). Everything it calls is the library's public API.

pub mod batch;
pub mod info;
pub mod segment;

/// The DICOM reader's options of a `--series` value (`auto`: the selection policy).
pub fn dicom_options(series: &str, max_voxels: u64) -> pancseg::DicomReadOptions {
    pancseg::DicomReadOptions {
        series_uid: (series != "auto").then(|| series.to_string()),
        max_voxels,
    }
}
