//! The segmentation pipeline: CT in, pancreas mask out, on the input's own grid.
//!
//! Stages (DeepOrgan): canonical orientation ([`orient`]) on the bundle's working grid
//! ([`working_grid`]: every stage runs at one spacing, the final map comes back to the scan's
//! grid before the threshold); candidates {S_RF} (superpixels
//! and the forest cascade); P0 (the P-ConvNet on a grid every n voxels inside the candidates,
//! nearest-neighbour filled); P1 / P2 (R1 / R2 on every candidate superpixel at the Ns zoom-out
//! scales, scores averaged over the scales and written to the superpixel's voxels); then the
//! chosen output: a raw map thresholded (`p0`, `p1`, `p2`), a 3D Gaussian smoothed map
//! thresholded (`g-p0`, `g-p1`, `g-p2`: mask = G(Pk) >= pk), or the superpixel CRF on P2
//! (`crf-p2`). Only the stages the method needs run.
//!
//! Everything after the candidates works inside the candidates' bounding box grown by the
//! smoothing radius ("the box"), so memory follows the pancreas region, not the scan. Network
//! inputs are built in parallel (rayon, on the segmenter's own pool) and run in fixed batches in
//! a fixed order; results therefore do not depend on the thread count.

//!
//! The folders follow the data: [`orient`], [`candidates`] (superpixels, features, cascade),
//! [`convnets`] (network inputs, P0 map, TPS), [`fusion`] (smoothing, CRF, components); the
//! [`Segmenter`] runs them, with its [`options`], [`progress`], [`working_grid`], [`working_box`]
//! and [`report`].

pub mod abdomen;
pub mod candidates;
pub mod convnets;
pub mod fusion;
pub mod heap_trim;
pub mod options;
pub mod orient;
pub(crate) mod progress;
pub mod report;
pub mod segmenter;
mod stage_maps;
pub(crate) mod working_box;
pub mod working_grid;

pub use options::{Limits, Method, SegmentOptions, BYTES_PER_VOXEL};
pub use report::{
    peak_rss_bytes, MaskStatistics, PatientExtent, Segmentation, SegmentationReport, StageTime,
};
pub use segmenter::Segmenter;
pub use stage_maps::StageMaps;
