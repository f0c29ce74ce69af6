//! `pancseg-train cv`: the paper's evaluation protocol (Roth et al. 2015, Sec. 3): a random hard
//! split of the patients into folds; per fold, the cascade and every ConvNet trained on the
//! training patients, the operating points p0, p1, p2 (raw and smoothed), the smoothing sigma
//! (on the training patients the ConvNets held out) and the CRF weight and prior calibrated on
//! the training patients only (grid search on mean DSC), then the test patients evaluated.
//! Writes Table 1 (DSC, ASSD, HD95 for Opt., S_RF, P0, G(P0), P1, G(P1), P2, G(P2), CRF(P2);
//! mean, std, min, max, and the share of cases above 10/30/50/70/80/90 % DSC) for training and
//! testing as `table1.json` / `table1.md`, the per-case results, and Fig. 5 (mean
//! DSC against the threshold of Pk and G(Pk), training and testing, fold 1) as `fig5.png`.
//!
//! Resumable: each fold's forests, networks, bundles and results are kept in `OUT/fold_K/` and
//! reused when present.

use crate::candidates_cv::{split_folds, train_cascade, CandidateOptions, PreparedCase, Stat};
use crate::cohort::Cohort;
use crate::convnet::examples::ExampleCase;
use crate::convnet::model::WeightInit;
use crate::convnet::train::TrainOptions;
use crate::convnet::NetKind;
use crate::error::{Result, TrainError};
use crate::export_cmd::{run_export, ExportArgs};
use crate::fig5::Curves;
use crate::train_cmd::{example_cases, fill_p0_maps, prepare_cases, train_on_cases, TrainArgs};
use ndarray::{s, Array3, Zip};
use pancseg::eval::metrics::{dice, surface_distances};
use pancseg::model::bundle::{Bundle, OperatingPoints};
use pancseg::model::network::RuntimeOptions;
use pancseg::pipeline::fusion::smoothing::gaussian_smooth;
use pancseg::pipeline::{Segmenter, StageMaps};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Table 1's columns, in the paper's order.
pub const COLUMNS: [&str; 9] = [
    "Opt.", "S_RF", "P0", "G(P0)", "P1", "G(P1)", "P2", "G(P2)", "CRF(P2)",
];
/// The DSC levels whose share of cases the paper reports.
pub const LEVELS: [f64; 6] = [0.1, 0.3, 0.5, 0.7, 0.8, 0.9];
/// Pairwise weights tried for CRF(P2).
pub const CRF_WEIGHTS: [f64; 6] = [0.125, 0.25, 0.5, 1.0, 2.0, 4.0];
/// Unary priors tried for CRF(P2) (the P2 value where the unary alone changes label; 0.5 is the
/// paper's energy), calibrated jointly with the weight.
pub const CRF_PRIORS: [f64; 5] = [0.5, 0.6, 0.7, 0.8, 0.9];

/// In-plane (x, y) and axial (z) factors of the smoothing sigma tried in calibration, applied to
/// the base sigma (`--sigma-mm`, or the paper's 3 voxels). The paper fixes sigma at 3 voxels of
/// its ~0.7 mm scans; on these maps, painted superpixel by superpixel, the best smoothing is
/// lighter in-plane than along z (docs/results/evaluation.md, session 10), so the calibration
/// picks it with the operating points, by G(P2)'s best mean DSC on the training cases that every
/// ConvNet held out for validation ([`held_out_cases`]: out-of-sample maps). Factors only
/// shrink the base: the working box's margin is sized for the base sigma, so the smoothed box
/// equals the whole-volume smoothing the calibrated bundle will do.
pub const SIGMA_FACTORS_XY: [f64; 3] = [1.0, 0.5, 0.25];
/// See [`SIGMA_FACTORS_XY`].
pub const SIGMA_FACTORS_Z: [f64; 3] = [1.0, 0.5, 0.25];

/// Every (in-plane, axial) factor of the sigma search, the base (1, 1) first (it wins ties).
pub fn sigma_grid() -> Vec<(f64, f64)> {
    SIGMA_FACTORS_XY
        .iter()
        .flat_map(|&xy| SIGMA_FACTORS_Z.iter().map(move |&z| (xy, z)))
        .collect()
}

/// A bundle's smoothing settings (`sigma_voxels`, `sigma_mm`) for the base sigma of `a` scaled
/// by the factors `(xy, z)`.
fn scaled_sigma(a: &CvArgs, (xy, z): (f64, f64)) -> ([f64; 3], Option<[f64; 3]>) {
    let f = [xy, xy, z];
    (
        [0, 1, 2].map(|i| 3.0 * f[i]),
        a.sigma_mm.map(|mm| [0, 1, 2].map(|i| mm[i] * f[i])),
    )
}

/// Every (weight, prior) of the CRF search, weight-major.
pub fn crf_grid() -> Vec<(f64, f64)> {
    CRF_WEIGHTS
        .iter()
        .flat_map(|&w| CRF_PRIORS.iter().map(move |&t| (w, t)))
        .collect()
}

/// Thresholds of the operating-point search and of Fig. 5: 0.05, 0.10, ..., 0.95.
pub fn thresholds() -> Vec<f32> {
    (1..20).map(|k| k as f32 * 0.05).collect()
}

/// Training length and network size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// The CI end-to-end run of the protocol's mechanics: narrow networks, one short epoch,
    /// small forests (the networks do not learn in this time).
    Quick,
    /// The paper's protocol and settings: Ns = 4 scales, Nt = 8 TPS deformations, 60-tree
    /// forests, P0 stride 2; compact networks (conv 16/32/32/32/32, FC 128: the shipped bundle
    /// stays a few MB and a fold trains in minutes on two cores) and a CPU-sized schedule
    /// (8 epochs of 3072 examples, R2 12 of 6144, P-ConvNet 12 of 8192 and its two
    /// cross-fitting halves 8 of 6144; early stopping).
    Paper,
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Profile, String> {
        match s {
            "quick" => Ok(Profile::Quick),
            "paper" => Ok(Profile::Paper),
            _ => Err(format!("unknown profile {s:?}: quick or paper")),
        }
    }
}

struct Settings {
    cascade: CandidateOptions,
    train: TrainOptions,
    /// The P-ConvNet's schedule (its 32x32 inputs train about 4x faster than the 64x64 ones).
    p_train: TrainOptions,
    /// The schedule of the two half-cohort P-ConvNets that cross-fit R2's P0 maps.
    p_half_train: TrainOptions,
    /// R2's schedule.
    r2_train: TrainOptions,
    widths: Option<[usize; 5]>,
    fc: Option<usize>,
    max_voxels: usize,
    p0_stride: usize,
    /// The bundles' P0 grid step in mm (None: `p0_stride` voxels on every scan).
    p0_step_mm: Option<f64>,
}

impl Profile {
    fn settings(self, seed: u64) -> Settings {
        match self {
            Profile::Quick => {
                let mut cascade = CandidateOptions::default();
                cascade.forest.n_trees = 20;
                let train = TrainOptions {
                    epochs: 1,
                    examples_per_epoch: 256,
                    val_per_class: 50,
                    patience: 1,
                    seed,
                    ..TrainOptions::default()
                };
                Settings {
                    cascade,
                    p_train: train.clone(),
                    p_half_train: train.clone(),
                    r2_train: train.clone(),
                    train,
                    widths: Some([8, 16, 16, 16, 16]),
                    fc: Some(32),
                    max_voxels: 100,
                    p0_stride: 3,
                    p0_step_mm: None,
                }
            }
            Profile::Paper => Settings {
                cascade: CandidateOptions::default(),
                train: TrainOptions {
                    epochs: 8,
                    examples_per_epoch: 3072,
                    seed,
                    ..TrainOptions::default()
                },
                // still improving at 8 epochs of 6144 (validation AUC 0.923, 0.943, 0.944
                // over epochs 6-8, session 8)
                p_train: TrainOptions {
                    epochs: 12,
                    examples_per_epoch: 8192,
                    seed,
                    ..TrainOptions::default()
                },
                p_half_train: TrainOptions {
                    epochs: 8,
                    examples_per_epoch: 6144,
                    seed,
                    ..TrainOptions::default()
                },
                // twice the examples per epoch of the others and up to 12 epochs: with 3072 an
                // epoch, R2's validation loss was noisy and early stopping kept epoch 1 on
                // fold 1 (AUC 0.947); with 6144 it kept epoch 5 of 8 (AUC 0.955) and fold 1's
                // test G(P2) rose from 75.3 to 76.3 % (session 10)
                r2_train: TrainOptions {
                    epochs: 12,
                    examples_per_epoch: 6144,
                    seed,
                    ..TrainOptions::default()
                },
                widths: Some([16, 32, 32, 32, 32]),
                fc: Some(128),
                max_voxels: 2000,
                p0_stride: 2,
                // stride 2 on the small phantoms (1.67-2.17 mm), 5 on a 0.77 mm scan
                p0_step_mm: Some(4.0),
            },
        }
    }
}

/// Arguments of `cv`.
#[derive(Debug, Clone)]
pub struct CvArgs {
    pub cohort: PathBuf,
    pub folds: usize,
    pub seed: u64,
    pub out: PathBuf,
    pub profile: Profile,
    pub threads: usize,
    /// Also train on every case, calibrate on every case and write that bundle here (the
    /// shipped default bundle is made this way); its run lives in `OUT/final`.
    pub final_bundle: Option<PathBuf>,
    /// Start of the ConvNets' weights (`uniform` reproduces runs made before session 6).
    pub init: WeightInit,
    /// Smoothing sigma in mm (x, y, z) of the bundles (`None`: 3 voxels, the paper's figure).
    pub sigma_mm: Option<[f64; 3]>,
}

/// One case's figures at the calibrated operating points, per column (`None`: a surface distance
/// with an empty mask).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    pub id: String,
    pub fold: usize,
    /// "train" or "test".
    pub split: String,
    pub dsc: Vec<f64>,
    pub assd_mm: Vec<Option<f64>>,
    pub hd95_mm: Vec<Option<f64>>,
}

/// What one fold produced (`OUT/fold_K/results.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FoldResult {
    pub fold: usize,
    pub train_cases: Vec<String>,
    pub test_cases: Vec<String>,
    pub operating_points: OperatingPoints,
    pub crf_weight: Option<f64>,
    /// The calibrated CRF unary prior (absent in results written before it was calibrated:
    /// those folds ran at 0.5).
    #[serde(default)]
    pub crf_prior: Option<f64>,
    /// The calibrated sigma factors (in-plane, axial) of [`sigma_grid`] (absent in results
    /// written before sigma was calibrated: those folds smoothed by the base sigma).
    #[serde(default)]
    pub sigma_factors: Option<(f64, f64)>,
    pub cases: Vec<CaseResult>,
    pub curves: Curves,
    pub seconds: f64,
}

/// A column's statistics over a set of cases.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnStats {
    pub column: String,
    pub dsc: Stat,
    pub assd_mm: Option<Stat>,
    pub hd95_mm: Option<Stat>,
    /// Share of cases (%) with DSC above each of [`LEVELS`].
    pub above: Vec<f64>,
}

/// `table1.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Table1 {
    pub cohort: String,
    pub cases: usize,
    pub folds: usize,
    pub seed: u64,
    pub profile: Profile,
    pub training: Vec<ColumnStats>,
    pub testing: Vec<ColumnStats>,
    pub folds_detail: Vec<FoldResult>,
    pub wall_seconds: f64,
}

fn stats(cases: &[&CaseResult]) -> Vec<ColumnStats> {
    (0..COLUMNS.len())
        .map(|c| {
            let dsc: Vec<f64> = cases.iter().map(|r| r.dsc[c]).collect();
            let opt = |v: Vec<f64>| (!v.is_empty()).then(|| Stat::of(&v));
            ColumnStats {
                column: COLUMNS[c].to_string(),
                dsc: Stat::of(&dsc),
                assd_mm: opt(cases.iter().filter_map(|r| r.assd_mm[c]).collect()),
                hd95_mm: opt(cases.iter().filter_map(|r| r.hd95_mm[c]).collect()),
                above: LEVELS
                    .iter()
                    .map(|&l| {
                        100.0 * dsc.iter().filter(|&&d| d > l).count() as f64
                            / dsc.len().max(1) as f64
                    })
                    .collect(),
            }
        })
        .collect()
}

/// DSC of a box mask against the (canonical) truth, counting truth outside the box as missed.
fn box_dsc(boxed: &Array3<u8>, offset: [usize; 3], truth: &Array3<u8>, truth_total: usize) -> f64 {
    let (dz, dy, dx) = boxed.dim();
    let [x0, y0, z0] = offset;
    let window = truth.slice(s![z0..z0 + dz, y0..y0 + dy, x0..x0 + dx]);
    let (mut inter, mut count) = (0usize, 0usize);
    Zip::from(boxed).and(&window).for_each(|&m, &t| {
        if m != 0 {
            count += 1;
            if t != 0 {
                inter += 1;
            }
        }
    });
    if count + truth_total == 0 {
        1.0
    } else {
        2.0 * inter as f64 / (count + truth_total) as f64
    }
}

/// One case's maps, kept between calibration and evaluation (box crops only).
struct Evaluated {
    id: String,
    train: bool,
    maps: StageMaps,
    truth: Array3<u8>,
    /// Opt. and S_RF: (DSC, surface distances), computed while the label volume was there.
    fixed: [(f64, Option<(f64, f64)>); 2],
    /// DSC per map per threshold (G(Pk) empty until calibration has chosen the sigma).
    curve: Vec<Vec<f64>>,
    /// DSC of G(P0), G(P1), G(P2) per threshold, for each sigma of [`sigma_grid`]: only for the
    /// held-out training cases the sigma is chosen on (empty for the others).
    g_curves: Vec<[Vec<f64>; 3]>,
    /// DSC per CRF (weight, prior) of [`crf_grid`].
    crf_dsc: Vec<f64>,
}

fn figures(mask: &Array3<u8>, truth: &Array3<u8>, spacing: [f64; 3]) -> (f64, Option<(f64, f64)>) {
    let d = dice(mask, truth).unwrap_or(0.0);
    (
        d,
        surface_distances(mask, truth, spacing).map(|s| (s.assd, s.hd95)),
    )
}

fn map_of(maps: &StageMaps, k: usize) -> &Array3<f32> {
    match k {
        0 => &maps.p0,
        1 => &maps.g_p0,
        2 => &maps.p1,
        3 => &maps.g_p1,
        4 => &maps.p2,
        _ => &maps.g_p2,
    }
}

/// The smoothing sigma (voxels) that the bundle with sigma factors `g` applies to this case.
fn case_sigma(a: &CvArgs, seg: &Segmenter, spacing: [f64; 3], g: (f64, f64)) -> [f64; 3] {
    let mut m = seg.manifest().clone();
    (m.sigma_voxels, m.sigma_mm) = scaled_sigma(a, g);
    m.sigma_for(spacing)
}

/// The smoothed maps G(P0), G(P1), G(P2) of a case at sigma `sigma` (voxels).
fn smoothed_maps(maps: &StageMaps, sigma: [f64; 3]) -> [Array3<f32>; 3] {
    [&maps.p0, &maps.p1, &maps.p2].map(|p| gaussian_smooth(p, sigma))
}

/// DSC of `map` thresholded at each of `ts` (the map covers the working box at `offset`).
fn dsc_curve(
    map: &Array3<f32>,
    offset: [usize; 3],
    truth: &Array3<u8>,
    total: usize,
    ts: &[f32],
) -> Vec<f64> {
    ts.iter()
        .map(|&t| box_dsc(&StageMaps::threshold(map, t), offset, truth, total))
        .collect()
}

/// A case's maps and DSC curves: the raw maps' always, the smoothed maps' at every sigma of the
/// search when `sweep` (a case the sigma is calibrated on).
fn evaluate_case(
    a: &CvArgs,
    seg: &Segmenter,
    cohort: &Cohort,
    id: &str,
    train: bool,
    sweep: bool,
    ts: &[f32],
) -> Result<Evaluated> {
    let (ct, mask) = cohort.load_case(id)?;
    let mut maps = seg.stage_maps(&ct, &crf_grid())?;
    let truth = maps.reorient(&mask.data.mapv(|v| u8::from(v != 0)));
    let total = truth.iter().filter(|&&v| v != 0).count();
    let opt = figures(&maps.optimal_mask(&truth), &truth, maps.spacing);
    let srf = figures(&maps.candidates_mask(), &truth, maps.spacing);
    // the label volume is as large as the CT: not kept
    maps.set.labels = Array3::zeros((0, 0, 0));
    // the smoothed maps' curves wait for the calibrated sigma
    let curve = (0..6)
        .map(|k| match k % 2 {
            0 => dsc_curve(map_of(&maps, k), maps.offset, &truth, total, ts),
            _ => Vec::new(),
        })
        .collect();
    let g_curves = if sweep {
        sigma_grid()
            .into_iter()
            .map(|g| {
                smoothed_maps(&maps, case_sigma(a, seg, maps.spacing, g))
                    .map(|m| dsc_curve(&m, maps.offset, &truth, total, ts))
            })
            .collect()
    } else {
        Vec::new()
    };
    let crf_dsc = maps
        .crf
        .iter()
        .map(|(_, m)| box_dsc(m, maps.offset, &truth, total))
        .collect();
    Ok(Evaluated {
        id: id.to_string(),
        train,
        maps,
        truth,
        fixed: [opt, srf],
        curve,
        g_curves,
        crf_dsc,
    })
}

fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

fn mean_curve(cases: &[&Evaluated], f: impl Fn(&Evaluated) -> &Vec<f64>) -> Vec<f64> {
    let n = cases.first().map_or(0, |c| f(c).len());
    (0..n)
        .map(|i| cases.iter().map(|c| f(c)[i]).sum::<f64>() / cases.len().max(1) as f64)
        .collect()
}

/// What calibration sets in a bundle.
struct Calibrated {
    ops: OperatingPoints,
    /// CRF weight and unary prior.
    crf: (f64, Option<f64>),
    /// Sigma factors (in-plane, axial) of [`sigma_grid`].
    sigma: (f64, f64),
}

fn export(
    a: &CvArgs,
    fold_dir: &Path,
    out: &Path,
    cal: &Calibrated,
    s: &Settings,
    description: String,
) -> Result<()> {
    let (sigma_voxels, sigma_mm) = scaled_sigma(a, cal.sigma);
    let nets = fold_dir.join("nets");
    let boundary = nets.join("boundary");
    run_export(&ExportArgs {
        forests: fold_dir.join("forests"),
        p: nets.join("p"),
        r1: nets.join("r1"),
        r2: nets.join("r2"),
        boundary: boundary.join("train.json").is_file().then_some(boundary),
        out: out.to_path_buf(),
        p0_stride: s.p0_stride,
        p0_step_mm: s.p0_step_mm,
        sigma_voxels,
        sigma_mm,
        operating_points: cal.ops,
        crf_weight: cal.crf.0,
        crf_prior: cal.crf.1,
        description,
    })?;
    Ok(())
}

/// The `train` arguments of network `net` of a fold, trained on `ids` into `nets/<name>` with
/// the `schedule` of `s` it belongs to.
fn train_args(
    a: &CvArgs,
    s: &Settings,
    dir: &Path,
    net: NetKind,
    name: &str,
    ids: &[String],
    schedule: &TrainOptions,
) -> TrainArgs {
    let nets = dir.join("nets");
    let mut options = schedule.clone();
    if net == NetKind::Boundary {
        // the boundary ConvNet diverges at 1e-3 (docs/results/convnets.md)
        options.lr = 3e-4;
    }
    options.init = a.init;
    TrainArgs {
        cohort: a.cohort.clone(),
        cases: ids.to_vec(),
        net,
        out: nets.join(name),
        forests: Some(dir.join("forests")),
        p_net: (net == NetKind::R2).then(|| nets.join("p")),
        options,
        val_fraction: 0.2,
        resume: false,
        max_voxels: s.max_voxels,
        p0_stride: s.p0_stride,
        widths: s.widths,
        fc: s.fc,
    }
}

/// Cross-fitted P0 maps for R2's training cases: the cases are split in two halves, a
/// P-ConvNet is trained on each half (`nets/p_half_1`, `nets/p_half_2`, reused when present)
/// and every case gets its P0 from the network of the other half.
///
/// Why (a departure from the paper, which feeds R2 the P0 of the P-ConvNet trained on the same
/// cases): P0 of a case the P-ConvNet was trained on is sharper than P0 of an unseen case, so an
/// R2 trained on in-sample maps learns to trust P0 more than it deserves on new patients, and
/// its validation loss, on held-out cases, was best after its first epoch. With cross-fitted
/// maps R2 trains on P0 of the quality it meets at inference. The bundle's P-ConvNet is still
/// the one trained on every training case.
fn cross_fit_p0(
    a: &CvArgs,
    s: &Settings,
    label: &str,
    dir: &Path,
    train_ids: &[String],
    cases: &mut Vec<ExampleCase>,
) -> Result<()> {
    let half = split_folds(cases.len(), 2, s.train.seed ^ 0xC2055);
    let first = half.iter().filter(|&&h| h == 0).count();
    let smaller = first.min(cases.len() - first);
    if smaller < 2 {
        // `train` needs two cases per network (one held out for validation)
        eprintln!(
            "{label}: {} training cases are too few to cross-fit P0; R2 reads in-sample P0",
            cases.len()
        );
        return Ok(());
    }
    let mut parts: [Vec<(usize, ExampleCase)>; 2] = [Vec::new(), Vec::new()];
    for (i, c) in std::mem::take(cases).into_iter().enumerate() {
        parts[half[i]].push((i, c));
    }
    let name = |h: usize| format!("p_half_{}", h + 1);
    let nets = dir.join("nets");
    let split =
        |v: Vec<(usize, ExampleCase)>| -> (Vec<usize>, Vec<ExampleCase>) { v.into_iter().unzip() };
    // a P-ConvNet per half
    for (h, part) in parts.iter_mut().enumerate() {
        if nets.join(name(h)).join("train.json").is_file() {
            continue;
        }
        let (idx, mut half_cases) = split(std::mem::take(part));
        let ids: Vec<String> = idx.iter().map(|&i| train_ids[i].clone()).collect();
        eprintln!("{label}: training {} on {} cases", name(h), ids.len());
        let line = train_on_cases(
            &train_args(a, s, dir, NetKind::P, &name(h), &ids, &s.p_half_train),
            &mut half_cases,
        )?;
        eprint!("{label}: {line}");
        *part = idx.into_iter().zip(half_cases).collect();
    }
    // each half's P0 from the other half's network
    for (h, part) in parts.iter_mut().enumerate() {
        let (idx, mut half_cases) = split(std::mem::take(part));
        fill_p0_maps(&nets.join(name(1 - h)), &mut half_cases, s.p0_stride)?;
        *part = idx.into_iter().zip(half_cases).collect();
    }
    let mut merged: Vec<(usize, ExampleCase)> = parts.into_iter().flatten().collect();
    merged.sort_by_key(|(i, _)| *i);
    *cases = merged.into_iter().map(|(_, c)| c).collect();
    Ok(())
}

fn run_fold(
    a: &CvArgs,
    cohort: &Cohort,
    f: usize,
    train_ids: &[String],
    test_ids: &[String],
) -> Result<FoldResult> {
    let started = std::time::Instant::now();
    // f == a.folds: the final run on every case
    let whole = f == a.folds;
    let label = if whole {
        "final".to_string()
    } else {
        format!("fold {}", f + 1)
    };
    let dir = a.out.join(if whole {
        "final".to_string()
    } else {
        format!("fold_{}", f + 1)
    });
    let s = a.profile.settings(a.seed.wrapping_add(f as u64 * 7919));
    // 1. the cascade and 2. the ConvNets (R2 after P: it reads P0 maps), on one preparation of
    // the training cases
    let forests = dir.join("forests");
    let nets = dir.join("nets");
    let order = [NetKind::P, NetKind::R1, NetKind::R2, NetKind::Boundary];
    let todo: Vec<NetKind> = order
        .into_iter()
        .filter(|n| !nets.join(n.name()).join("train.json").is_file())
        .collect();
    let need_cascade = !forests.join("level2.psrf").is_file();
    if need_cascade || !todo.is_empty() {
        let prepared = prepare_cases(cohort, train_ids, &s.cascade.superpixels)?;
        if need_cascade {
            eprintln!("{label}: cascade on {} training cases", train_ids.len());
            let refs: Vec<&PreparedCase> = prepared.iter().collect();
            let cascade = train_cascade(&refs, &s.cascade, s.train.seed)?;
            std::fs::create_dir_all(&forests).map_err(|e| TrainError::io(&forests, e))?;
            cascade.level1.save(forests.join("level1.psrf"))?;
            cascade.level2.save(forests.join("level2.psrf"))?;
        }
        let mut cases = example_cases(prepared, Some(&forests), s.train.seed)?;
        for net in todo {
            if net == NetKind::R2 {
                cross_fit_p0(a, &s, &label, &dir, train_ids, &mut cases)?;
            }
            eprintln!("{label}: training {}", net.name());
            let line = train_on_cases(
                &train_args(
                    a,
                    &s,
                    &dir,
                    net,
                    net.name(),
                    train_ids,
                    match net {
                        NetKind::P => &s.p_train,
                        NetKind::R2 => &s.r2_train,
                        _ => &s.train,
                    },
                ),
                &mut cases,
            )?;
            eprint!("{label}: {line}");
        }
    }
    // 3. the maps of every case, with a provisional bundle (the maps do not depend on the
    // operating points)
    let provisional = dir.join("bundle-uncalibrated");
    export(
        a,
        &dir,
        &provisional,
        &Calibrated {
            ops: OperatingPoints::default(),
            crf: (1.0, None),
            sigma: (1.0, 1.0),
        },
        &s,
        format!("cv {label} (uncalibrated)"),
    )?;
    let seg = Segmenter::new(
        Bundle::load(&provisional)?,
        RuntimeOptions::default(),
        a.threads,
    )?;
    let ts = thresholds();
    // the training cases that every ConvNet held out: the smoothing sigma is chosen on them
    let held_out = held_out_cases(&nets)?;
    let mut evaluated = Vec::new();
    for (ids, train) in [(train_ids, true), (test_ids, false)] {
        for id in ids {
            let sweep = train && held_out.contains(id);
            let e = evaluate_case(a, &seg, cohort, id, train, sweep, &ts)?;
            eprintln!(
                "{label} {} {id}: Opt {:.3}, S_RF {:.3}, best P2 {:.3}",
                if train { "train" } else { "test " },
                e.fixed[0].0,
                e.fixed[1].0,
                e.curve[4].iter().cloned().fold(0.0, f64::max)
            );
            evaluated.push(e);
        }
    }
    // 4. calibration on the training cases only: the sigma by G(P2)'s best mean DSC on the
    // training cases that every ConvNet held out, then every G(Pk) at that sigma
    let sigmas = sigma_grid();
    let sigma_pick = {
        let sigma_cases: Vec<&Evaluated> = evaluated
            .iter()
            .filter(|e| !e.g_curves.is_empty())
            .collect();
        let best: Vec<f64> = (0..sigmas.len())
            .map(|g| {
                mean_curve(&sigma_cases, |e| &e.g_curves[g][2])
                    .into_iter()
                    .fold(f64::NEG_INFINITY, f64::max)
            })
            .collect();
        eprintln!(
            "{label}: sigma factors on {} held-out training cases: {}",
            sigma_cases.len(),
            sigmas
                .iter()
                .zip(&best)
                .map(|(g, d)| format!("{g:?} {d:.4}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        argmax(&best)
    };
    let sigma = sigmas[sigma_pick];
    // every case's G(Pk) at the chosen sigma (the held-out cases' sweep maps were not kept:
    // nine sigmas x three maps each would hold far more memory than smoothing once more costs)
    for e in evaluated.iter_mut() {
        let [g0, g1, g2] = smoothed_maps(&e.maps, case_sigma(a, &seg, e.maps.spacing, sigma));
        (e.maps.g_p0, e.maps.g_p1, e.maps.g_p2) = (g0, g1, g2);
        let total = e.truth.iter().filter(|&&v| v != 0).count();
        for k in [1, 3, 5] {
            e.curve[k] = dsc_curve(
                map_of(&e.maps, k),
                e.maps.offset,
                &e.truth,
                total,
                ts.as_slice(),
            );
        }
    }
    let train_cases: Vec<&Evaluated> = evaluated.iter().filter(|e| e.train).collect();
    let test_cases: Vec<&Evaluated> = evaluated.iter().filter(|e| !e.train).collect();
    let train_curves: Vec<Vec<f64>> = (0..6)
        .map(|k| mean_curve(&train_cases, |e| &e.curve[k]))
        .collect();
    let test_curves: Vec<Vec<f64>> = (0..6)
        .map(|k| mean_curve(&test_cases, |e| &e.curve[k]))
        .collect();
    let best: Vec<f32> = train_curves.iter().map(|c| ts[argmax(c)]).collect();
    let ops = OperatingPoints {
        p0: best[0],
        g_p0: best[1],
        p1: best[2],
        g_p1: best[3],
        p2: best[4],
        g_p2: best[5],
    };
    let crf_means = mean_curve(&train_cases, |e| &e.crf_dsc);
    let crf_pick = (!crf_means.is_empty()).then(|| argmax(&crf_means));
    let grid = crf_grid();
    let crf_weight = crf_pick.map(|i| grid[i].0);
    let crf_prior = crf_pick.map(|i| grid[i].1);
    export(
        a,
        &dir,
        &dir.join("bundle"),
        &Calibrated {
            ops,
            crf: (crf_weight.unwrap_or(1.0), crf_prior),
            sigma,
        },
        &s,
        if whole {
            format!(
                "trained on all {} cases of the cohort (cv seed {}), operating points calibrated on them",
                train_ids.len(),
                a.seed
            )
        } else {
            format!(
                "cv fold {} of {} (seed {}), operating points calibrated on its {} training cases",
                f + 1,
                a.folds,
                a.seed,
                train_ids.len()
            )
        },
    )?;
    // 5. every case at the calibrated points
    let mut cases = Vec::new();
    for e in &evaluated {
        let m = &e.maps;
        let mut dsc = vec![e.fixed[0].0, e.fixed[1].0];
        let mut sd = vec![e.fixed[0].1, e.fixed[1].1];
        let point = [ops.p0, ops.g_p0, ops.p1, ops.g_p1, ops.p2, ops.g_p2];
        for (k, &t) in point.iter().enumerate() {
            let mask = if m.p0.is_empty() {
                Array3::zeros(m.dims)
            } else {
                m.full(&StageMaps::threshold(map_of(m, k), t))
            };
            let (d, s) = figures(&mask, &e.truth, m.spacing);
            dsc.push(d);
            sd.push(s);
        }
        match crf_pick {
            Some(i) => {
                let (d, s) = figures(&m.full(&m.crf[i].1), &e.truth, m.spacing);
                dsc.push(d);
                sd.push(s);
            }
            None => {
                dsc.push(f64::NAN);
                sd.push(None);
            }
        }
        cases.push(CaseResult {
            id: e.id.clone(),
            fold: f + 1,
            split: if e.train { "train" } else { "test" }.into(),
            dsc,
            assd_mm: sd.iter().map(|s| s.map(|v| v.0)).collect(),
            hd95_mm: sd.iter().map(|s| s.map(|v| v.1)).collect(),
        });
    }
    let result = FoldResult {
        fold: f + 1,
        train_cases: train_ids.to_vec(),
        test_cases: test_ids.to_vec(),
        operating_points: ops,
        crf_weight,
        crf_prior,
        sigma_factors: Some(sigma),
        cases,
        curves: Curves {
            thresholds: ts,
            maps: COLUMNS[2..8].iter().map(|s| s.to_string()).collect(),
            train: train_curves,
            test: test_curves,
        },
        seconds: started.elapsed().as_secs_f64(),
    };
    let path = dir.join("results.json");
    let text =
        serde_json::to_string_pretty(&result).map_err(|e| TrainError::Invalid(e.to_string()))?;
    std::fs::write(&path, text + "\n").map_err(|e| TrainError::io(&path, e))?;
    Ok(result)
}

/// The training cases that every ConvNet of a fold held out for validation (`val_cases` of each
/// `nets/<net>/train.json`): their maps are out-of-sample, like a new patient's, so the
/// smoothing sigma is calibrated on them. Why not on every training case: the maps of cases a
/// network was trained on are sharper and ask for less smoothing than a new case needs
/// (docs/results/evaluation.md, session 10). With no case held out by all of them (tiny
/// folds) the calibration keeps the base sigma.
fn held_out_cases(nets: &Path) -> Result<Vec<String>> {
    /// The one field of a `train.json` ([`crate::convnet::report::TrainReport`]) read here.
    #[derive(Deserialize)]
    struct Held {
        val_cases: Vec<String>,
    }
    let mut lists = Vec::new();
    for net in [NetKind::P, NetKind::R1, NetKind::R2] {
        let path = nets.join(net.name()).join("train.json");
        let text = std::fs::read_to_string(&path).map_err(|e| TrainError::io(&path, e))?;
        let held: Held = serde_json::from_str(&text)
            .map_err(|e| TrainError::Invalid(format!("{}: {e}", path.display())))?;
        lists.push(held.val_cases);
    }
    Ok(common_cases(&lists))
}

/// The cases in every list, in the first list's order.
fn common_cases(lists: &[Vec<String>]) -> Vec<String> {
    match lists.split_first() {
        None => Vec::new(),
        Some((first, rest)) => first
            .iter()
            .filter(|id| rest.iter().all(|l| l.contains(id)))
            .cloned()
            .collect(),
    }
}

/// Copies a bundle directory's files (flat) into `to`, replacing what is there.
fn copy_bundle(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| TrainError::io(to, e))?;
    let entries = std::fs::read_dir(from).map_err(|e| TrainError::io(from, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| TrainError::io(from, e))?;
        let path = entry.path();
        if path.is_file() {
            let dest = to.join(entry.file_name());
            std::fs::copy(&path, &dest).map_err(|e| TrainError::io(&dest, e))?;
        }
    }
    Ok(())
}

/// The cohort's case ids, after the checks every `cv` run makes.
fn open_cohort(a: &CvArgs) -> Result<(Cohort, Vec<String>)> {
    if a.folds < 2 {
        return Err(TrainError::Invalid("--folds must be at least 2".into()));
    }
    let cohort = Cohort::open(&a.cohort)?;
    let ids: Vec<String> = cohort.manifest.cases.iter().map(|c| c.id.clone()).collect();
    if ids.len() < 2 * a.folds {
        return Err(TrainError::Invalid(format!(
            "{} cases are too few for {} folds (each training set needs at least 2 cases for training and validation)",
            ids.len(),
            a.folds
        )));
    }
    std::fs::create_dir_all(&a.out).map_err(|e| TrainError::io(&a.out, e))?;
    Ok((cohort, ids))
}

/// Fold `f` (0-based): its result, reused from `OUT/fold_K/results.json` when that exists.
fn fold_result(a: &CvArgs, cohort: &Cohort, ids: &[String], f: usize) -> Result<FoldResult> {
    let path = a.out.join(format!("fold_{}", f + 1)).join("results.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Ok(r) = serde_json::from_str::<FoldResult>(&text) {
            eprintln!("fold {}: reusing {}", f + 1, path.display());
            return Ok(r);
        }
    }
    let fold_of = split_folds(ids.len(), a.folds, a.seed);
    let pick = |test: bool| -> Vec<String> {
        ids.iter()
            .zip(&fold_of)
            .filter(|(_, &k)| (k == f) == test)
            .map(|(id, _)| id.clone())
            .collect()
    };
    run_fold(a, cohort, f, &pick(false), &pick(true))
}

/// Runs one fold (`fold`, 1-based) of the split and nothing else, so the folds of one split can
/// run on separate machines: each writes `OUT/fold_K/`, and a later `cv` over an `OUT` holding
/// every `fold_K/results.json` reuses them and writes Table 1.
pub fn run_single_fold(a: &CvArgs, fold: usize) -> Result<FoldResult> {
    if fold == 0 || fold > a.folds {
        return Err(TrainError::Invalid(format!(
            "--only-fold {fold} is outside 1..={}",
            a.folds
        )));
    }
    let (cohort, ids) = open_cohort(a)?;
    fold_result(a, &cohort, &ids, fold - 1)
}

/// Runs `cv`; returns Table 1.
pub fn run_cv(a: &CvArgs) -> Result<Table1> {
    let started = std::time::Instant::now();
    let (cohort, ids) = open_cohort(a)?;
    // the final bundle first: the shipped model exists before the (longer) folds finish
    if let Some(target) = &a.final_bundle {
        let done = a.out.join("final").join("results.json");
        if done.is_file() {
            eprintln!("final: reusing {}", done.display());
        } else {
            run_fold(a, &cohort, a.folds, &ids, &[])?;
        }
        copy_bundle(&a.out.join("final").join("bundle"), target)?;
    }
    let folds = (0..a.folds)
        .map(|f| fold_result(a, &cohort, &ids, f))
        .collect::<Result<Vec<_>>>()?;
    let all: Vec<&CaseResult> = folds.iter().flat_map(|f| &f.cases).collect();
    let train: Vec<&CaseResult> = all.iter().copied().filter(|c| c.split == "train").collect();
    let test: Vec<&CaseResult> = all.iter().copied().filter(|c| c.split == "test").collect();
    let table = Table1 {
        cohort: a.cohort.display().to_string(),
        cases: ids.len(),
        folds: a.folds,
        seed: a.seed,
        profile: a.profile,
        training: stats(&train),
        testing: stats(&test),
        folds_detail: folds,
        wall_seconds: started.elapsed().as_secs_f64(),
    };
    let json =
        serde_json::to_string_pretty(&table).map_err(|e| TrainError::Invalid(e.to_string()))?;
    let write = |name: &str, text: String| -> Result<()> {
        let p = a.out.join(name);
        std::fs::write(&p, text).map_err(|e| TrainError::io(&p, e))
    };
    write("table1.json", json + "\n")?;
    write("table1.md", table.to_markdown())?;
    crate::fig5::draw(&table.folds_detail[0].curves, &a.out.join("fig5.png"))?;
    Ok(table)
}

fn stat_row(
    name: &str,
    cols: &[ColumnStats],
    f: impl Fn(&ColumnStats) -> Option<&Stat>,
    pick: fn(&Stat) -> f64,
    scale: f64,
    digits: usize,
) -> String {
    let cells: Vec<String> = cols
        .iter()
        .map(|c| {
            f(c).map_or("–".to_string(), |s| {
                format!("{:.*}", digits, pick(s) * scale)
            })
        })
        .collect();
    format!("| {name} | {} |\n", cells.join(" | "))
}

/// Picks one statistic (mean, std, min or max).
type StatPick = fn(&Stat) -> f64;

impl Table1 {
    /// `table1.md`: the paper's Table 1 layout, for training and for testing.
    pub fn to_markdown(&self) -> String {
        let mut s = format!(
            "# Table 1: {} cases, {} folds (seed {}), profile {:?}\n\nCohort `{}`; DSC in %, ASSD and HD95 in mm; the folds' own wall times add up to {:.0} s (this run: {:.0} s; folds it found finished were reused).\n",
            self.cases,
            self.folds,
            self.seed,
            self.profile,
            self.cohort,
            self.folds_detail.iter().map(|f| f.seconds).sum::<f64>(),
            self.wall_seconds
        );
        let header = format!(
            "| | {} |\n|---|{}\n",
            COLUMNS.join(" | "),
            "---|".repeat(COLUMNS.len())
        );
        for (title, cols) in [("Training", &self.training), ("Testing", &self.testing)] {
            s += &format!("\n## {title}\n\n{header}");
            let stats: [(&str, StatPick); 4] = [
                ("mean", |s| s.mean),
                ("std", |s| s.std),
                ("min", |s| s.min),
                ("max", |s| s.max),
            ];
            for (name, pick) in stats {
                s += &stat_row(
                    &format!("DSC {name}"),
                    cols,
                    |c| Some(&c.dsc),
                    pick,
                    100.0,
                    1,
                );
            }
            for (name, pick) in stats {
                s += &stat_row(
                    &format!("ASSD {name}"),
                    cols,
                    |c| c.assd_mm.as_ref(),
                    pick,
                    1.0,
                    2,
                );
            }
            for (name, pick) in stats {
                s += &stat_row(
                    &format!("HD95 {name}"),
                    cols,
                    |c| c.hd95_mm.as_ref(),
                    pick,
                    1.0,
                    1,
                );
            }
            for (i, l) in LEVELS.iter().enumerate() {
                let cells: Vec<String> =
                    cols.iter().map(|c| format!("{:.0}", c.above[i])).collect();
                s += &format!(
                    "| % cases DSC > {:.0} | {} |\n",
                    l * 100.0,
                    cells.join(" | ")
                );
            }
        }
        s += "\n## Operating points (calibrated on each fold's training cases)\n\n| fold | p0 | G(p0) | p1 | G(p1) | p2 | G(p2) | sigma factors (x-y, z) | CRF weight, prior | wall s |\n|---|---|---|---|---|---|---|---|---|---|\n";
        for f in &self.folds_detail {
            let o = f.operating_points;
            s += &format!(
                "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {:.0} |\n",
                f.fold,
                o.p0,
                o.g_p0,
                o.p1,
                o.g_p1,
                o.p2,
                o.g_p2,
                f.sigma_factors
                    .map_or("1, 1".into(), |(xy, z)| format!("{xy}, {z}")),
                f.crf_weight.map_or("–".into(), |w| format!(
                    "{w}, {}",
                    f.crf_prior.unwrap_or(0.5)
                )),
                f.seconds
            );
        }
        s += &format!(
            "\n## Cases (DSC %)\n\n| case | fold | split | {} |\n|---|---|---|{}\n",
            COLUMNS.join(" | "),
            "---|".repeat(COLUMNS.len())
        );
        for f in &self.folds_detail {
            for c in &f.cases {
                let cells: Vec<String> = c
                    .dsc
                    .iter()
                    .map(|d| {
                        if d.is_nan() {
                            "–".into()
                        } else {
                            format!("{:.1}", d * 100.0)
                        }
                    })
                    .collect();
                s += &format!(
                    "| {} | {} | {} | {} |\n",
                    c.id,
                    c.fold,
                    c.split,
                    cells.join(" | ")
                );
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn common_cases_keeps_what_every_list_holds_in_first_order() {
        let lists = [
            ids(&["c3", "c1", "c7", "c9"]),
            ids(&["c1", "c9", "c3"]),
            ids(&["c9", "c3", "c4"]),
        ];
        assert_eq!(common_cases(&lists), ids(&["c3", "c9"]));
        assert_eq!(common_cases(&[]), Vec::<String>::new());
        assert_eq!(
            common_cases(&[ids(&["a"]), ids(&["b"])]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn held_out_cases_reads_each_networks_record_and_names_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let nets = dir.path();
        for (net, val) in [("p", "[\"a\",\"b\",\"c\"]"), ("r1", "[\"c\",\"a\"]")] {
            std::fs::create_dir_all(nets.join(net)).unwrap();
            std::fs::write(
                nets.join(net).join("train.json"),
                format!("{{\"net\":\"{net}\",\"val_cases\":{val},\"best_epoch\":3}}"),
            )
            .unwrap();
        }
        // R2 has not been trained: the error names its record
        let e = held_out_cases(nets).unwrap_err().to_string();
        assert!(e.contains("r2") && e.contains("train.json"), "{e}");
        std::fs::create_dir_all(nets.join("r2")).unwrap();
        std::fs::write(
            nets.join("r2/train.json"),
            "{\"val_cases\":[\"a\",\"c\",\"d\"]}",
        )
        .unwrap();
        assert_eq!(held_out_cases(nets).unwrap(), ids(&["a", "c"]));
        // a record without the field is an error, not an empty set
        std::fs::write(nets.join("r2/train.json"), "{\"net\":\"r2\"}").unwrap();
        let e = held_out_cases(nets).unwrap_err().to_string();
        assert!(e.contains("val_cases"), "{e}");
    }

    #[test]
    fn sigma_grid_starts_at_the_base_and_only_shrinks_it() {
        let g = sigma_grid();
        assert_eq!(g[0], (1.0, 1.0), "the base wins ties");
        assert_eq!(g.len(), SIGMA_FACTORS_XY.len() * SIGMA_FACTORS_Z.len());
        assert!(g
            .iter()
            .all(|&(xy, z)| xy > 0.0 && xy <= 1.0 && z > 0.0 && z <= 1.0));
    }
}
