//! pancseg: automatic pancreas segmentation of abdominal CT, after Roth et al. 2015
//! ("DeepOrgan: multi-level deep convolutional networks for automated pancreas segmentation").
//!
//! This crate is the embeddable library (the Rust API below and a stable C ABI, `include/pancseg.h`)
//! and the `pancseg` command-line tool. Conventions for volumes and geometry are in [`volume`].
//!
//! The Rust API: read a CT ([`load_volume`], [`read_nifti`], [`read_dicom_dir`]), load a model
//! [`Bundle`], build a [`Segmenter`] and call [`Segmenter::segment`] with [`SegmentOptions`]; the
//! [`Segmentation`] holds the mask on the input grid and its [`SegmentationReport`]; write it with
//! [`write_nifti`] or [`write_dicom_seg`], picture it with [`render_png`], measure it with
//! [`dice`] and [`surface_distances`]. Every fallible call returns an [`Error`].
//!
//! The source tree follows the data: `io/` (readers, writers, pictures) -> `model/` (bundle,
//! forests, networks, ONNX Runtime) -> `pipeline/` (orientation, candidates, ConvNets, fusion,
//! the segmenter) -> `eval/` (metrics) -> `ffi/` (the C boundary). Those modules are internal:
//! the `eval` feature makes them public for the training crate and the project's own tests, the
//! `fuzzing` feature adds the fuzz targets' bodies; neither is part of the supported API.

// Geometry code indexes small matrices by row and column; index loops read clearer there.
#![allow(clippy::needless_range_loop)]

mod error;
pub mod volume;

/// Declares the internal stage modules: public (hidden from the docs) with the `eval` feature
/// (training crate, tests, fuzzing), crate-private otherwise.
macro_rules! internal_modules {
    ($($name:ident),* $(,)?) => {
        $(
            #[cfg(feature = "eval")]
            #[doc(hidden)]
            pub mod $name;
            #[cfg(not(feature = "eval"))]
            #[allow(dead_code, unused_imports)]
            mod $name;
        )*
    };
}

internal_modules!(eval, ffi, io, model, pipeline);

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzz_harness;

/// The README's Rust example, compiled and run by `cargo test` as a doctest of this crate.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use error::{message_chain, Cause, Error, Result};
pub use volume::{Geometry, Image, Mask, Volume};

pub use eval::metrics::{dice, surface_distances, SurfaceDistances};
pub use io::dicom::rtstruct::{
    read_rtstruct, write_rtstruct, RtStructWriteOptions, RtStructWriteSummary,
};
pub use io::dicom::seg::{
    read_dicom_seg, write_dicom_seg, DicomSeg, SegWriteOptions, SourceSeries,
};
pub use io::dicom::selection::{
    select_series, KernelClass, SeriesSelection, SeriesSummary, SeriesVerdict,
};
pub use io::dicom::series::{
    list_series, read_dicom_buffers, read_dicom_dir, read_dicom_files, survey_series,
    DicomReadOptions, DicomSeries, SeriesInfo,
};
pub use io::input::{load_volume, LoadedVolume, Source};
pub use io::nifti::{read_nifti, write_ct, write_nifti, GeometrySource, NiftiVolume};
pub use io::render::{render_png, RenderOptions, SliceChoice, View};
pub use model::bundle::{Bundle, Manifest, OperatingPoints};
pub use model::network::{Device, RuntimeOptions, DEFAULT_BATCH_SIZE};
pub use model::runtime::{runtime_version, OrtFailure};
pub use pipeline::abdomen::{FieldOfView, Landmark, Landmarks, Slab};
pub use pipeline::working_grid::DEFAULT_SPACING_MM;
pub use pipeline::{
    Limits, MaskStatistics, Method, PatientExtent, SegmentOptions, Segmentation,
    SegmentationReport, Segmenter, StageTime,
};
