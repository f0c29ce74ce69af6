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
    /// The threshold the method's map was cut at: the bundle's operating point, or for G(P2)
    /// under a volume floor the one this scan got (`crate::pipeline::fusion::volume_floor`).
    /// `None` for CRF(P2), whose labels come from the min-cut, and when no map was made.
    pub threshold: Option<f32>,
    /// CRF(P2)'s unary prior on this scan: the bundle's, or under a volume floor the lower one
    /// the scan got. `None` for the other methods.
    #[serde(default)]
    pub crf_prior: Option<f64>,
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
    /// HU and size of what the mask holds (`None` when the mask is empty).
    pub pancreas_statistics: Option<MaskStatistics>,
}

/// The CT under a mask: its HU and its extent along the patient's axes.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct MaskStatistics {
    /// Mean and (population) standard deviation of the CT's HU inside the mask.
    pub hu_mean: f64,
    pub hu_std: f64,
    /// Extent of the mask's voxels (their full footprint) along the patient's left-right,
    /// anterior-posterior and superior-inferior axes, mm.
    pub extent_mm: PatientExtent,
}

/// Extent along the patient's axes, mm.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct PatientExtent {
    pub left_right: f64,
    pub anterior_posterior: f64,
    pub superior_inferior: f64,
}

impl MaskStatistics {
    /// The statistics of `ct` under `mask` (same grid); `None` for an empty mask.
    pub fn of(ct: &Image<f32>, mask: &Mask) -> Option<MaskStatistics> {
        let g = &ct.geometry;
        let (mut n, mut sum, mut sum2) = (0u64, 0f64, 0f64);
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for ((k, j, i), &m) in mask.data.indexed_iter() {
            if m == 0 {
                continue;
            }
            let v = f64::from(ct.data[[k, j, i]]);
            n += 1;
            sum += v;
            sum2 += v * v;
            let p = g.index_to_lps([i as f64, j as f64, k as f64]);
            for a in 0..3 {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
        if n == 0 {
            return None;
        }
        let mean = sum / n as f64;
        let var = (sum2 / n as f64 - mean * mean).max(0.0);
        // one voxel's footprint along each patient axis
        let foot = |r: usize| (0..3).map(|c| g.direction[r][c].abs() * g.spacing[c]).sum::<f64>();
        let ext = |a: usize| hi[a] - lo[a] + foot(a);
        Some(MaskStatistics {
            hu_mean: mean,
            hu_std: var.sqrt(),
            extent_mm: PatientExtent {
                left_right: ext(0),
                anterior_posterior: ext(1),
                superior_inferior: ext(2),
            },
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::Geometry;
    use ndarray::Array3;

    #[test]
    fn statistics_of_a_block() {
        let g = Geometry {
            spacing: [0.5, 1.0, 2.0],
            ..Geometry::default()
        };
        let ct = Image::new(
            Array3::from_shape_fn((4, 5, 6), |(_, _, x)| if x % 2 == 0 { 30.0 } else { 50.0 }),
            g,
        )
        .unwrap();
        let mut m = Array3::<u8>::zeros((4, 5, 6));
        m.slice_mut(ndarray::s![1..3, 0..2, 0..4]).fill(1);
        let mask = Image::new(m, g).unwrap();
        let s = MaskStatistics::of(&ct, &mask).unwrap();
        assert!((s.hu_mean - 40.0).abs() < 1e-9 && (s.hu_std - 10.0).abs() < 1e-9, "{s:?}");
        assert_eq!(s.extent_mm.left_right, 2.0); // 4 voxels of 0.5 mm
        assert_eq!(s.extent_mm.anterior_posterior, 2.0);
        assert_eq!(s.extent_mm.superior_inferior, 4.0);
        let empty = Image::new(Array3::<u8>::zeros((4, 5, 6)), g).unwrap();
        assert_eq!(MaskStatistics::of(&ct, &empty), None);
    }
}
