//! Where a CT enters and results leave: NIfTI and DICOM readers, the one input entry point that
//! recognises either, the writers (NIfTI, DICOM CT series, DICOM Segmentation, RT Structure Set
//! with its contour tracer) and the PNG renderer for pictures of slices with outlines.

pub mod contours;
pub mod dicom;
pub mod input;
pub mod nifti;
pub mod render;
