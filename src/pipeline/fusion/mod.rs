//! Stage 3 of the pipeline, from probabilities to a mask: 3D Gaussian smoothing G(Pk) and the
//! superpixel CRF on P2 (boundary ConvNet scores, solved by min-cut in [`maxflow`]), and
//! the mask's largest component.

pub mod components;
pub mod crf;
pub mod maxflow;
pub mod smoothing;
