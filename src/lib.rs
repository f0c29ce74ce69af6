//! pancseg: automatic pancreas segmentation of abdominal CT, after Roth et al. 2015
//! ("DeepOrgan: multi-level deep convolutional networks for automated pancreas segmentation").
//!
//! This crate is the embeddable library (Rust API and a stable C ABI in [`ffi`]) and the
//! `pancseg` command-line tool. Conventions for volumes and geometry are in [`volume`].

// Geometry code indexes small matrices by row and column; index loops read clearer there.
#![allow(clippy::needless_range_loop)]

pub mod error;
pub mod eval;
pub mod ffi;
#[doc(hidden)]
pub mod fuzz_harness;
pub mod io;
pub mod model;
pub mod pipeline;
pub mod volume;

pub use error::{Error, Result};
pub use volume::{Geometry, Image, Mask, Volume};
