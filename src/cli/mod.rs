//! The command-line tool's own code: what `pancseg info` prints and how `pancseg segment` runs
//! (arguments, progress, outputs). Everything it calls is the library's public API.

pub mod info;
pub mod segment;
