//! One entry point for every supported input: a NIfTI file or a DICOM series (a directory searched
//! recursively, or a single DICOM file). The format is recognised from the content (gzip or
//! NIfTI magic, DICM marker), not only from the file name.

use crate::error::{Error, Result};
use crate::io::dicom::selection::SeriesSelection;
use crate::io::dicom::series::{
    read_dicom_dir, read_dicom_files, DicomReadOptions, DicomSeries, SeriesInfo,
};
use crate::io::dicom::source::SourceSeries;
use crate::io::nifti::{read_nifti, GeometrySource};
use crate::volume::Volume;
use std::path::{Path, PathBuf};

/// Where a loaded volume came from.
#[derive(Debug, Clone)]
pub enum Source {
    Nifti {
        datatype: &'static str,
        geometry_source: GeometrySource,
        sform_code: i16,
        qform_code: i16,
    },
    Dicom {
        info: SeriesInfo,
        /// The series' files in slice order.
        files: Vec<PathBuf>,
        /// How the series was chosen among those of the input.
        selection: SeriesSelection,
        /// What a Segmentation or RT Structure Set written for the volume references.
        reference: Box<SourceSeries>,
    },
}

impl From<DicomSeries> for LoadedVolume {
    fn from(s: DicomSeries) -> Self {
        LoadedVolume {
            volume: s.volume,
            source: Source::Dicom {
                info: s.info,
                files: s.files,
                selection: s.selection,
                reference: Box::new(s.source),
            },
        }
    }
}

/// A CT volume with a description of its source.
#[derive(Debug, Clone)]
pub struct LoadedVolume {
    pub volume: Volume,
    pub source: Source,
}

/// Loads a CT volume from a NIfTI file, a DICOM directory or a single DICOM file.
///
/// ```
/// use pancseg::{load_volume, DicomReadOptions, Source};
///
/// let loaded = load_volume("tests/fixtures/phantom/ct.nii.gz", &DicomReadOptions::default())?;
/// assert!(matches!(loaded.source, Source::Nifti { .. }));
/// let [nx, ny, nz] = loaded.volume.dims_xyz();
/// println!("{nx} x {ny} x {nz} voxels of {:?} mm", loaded.volume.geometry.spacing);
/// // an unreadable file is an error naming it
/// let e = load_volume("/nonexistent.nii.gz", &DicomReadOptions::default()).unwrap_err();
/// assert!(e.to_string().contains("/nonexistent.nii.gz"));
/// # Ok::<(), pancseg::Error>(())
/// ```
pub fn load_volume(path: impl AsRef<Path>, dicom: &DicomReadOptions) -> Result<LoadedVolume> {
    let path = path.as_ref();
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Ok(read_dicom_dir(path, dicom)?.into());
    }
    let mut head = [0u8; 132];
    let n = {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut total = 0;
        loop {
            let k = f.read(&mut head[total..]).map_err(|e| Error::io(path, e))?;
            if k == 0 {
                break;
            }
            total += k;
            if total == head.len() {
                break;
            }
        }
        total
    };
    if n == 132 && &head[128..132] == b"DICM" {
        return Ok(read_dicom_files(&[path.to_path_buf()], dicom)?.into());
    }
    let name = path.to_string_lossy().to_ascii_lowercase();
    let gz = n >= 2 && head[..2] == [0x1f, 0x8b];
    let nifti_magic = n >= 348 || name.ends_with(".nii") || name.ends_with(".nii.gz") || gz;
    if !nifti_magic {
        // a malformed input file, like a truncated NIfTI or DICOM: an I/O error (the header's
        // PANCSEG_IO_ERROR), not a bad argument
        return Err(Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "neither a NIfTI file (.nii, .nii.gz) nor DICOM (no DICM marker) nor a directory",
            ),
        ));
    }
    let v = read_nifti(path)?;
    Ok(LoadedVolume {
        volume: v.volume,
        source: Source::Nifti {
            datatype: v.datatype,
            geometry_source: v.geometry_source,
            sform_code: v.sform_code,
            qform_code: v.qform_code,
        },
    })
}
