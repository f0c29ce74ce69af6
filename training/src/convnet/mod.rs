//! The four ConvNets of the pipeline: definition ([`model`]), training examples ([`examples`]),
//! training loop ([`train`]) on a CPU or GPU ([`device`]), metrics ([`metrics`]), the R-ConvNets'
//! per-scale ablation ([`scale_ablation`]), the cases held out for validation
//! ([`validation_cases`]) and ONNX export ([`onnx_export`]).

pub mod device;
pub mod examples;
pub mod metrics;
pub mod model;
pub mod onnx_export;
pub mod parity;
pub mod report;
pub mod scale_ablation;
pub mod train;
pub mod validation_cases;

use model::ConvNetConfig;
use serde::{Deserialize, Serialize};

/// Which network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetKind {
    /// Patch-level ConvNet on 2.5D patches (3 x 32 x 32).
    P,
    /// Region ConvNet on CT boxes (1 x 64 x 64).
    R1,
    /// Region ConvNet on CT + P0 boxes (2 x 64 x 64).
    R2,
    /// Boundary ConvNet of the CRF on CT + two superpixel masks (3 x 64 x 64).
    Boundary,
}

impl NetKind {
    pub const ALL: [NetKind; 4] = [NetKind::P, NetKind::R1, NetKind::R2, NetKind::Boundary];

    /// Parses `p`, `r1`, `r2` or `boundary`.
    pub fn parse(s: &str) -> Option<NetKind> {
        match s {
            "p" => Some(NetKind::P),
            "r1" => Some(NetKind::R1),
            "r2" => Some(NetKind::R2),
            "boundary" => Some(NetKind::Boundary),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            NetKind::P => "p",
            NetKind::R1 => "r1",
            NetKind::R2 => "r2",
            NetKind::Boundary => "boundary",
        }
    }

    /// The default network for this input.
    pub fn config(self) -> ConvNetConfig {
        match self {
            NetKind::P => ConvNetConfig::standard(3, 32),
            NetKind::R1 => ConvNetConfig::standard(1, 64),
            NetKind::R2 => ConvNetConfig::standard(2, 64),
            NetKind::Boundary => ConvNetConfig::standard(3, 64),
        }
    }
}
