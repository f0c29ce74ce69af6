//! What a trained model is at run time: the bundle on disk (manifest and files), the random
//! forests of the candidate cascade, the ConvNets as ONNX Runtime sessions, and the loading of
//! the ONNX Runtime library itself.

pub mod bundle;
pub mod forest;
pub mod network;
pub mod runtime;
