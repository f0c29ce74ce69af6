//! `pancseg-train bench pipeline`: end-to-end segmentation time and peak memory of the library
//! on a generated phantom, against the targets (a full-size 512 x 512 x 250 phantom in at most
//! 6 s on a 2-core machine; peak memory at most 2x the f32 volume plus the models; identical
//! masks for every thread count), and optionally the same phantom segmented by a reference
//! binary and bundle (an earlier release) in the same run, for the ratio.
//!
//! Each run is the release `pancseg segment` binary in a child process (found next to this
//! executable), so the phantom generator's memory does not count: time and peak resident memory
//! (VmHWM, loading included) come from the child's own `--report`.

use crate::error::{Result, TrainError};
use crate::phantom::{generate_cohort, CohortOptions, PhantomSize};
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Target wall time of a full-size phantom (seconds).
pub const TARGET_SECONDS: f64 = 6.0;
/// Target peak memory, as a multiple of the f32 volume (plus the models).
pub const TARGET_MEMORY_RATIO: f64 = 2.0;

/// A run of one binary on the phantom.
struct Run {
    total: f64,
    load: f64,
    stages: Vec<String>,
    peak: f64,
    f32_bytes: f64,
    ml: f64,
    mask: ndarray::Array3<u8>,
}

/// Segments `case` with `bin` and `model` on `t` threads.
fn run_once(
    bin: &Path,
    model: &Path,
    case: &Path,
    work: &Path,
    tag: &str,
    t: usize,
) -> Result<Run> {
    let mask = work.join(format!("mask_{tag}_{t}.nii.gz"));
    let report = work.join(format!("report_{tag}_{t}.json"));
    let o = Command::new(bin)
        .arg("segment")
        .arg(case.join("ct.nii.gz"))
        .arg(&mask)
        .arg("--model")
        .arg(model)
        .arg("--threads")
        .arg(t.to_string())
        .arg("--report")
        .arg(&report)
        .output()
        .map_err(|e| TrainError::io(bin, e))?;
    if !o.status.success() {
        return Err(TrainError::Invalid(format!(
            "{} segment failed: {}",
            bin.display(),
            String::from_utf8_lossy(&o.stderr)
        )));
    }
    let text = std::fs::read_to_string(&report).map_err(|e| TrainError::io(&report, e))?;
    let r: serde_json::Value = serde_json::from_str(&text).map_err(|e| TrainError::Json {
        path: report.clone(),
        source: e,
    })?;
    let dims: Vec<u64> = r["dims_xyz"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_u64()).collect())
        .unwrap_or_default();
    let stages = r["stage_seconds"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|s| s["seconds"].as_f64().unwrap_or(0.0) >= 0.05)
                .map(|s| {
                    format!(
                        "{} {:.1}",
                        s["stage"].as_str().unwrap_or("?"),
                        s["seconds"].as_f64().unwrap_or(0.0)
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mask = pancseg::io::nifti::read_nifti(&mask)
        .map_err(TrainError::from)?
        .volume
        .data
        .mapv(|v| u8::from(v > 0.5));
    Ok(Run {
        total: r["total_seconds"].as_f64().unwrap_or(f64::NAN),
        load: r["load_seconds"].as_f64().unwrap_or(f64::NAN),
        stages,
        peak: r["peak_rss_bytes"].as_f64().unwrap_or(f64::NAN),
        f32_bytes: dims.iter().product::<u64>() as f64 * 4.0,
        ml: r["pancreas_ml"].as_f64().unwrap_or(f64::NAN),
        mask,
    })
}

pub(crate) fn pancseg_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe().map_err(|e| TrainError::io("current executable", e))?;
    let name = if cfg!(windows) {
        "pancseg.exe"
    } else {
        "pancseg"
    };
    let p = exe
        .parent()
        .map(|d| d.join(name))
        .ok_or_else(|| TrainError::Invalid("no executable directory".into()))?;
    if p.is_file() {
        Ok(p)
    } else {
        Err(TrainError::Invalid(format!(
            "{} not found: build both binaries (cargo build --release --workspace --bins)",
            p.display()
        )))
    }
}

/// Generates one classic phantom (NIfTI) into `work`; its case directory.
pub(crate) fn classic_phantom(work: &Path, seed: u64, size: PhantomSize) -> Result<PathBuf> {
    generate_cohort(&CohortOptions {
        count: 1,
        seed,
        size,
        profile: crate::phantom::Profile::Classic,
        framings: Vec::new(),
        out: work.to_path_buf(),
        nifti: true,
        dicom: false,
        progress: false,
    })?;
    Ok(work.join("case_001"))
}

fn bundle_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| e.ok())
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Runs the benchmark; returns a Markdown report. `reference`: another `pancseg` binary and
/// its bundle, run on the same phantom for the ratio.
pub fn bench_pipeline(
    model: &Path,
    size: PhantomSize,
    seed: u64,
    threads: &[usize],
    reference: Option<(&Path, &Path)>,
) -> Result<String> {
    let bin = pancseg_binary()?;
    let work = std::env::temp_dir().join(format!("pancseg-bench-pipeline-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let case = classic_phantom(&work, seed, size)?;
    let models = bundle_bytes(model);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "phantom: {:?}, seed {seed}; bundle {} ({models} bytes); binary {}\n",
        size,
        model.display(),
        bin.display()
    );
    let _ = writeln!(
        out,
        "| run | threads | total s | load s | stages (s) | peak RSS MB | peak / f32 volume | pancreas mL | DSC |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    // the DSC is computed here, not by the child with --truth: reading the reference would add
    // its own volume to the child's peak memory
    let truth = pancseg::io::nifti::read_nifti(case.join("label.nii.gz"))
        .map_err(TrainError::from)?
        .volume
        .data
        .mapv(|v| u8::from(v > 0.5));
    let row = |out: &mut String, tag: &str, t: usize, r: &Run, models: u64| {
        let ratio = (r.peak - models as f64) / r.f32_bytes;
        let dsc = pancseg::eval::metrics::dice(&r.mask, &truth).unwrap_or(f64::NAN);
        let _ = writeln!(
            out,
            "| {tag} | {t} | {:.1} | {:.1} | {} | {:.0} | {ratio:.2} | {:.1} | {dsc:.3} |",
            r.total,
            r.load,
            r.stages.join(", "),
            r.peak / 1e6,
            r.ml
        );
        ratio
    };
    let mut masks = Vec::new();
    let mut verdict = (f64::INFINITY, f64::INFINITY, 0.0);
    for &t in threads {
        let r = run_once(&bin, model, &case, &work, "this", t)?;
        let ratio = row(&mut out, "this", t, &r, models);
        verdict = (verdict.0.min(r.total), verdict.1.min(ratio), r.f32_bytes);
        masks.push(r.mask);
    }
    let mut speedup = String::new();
    if let Some((rbin, rmodel)) = reference {
        let t = threads.first().copied().unwrap_or(2);
        let r = run_once(rbin, rmodel, &case, &work, "reference", t)?;
        row(&mut out, "reference", t, &r, bundle_bytes(rmodel));
        speedup = format!(
            "; the reference ({}, bundle {}) took {:.1} s on {t} threads: {:.1}x faster",
            rbin.display(),
            rmodel.display(),
            r.total,
            r.total / verdict.0
        );
    }
    let identical = masks.windows(2).all(|w| w[0] == w[1]);
    let _ = writeln!(
        out,
        "\nf32 volume {:.0} MB. Targets: total <= {TARGET_SECONDS} s: {} (best {:.1} s{speedup}); peak <= {TARGET_MEMORY_RATIO} x volume + models: {} (best {:.2} x); masks identical across thread counts: {}",
        verdict.2 / 1e6,
        if verdict.0 <= TARGET_SECONDS { "met" } else { "NOT met" },
        verdict.0,
        if verdict.1 <= TARGET_MEMORY_RATIO { "met" } else { "NOT met" },
        verdict.1,
        if identical { "yes" } else { "NO" }
    );
    let _ = std::fs::remove_dir_all(&work);
    Ok(out)
}
