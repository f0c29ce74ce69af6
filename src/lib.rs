//! pancseg: automatic pancreas segmentation of abdominal CT, after Roth et al. 2015
//! ("DeepOrgan: multi-level deep convolutional networks for automated pancreas segmentation").
//!
//! This crate is the embeddable library (Rust API and a stable C ABI in [`ffi`]) and the
//! `pancseg` command-line tool. Conventions for volumes and geometry are in [`volume`].

// Geometry code indexes small matrices by row and column; index loops read clearer there.
#![allow(clippy::needless_range_loop)]

pub mod align;
pub mod bundle;
pub mod candidates;
pub mod crf;
pub mod dicom_guard;
pub mod dicom_seg;
pub mod dicom_series;
pub mod dicom_writer;
pub mod distance;
pub mod error;
pub mod features;
pub mod ffi;
pub mod forest;
#[doc(hidden)]
pub mod fuzz_harness;
pub mod heap_trim;
pub mod info;
pub mod input;
pub mod maxflow;
pub mod metrics;
pub mod net_inputs;
pub mod network;
pub mod nifti_io;
pub mod orient;
pub mod pipeline;
pub mod prob_map;
pub mod render;
pub mod runtime;
pub mod smoothing;
pub mod superpixels;
pub mod tps;
pub mod volume;

pub use error::{Error, Result};
pub use volume::{Geometry, Image, Mask, Volume};
