//! What a caller chooses for a segmentation: the [`Method`] the mask is made from, the per-call
//! [`SegmentOptions`] (probability map, largest component, progress, cancellation) and the
//! resource [`Limits`] checked before anything is allocated.

use crate::error::{Error, Result};
use serde::Serialize;

/// What the mask is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum Method {
    #[serde(rename = "p0")]
    P0,
    #[serde(rename = "g-p0")]
    GP0,
    #[serde(rename = "p1")]
    P1,
    #[serde(rename = "g-p1")]
    GP1,
    #[serde(rename = "p2")]
    P2,
    /// G(P2) >= p2: the paper's best single-map result, the default.
    #[default]
    #[serde(rename = "g-p2")]
    GP2,
    #[serde(rename = "crf-p2")]
    CrfP2,
}

impl Method {
    pub const ALL: [Method; 7] = [
        Method::P0,
        Method::GP0,
        Method::P1,
        Method::GP1,
        Method::P2,
        Method::GP2,
        Method::CrfP2,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::P0 => "p0",
            Method::GP0 => "g-p0",
            Method::P1 => "p1",
            Method::GP1 => "g-p1",
            Method::P2 => "p2",
            Method::GP2 => "g-p2",
            Method::CrfP2 => "crf-p2",
        }
    }

    /// Whether the method smooths its map in 3D before the threshold (the G methods).
    pub(crate) fn smoothed(self) -> bool {
        matches!(self, Method::GP0 | Method::GP1 | Method::GP2)
    }

    /// Whether the method needs the P-ConvNet's map P0 (directly, or as R2's second channel).
    pub(crate) fn needs_p0(self) -> bool {
        matches!(
            self,
            Method::P0 | Method::GP0 | Method::P2 | Method::GP2 | Method::CrfP2
        )
    }
}

impl std::str::FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Method> {
        Method::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "method {s:?} is not one of g-p2, g-p0, g-p1, p0, p1, p2, crf-p2"
                ))
            })
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Options of one segmentation.
///
/// ```
/// use pancseg::{Method, SegmentOptions};
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// let stop = AtomicBool::new(false);
/// let progress = |done: f32| eprintln!("{:.0} %", 100.0 * done);
/// let cancel = || stop.load(Ordering::Relaxed);
/// let options = SegmentOptions {
///     method: Method::CrfP2,
///     probability: true,
///     progress: Some(&progress),
///     cancel: Some(&cancel),
///     ..SegmentOptions::default()
/// };
/// assert_eq!(options.method.name(), "crf-p2");
/// ```
#[derive(Clone, Copy, Default)]
pub struct SegmentOptions<'a> {
    pub method: Method,
    /// Also return the probability map the mask was thresholded from (G(Pk) or Pk; P2 for the
    /// CRF), on the input grid.
    pub probability: bool,
    /// Keep only the largest 6-connected component of the mask (off by default, as in the paper).
    pub largest_component: bool,
    /// Called with the fraction done, non-decreasing, in [0, 1], from any thread.
    pub progress: Option<&'a (dyn Fn(f32) + Sync)>,
    /// Polled between slices and batches (from any thread); when it returns true the call
    /// stops and returns [`Error::Cancelled`]. E.g. `&|| flag.load(Ordering::Relaxed)`.
    pub cancel: Option<&'a (dyn Fn() -> bool + Sync)>,
}

/// Resource limits checked before a segmentation allocates anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Largest accepted volume, in voxels.
    pub max_voxels: u64,
    /// Largest accepted estimate of the memory the segmentation allocates (bytes), besides the
    /// caller's CT and the models: `BYTES_PER_VOXEL` per voxel.
    pub memory_budget: u64,
}

/// Working memory of a segmentation per input voxel, measured: a 512 x 512 x 181 phantom peaked
/// at 570 MB resident with its 190 MB f32 volume, 1.2 MB of models and the runtime (about 8
/// bytes per voxel beyond the CT; 10 leaves room for a less favourable working box).
pub const BYTES_PER_VOXEL: u64 = 10;

impl Default for Limits {
    /// 2^28 voxels (more than 512 x 512 x 1000) and 4 GiB (512 x 512 x 1000 needs about 2.6 GB).
    fn default() -> Self {
        Limits {
            max_voxels: 1 << 28,
            memory_budget: 4 << 30,
        }
    }
}

impl Limits {
    /// Checks a volume of `voxels` voxels against the limits.
    pub fn check(&self, voxels: u64) -> Result<()> {
        if voxels > self.max_voxels {
            return Err(Error::LimitExceeded(format!(
                "the volume has {voxels} voxels; the limit is {}",
                self.max_voxels
            )));
        }
        let need = voxels.saturating_mul(BYTES_PER_VOXEL);
        if need > self.memory_budget {
            return Err(Error::LimitExceeded(format!(
                "segmenting {voxels} voxels needs about {}; the memory budget is {}",
                bytes_text(need),
                bytes_text(self.memory_budget)
            )));
        }
        Ok(())
    }
}

/// A byte count for a message: exact below 1 MiB ("1 byte", "4096 bytes"), in MiB with one
/// decimal from there ("100.0 MiB"), so that no budget reads as 0.
fn bytes_text(n: u64) -> String {
    if n == 1 {
        "1 byte".into()
    } else if n < 1 << 20 {
        format!("{n} bytes")
    } else {
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_parse_and_print() {
        for m in Method::ALL {
            assert_eq!(m.name().parse::<Method>().unwrap(), m);
        }
        assert!("g-p3".parse::<Method>().is_err());
        assert_eq!(Method::default(), Method::GP2);
    }

    #[test]
    fn limits_refuse_large_volumes_with_the_reason() {
        let l = Limits::default();
        assert!(l.check(512 * 512 * 1000).is_ok());
        let e = l.check(1 << 29).unwrap_err().to_string();
        assert!(e.contains("voxels") && e.contains("limit"), "{e}");
        let tight = Limits {
            max_voxels: 1 << 30,
            memory_budget: 100 << 20,
        };
        let e = tight.check(20_000_000).unwrap_err().to_string();
        assert!(e.contains("memory budget is 100.0 MiB"), "{e}");
        let one = Limits {
            max_voxels: 1 << 30,
            memory_budget: 1,
        };
        let e = one.check(1000).unwrap_err().to_string();
        assert!(e.contains("memory budget is 1 byte"), "{e}");
        assert!(e.contains(&format!("{} bytes", 1000 * BYTES_PER_VOXEL)), "{e}");
    }
}
