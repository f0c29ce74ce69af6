//! The segmentation pipeline: CT in, pancreas mask out, on the input's own grid.
//!
//! Stages (DeepOrgan): canonical orientation ([`crate::pipeline::orient`]); candidates {S_RF} (superpixels
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

use crate::error::{Error, Result};
use crate::model::bundle::{Bundle, Manifest};
use crate::model::forest::Forest;
use crate::model::network::{Network, RuntimeOptions};
use crate::pipeline::candidates::cascade::{Candidates, Cascade};
use crate::pipeline::candidates::superpixels::{
    compute_superpixel_records, compute_superpixels_with,
};
use crate::pipeline::convnets::inputs::{boundary_input, p_patch, r_input};
use crate::pipeline::convnets::prob_map::{grid_points, nearest_fill, MapCrop};
use crate::pipeline::fusion::crf::{candidate_pairs, crf_labels, PairScore};
use crate::pipeline::fusion::smoothing::{gaussian_smooth_in_place, radius};
use crate::pipeline::orient::Canonical;
use crate::volume::{Image, Mask, Volume};
use ndarray::{s, Array3};
use rayon::prelude::*;
use serde::Serialize;
use std::sync::atomic::Ordering;
use std::time::Instant;

pub mod candidates;
pub mod convnets;
pub mod fusion;
pub mod heap_trim;
pub mod orient;
mod stage_maps;
pub use stage_maps::StageMaps;

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

    fn needs_p0(self) -> bool {
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
    /// Candidate voxels.
    pub candidate_voxels: usize,
    /// The working box `[x0, y0, z0, x1, y1, z1]` (inclusive, canonical voxel indices), if any
    /// candidate was found.
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

/// The result of [`Segmenter::segment`].
#[derive(Debug, Clone)]
pub struct Segmentation {
    /// 0/1 mask on the input grid with the input geometry.
    pub mask: Mask,
    /// With [`SegmentOptions::probability`]: the map the mask came from, on the input grid.
    pub probability: Option<Image<f32>>,
    pub report: SegmentationReport,
}

/// A loaded bundle ready to segment; share it between threads (`&Segmenter` is `Sync`).
pub struct Segmenter {
    bundle: Bundle,
    cascade: Cascade,
    p: Network,
    r1: Network,
    r2: Network,
    boundary: Option<Network>,
    runtime: RuntimeOptions,
    pool: rayon::ThreadPool,
    limits: Limits,
}

/// Resource limits checked before a segmentation allocates anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Largest accepted volume, in voxels.
    pub max_voxels: u64,
    /// Largest accepted estimate of the memory the segmentation allocates (bytes), besides the
    /// caller's CT and the models: [`BYTES_PER_VOXEL`] per voxel.
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
                "segmenting {voxels} voxels needs about {} MB; the memory budget is {} MB",
                need >> 20,
                self.memory_budget >> 20
            )));
        }
        Ok(())
    }
}

impl std::fmt::Debug for Segmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segmenter")
            .field("bundle", &self.bundle.dir)
            .field("provider", &self.p.provider())
            .finish()
    }
}

/// Peak resident set size of this process (Linux), bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Progress reporting that never goes backwards, shared by worker threads: the callback runs
/// under a lock, so callers see strictly increasing values even from several threads.
struct Progress<'a> {
    cb: Option<&'a (dyn Fn(f32) + Sync)>,
    cancel: Option<&'a (dyn Fn() -> bool + Sync)>,
    last: parking_lot::Mutex<f32>,
}

impl<'a> Progress<'a> {
    fn new(
        cb: Option<&'a (dyn Fn(f32) + Sync)>,
        cancel: Option<&'a (dyn Fn() -> bool + Sync)>,
    ) -> Self {
        Progress {
            cb,
            cancel,
            last: parking_lot::Mutex::new(-1.0),
        }
    }

    fn report(&self, v: f32) {
        let v = v.clamp(0.0, 1.0);
        let mut last = self.last.lock();
        if v > *last {
            *last = v;
            if let Some(cb) = self.cb {
                cb(v);
            }
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c())
    }

    fn check(&self) -> Result<()> {
        if self.cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// Stage timer.
struct Timer {
    start: Instant,
    stage: Instant,
    out: Vec<StageTime>,
}

impl Timer {
    fn lap(&mut self, stage: &'static str) {
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

impl Segmenter {
    /// Loads the networks and forests of a verified bundle. `threads` = 0 uses every core.
    pub fn new(mut bundle: Bundle, runtime: RuntimeOptions, threads: usize) -> Result<Segmenter> {
        let m = &bundle.manifest;
        // models are built from the contents the bundle verified, not read again
        let forest =
            |file: &str| Forest::from_bytes(bundle.file_contents(file)?, &bundle.path(file));
        let cascade = Cascade {
            superpixels: m.superpixels,
            level1: forest(&m.forests.level1.file)?,
            level2: forest(&m.forests.level2.file)?,
        };
        cascade.validate()?;
        if runtime.batch_size == 0 || runtime.batch_size > 65536 {
            return Err(Error::InvalidArgument(format!(
                "batch size {} is not in 1..=65536",
                runtime.batch_size
            )));
        }
        let mut rt = runtime.clone();
        if rt.intra_threads == 0 {
            rt.intra_threads = threads;
        }
        let net = |name: &str, e: &crate::model::bundle::NetworkEntry| {
            Network::load(
                name,
                &bundle.path(&e.file),
                bundle.file_contents(&e.file)?,
                e,
                &rt,
            )
        };
        let p = net("p", &m.networks.p)?;
        let r1 = net("r1", &m.networks.r1)?;
        let r2 = net("r2", &m.networks.r2)?;
        let boundary = match &m.networks.boundary {
            Some(e) => Some(net("boundary", e)?),
            None => None,
        };
        bundle.release_file_contents();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("pancseg-{i}"))
            .build()
            .map_err(|e| Error::Runtime(format!("cannot start worker threads: {e}")))?;
        Ok(Segmenter {
            bundle,
            cascade,
            p,
            r1,
            r2,
            boundary,
            runtime: rt,
            pool,
            limits: Limits::default(),
        })
    }

    /// The same segmenter with other resource limits.
    pub fn with_limits(mut self, limits: Limits) -> Segmenter {
        self.limits = limits;
        self
    }

    /// The resource limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The bundle's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.bundle.manifest
    }

    /// The execution provider the networks run on.
    pub fn provider(&self) -> &str {
        self.p.provider()
    }

    /// Worker threads.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Segments a CT volume (HU, any orientation).
    pub fn segment(&self, ct: &Volume, opts: &SegmentOptions) -> Result<Segmentation> {
        self.pool.install(|| self.segment_inner(ct, opts))
    }

    fn segment_inner(&self, ct: &Volume, opts: &SegmentOptions) -> Result<Segmentation> {
        let m = &self.bundle.manifest;
        if opts.method == Method::CrfP2 && self.boundary.is_none() {
            return Err(Error::InvalidArgument(
                "method crf-p2 needs a bundle with a boundary ConvNet; this one has none".into(),
            ));
        }
        ct.geometry.validate()?;
        self.limits.check(ct.data.len() as u64)?;
        if let Some(v) = ct.data.iter().find(|v| !v.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "the CT holds a non-finite value ({v}); HU values must be finite"
            )));
        }
        let progress = Progress::new(opts.progress, opts.cancel);
        progress.report(0.0);
        let mut timer = Timer {
            start: Instant::now(),
            stage: Instant::now(),
            out: Vec::new(),
        };
        // 1. canonical orientation
        let canonical = Canonical::of(&ct.geometry)?;
        let cct = canonical.volume(ct);
        let cct: &Volume = &cct;
        timer.lap("orientation");
        progress.check()?;
        // 2. candidates (0 .. 0.45)
        let (nz, ny, nx) = cct.data.dim();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let on_slice = || {
            let k = done.fetch_add(1, Ordering::Relaxed) + 1;
            progress.report(0.4 * k as f32 / nz as f32);
            !progress.cancelled()
        };
        // only the CRF's boundary inputs read the label volume; everything else walks the
        // superpixels' spans, so the other methods never build it (it is as large as the CT)
        let set = if opts.method == Method::CrfP2 {
            compute_superpixels_with(cct, &self.cascade.superpixels, &on_slice)
        } else {
            compute_superpixel_records(cct, &self.cascade.superpixels, &on_slice)
        }
        .ok_or(Error::Cancelled)?;
        timer.lap("superpixels");
        let cands = self.cascade.score(cct, set)?;
        timer.lap("cascade");
        progress.report(0.45);
        progress.check()?;
        let n_cand = cands.count();
        let candidate_voxels: usize = cands
            .set
            .superpixels
            .iter()
            .zip(&cands.selected)
            .filter(|(_, &s)| s)
            .map(|(s, _)| s.pixels)
            .sum();
        let method = opts.method;
        let smooth = matches!(method, Method::GP0 | Method::GP1 | Method::GP2);
        let stride = m.p0_stride_for(cct.geometry.spacing);
        let sigma = m.sigma_for(cct.geometry.spacing);
        let working_box = working_box(&cands, stride, sigma, (nz, ny, nx));
        let mut counts = (0usize, 0usize, 0usize);
        // the map the mask comes from, over the box (None: no candidates)
        let map: Option<(MapCrop, f32, Option<Vec<bool>>)> = match working_box {
            None => None,
            Some(bx) => {
                let offset = [bx[0], bx[1], bx[2]];
                let dim = (bx[5] - bx[2] + 1, bx[4] - bx[1] + 1, bx[3] - bx[0] + 1);
                let region = crop_selection(&cands, offset, dim);
                let p0 = if method.needs_p0() {
                    let (p0, n) = self.p0_map(cct, &region, offset, &progress)?;
                    counts.0 = n;
                    timer.lap("p0");
                    Some(p0)
                } else {
                    None
                };
                progress.report(0.7);
                let ops = m.operating_points;
                let out = match method {
                    Method::P0 | Method::GP0 => {
                        let t = if smooth { ops.g_p0 } else { ops.p0 };
                        (
                            p0.ok_or_else(|| Error::Internal("P0 missing".into()))?,
                            t,
                            None,
                        )
                    }
                    Method::P1 | Method::GP1 => {
                        let (scores, n) = self.region_scores(cct, &cands, None, &progress)?;
                        counts.1 = n;
                        timer.lap("p1");
                        let t = if smooth { ops.g_p1 } else { ops.p1 };
                        (paint(&cands, &scores, offset, dim), t, None)
                    }
                    Method::P2 | Method::GP2 | Method::CrfP2 => {
                        let (scores, n) =
                            self.region_scores(cct, &cands, p0.as_ref(), &progress)?;
                        counts.1 = n;
                        timer.lap("p2");
                        drop(p0);
                        let t = if smooth { ops.g_p2 } else { ops.p2 };
                        let labels = if method == Method::CrfP2 {
                            let (l, np) = self.crf(cct, &cands, &scores, &progress)?;
                            counts.2 = np;
                            timer.lap("crf");
                            Some(l)
                        } else {
                            None
                        };
                        (paint(&cands, &scores, offset, dim), t, labels)
                    }
                };
                Some(out)
            }
        };
        progress.report(0.95);
        progress.check()?;
        // 3. the mask (and map) written straight into input-layout arrays through their
        // canonical views: no canonical full-size copy to restore afterwards
        let input_dim = ct.data.dim();
        let mut mask_data = Array3::<u8>::zeros(input_dim);
        let mut prob_data = opts.probability.then(|| Array3::<f32>::zeros(input_dim));
        {
            let mut mask_c = canonical.view_mut(mask_data.view_mut());
            if mask_c.dim() != (nz, ny, nx) {
                return Err(Error::Internal(format!(
                    "canonical view {:?} does not match {:?}",
                    mask_c.dim(),
                    (nz, ny, nx)
                )));
            }
            if let Some((crop, threshold, labels)) = map {
                let mut values = crop.data;
                if smooth {
                    gaussian_smooth_in_place(&mut values, sigma);
                    timer.lap("smoothing");
                }
                let [x0, y0, z0] = crop.offset;
                let (dz, dy, dx) = values.dim();
                let window = s![z0..z0 + dz, y0..y0 + dy, x0..x0 + dx];
                match labels {
                    Some(l) => {
                        let full =
                            crate::pipeline::candidates::cascade::selection_mask(&cands.set, &l);
                        mask_c.assign(&full);
                    }
                    None => mask_c
                        .slice_mut(window)
                        .zip_mut_with(&values, |o, &v| *o = u8::from(v >= threshold)),
                }
                if let Some(p) = prob_data.as_mut() {
                    canonical
                        .view_mut(p.view_mut())
                        .slice_mut(window)
                        .assign(&values);
                }
            }
            if opts.largest_component {
                keep_largest_component(mask_c);
            }
        }
        timer.lap("mask");
        let mask = Image {
            data: mask_data,
            geometry: ct.geometry,
        };
        let probability = prob_data.map(|data| Image {
            data,
            geometry: ct.geometry,
        });
        let pancreas_voxels = mask.data.iter().filter(|&&v| v != 0).count();
        timer.lap("output");
        progress.report(1.0);
        let report = SegmentationReport {
            method,
            provider: self.provider().to_string(),
            threads: self.threads(),
            pancreas_voxels,
            pancreas_ml: pancreas_voxels as f64 * ct.geometry.voxel_volume_mm3() / 1000.0,
            candidates: n_cand,
            candidate_voxels,
            working_box,
            p_inputs: counts.0,
            r_inputs: counts.1,
            pair_inputs: counts.2,
            total_seconds: timer.start.elapsed().as_secs_f64(),
            stage_seconds: timer.out,
            peak_rss_bytes: peak_rss_bytes(),
        };
        Ok(Segmentation {
            mask,
            probability,
            report,
        })
    }

    /// Runs `net` on `n` inputs built by `fill(i, buf)`, in fixed batches; progress moves from
    /// `from` to `to`.
    fn infer(
        &self,
        net: &Network,
        n: usize,
        fill: impl Fn(usize, &mut [f32]) + Sync,
        progress: &Progress,
        (from, to): (f32, f32),
    ) -> Result<Vec<f32>> {
        let len = net.input_len();
        let batch = self.runtime.batch_size;
        let mut out = Vec::with_capacity(n);
        let mut buf = Vec::new();
        for start in (0..n).step_by(batch) {
            progress.check()?;
            let end = (start + batch).min(n);
            buf.clear();
            buf.resize((end - start) * len, 0.0);
            buf.par_chunks_mut(len)
                .enumerate()
                .for_each(|(k, b)| fill(start + k, b));
            out.extend(net.probabilities(&buf)?);
            progress.report(from + (to - from) * end as f32 / n.max(1) as f32);
        }
        Ok(out)
    }

    /// P0 over the box: the P-ConvNet on the bundle's grid (every `p0_stride_for(spacing)`
    /// voxels) inside the candidates, filled.
    fn p0_map(
        &self,
        ct: &Volume,
        region: &Array3<u8>,
        offset: [usize; 3],
        progress: &Progress,
    ) -> Result<(MapCrop, usize)> {
        let m = &self.bundle.manifest;
        let stride = m.p0_stride_for(ct.geometry.spacing);
        let pts = grid_points(region, stride);
        let probs = self.infer(
            &self.p,
            pts.len(),
            |i, b| {
                let p = pts[i];
                let c = [p[0] + offset[0], p[1] + offset[1], p[2] + offset[2]];
                p_patch(ct, c, &m.patch, None, b);
            },
            progress,
            (0.45, 0.7),
        )?;
        let data = nearest_fill(region, stride, ct.geometry.spacing, &pts, &probs);
        Ok((MapCrop { data, offset }, pts.len()))
    }

    /// R1 (no P0) or R2 scores of every candidate superpixel, averaged over the Ns scales;
    /// `scores[id - 1]`, 0 for non-candidates.
    fn region_scores(
        &self,
        ct: &Volume,
        cands: &Candidates,
        p0: Option<&MapCrop>,
        progress: &Progress,
    ) -> Result<(Vec<f32>, usize)> {
        let m = &self.bundle.manifest;
        let net = if p0.is_some() { &self.r2 } else { &self.r1 };
        let ids: Vec<usize> = (0..cands.selected.len())
            .filter(|&i| cands.selected[i])
            .collect();
        let ns = m.region.scales.len();
        let n = ids.len() * ns;
        let probs = self.infer(
            net,
            n,
            |k, b| {
                let sp = &cands.set.superpixels[ids[k / ns]];
                r_input(ct, p0, sp, &m.region, m.region.scales[k % ns], None, b);
            },
            progress,
            (0.7, 0.9),
        )?;
        let mut scores = vec![0.0f32; cands.selected.len()];
        for (j, &i) in ids.iter().enumerate() {
            let sum: f32 = probs[j * ns..(j + 1) * ns].iter().sum();
            scores[i] = sum / ns as f32;
        }
        Ok((scores, n))
    }

    /// CRF(P2) labels of the candidates.
    fn crf(
        &self,
        ct: &Volume,
        cands: &Candidates,
        p2: &[f32],
        progress: &Progress,
    ) -> Result<(Vec<bool>, usize)> {
        let scores = self.pair_scores(ct, cands, progress)?;
        Ok((
            crf_labels(
                &cands.set,
                &cands.selected,
                p2,
                &scores,
                self.bundle.manifest.crf_weight,
                self.bundle.manifest.crf_prior(),
            ),
            scores.len(),
        ))
    }

    /// The boundary ConvNet's P(same label) for every pair of neighbouring candidates.
    fn pair_scores(
        &self,
        ct: &Volume,
        cands: &Candidates,
        progress: &Progress,
    ) -> Result<Vec<PairScore>> {
        let m = &self.bundle.manifest;
        let net = self
            .boundary
            .as_ref()
            .ok_or_else(|| Error::Internal("boundary network missing".into()))?;
        let pairs = candidate_pairs(&cands.set, &cands.selected);
        let probs = self.infer(
            net,
            pairs.len(),
            |k, b| {
                let (a, c) = pairs[k];
                let (sa, sc) = (
                    &cands.set.superpixels[a as usize - 1],
                    &cands.set.superpixels[c as usize - 1],
                );
                boundary_input(ct, &cands.set.labels, sa, sc, &m.region, None, b);
            },
            progress,
            (0.9, 0.95),
        )?;
        Ok(pairs
            .iter()
            .zip(&probs)
            .map(|(&(a, b), &p)| PairScore { a, b, p_same: p })
            .collect())
    }
}

/// The box the maps live in: the candidates' bounding box `[x0, y0, z0, x1, y1, z1]` grown by
/// the smoothing radius of `sigma` (voxels, x, y, z), x0 and y0 aligned to the P0 stride; `None`
/// without candidates.
fn working_box(
    cands: &Candidates,
    stride: usize,
    sigma: [f64; 3],
    (nz, ny, nx): (usize, usize, usize),
) -> Option<[usize; 6]> {
    let r = sigma.map(radius);
    cands.bbox().map(|b| {
        [
            b[0].saturating_sub(r[0]) / stride * stride,
            b[1].saturating_sub(r[1]) / stride * stride,
            b[2].saturating_sub(r[2]),
            (b[3] + r[0]).min(nx - 1),
            (b[4] + r[1]).min(ny - 1),
            (b[5] + r[2]).min(nz - 1),
        ]
    })
}

/// The candidates' mask over the box.
fn crop_selection(
    cands: &Candidates,
    offset: [usize; 3],
    dim: (usize, usize, usize),
) -> Array3<u8> {
    let mut out = Array3::<u8>::zeros(dim);
    for (sp, _) in cands
        .set
        .superpixels
        .iter()
        .zip(&cands.selected)
        .filter(|(_, &s)| s)
    {
        let z = sp.slice - offset[2];
        for span in &sp.spans {
            let y = span.y as usize - offset[1];
            for x in span.x0 as usize..=span.x1 as usize {
                out[[z, y, x - offset[0]]] = 1;
            }
        }
    }
    out
}

/// A per-superpixel score written to every voxel of each candidate, over the box.
fn paint(
    cands: &Candidates,
    scores: &[f32],
    offset: [usize; 3],
    dim: (usize, usize, usize),
) -> MapCrop {
    let mut data = Array3::<f32>::zeros(dim);
    for (i, sp) in cands.set.superpixels.iter().enumerate() {
        if !cands.selected[i] {
            continue;
        }
        let z = sp.slice - offset[2];
        for span in &sp.spans {
            let y = span.y as usize - offset[1];
            for x in span.x0 as usize..=span.x1 as usize {
                data[[z, y, x - offset[0]]] = scores[i];
            }
        }
    }
    MapCrop { data, offset }
}

/// Keeps the largest 6-connected component of a 0/1 mask (ties: the first in raster order).
pub fn keep_largest_component(mut mask: ndarray::ArrayViewMut3<'_, u8>) {
    let (nz, ny, nx) = mask.dim();
    let mut comp = Array3::<u32>::zeros((nz, ny, nx));
    let mut sizes = vec![0usize];
    let mut stack = Vec::new();
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                if mask[[z, y, x]] == 0 || comp[[z, y, x]] != 0 {
                    continue;
                }
                let id = sizes.len() as u32;
                let mut size = 0;
                comp[[z, y, x]] = id;
                stack.push((z, y, x));
                while let Some((a, b, c)) = stack.pop() {
                    size += 1;
                    let nbs = [
                        (a.wrapping_sub(1), b, c),
                        (a + 1, b, c),
                        (a, b.wrapping_sub(1), c),
                        (a, b + 1, c),
                        (a, b, c.wrapping_sub(1)),
                        (a, b, c + 1),
                    ];
                    for (p, q, r) in nbs {
                        if p < nz
                            && q < ny
                            && r < nx
                            && mask[[p, q, r]] != 0
                            && comp[[p, q, r]] == 0
                        {
                            comp[[p, q, r]] = id;
                            stack.push((p, q, r));
                        }
                    }
                }
                sizes.push(size);
            }
        }
    }
    let Some(best) = (1..sizes.len()).max_by_key(|&i| (sizes[i], std::cmp::Reverse(i))) else {
        return;
    };
    mask.zip_mut_with(&comp, |m, &c| *m = u8::from(c == best as u32));
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
        assert!(e.contains("memory budget is 100 MB"), "{e}");
    }

    #[test]
    fn largest_component_is_kept() {
        let mut m = Array3::<u8>::zeros((3, 5, 5));
        m[[0, 0, 0]] = 1;
        m.slice_mut(s![1..3, 2..4, 2..4]).fill(1);
        keep_largest_component(m.view_mut());
        assert_eq!(m.sum(), 8);
        assert_eq!(m[[0, 0, 0]], 0);
    }

    #[test]
    fn progress_never_goes_back() {
        let seen = parking_lot::Mutex::new(Vec::new());
        let cb = |v: f32| seen.lock().push(v);
        let p = Progress::new(Some(&cb), None);
        for v in [0.0, 0.1, 0.3, 0.2, 0.3, 0.9, 1.5] {
            p.report(v);
        }
        assert_eq!(*seen.lock(), vec![0.0, 0.1, 0.3, 0.9, 1.0]);
    }
}
