//! `pancseg-train realism`: how well a classifier tells phantom patches from real-scan patches,
//! without any label. The held-out AUC is the score: 0.5 means the phantoms are
//! indistinguishable from the real scans (for that classifier), 1 means every patch gives
//! itself away.
//!
//! Both sides go through the library's working grid (`working_volume`), so the comparison is
//! at the resolution every stage sees. 2.5D patches (three adjacent slices of 16 x 16 voxels)
//! are drawn at random inside the body (the library's per-slice body mask). Each patch is
//! clipped to a display window (abdomen, lung, bone, or the full HU range) and described by its
//! block means (4 x 4 blocks per slice), per-slice mean and spread, percentiles, gradient
//! energy, in-plane high-pass residual (noise and kernel) and the spread of slice-to-slice
//! differences (slice thickness). A random forest (the project's own trainer) learns real
//! against phantom per window and on all windows together.
//!
//! Held out by scan, never by patch: each real scan is held out in turn (leave-one-scan-out)
//! together with a matching share of the phantom cases, so the score measures how a scan
//! nobody trained on looks. With a single real scan its slices are split in two halves instead.
//! Only global appearance is measured: nothing here looks at, or may be used to tune, the
//! pancreas.

use crate::cohort::Cohort;
use crate::convnet::metrics::auc;
use crate::error::{Result, TrainError};
use crate::forest_train::{train_forest, ForestParams};
use crate::tissue_stats::{slice_bodies, tissue_stats, TissueStats, FIELDS};
use pancseg::io::dicom::series::DicomReadOptions;
use pancseg::pipeline::orient::Canonical;
use pancseg::pipeline::working_grid::working_volume;
use pancseg::{load_volume, Volume};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Patch side (voxels) and number of slices.
const SIDE: usize = 16;
const BLOCK: usize = 4;

/// A display window: (name, low HU, high HU).
pub const WINDOWS: [(&str, f32, f32); 4] = [
    ("abdomen", -160.0, 240.0),
    ("lung", -1350.0, 150.0),
    ("bone", -450.0, 1500.0),
    ("full", -1024.0, 3071.0),
];

/// Options of `pancseg-train realism`.
#[derive(Debug, Clone)]
pub struct RealismOptions {
    /// Phantom (or imported) cohorts, each scored on its own.
    pub cohorts: Vec<PathBuf>,
    /// Real scans: NIfTI files or DICOM directories.
    pub real: Vec<PathBuf>,
    /// Cases used per cohort (evenly spread over its manifest).
    pub max_cases: usize,
    /// Patches drawn per real scan; the phantom side draws as many in total.
    pub patches_per_scan: usize,
    pub seed: u64,
    pub working_spacing: [f64; 3],
}

/// The score of one cohort.
#[derive(Debug, Clone, Serialize)]
pub struct CohortScore {
    pub cohort: String,
    /// The cohort's generator profile when recorded (`classic`, `realistic`).
    pub profile: Option<String>,
    pub cases: usize,
    /// Held-out AUC per window, in the order of [`WINDOWS`].
    pub auc_per_window: Vec<(String, f64)>,
    /// Held-out AUC on the features of every window together.
    pub auc_all_windows: f64,
    /// Global tissue statistics of each case scored (working grid, inside the body).
    pub tissue: Vec<TissueStats>,
}

/// The report of `pancseg-train realism`.
#[derive(Debug, Clone, Serialize)]
pub struct RealismReport {
    pub real_scans: Vec<String>,
    pub patches_per_scan: usize,
    pub working_spacing_mm: [f64; 3],
    /// Global tissue statistics of each real scan, in the order of `real_scans`.
    pub real_tissue: Vec<TissueStats>,
    pub scores: Vec<CohortScore>,
}

impl RealismReport {
    /// A Markdown table: one row per cohort.
    pub fn to_markdown(&self) -> String {
        let mut s = String::from("| cohort | profile | cases |");
        for (w, _, _) in WINDOWS {
            s += &format!(" AUC {w} |");
        }
        s += " AUC all windows |\n|---|---|---|";
        for _ in 0..=WINDOWS.len() {
            s += "---|";
        }
        s += "\n";
        for c in &self.scores {
            s += &format!(
                "| {} | {} | {} |",
                c.cohort,
                c.profile.as_deref().unwrap_or("-"),
                c.cases
            );
            for (_, a) in &c.auc_per_window {
                s += &format!(" {a:.3} |");
            }
            s += &format!(" {:.3} |\n", c.auc_all_windows);
        }
        s + "\n" + &self.tissue_markdown()
    }

    /// A Markdown table of the global tissue statistics: one row per real scan, one per cohort
    /// (mean over its cases, range in brackets).
    pub fn tissue_markdown(&self) -> String {
        let mut s = String::from("| scan or cohort |");
        for f in FIELDS {
            s += &format!(" {f} |");
        }
        s += "\n|---|";
        for _ in FIELDS {
            s += "---|";
        }
        s += "\n";
        for (name, t) in self.real_scans.iter().zip(&self.real_tissue) {
            s += &format!("| {name} |");
            for v in t.values() {
                s += &format!(" {v:.1} |");
            }
            s += "\n";
        }
        for c in &self.scores {
            s += &format!("| {} ({} cases) |", c.cohort, c.tissue.len());
            for k in 0..FIELDS.len() {
                let vals: Vec<f64> = c
                    .tissue
                    .iter()
                    .map(|t| t.values()[k])
                    .filter(|v| v.is_finite())
                    .collect();
                if vals.is_empty() {
                    s += " - |";
                    continue;
                }
                let mean = vals.iter().sum::<f64>() / vals.len() as f64;
                let lo = vals.iter().cloned().fold(f64::INFINITY, f64::min);
                let hi = vals.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                s += &format!(" {mean:.1} ({lo:.1}-{hi:.1}) |");
            }
            s += "\n";
        }
        s
    }
}

/// One scan's patches: per window, rows of features.
struct Patches {
    rows: Vec<Vec<f32>>, // per window, row-major
    n: usize,
    /// Slice of each patch's centre, for the single-real-scan split.
    z: Vec<usize>,
    nz: usize,
}

fn n_features() -> usize {
    3 * (SIDE / BLOCK) * (SIDE / BLOCK) + 3 * 2 + 5 + 3
}

/// Features of one patch (3 x SIDE x SIDE values, slice-major) clipped to [lo, hi] and scaled to
/// [0, 1].
fn features(p: &[f32], lo: f32, hi: f32, out: &mut Vec<f32>) {
    let v: Vec<f32> = p
        .iter()
        .map(|&x| (x.clamp(lo, hi) - lo) / (hi - lo))
        .collect();
    let per = SIDE * SIDE;
    for s in 0..3 {
        for by in 0..SIDE / BLOCK {
            for bx in 0..SIDE / BLOCK {
                let mut acc = 0.0;
                for y in 0..BLOCK {
                    for x in 0..BLOCK {
                        acc += v[s * per + (by * BLOCK + y) * SIDE + bx * BLOCK + x];
                    }
                }
                out.push(acc / (BLOCK * BLOCK) as f32);
            }
        }
    }
    for s in 0..3 {
        let sl = &v[s * per..(s + 1) * per];
        let m = sl.iter().sum::<f32>() / per as f32;
        let sd = (sl.iter().map(|x| (x - m) * (x - m)).sum::<f32>() / per as f32).sqrt();
        out.push(m);
        out.push(sd);
    }
    let mut sorted = v.clone();
    sorted.sort_by(f32::total_cmp);
    for q in [0.1, 0.25, 0.5, 0.75, 0.9] {
        out.push(sorted[((sorted.len() - 1) as f64 * q) as usize]);
    }
    // middle slice: gradient energy and the residual against a 3 x 3 mean (noise and kernel)
    let mid = &v[per..2 * per];
    let (mut grad, mut res, mut k) = (0.0f32, 0.0f32, 0usize);
    for y in 1..SIDE - 1 {
        for x in 1..SIDE - 1 {
            let at = |dy: usize, dx: usize| mid[(y + dy - 1) * SIDE + x + dx - 1];
            let gx = at(1, 2) - at(1, 0);
            let gy = at(2, 1) - at(0, 1);
            grad += gx * gx + gy * gy;
            let mut mean = 0.0;
            for dy in 0..3 {
                for dx in 0..3 {
                    mean += at(dy, dx);
                }
            }
            let r = at(1, 1) - mean / 9.0;
            res += r * r;
            k += 1;
        }
    }
    out.push((grad / k as f32).sqrt());
    out.push((res / k as f32).sqrt());
    // slice-to-slice differences: thin slices differ more (noise) than thick ones
    let dz = (0..per)
        .map(|i| (v[per + i] - v[i]).powi(2) + (v[2 * per + i] - v[per + i]).powi(2))
        .sum::<f32>()
        / (2 * per) as f32;
    out.push(dz.sqrt());
}

/// Draws `n` patches inside the body (`bodies`: [`slice_bodies`]) of a working-grid volume.
fn patches(ct: &Volume, bodies: &[Vec<bool>], n: usize, seed: u64) -> Result<Patches> {
    let (nz, ny, nx) = ct.data.dim();
    if nz < 3 || ny < SIDE + 2 || nx < SIDE + 2 {
        return Err(TrainError::Invalid(format!(
            "a scan of {nx} x {ny} x {nz} working voxels is too small for {SIDE} x {SIDE} x 3 patches"
        )));
    }
    let data = ct.data.as_standard_layout();
    let flat = data
        .as_slice()
        .ok_or_else(|| TrainError::Invalid("CT not contiguous".into()))?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows: Vec<Vec<f32>> = vec![Vec::new(); WINDOWS.len()];
    let mut zs = Vec::new();
    let h = SIDE / 2;
    let mut tries = 0usize;
    let mut buf = vec![0f32; 3 * SIDE * SIDE];
    while zs.len() < n && tries < n * 200 {
        tries += 1;
        let z = rng.random_range(1..nz - 1);
        let y = rng.random_range(h..ny - h);
        let x = rng.random_range(h..nx - h);
        if !bodies[z][y * nx + x] {
            continue;
        }
        for s in 0..3 {
            for dy in 0..SIDE {
                for dx in 0..SIDE {
                    let zz = z + s - 1;
                    buf[s * SIDE * SIDE + dy * SIDE + dx] =
                        flat[zz * ny * nx + (y + dy - h) * nx + x + dx - h];
                }
            }
        }
        for (w, (_, lo, hi)) in WINDOWS.iter().enumerate() {
            features(&buf, *lo, *hi, &mut rows[w]);
        }
        zs.push(z);
    }
    Ok(Patches {
        n: zs.len(),
        rows,
        z: zs,
        nz,
    })
}

fn working(ct: &Volume, spacing: [f64; 3]) -> Result<Volume> {
    let canonical = Canonical::of(&ct.geometry)?;
    let (_, w) = working_volume(ct, &canonical, Some(spacing))?;
    Ok(w.into_owned())
}

/// Held-out AUC of real (positive) against phantom patches for one feature selection.
fn held_out_auc(
    real: &[Patches],
    phantom: &[Patches],
    select: &dyn Fn(&Patches, usize) -> Vec<f32>,
    seed: u64,
) -> f64 {
    // folds: each real scan in turn (or the two halves of a single one), phantoms round-robin
    let folds = real.len().max(2);
    let nf = select(&real[0], 0).len();
    let (mut scores, mut labels) = (Vec::new(), Vec::new());
    for f in 0..folds {
        let in_test_real = |r: usize, i: usize| {
            if real.len() == 1 {
                (real[0].z[i] * 2 / real[0].nz.max(1)) == f
            } else {
                r == f
            }
        };
        let (mut x, mut y, mut w) = (Vec::new(), Vec::new(), Vec::new());
        let (mut tx, mut ty) = (Vec::new(), Vec::new());
        for (r, p) in real.iter().enumerate() {
            for i in 0..p.n {
                let row = select(p, i);
                if in_test_real(r, i) {
                    tx.push(row);
                    ty.push(true);
                } else {
                    x.extend(row);
                    y.push(true);
                }
            }
        }
        for (c, p) in phantom.iter().enumerate() {
            for i in 0..p.n {
                let row = select(p, i);
                if c % folds == f {
                    tx.push(row);
                    ty.push(false);
                } else {
                    x.extend(row);
                    y.push(false);
                }
            }
        }
        let npos = y.iter().filter(|&&v| v).count().max(1) as f32;
        let nneg = (y.len() as f32 - npos).max(1.0);
        for &l in &y {
            w.push(if l { nneg / npos } else { 1.0 });
        }
        if y.is_empty() || tx.is_empty() {
            continue;
        }
        let params = ForestParams {
            n_trees: 60,
            max_depth: 12,
            seed: seed ^ f as u64,
            ..ForestParams::default()
        };
        let t = train_forest(&x, y.len(), nf, &y, Some(&w), &params);
        for (row, l) in tx.iter().zip(ty) {
            scores.push(t.forest.predict(row));
            labels.push(l);
        }
    }
    auc(&scores, &labels)
}

fn label(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Runs the score for every cohort against the real scans.
pub fn realism(o: &RealismOptions) -> Result<RealismReport> {
    if o.real.is_empty() || o.cohorts.is_empty() {
        return Err(TrainError::Invalid(
            "realism needs at least one --real scan and one --cohort".into(),
        ));
    }
    let mut real = Vec::new();
    let mut real_tissue = Vec::new();
    for (i, path) in o.real.iter().enumerate() {
        let v = load_volume(path, &DicomReadOptions::default())?.volume;
        let w = working(&v, o.working_spacing)?;
        let bodies = slice_bodies(&w);
        real_tissue.push(tissue_stats(&w, &bodies));
        real.push(patches(
            &w,
            &bodies,
            o.patches_per_scan,
            o.seed ^ (0xAE00 + i as u64),
        )?);
    }
    let total_real: usize = real.iter().map(|p| p.n).sum();
    let mut scores = Vec::new();
    for dir in &o.cohorts {
        let cohort = Cohort::open(dir)?;
        let all = &cohort.manifest.cases;
        let k = o.max_cases.min(all.len()).max(1);
        let ids: Vec<&str> = (0..k).map(|i| all[i * all.len() / k].id.as_str()).collect();
        let per_case = total_real.div_ceil(ids.len()).max(8);
        let mut phantom = Vec::new();
        let mut tissue = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let (ct, _) = cohort.load_native_case(id)?;
            let w = working(&ct, o.working_spacing)?;
            let bodies = slice_bodies(&w);
            tissue.push(tissue_stats(&w, &bodies));
            phantom.push(patches(
                &w,
                &bodies,
                per_case,
                o.seed ^ (0xB000 + i as u64),
            )?);
        }
        let nf = n_features();
        let auc_per_window = WINDOWS
            .iter()
            .enumerate()
            .map(|(wi, (name, _, _))| {
                let sel = move |p: &Patches, i: usize| p.rows[wi][i * nf..(i + 1) * nf].to_vec();
                (
                    name.to_string(),
                    held_out_auc(&real, &phantom, &sel, o.seed),
                )
            })
            .collect();
        let all_windows = |p: &Patches, i: usize| {
            (0..WINDOWS.len())
                .flat_map(|wi| p.rows[wi][i * nf..(i + 1) * nf].to_vec())
                .collect()
        };
        let auc_all = held_out_auc(&real, &phantom, &all_windows, o.seed);
        let profile = cohort
            .manifest
            .parameters
            .get("profile")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .or_else(|| Some(cohort.manifest.source.clone()));
        scores.push(CohortScore {
            cohort: label(dir),
            profile,
            cases: ids.len(),
            auc_per_window,
            auc_all_windows: auc_all,
            tissue,
        });
    }
    Ok(RealismReport {
        real_scans: o.real.iter().map(|p| label(p)).collect(),
        patches_per_scan: o.patches_per_scan,
        working_spacing_mm: o.working_spacing,
        real_tissue,
        scores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_have_the_declared_length_and_range() {
        let p: Vec<f32> = (0..3 * SIDE * SIDE)
            .map(|i| (i % 97) as f32 * 10.0 - 300.0)
            .collect();
        let mut out = Vec::new();
        features(&p, -160.0, 240.0, &mut out);
        assert_eq!(out.len(), n_features());
        assert!(out.iter().all(|v| v.is_finite() && *v >= 0.0 && *v <= 1.5));
    }

    #[test]
    fn held_out_auc_separates_different_textures_and_not_equal_ones() {
        let make = |seed: u64, noise: f32, n: usize| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let nf = n_features();
            let mut rows = vec![Vec::new(); WINDOWS.len()];
            for _ in 0..n {
                let p: Vec<f32> = (0..3 * SIDE * SIDE)
                    .map(|_| 40.0 + noise * (rng.random::<f32>() - 0.5))
                    .collect();
                for (w, (_, lo, hi)) in WINDOWS.iter().enumerate() {
                    features(&p, *lo, *hi, &mut rows[w]);
                }
            }
            assert_eq!(rows[0].len(), n * nf);
            Patches {
                rows,
                n,
                z: (0..n).collect(),
                nz: n,
            }
        };
        let nf = n_features();
        let sel = |p: &Patches, i: usize| p.rows[0][i * nf..(i + 1) * nf].to_vec();
        let real = vec![make(1, 60.0, 150), make(2, 60.0, 150)];
        let far = vec![make(3, 10.0, 100), make(4, 10.0, 100), make(5, 10.0, 100)];
        let same = vec![make(6, 60.0, 100), make(7, 60.0, 100), make(8, 60.0, 100)];
        let a_far = held_out_auc(&real, &far, &sel, 1);
        let a_same = held_out_auc(&real, &same, &sel, 1);
        assert!(a_far > 0.95, "{a_far}");
        assert!((a_same - 0.5).abs() < 0.12, "{a_same}");
    }
}
