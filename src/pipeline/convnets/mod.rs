//! Stage 2 of the pipeline, the ConvNets' side: the inputs every network reads (2.5D patches,
//! zoom-out boxes, boundary pairs; shared with training), the P0 probability map built from the
//! P-ConvNet's grid of outputs, and the thin-plate-spline warps that augment training inputs.

pub mod inputs;
pub mod prob_map;
pub mod tps;
