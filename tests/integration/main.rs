//! The integration tests of the library and its CLI, one test binary (each file a module: one
//! binary links and monomorphises the dependencies once instead of once per file).

mod batch;
mod cli;
mod default_bundle;
mod dicom_seg;
mod dicom_series;
mod dicom_study;
mod fuzz_replay;
mod header;
mod onnx_runtime;
mod pipeline;
mod readme;
mod real_ct;
mod render;
mod sampling;
