//! pancseg-train: synthetic phantom cohorts, dataset importers, training and evaluation for the
//! pancseg pipeline. The binary `pancseg-train` is a thin CLI over these modules.

pub mod align;
pub mod bench;
pub mod bench_batch;
pub mod bench_degenerate;
pub mod bench_inference;
pub mod bench_landmarks;
pub mod bench_pipeline;
pub mod bench_train;
pub mod calibrate_cmd;
pub mod candidates_cv;
pub mod cohort;
pub mod cohort_stats;
pub mod convnet;
pub mod cv;
pub mod error;
pub mod export_cmd;
pub mod fig5;
pub mod forest_train;
pub mod import;
pub mod input_pictures;
pub mod parameter_spread;
pub mod phantom;
pub mod realism;
pub mod selection;
pub mod tissue_stats;
pub mod train_cmd;
