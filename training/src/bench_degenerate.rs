//! `pancseg-train bench degenerate`: what inputs without anatomy cost. A generated phantom is
//! segmented by the release `pancseg` binary, then blocks of the same size and geometry that hold
//! no body (uniform 0, 40, 1000 and -1000 HU, Gaussian noise) and the same phantom with a
//! physically absurd spacing (1e4 mm, refused before any work). The target: no block costs more
//! than [`TARGET_RATIO`] times the phantom (wall time of the whole process, loading included, as
//! a ratio measured in the same run). Speed lives here, never in unit tests.

use crate::bench_pipeline::{classic_phantom, pancseg_binary};
use crate::error::{Result, TrainError};
use crate::phantom::PhantomSize;
use pancseg::io::nifti::{read_nifti, write_ct};
use pancseg::Volume;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// The most a degenerate input may cost, as a multiple of anatomy of the same size.
pub const TARGET_RATIO: f64 = 3.0;

/// One input and what became of it.
struct Outcome {
    name: String,
    wall: f64,
    text: String,
}

/// Runs the release binary on `case_dir/ct.nii.gz`; the wall time of the whole process and a
/// summary (the painted volume and candidates, or the refusal's message).
fn run_block(
    bin: &Path,
    model: &Path,
    case_dir: &Path,
    work: &Path,
    name: &str,
) -> Result<Outcome> {
    let t = Instant::now();
    let o = Command::new(bin)
        .arg("segment")
        .arg(case_dir.join("ct.nii.gz"))
        .arg(work.join(format!("mask_{name}.nii.gz")))
        .arg("--model")
        .arg(model)
        .arg("--threads")
        .arg("2")
        .output()
        .map_err(|e| TrainError::io(bin, e))?;
    let wall = t.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    let text = if o.status.success() {
        let line = stdout
            .lines()
            .find(|l| l.starts_with("wrote"))
            .unwrap_or("");
        let pick = |key: &str| {
            line.split(", ")
                .find(|p| p.contains(key))
                .map(|p| p.trim().to_string())
                .unwrap_or_default()
        };
        format!(
            "{}; {}",
            line.split(": ")
                .nth(1)
                .and_then(|s| s.split(" (").next())
                .unwrap_or("?"),
            pick("candidates")
        )
    } else {
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        format!("refused (exit {}): {last}", o.status.code().unwrap_or(-1))
    };
    Ok(Outcome {
        name: name.to_string(),
        wall,
        text,
    })
}

/// Writes `ct` as `work/name/ct.nii.gz` and returns the case directory.
fn write_block(work: &Path, name: &str, ct: &Volume) -> Result<std::path::PathBuf> {
    let dir = work.join(name);
    std::fs::create_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
    write_ct(dir.join("ct.nii.gz"), ct).map_err(TrainError::from)?;
    Ok(dir)
}

/// Runs the benchmark; returns a Markdown report.
pub fn bench_degenerate(model: &Path, size: PhantomSize, seed: u64) -> Result<String> {
    let bin = pancseg_binary()?;
    let work =
        std::env::temp_dir().join(format!("pancseg-bench-degenerate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let case = classic_phantom(&work, seed, size)?;
    let anatomy = read_nifti(case.join("ct.nii.gz"))
        .map_err(TrainError::from)?
        .volume;
    let mut outcomes = vec![run_block(&bin, model, &case, &work, "anatomy")?];
    let uniform = |hu: f32| Volume {
        data: anatomy.data.mapv(|_| hu),
        geometry: anatomy.geometry,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let noise = Volume {
        data: anatomy.data.mapv(|_| {
            (rng.random::<f32>() + rng.random::<f32>() + rng.random::<f32>() - 1.5) * 600.0
        }),
        geometry: anatomy.geometry,
    };
    let mut absurd = anatomy.clone();
    absurd.geometry.spacing = [1.0e4; 3];
    let blocks: Vec<(&str, Volume)> = vec![
        ("uniform 0 HU", uniform(0.0)),
        ("uniform 40 HU", uniform(40.0)),
        ("uniform 1000 HU", uniform(1000.0)),
        ("uniform -1000 HU (air)", uniform(-1000.0)),
        ("noise (sd 300 HU)", noise),
        ("phantom, spacing 1e4 mm", absurd),
    ];
    for (i, (name, ct)) in blocks.iter().enumerate() {
        let dir = write_block(&work, &format!("block_{i}"), ct)?;
        let mut o = run_block(&bin, model, &dir, &work, &format!("block_{i}"))?;
        o.name = name.to_string();
        outcomes.push(o);
    }
    let (nx, ny, nz) = {
        let (z, y, x) = anatomy.data.dim();
        (x, y, z)
    };
    let base = outcomes[0].wall;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{nx} x {ny} x {nz} voxels of {:.2} x {:.2} x {:.2} mm (classic phantom, seed {seed}); bundle {}; binary {}; 2 threads\n",
        anatomy.geometry.spacing[0],
        anatomy.geometry.spacing[1],
        anatomy.geometry.spacing[2],
        model.display(),
        bin.display()
    );
    let _ = writeln!(out, "| input | wall s | / anatomy | outcome |");
    let _ = writeln!(out, "|---|---|---|---|");
    let mut worst: f64 = 0.0;
    for o in &outcomes {
        let ratio = o.wall / base;
        worst = worst.max(ratio);
        let _ = writeln!(
            out,
            "| {} | {:.1} | {ratio:.2} | {} |",
            o.name, o.wall, o.text
        );
    }
    let _ = writeln!(
        out,
        "\nTarget: every input at most {TARGET_RATIO} x the anatomy's time: {} (worst {worst:.2} x)",
        if worst <= TARGET_RATIO { "met" } else { "NOT met" }
    );
    let _ = std::fs::remove_dir_all(&work);
    Ok(out)
}
