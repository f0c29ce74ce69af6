//! What a segmentation returns and measured: the [`Segmentation`] (mask, optional probability
//! map, report), the [`SegmentationReport`] with its per-stage times, and the stage timer that
//! fills them.

use crate::pipeline::abdomen::{FieldOfView, Landmarks, Slab};
use crate::pipeline::options::Method;
use crate::volume::{Image, Mask};
use serde::Serialize;
use std::time::Instant;

/// Seconds spent in one stage.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StageTime {
    pub stage: &'static str,
    pub seconds: f64,
}

/// What a segmentation measured.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentationReport {
    pub method: Method,
    /// Execution provider of the networks ("cpu", "cuda:0", or the fallback with its reason).
    pub provider: String,
    pub threads: usize,
    pub pancreas_voxels: usize,
    pub pancreas_ml: f64,
    /// Number of candidate superpixels {S_RF}.
    pub candidates: usize,
    /// Candidate voxels (on the working grid).
    pub candidate_voxels: usize,
    /// The working grid every stage ran on: spacing (x, y, z, mm) and dimensions `[z][y][x]`
    /// (the scan's own when the bundle names no working spacing).
    pub working_spacing: [f64; 3],
    pub working_dims: (usize, usize, usize),
    /// The landmarks found on the working grid, the slab of its slices that can hold the
    /// pancreas (`None`: the scan holds none) and the field-of-view verdict
    /// (`crate::pipeline::abdomen`).
    pub landmarks: Landmarks,
    pub slab: Option<Slab>,
    pub field_of_view: FieldOfView,
    /// The working box `[x0, y0, z0, x1, y1, z1]` (inclusive, voxel indices of the working
    /// grid), if any candidate was found.
    pub working_box: Option<[usize; 6]>,
    /// Network inputs evaluated: P-ConvNet grid points, R inputs (superpixels x scales), pairs.
    pub p_inputs: usize,
    pub r_inputs: usize,
    pub pair_inputs: usize,
    pub stage_seconds: Vec<StageTime>,
    pub total_seconds: f64,
    /// Peak resident memory of the process so far (Linux VmHWM), bytes.
    pub peak_rss_bytes: Option<u64>,
}

/// The result of [`Segmenter::segment`](crate::Segmenter::segment).
#[derive(Debug, Clone)]
pub struct Segmentation {
    /// 0/1 mask on the input grid with the input geometry.
    pub mask: Mask,
    /// With [`SegmentOptions::probability`](crate::SegmentOptions::probability): the map the mask came from, on the input grid.
    pub probability: Option<Image<f32>>,
    pub report: SegmentationReport,
}

/// Peak resident set size of this process (Linux), bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Stage timer: the time of each stage, and the whole.
pub(crate) struct Timer {
    pub(crate) start: Instant,
    stage: Instant,
    pub(crate) out: Vec<StageTime>,
}

impl Timer {
    /// A timer started now.
    pub(crate) fn start() -> Timer {
        let now = Instant::now();
        Timer {
            start: now,
            stage: now,
            out: Vec::new(),
        }
    }

    /// Ends the current stage, named `stage`.
    pub(crate) fn lap(&mut self, stage: &'static str) {
        // what the stage freed goes back to the system before the next one allocates
        crate::pipeline::heap_trim::release_free_memory();
        let now = Instant::now();
        self.out.push(StageTime {
            stage,
            seconds: (now - self.stage).as_secs_f64(),
        });
        self.stage = now;
    }
}
