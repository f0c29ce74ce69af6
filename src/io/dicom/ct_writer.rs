//! Writing a CT volume as an uncompressed DICOM CT Image Storage series (one file per slice).
//!
//! Used for the phantom cohorts' DICOM output and by the tests of the series reader. The writer
//! stores integer values `round((HU - intercept) / slope)` as signed or unsigned 16-bit (or 8-bit) pixels
//! with the chosen BitsStored, and writes the full geometry (ImagePositionPatient per slice,
//! ImageOrientationPatient, PixelSpacing, SliceThickness, SpacingBetweenSlices) so any reader
//! reconstructs the same voxel grid.

use crate::error::{Error, Result};
use crate::io::dicom::encode::{ds, image_orientation, multi_ds, put_str};
pub use crate::io::dicom::encode::{
    DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_BE, EXPLICIT_VR_LE, IMPLICIT_VR_LE,
};
use crate::io::dicom::series::CT_IMAGE_STORAGE;
use crate::volume::Volume;
use dicom::core::{DataElement, PrimitiveValue, VR};
use dicom::dictionary_std::tags;
use dicom::object::{FileMetaTableBuilder, InMemDicomObject};
use std::path::{Path, PathBuf};

/// How the series is written.
#[derive(Debug, Clone)]
pub struct SeriesWriteOptions {
    pub patient_name: String,
    pub patient_id: String,
    pub study_uid: String,
    pub series_uid: String,
    pub frame_of_reference_uid: String,
    pub series_description: String,
    /// ImageType (default ORIGINAL\PRIMARY\AXIAL: a phantom stands for an acquisition).
    pub image_type: String,
    /// SeriesNumber.
    pub series_number: u32,
    /// ConvolutionKernel (written when not empty).
    pub convolution_kernel: String,
    /// Signed (PixelRepresentation 1) or unsigned pixels.
    pub signed: bool,
    /// BitsStored (12 or 16 typically); BitsAllocated is 8 when BitsStored <= 8, else 16.
    pub bits_stored: u16,
    pub rescale_slope: f64,
    pub rescale_intercept: f64,
    /// Transfer syntax UID of the files (native ones only).
    pub transfer_syntax: String,
}

impl SeriesWriteOptions {
    /// Defaults for a series identified by `uid_root` (UIDs are derived from it).
    pub fn new(uid_root: &str) -> Self {
        SeriesWriteOptions {
            patient_name: "PHANTOM^PANCSEG".into(),
            patient_id: "PHANTOM".into(),
            study_uid: format!("{uid_root}.1"),
            series_uid: format!("{uid_root}.2"),
            frame_of_reference_uid: format!("{uid_root}.3"),
            series_description: "pancseg phantom".into(),
            image_type: "ORIGINAL\\PRIMARY\\AXIAL".into(),
            series_number: 1,
            convolution_kernel: String::new(),
            signed: true,
            bits_stored: 16,
            rescale_slope: 1.0,
            rescale_intercept: 0.0,
            transfer_syntax: EXPLICIT_VR_LE.into(),
        }
    }
}

/// Writes `volume` as `dir/slice_NNNN.dcm`, one file per axial slice; returns the file paths.
pub fn write_ct_series(
    volume: &Volume,
    dir: &Path,
    opts: &SeriesWriteOptions,
) -> Result<Vec<PathBuf>> {
    volume.geometry.validate()?;
    if opts.rescale_slope == 0.0
        || !opts.rescale_slope.is_finite()
        || !opts.rescale_intercept.is_finite()
    {
        return Err(Error::InvalidArgument(
            "rescale slope must be finite and non-zero".into(),
        ));
    }
    if !(2..=16).contains(&opts.bits_stored) {
        return Err(Error::InvalidArgument(format!(
            "BitsStored {} not in 2..16",
            opts.bits_stored
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let g = &volume.geometry;
    let (nz, ny, nx) = volume.data.dim();
    let (lo, hi) = if opts.signed {
        (
            -(1i64 << (opts.bits_stored - 1)),
            (1i64 << (opts.bits_stored - 1)) - 1,
        )
    } else {
        (0, (1i64 << opts.bits_stored) - 1)
    };
    let iop = image_orientation(g);
    let mut files = Vec::with_capacity(nz);
    for k in 0..nz {
        let mut obj = InMemDicomObject::new_empty();
        let sop_uid = format!("{}.{}", opts.series_uid, k + 1);
        put_str(&mut obj, tags::SOP_CLASS_UID, VR::UI, CT_IMAGE_STORAGE);
        put_str(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, &sop_uid);
        put_str(&mut obj, tags::MODALITY, VR::CS, "CT");
        put_str(&mut obj, tags::PATIENT_NAME, VR::PN, &opts.patient_name);
        put_str(&mut obj, tags::PATIENT_ID, VR::LO, &opts.patient_id);
        put_str(&mut obj, tags::STUDY_INSTANCE_UID, VR::UI, &opts.study_uid);
        put_str(
            &mut obj,
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            &opts.series_uid,
        );
        put_str(
            &mut obj,
            tags::FRAME_OF_REFERENCE_UID,
            VR::UI,
            &opts.frame_of_reference_uid,
        );
        put_str(
            &mut obj,
            tags::SERIES_DESCRIPTION,
            VR::LO,
            &opts.series_description,
        );
        put_str(
            &mut obj,
            tags::IMAGE_TYPE,
            VR::CS,
            &opts.image_type,
        );
        put_str(
            &mut obj,
            tags::SERIES_NUMBER,
            VR::IS,
            &opts.series_number.to_string(),
        );
        if !opts.convolution_kernel.is_empty() {
            put_str(
                &mut obj,
                tags::CONVOLUTION_KERNEL,
                VR::SH,
                &opts.convolution_kernel,
            );
        }
        put_str(
            &mut obj,
            tags::INSTANCE_NUMBER,
            VR::IS,
            &(k + 1).to_string(),
        );
        let pos = g.index_to_lps([0.0, 0.0, k as f64]);
        put_str(
            &mut obj,
            tags::IMAGE_POSITION_PATIENT,
            VR::DS,
            &multi_ds(&pos),
        );
        put_str(
            &mut obj,
            tags::IMAGE_ORIENTATION_PATIENT,
            VR::DS,
            &multi_ds(&iop),
        );
        put_str(
            &mut obj,
            tags::PIXEL_SPACING,
            VR::DS,
            &multi_ds(&[g.spacing[1], g.spacing[0]]),
        );
        put_str(&mut obj, tags::SLICE_THICKNESS, VR::DS, &ds(g.spacing[2]));
        put_str(
            &mut obj,
            tags::SPACING_BETWEEN_SLICES,
            VR::DS,
            &ds(g.spacing[2]),
        );
        put_str(
            &mut obj,
            tags::RESCALE_SLOPE,
            VR::DS,
            &ds(opts.rescale_slope),
        );
        put_str(
            &mut obj,
            tags::RESCALE_INTERCEPT,
            VR::DS,
            &ds(opts.rescale_intercept),
        );
        put_str(&mut obj, tags::RESCALE_TYPE, VR::LO, "HU");
        put_str(
            &mut obj,
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            "MONOCHROME2",
        );
        obj.put(DataElement::new(
            tags::SAMPLES_PER_PIXEL,
            VR::US,
            PrimitiveValue::from(1u16),
        ));
        obj.put(DataElement::new(
            tags::ROWS,
            VR::US,
            PrimitiveValue::from(ny as u16),
        ));
        obj.put(DataElement::new(
            tags::COLUMNS,
            VR::US,
            PrimitiveValue::from(nx as u16),
        ));
        let allocated: u16 = if opts.bits_stored <= 8 { 8 } else { 16 };
        obj.put(DataElement::new(
            tags::BITS_ALLOCATED,
            VR::US,
            PrimitiveValue::from(allocated),
        ));
        obj.put(DataElement::new(
            tags::BITS_STORED,
            VR::US,
            PrimitiveValue::from(opts.bits_stored),
        ));
        obj.put(DataElement::new(
            tags::HIGH_BIT,
            VR::US,
            PrimitiveValue::from(opts.bits_stored - 1),
        ));
        obj.put(DataElement::new(
            tags::PIXEL_REPRESENTATION,
            VR::US,
            PrimitiveValue::from(u16::from(opts.signed)),
        ));
        let slice = volume.data.index_axis(ndarray::Axis(0), k);
        let mut pixels = Vec::with_capacity(nx * ny);
        for &hu in slice.iter() {
            let stored = ((hu as f64 - opts.rescale_intercept) / opts.rescale_slope).round() as i64;
            if stored < lo || stored > hi {
                return Err(Error::InvalidArgument(format!(
                    "HU {hu} maps to stored value {stored}, outside {lo}..{hi} for {} bits {}",
                    opts.bits_stored,
                    if opts.signed { "signed" } else { "unsigned" }
                )));
            }
            // two's complement in 16 bits; unused high bits stay 0 for unsigned, sign bits for signed
            pixels.push(stored as i16 as u16);
        }
        let pixel_data = if allocated == 8 {
            let bytes: Vec<u8> = pixels.iter().map(|&v| v as u8).collect();
            DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::U8(bytes.into()))
        } else {
            DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(pixels.into()))
        };
        obj.put(pixel_data);
        let file = obj
            .with_meta(FileMetaTableBuilder::new().transfer_syntax(opts.transfer_syntax.as_str()))
            .map_err(|e| Error::dicom(dir, format!("cannot build file meta: {e}")))?;
        let path = dir.join(format!("slice_{:04}.dcm", k + 1));
        file.write_to_file(&path)
            .map_err(|e| Error::dicom(&path, format!("cannot write: {e}")))?;
        files.push(path);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ds_fits_sixteen_chars() {
        assert_eq!(ds(2.0), "2");
        assert_eq!(ds(-0.9765625), "-0.9765625");
        assert!(ds(1.0 / 3.0).len() <= 16);
        assert!(ds(-123456.123456789).len() <= 16);
    }
}
