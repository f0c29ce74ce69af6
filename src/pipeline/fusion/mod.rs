//! Stage 3 of the pipeline, from probabilities to a mask: 3D Gaussian smoothing G(Pk) and the
//! superpixel CRF on P2 (boundary ConvNet scores, solved by min-cut in [`maxflow`]), G(P2)'s
//! per-scan threshold under a [`volume_floor`], and the mask's largest component.

pub mod components;
pub mod crf;
pub mod maxflow;
pub mod smoothing;
pub mod volume_floor;
