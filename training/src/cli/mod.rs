//! The subcommands of `pancseg-train`, one module each: its clap arguments and its `run`.

pub mod bench;
pub mod calibrate;
pub mod candidates;
pub mod cohort_stats;
pub mod cv;
pub mod export;
pub mod import;
pub mod inputs;
pub mod options;
pub mod phantom;
pub mod realism;
pub mod train;

/// What every subcommand returns.
pub type CliResult = Result<(), Box<dyn std::error::Error>>;
