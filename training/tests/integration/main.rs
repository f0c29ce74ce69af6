//! The integration tests of the training crate, one test binary (each file a module).

mod candidates;
mod cv;
mod import;
mod onnx_parity;
mod phantom;
mod train;
