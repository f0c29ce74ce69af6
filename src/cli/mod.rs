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

/// A reference mask for `ct` (voxels > 0.5 are pancreas), read before the (long) segmentation
/// so that a bad file fails first; it must lie on the CT's grid.
pub fn load_truth(
    path: &std::path::Path,
    ct: &pancseg::Volume,
) -> pancseg::Result<ndarray::Array3<u8>> {
    let t = pancseg::load_volume(path, &pancseg::DicomReadOptions::default())?.volume;
    if t.data.dim() != ct.data.dim() {
        return Err(pancseg::Error::InvalidArgument(format!(
            "{}: dims {:?} differ from the CT's {:?}",
            path.display(),
            t.dims_xyz(),
            ct.dims_xyz()
        )));
    }
    Ok(t.data.mapv(|v| u8::from(v > 0.5)))
}
