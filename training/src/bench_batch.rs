//! `pancseg-train bench batch`: scans per hour of `pancseg batch` (one bundle load for the whole
//! manifest) against a shell loop of `pancseg segment` over the same manifest, in the same run,
//! on generated phantoms; the masks of the two must be identical. Speed lives here, never in
//! unit tests.

use crate::bench_pipeline::pancseg_binary;
use crate::error::{Result, TrainError};
use crate::phantom::{generate_cohort, CohortOptions, PhantomSize};
use pancseg::io::nifti::read_nifti;
use std::fmt::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn run(cmd: &mut Command, what: &str) -> Result<f64> {
    let t = Instant::now();
    let o = cmd.output().map_err(|e| TrainError::io(what, e))?;
    if !o.status.success() {
        return Err(TrainError::Invalid(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )));
    }
    Ok(t.elapsed().as_secs_f64())
}

/// Runs the benchmark on `count` classic phantoms of `size` with `model` on `threads` threads;
/// returns a Markdown report.
pub fn bench_batch(
    model: &Path,
    size: PhantomSize,
    count: usize,
    seed: u64,
    threads: usize,
) -> Result<String> {
    let bin = pancseg_binary()?;
    let dir = std::env::temp_dir().join(format!("pancseg-bench-batch-{}", std::process::id()));
    let report = measure(&bin, &dir, model, size, count, seed, threads);
    let _ = std::fs::remove_dir_all(&dir);
    report
}

fn measure(
    bin: &Path,
    work: &Path,
    model: &Path,
    size: PhantomSize,
    count: usize,
    seed: u64,
    threads: usize,
) -> Result<String> {
    let cohort = work.join("cohort");
    generate_cohort(&CohortOptions {
        count,
        seed,
        size,
        profile: crate::phantom::Profile::Classic,
        framings: Vec::new(),
        out: cohort.clone(),
        nifti: true,
        dicom: false,
        progress: false,
    })?;
    let ids: Vec<String> = (1..=count).map(|k| format!("case_{k:03}")).collect();
    let manifest = work.join("manifest.csv");
    let mut text = String::from("id,input\n");
    for id in &ids {
        let _ = writeln!(text, "{id},cohort/{id}/ct.nii.gz");
    }
    std::fs::write(&manifest, text).map_err(|e| TrainError::io(&manifest, e))?;
    let threads = threads.to_string();

    // the shell loop: one process (and one bundle load) per scan
    let loop_dir = work.join("loop");
    std::fs::create_dir_all(&loop_dir).map_err(|e| TrainError::io(&loop_dir, e))?;
    let t = Instant::now();
    for id in &ids {
        run(
            Command::new(bin)
                .arg("segment")
                .arg(cohort.join(id).join("ct.nii.gz"))
                .arg(loop_dir.join(format!("{id}.nii.gz")))
                .arg("--model")
                .arg(model)
                .args(["--threads", &threads]),
            "pancseg segment",
        )?;
    }
    let loop_wall = t.elapsed().as_secs_f64();

    let mut rows = vec![("shell loop of `pancseg segment`".to_string(), loop_wall)];
    for jobs in [1usize, 2] {
        let out = work.join(format!("batch{jobs}"));
        let wall = run(
            Command::new(bin)
                .arg("batch")
                .arg("--manifest")
                .arg(&manifest)
                .arg("--out")
                .arg(&out)
                .arg("--model")
                .arg(model)
                .args(["--threads", &threads, "--jobs", &jobs.to_string()]),
            "pancseg batch",
        )?;
        for id in &ids {
            let a = read_nifti(loop_dir.join(format!("{id}.nii.gz")))?.volume;
            let b = read_nifti(out.join(id).join("mask.nii.gz"))?.volume;
            if a.data != b.data {
                return Err(TrainError::Invalid(format!(
                    "{id}: the masks of the loop and of batch --jobs {jobs} differ"
                )));
            }
        }
        rows.push((format!("`pancseg batch --jobs {jobs}`"), wall));
    }
    let mut r = String::new();
    let _ = writeln!(
        r,
        "# pancseg batch against a shell loop ({count} {size:?} classic phantoms, seed {seed}, {threads} threads, bundle {})\n",
        model.display()
    );
    let _ = writeln!(r, "| run | wall (s) | scans per hour | vs the loop |");
    let _ = writeln!(r, "|---|---|---|---|");
    for (name, wall) in &rows {
        let _ = writeln!(
            r,
            "| {name} | {wall:.1} | {:.0} | {:.2}x |",
            count as f64 * 3600.0 / wall,
            loop_wall / wall
        );
    }
    let _ = writeln!(
        r,
        "\nMasks of every batch run identical to the loop's for all {count} scans."
    );
    Ok(r)
}
