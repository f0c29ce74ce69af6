//! The subcommands of `pancseg-train`, one module each: its clap arguments and its `run`.

pub mod bench;
pub mod candidates;
pub mod cohort_stats;
pub mod cv;
pub mod export;
pub mod import;
pub mod options;
pub mod phantom;
pub mod train;

/// What every subcommand returns.
pub type CliResult = Result<(), Box<dyn std::error::Error>>;

/// An error's message with every cause below it that it does not already quote.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        cause = c.source();
    }
    msg
}
