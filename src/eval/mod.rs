//! Measuring masks: Dice, surface distances (ASSD, HD95) in millimetres, and the exact Euclidean
//! distance transform they rest on. Used by `--truth`, the report and the training crate.

pub mod distance;
pub mod metrics;
