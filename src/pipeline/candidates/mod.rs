//! Stage 1 of the pipeline, the candidate regions {S_RF}: entropy rate superpixels on every axial
//! slice ([`superpixels`]), one feature row per superpixel ([`features`]) and the two-level
//! random-forest cascade that keeps the superpixels that may be pancreas ([`cascade`]).

pub mod cascade;
pub mod features;
pub mod superpixels;
