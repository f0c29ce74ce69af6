//! The [`Segmenter`]: a loaded bundle (forests and ConvNet sessions) and its thread pool, and
//! [`Segmenter::segment`], which runs the stages one function each: input checks, canonical
//! orientation, candidates, the method's networks over the working box, the mask on the input
//! grid, the report.

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
use crate::pipeline::fusion::components::keep_largest_component;
use crate::pipeline::fusion::crf::{candidate_pairs, crf_labels, CrfSetting, PairScore};
use crate::pipeline::fusion::smoothing::gaussian_smooth_in_place;
use crate::pipeline::fusion::volume_floor::VolumeFloor;
use crate::pipeline::options::{Limits, Method, SegmentOptions};
use crate::pipeline::orient::Canonical;
use crate::pipeline::progress::Progress;
use crate::pipeline::report::{
    peak_rss_bytes, MaskStatistics, Segmentation, SegmentationReport, Timer,
};
use crate::pipeline::working_box::{crop_selection, paint, working_box};
use crate::pipeline::working_grid::{working_volume, WorkingGrid};
use crate::pipeline::abdomen::{locate, slab_volume, verdict};
use crate::volume::{Image, Mask, Volume};
use ndarray::{s, Array3};
use rayon::prelude::*;
use std::sync::atomic::Ordering;

/// A loaded bundle ready to segment; share it between threads (`&Segmenter` is `Sync`).
///
/// ```
/// use pancseg::{load_volume, Bundle, DicomReadOptions, Method, RuntimeOptions};
/// use pancseg::{SegmentOptions, Segmenter};
///
/// let ct = load_volume("tests/fixtures/phantom/ct.nii.gz", &DicomReadOptions::default())?;
/// let segmenter = Segmenter::new(
///     Bundle::load("tests/fixtures/bundle-tiny")?,
///     RuntimeOptions::default(),
///     2, // threads (0: one per core)
/// )?;
/// let options = SegmentOptions {
///     method: Method::GP2,
///     ..SegmentOptions::default()
/// };
/// let seg = segmenter.segment(&ct.volume, &options)?;
/// // the mask lies on the input grid, with the input's geometry
/// assert_eq!(seg.mask.dims_xyz(), ct.volume.dims_xyz());
/// assert_eq!(seg.mask.geometry, ct.volume.geometry);
/// assert!(seg.report.pancreas_ml >= 0.0);
/// # Ok::<(), pancseg::Error>(())
/// ```
pub struct Segmenter {
    pub(super) bundle: Bundle,
    pub(super) cascade: Cascade,
    p: Network,
    r1: Network,
    r2: Network,
    pub(super) boundary: Option<Network>,
    runtime: RuntimeOptions,
    pub(super) pool: rayon::ThreadPool,
    pub(super) limits: Limits,
}

/// Network inputs evaluated by one segmentation, for the report.
#[derive(Default)]
struct InputCounts {
    p: usize,
    r: usize,
    pairs: usize,
}

/// The map a method's mask is made from, over the working box: smoothed by `sigma` (voxels; the
/// G methods), thresholded at `threshold`, or replaced by the CRF's `labels` (1 on the
/// superpixels it keeps, 0 elsewhere, over the same box).
struct MethodMap {
    map: MapCrop,
    sigma: Option<[f64; 3]>,
    threshold: f32,
    /// G(P2)'s volume floor, which may lower `threshold` per scan.
    floor: Option<VolumeFloor>,
    labels: Option<MapCrop>,
    /// The unary prior the CRF's labels were solved with (CRF(P2) only).
    crf_prior: Option<f64>,
}

/// The mask on the input grid, the map when asked for, the mask's first and last slice on the
/// working grid, and the threshold the map was cut at (none for CRF labels or no map).
struct Output {
    mask: Mask,
    probability: Option<Image<f32>>,
    slices: Option<[usize; 2]>,
    threshold: Option<f32>,
}

/// What the stages after the landmarks produced (nothing when the scan holds no pancreas).
#[derive(Default)]
struct Stages {
    candidates: usize,
    candidate_voxels: usize,
    working_box: Option<[usize; 6]>,
    map: Option<MethodMap>,
    counts: InputCounts,
}

impl std::fmt::Debug for Segmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segmenter")
            .field("bundle", &self.bundle.dir)
            .field("provider", &self.p.provider())
            .finish()
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
            .map_err(|e| Error::runtime_from("cannot start worker threads", e))?;
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
        self.check_input(ct, opts.method)?;
        let progress = Progress::new(opts.progress, opts.cancel);
        progress.report(0.0);
        let mut timer = Timer::start();
        // 1. canonical orientation, on the bundle's working grid
        let m = &self.bundle.manifest;
        let canonical = Canonical::of(&ct.geometry)?;
        let (grid, wct) = working_volume(ct, &canonical, m.working_spacing_mm)?;
        let wct: &Volume = &wct;
        timer.lap("working grid");
        progress.check()?;
        // 2. the slab that can hold the pancreas, from the landmarks
        let located = locate(wct);
        timer.lap("landmarks");
        progress.check()?;
        let mut stages = Stages::default();
        if let Some(slab) = &located.slab {
            let sct = slab_volume(wct, slab);
            stages = self.stages(&sct, slab.first, opts.method, &progress, &mut timer)?;
        }
        progress.report(0.95);
        progress.check()?;
        // 5. the mask (and map) on the input grid
        let crf_prior = stages.map.as_ref().and_then(|m| m.crf_prior);
        let Output {
            mask,
            probability,
            slices: mask_slices,
            threshold,
        } = self.output(ct, &canonical, &grid, stages.map, opts, &mut timer)?;
        let pancreas_voxels = mask.data.iter().filter(|&&v| v != 0).count();
        let slice_mm = grid.spacing()[2];
        let field_of_view = verdict(
            located.slab.as_ref(),
            mask_slices,
            grid.dims().0,
            slice_mm,
        );
        timer.lap("output");
        progress.report(1.0);
        let report = SegmentationReport {
            method: opts.method,
            provider: self.provider().to_string(),
            threads: self.threads(),
            pancreas_voxels,
            pancreas_ml: pancreas_voxels as f64 * ct.geometry.voxel_volume_mm3() / 1000.0,
            candidates: stages.candidates,
            candidate_voxels: stages.candidate_voxels,
            working_spacing: grid.spacing(),
            working_dims: grid.dims(),
            landmarks: located.landmarks,
            slab: located.slab,
            field_of_view,
            threshold,
            crf_prior,
            working_box: stages.working_box,
            p_inputs: stages.counts.p,
            r_inputs: stages.counts.r,
            pair_inputs: stages.counts.pairs,
            total_seconds: timer.start.elapsed().as_secs_f64(),
            stage_seconds: timer.out,
            peak_rss_bytes: peak_rss_bytes(),
            pancreas_statistics: MaskStatistics::of(ct, &mask),
        };
        Ok(Segmentation {
            mask,
            probability,
            report,
        })
    }

    /// Stages 3 and 4 on the slab `sct` (its first slice is `first` of the working grid):
    /// candidates, then the method's networks and map over the working box, which is given on
    /// the whole working grid.
    fn stages(
        &self,
        sct: &Volume,
        first: usize,
        method: Method,
        progress: &Progress,
        timer: &mut Timer,
    ) -> Result<Stages> {
        let m = &self.bundle.manifest;
        let cands = self.candidates(sct, method, progress, timer)?;
        let stride = m.p0_stride_for(sct.geometry.spacing);
        let sigma = m.sigma_for(sct.geometry.spacing);
        let mut out = Stages {
            candidates: cands.count(),
            candidate_voxels: cands.voxels(),
            ..Stages::default()
        };
        if let Some(bx) = working_box(&cands, stride, sigma, sct.data.dim()) {
            let (mut map, counts) = self.method_map(sct, &cands, method, bx, progress, timer)?;
            map.map.offset[2] += first;
            if let Some(l) = map.labels.as_mut() {
                l.offset[2] += first;
            }
            out.map = Some(map);
            out.counts = counts;
            out.working_box = Some([bx[0], bx[1], bx[2] + first, bx[3], bx[4], bx[5] + first]);
        }
        Ok(out)
    }

    /// The checks before any work: the method's networks, geometry, limits, finite HU.
    fn check_input(&self, ct: &Volume, method: Method) -> Result<()> {
        if method == Method::CrfP2 && self.boundary.is_none() {
            return Err(Error::InvalidArgument(
                "method crf-p2 needs a bundle with a boundary ConvNet; this one has none".into(),
            ));
        }
        ct.geometry.validate_scan(ct.dims_xyz())?;
        self.limits.check(ct.data.len() as u64)?;
        if let Some(v) = ct.data.iter().find(|v| !v.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "the CT holds a non-finite value ({v}); HU values must be finite"
            )));
        }
        Ok(())
    }

    /// Stage 1: superpixels of every slice and the forest cascade's candidates {S_RF}.
    fn candidates(
        &self,
        cct: &Volume,
        method: Method,
        progress: &Progress,
        timer: &mut Timer,
    ) -> Result<Candidates> {
        let nz = cct.data.dim().0;
        let done = std::sync::atomic::AtomicUsize::new(0);
        let on_slice = || {
            let k = done.fetch_add(1, Ordering::Relaxed) + 1;
            progress.report(0.4 * k as f32 / nz as f32);
            !progress.cancelled()
        };
        // only the CRF's boundary inputs read the label volume; everything else walks the
        // superpixels' spans, so the other methods never build it (it is as large as the CT)
        let set = if method == Method::CrfP2 {
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
        Ok(cands)
    }

    /// Stages 2 and 3 over the working box `bx`: the networks the method needs (P0, then R1 or
    /// R2, then the boundary ConvNet for the CRF) and the map, threshold and CRF labels the mask
    /// is made from.
    fn method_map(
        &self,
        cct: &Volume,
        cands: &Candidates,
        method: Method,
        bx: [usize; 6],
        progress: &Progress,
        timer: &mut Timer,
    ) -> Result<(MethodMap, InputCounts)> {
        let smooth = method.smoothed();
        // the working box was grown by the same sigma
        let sigma = smooth.then(|| self.bundle.manifest.sigma_for(cct.geometry.spacing));
        let mut counts = InputCounts::default();
        let offset = [bx[0], bx[1], bx[2]];
        let dim = (bx[5] - bx[2] + 1, bx[4] - bx[1] + 1, bx[3] - bx[0] + 1);
        let region = crop_selection(cands, offset, dim);
        let p0 = if method.needs_p0() {
            let (p0, n) = self.p0_map(cct, &region, offset, progress)?;
            counts.p = n;
            timer.lap("p0");
            Some(p0)
        } else {
            None
        };
        progress.report(0.7);
        let ops = self.bundle.manifest.operating_points;
        let map = match method {
            Method::P0 | Method::GP0 => MethodMap {
                map: p0.ok_or_else(|| Error::Internal("P0 missing".into()))?,
                sigma,
                floor: None,
                threshold: if smooth { ops.g_p0 } else { ops.p0 },
                labels: None,
                crf_prior: None,
            },
            Method::P1 | Method::GP1 => {
                let (scores, n) = self.region_scores(cct, cands, None, progress)?;
                counts.r = n;
                timer.lap("p1");
                MethodMap {
                    map: paint(cands, &scores, offset, dim),
                    sigma,
                    threshold: if smooth { ops.g_p1 } else { ops.p1 },
                    floor: None,
                    labels: None,
                    crf_prior: None,
                }
            }
            Method::P2 | Method::GP2 | Method::CrfP2 => {
                let (scores, n) = self.region_scores(cct, cands, p0.as_ref(), progress)?;
                counts.r = n;
                timer.lap("p2");
                let boundary_p0 = p0.as_ref().filter(|_| self.bundle.manifest.region.boundary_p0);
                let (labels, crf_prior) = if method == Method::CrfP2 {
                    let (l, np, prior) = self.crf(cct, cands, boundary_p0, &scores, progress)?;
                    counts.pairs = np;
                    timer.lap("crf");
                    let kept: Vec<f32> = l.iter().map(|&k| f32::from(u8::from(k))).collect();
                    (Some(paint(cands, &kept, offset, dim)), Some(prior))
                } else {
                    (None, None)
                };
                drop(p0);
                MethodMap {
                    map: paint(cands, &scores, offset, dim),
                    sigma,
                    threshold: if smooth { ops.g_p2 } else { ops.p2 },
                    floor: self
                        .bundle
                        .manifest
                        .volume_floor
                        .filter(|_| method == Method::GP2),
                    labels,
                    crf_prior,
                }
            }
        };
        Ok((map, counts))
    }

    /// Stage 5: the map brought back from the working grid onto the scan's voxels it covers
    /// (trilinear), thresholded there; mask and map written straight into input-layout arrays
    /// through their canonical views (no canonical full-size copy to restore afterwards). Also
    /// gives the mask's first and last slice on the working grid.
    #[allow(clippy::type_complexity)]
    fn output(
        &self,
        ct: &Volume,
        canonical: &Canonical,
        grid: &WorkingGrid,
        map: Option<MethodMap>,
        opts: &SegmentOptions,
        timer: &mut Timer,
    ) -> Result<Output> {
        let input_dim = ct.data.dim();
        let mut applied = None;
        let mut mask_data = Array3::<u8>::zeros(input_dim);
        let mut prob_data = opts.probability.then(|| Array3::<f32>::zeros(input_dim));
        let mut slices = None;
        {
            let mut mask_c = canonical.view_mut(mask_data.view_mut());
            let a = grid.axes;
            if mask_c.dim() != (a[2].n_in, a[1].n_in, a[0].n_in) {
                return Err(Error::Internal(format!(
                    "canonical view {:?} does not match the working grid's source {:?}",
                    mask_c.dim(),
                    (a[2].n_in, a[1].n_in, a[0].n_in)
                )));
            }
            if let Some(MethodMap {
                map: crop,
                sigma,
                threshold,
                floor,
                labels,
                ..
            }) = map
            {
                let mut values = crop.data;
                if let Some(sigma) = sigma {
                    gaussian_smooth_in_place(&mut values, sigma);
                    timer.lap("smoothing");
                }
                // the volume floor counts working-grid voxels of the smoothed map
                // (only G(P2) has a floor, and it has no CRF labels)
                let threshold = match floor {
                    Some(f) => {
                        let voxel_ml = grid.spacing().iter().product::<f64>() / 1000.0;
                        f.threshold(values.iter(), voxel_ml, threshold)
                    }
                    None => threshold,
                };
                if labels.is_none() {
                    applied = Some(threshold);
                }
                let window = |start: [usize; 3], d: (usize, usize, usize)| {
                    s![
                        start[2]..start[2] + d.0,
                        start[1]..start[1] + d.1,
                        start[0]..start[0] + d.2
                    ]
                };
                // slice by slice: the map on the scan's grid over the whole window would be
                // the largest array of the run. The CRF's labels (kept at 0.5) cover the same
                // box as the map; without them the mask and the probability come from one pass.
                if let Some((start, wdim)) = grid.input_window(crop.offset, values.dim()) {
                    let mut mask_w = mask_c.slice_mut(window(start, wdim));
                    let mut prob_w = prob_data
                        .as_mut()
                        .map(|p| canonical.view_mut(p.view_mut()).slice_move(window(start, wdim)));
                    let z = ndarray::Axis(0);
                    match &labels {
                        Some(l) => {
                            grid.map_to_input_slices(&l.data, crop.offset, |k, back| {
                                mask_w
                                    .index_axis_mut(z, k)
                                    .zip_mut_with(&back, |o, &v| *o = u8::from(v >= 0.5));
                            });
                            if let Some(pw) = prob_w.as_mut() {
                                grid.map_to_input_slices(&values, crop.offset, |k, back| {
                                    pw.index_axis_mut(z, k).assign(&back);
                                });
                            }
                        }
                        None => {
                            grid.map_to_input_slices(&values, crop.offset, |k, back| {
                                mask_w
                                    .index_axis_mut(z, k)
                                    .zip_mut_with(&back, |o, &v| *o = u8::from(v >= threshold));
                                if let Some(pw) = prob_w.as_mut() {
                                    pw.index_axis_mut(z, k).assign(&back);
                                }
                            });
                        }
                    }
                }
            }
            if opts.largest_component {
                keep_largest_component(mask_c.view_mut());
            }
            // the mask's extent along z, on the working grid
            let filled: Vec<usize> = mask_c
                .outer_iter()
                .enumerate()
                .filter(|(_, sl)| sl.iter().any(|&v| v != 0))
                .map(|(z, _)| z)
                .collect();
            if let (Some(&lo), Some(&hi)) = (filled.first(), filled.last()) {
                let w = |z: usize| {
                    let k = a[2].to_working(z as f64).round().max(0.0) as usize;
                    k.min(a[2].n_out - 1)
                };
                slices = Some([w(lo), w(hi)]);
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
        Ok(Output {
            mask,
            probability,
            slices,
            threshold: applied,
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
    pub(super) fn p0_map(
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
    pub(super) fn region_scores(
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

    /// CRF(P2) labels of the candidates, the pairs scored and the unary prior used (the
    /// bundle's, lowered under its volume floor when the mask would hold less).
    pub(super) fn crf(
        &self,
        ct: &Volume,
        cands: &Candidates,
        p0: Option<&MapCrop>,
        p2: &[f32],
        progress: &Progress,
    ) -> Result<(Vec<bool>, usize, f64)> {
        let scores = self.pair_scores(ct, cands, p0, progress)?;
        let m = &self.bundle.manifest;
        let voxel_ml = ct.geometry.spacing.iter().product::<f64>() / 1000.0;
        let (labels, prior) =
            floored_crf(cands, p2, &scores, m.crf_setting(), m.volume_floor, voxel_ml);
        Ok((labels, scores.len(), prior))
    }

    /// The boundary ConvNet's P(same label) for every pair of neighbouring candidates (`p0`:
    /// the P0 map, for a bundle whose boundary ConvNet reads it).
    pub(super) fn pair_scores(
        &self,
        ct: &Volume,
        cands: &Candidates,
        p0: Option<&MapCrop>,
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
                boundary_input(ct, p0, &cands.set.labels, sa, sc, &m.region, None, b);
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

/// CRF(P2) labels solved with `setting`, its prior lowered under `floor` (when given) until the
/// labelled candidates hold `floor.ml` millilitres (`voxel_ml` per working voxel); returns the
/// labels and the prior used.
pub(super) fn floored_crf(
    cands: &Candidates,
    p2: &[f32],
    pairs: &[PairScore],
    setting: CrfSetting,
    floor: Option<VolumeFloor>,
    voxel_ml: f64,
) -> (Vec<bool>, f64) {
    let solve = |prior: f64| {
        crf_labels(
            &cands.set,
            &cands.selected,
            p2,
            pairs,
            CrfSetting { prior, ..setting },
        )
    };
    let Some(f) = floor else {
        return (solve(setting.prior), setting.prior);
    };
    // every solve is kept: the prior the floor returns is always one it measured
    let mut solved: Vec<(f64, Vec<bool>)> = Vec::new();
    let prior = f.crf_prior(setting.prior, |t| {
        let kept = solve(t);
        let voxels: usize = cands
            .set
            .superpixels
            .iter()
            .zip(&kept)
            .filter(|(_, &k)| k)
            .map(|(s, _)| s.pixels)
            .sum();
        solved.push((t, kept));
        voxels as f64 * voxel_ml
    });
    let labels = match solved.into_iter().find(|(t, _)| *t == prior) {
        Some((_, kept)) => kept,
        None => solve(prior),
    };
    (labels, prior)
}
