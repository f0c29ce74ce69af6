//! `pancseg batch`: segments the scans of a manifest with one bundle load, up to `--jobs` scans
//! at a time on the machine's threads, each into `OUT/<case id>/` (mask, optional DICOM
//! Segmentation and RT Structure Set, and the case report written last, every file atomically).
//! A scan that fails is recorded in its report and the run goes on; a rerun skips the cases that
//! are done ([`outputs`]); `--shard I/N` takes a stable share of the manifest ([`manifest`]) so
//! the workers of an array job split it without coordination. `pancseg batch-summary` merges the
//! reports ([`summary`]).
//!
//! DICOM outputs are written for DICOM inputs that can be referenced; for a NIfTI input, or a
//! series anonymised down to empty study UIDs, the case report notes why they were not, and the
//! mask is still written.
//!
//! Exit status: 0 when every case of the shard is done, 3 when the run finished but some scans
//! failed (their reports say why), 1 when the run itself could not start (manifest, bundle).

pub mod manifest;
pub mod outputs;
pub mod summary;

use manifest::{read_manifest, Case, Shard};
use outputs::{is_done, remove_temporaries, write_atomic, write_json_atomic, Output, Settings};
use pancseg::{
    dice, load_volume, surface_distances, write_dicom_seg, write_nifti, write_rtstruct, Bundle,
    Device, Limits, Method, RtStructWriteOptions, RuntimeOptions, SegWriteOptions, SegmentOptions,
    SegmentationReport, Segmenter, SeriesSelection, Source, DEFAULT_BATCH_SIZE,
};
use serde::Serialize;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Arguments of `pancseg batch`.
#[derive(clap::Args)]
pub struct BatchArgs {
    /// The scans: CSV with a header row (id,input[,truth][,series]) or JSON Lines with the same
    /// keys; relative paths are taken from the manifest's folder.
    #[arg(long)]
    pub manifest: PathBuf,
    /// Output folder: one folder per case id, shared by all shards.
    #[arg(long)]
    pub out: PathBuf,
    /// This worker's share `I/N` (0 <= I < N) of the manifest, by a stable hash of the case id.
    #[arg(long)]
    pub shard: Option<Shard>,
    /// Scans segmented at the same time (they share the threads).
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Worker threads for all scans together (0: every core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Model bundle directory (default: the installed default bundle, or PANCSEG_MODEL_DIR).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// g-p2 (default), g-p0, g-p1, p0, p1, p2 or crf-p2.
    #[arg(long, default_value = "g-p2")]
    pub method: Method,
    /// Keep only the largest connected component of each mask.
    #[arg(long)]
    pub largest_component: bool,
    /// Also write each mask as a DICOM Segmentation (seg.dcm) for DICOM inputs.
    #[arg(long)]
    pub dicom_seg: bool,
    /// Also write each mask as an RT Structure Set (rtstruct.dcm) for DICOM inputs.
    #[arg(long)]
    pub rtstruct: bool,
    /// cpu, cuda or cuda:N (CUDA falls back to the CPU, reported).
    #[arg(long, default_value = "cpu")]
    pub device: Device,
    /// The ONNX Runtime library (default: ORT_DYLIB_PATH or the standard locations).
    #[arg(long)]
    pub ort_library: Option<PathBuf>,
    /// Refuse volumes with more voxels.
    #[arg(long, default_value_t = 1 << 28)]
    pub max_voxels: u64,
    /// Refuse volumes whose segmentation would need more memory, in MiB (per scan).
    #[arg(long, default_value_t = 4096)]
    pub memory_budget_mb: u64,
}

/// The report of one case, `OUT/<id>/report.json`.
#[derive(Serialize)]
struct CaseReport<'a> {
    pancseg_version: &'static str,
    id: &'a str,
    input: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    truth: Option<String>,
    /// ok or failed.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    shard: String,
    settings: &'a Settings,
    outputs: Vec<Output>,
    notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    volume_ml: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dsc: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assd_mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hd95_mm: Option<f64>,
    load_seconds: f64,
    segment_seconds: f64,
    write_seconds: f64,
    total_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    series_selection: Option<SeriesSelection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    segmentation: Option<SegmentationReport>,
}

/// How a batch run ended: the scans of the shard that failed.
pub struct BatchOutcome {
    pub failed: usize,
}

/// What one case gave.
struct Done {
    outputs: Vec<Output>,
    notes: Vec<String>,
    volume_ml: f64,
    metrics: (Option<f64>, Option<f64>, Option<f64>),
    times: (f64, f64, f64),
    selection: Option<SeriesSelection>,
    report: SegmentationReport,
}

fn segment_case(
    seg: &Segmenter,
    a: &BatchArgs,
    case: &Case,
    dir: &Path,
    settings: &Settings,
) -> pancseg::Result<Done> {
    let t0 = Instant::now();
    let series = case.series.as_deref().unwrap_or("auto");
    let loaded = load_volume(
        &case.input,
        &crate::cli::dicom_options(series, a.max_voxels),
    )?;
    let ct = loaded.volume;
    let truth = case
        .truth
        .as_deref()
        .map(|p| crate::cli::load_truth(p, &ct))
        .transpose()?;
    let (selection, reference) = match loaded.source {
        Source::Dicom {
            selection,
            reference,
            ..
        } => (Some(selection), Some(reference)),
        Source::Nifti { .. } => (None, None),
    };
    let mut notes = Vec::new();
    let referencable = match &reference {
        Some(r) => match r.check_referencable(&case.input) {
            Ok(()) => true,
            Err(e) => {
                if settings.dicom_seg || settings.rtstruct {
                    notes.push(format!("DICOM outputs not written: {}", e.chain()));
                }
                false
            }
        },
        None => {
            if settings.dicom_seg || settings.rtstruct {
                notes.push("DICOM outputs not written: the input is NIfTI".into());
            }
            false
        }
    };
    let load_seconds = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let opts = SegmentOptions {
        method: a.method,
        probability: false,
        largest_component: a.largest_component,
        progress: None,
        cancel: None,
    };
    let result = seg.segment(&ct, &opts)?;
    let segment_seconds = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    let mut outputs = vec![write_atomic(dir, "mask.nii.gz", |p| {
        write_nifti(p, &result.mask)
    })?];
    if let (true, Some(source)) = (referencable, &reference) {
        let params = format!("method={}; bundle={}", a.method, settings.bundle);
        if settings.dicom_seg {
            let o = SegWriteOptions {
                algorithm_parameters: params.clone(),
                ..SegWriteOptions::default()
            };
            outputs.push(write_atomic(dir, "seg.dcm", |p| {
                write_dicom_seg(&result.mask, source, p, &o).map(|_| ())
            })?);
        }
        if settings.rtstruct {
            let o = RtStructWriteOptions {
                algorithm_parameters: params,
                ..RtStructWriteOptions::default()
            };
            outputs.push(write_atomic(dir, "rtstruct.dcm", |p| {
                write_rtstruct(&result.mask, source, p, &o).map(|_| ())
            })?);
        }
    }
    let dsc = truth.as_ref().and_then(|t| dice(&result.mask.data, t));
    let surface = truth
        .as_ref()
        .and_then(|t| surface_distances(&result.mask.data, t, ct.geometry.spacing));
    Ok(Done {
        outputs,
        notes,
        volume_ml: result.report.pancreas_ml,
        metrics: (dsc, surface.map(|s| s.assd), surface.map(|s| s.hd95)),
        times: (load_seconds, segment_seconds, t2.elapsed().as_secs_f64()),
        selection,
        report: result.report,
    })
}

/// Segments one case and writes its report; returns whether it succeeded and its volume.
fn run_case(
    seg: &Segmenter,
    a: &BatchArgs,
    case: &Case,
    settings: &Settings,
    shard: &str,
) -> (bool, String) {
    let t0 = Instant::now();
    let dir = a.out.join(&case.id);
    let prepared = std::fs::create_dir_all(&dir).map_err(|e| pancseg::Error::Io {
        path: dir.clone(),
        source: e,
    });
    remove_temporaries(&dir);
    // an earlier report goes first, so that no report describes outputs being replaced
    let _ = std::fs::remove_file(dir.join(outputs::REPORT));
    let outcome = prepared.and_then(|()| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            segment_case(seg, a, case, &dir, settings)
        }))
        .unwrap_or_else(|_| Err(pancseg::Error::Internal("panic while segmenting".into())))
    });
    let mut report = CaseReport {
        pancseg_version: env!("CARGO_PKG_VERSION"),
        id: &case.id,
        input: case.input.display().to_string(),
        truth: case.truth.as_ref().map(|t| t.display().to_string()),
        status: "failed",
        error: None,
        shard: shard.to_string(),
        settings,
        outputs: Vec::new(),
        notes: Vec::new(),
        volume_ml: None,
        dsc: None,
        assd_mm: None,
        hd95_mm: None,
        load_seconds: 0.0,
        segment_seconds: 0.0,
        write_seconds: 0.0,
        total_seconds: 0.0,
        series_selection: None,
        segmentation: None,
    };
    let line = match outcome {
        Ok(d) => {
            report.status = "ok";
            report.outputs = d.outputs;
            report.notes = d.notes;
            report.volume_ml = Some(d.volume_ml);
            (report.dsc, report.assd_mm, report.hd95_mm) = d.metrics;
            (
                report.load_seconds,
                report.segment_seconds,
                report.write_seconds,
            ) = d.times;
            report.series_selection = d.selection;
            report.segmentation = Some(d.report);
            format!(
                "ok, {:.1} mL{}",
                d.volume_ml,
                report
                    .dsc
                    .map_or(String::new(), |x| format!(", DSC {x:.3}"))
            )
        }
        Err(e) => {
            report.error = Some(e.chain());
            format!("FAILED: {}", e.chain())
        }
    };
    report.total_seconds = t0.elapsed().as_secs_f64();
    let ok = report.status == "ok";
    match write_json_atomic(&dir, outputs::REPORT, &report) {
        Ok(_) => (ok, format!("{line} ({:.1} s)", report.total_seconds)),
        Err(e) => (
            false,
            format!("FAILED: cannot write the report: {}", e.chain()),
        ),
    }
}

/// `pancseg batch`.
pub fn run(a: &BatchArgs) -> pancseg::Result<BatchOutcome> {
    let start = Instant::now();
    if a.jobs == 0 {
        return Err(pancseg::Error::InvalidArgument(
            "--jobs must be at least 1".into(),
        ));
    }
    let shard = a.shard.unwrap_or(Shard { index: 0, count: 1 });
    let cases: Vec<Case> = read_manifest(&a.manifest)?
        .into_iter()
        .filter(|c| shard.holds(&c.id))
        .collect();
    std::fs::create_dir_all(&a.out).map_err(|e| pancseg::Error::Io {
        path: a.out.clone(),
        source: e,
    })?;
    let bundle = match &a.model {
        Some(dir) => Bundle::load(dir)?,
        None => Bundle::load_default()?,
    };
    let settings = Settings {
        method: a.method.to_string(),
        bundle: bundle.dir.display().to_string(),
        bundle_id: outputs::sha256_file(&bundle.dir.join("manifest.json"))?,
        largest_component: a.largest_component,
        dicom_seg: a.dicom_seg,
        rtstruct: a.rtstruct,
    };
    let runtime = RuntimeOptions {
        device: a.device,
        strict: false,
        intra_threads: 0,
        ort_library: a.ort_library.clone(),
        batch_size: DEFAULT_BATCH_SIZE,
        cpu_arena: false,
    };
    let seg = Segmenter::new(bundle, runtime, a.threads)?.with_limits(Limits {
        max_voxels: a.max_voxels,
        memory_budget: a.memory_budget_mb.saturating_mul(1 << 20),
    });
    let (todo, done): (Vec<&Case>, Vec<&Case>) = cases
        .iter()
        .partition(|c| !is_done(&a.out.join(&c.id), &settings));
    let shard_name = shard.to_string();
    println!(
        "pancseg batch: shard {shard_name}: {} of the manifest's cases, {} done before, {} to segment, {} at a time on {} threads",
        cases.len(),
        done.len(),
        todo.len(),
        a.jobs.min(todo.len().max(1)),
        seg.threads()
    );
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new(todo.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{bar:40}] {pos}/{len} scans {msg} {elapsed_precise} ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    });
    let next = AtomicUsize::new(0);
    let tally = Mutex::new((0usize, 0usize)); // segmented, failed
    std::thread::scope(|s| {
        for _ in 0..a.jobs.min(todo.len()) {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = todo.get(k) else { break };
                let (ok, line) = run_case(&seg, a, case, &settings, &shard_name);
                let mut t = tally.lock().unwrap_or_else(|e| e.into_inner());
                if ok {
                    t.0 += 1;
                } else {
                    t.1 += 1;
                }
                let text = format!("[{}/{}] {}: {line}", t.0 + t.1, todo.len(), case.id);
                match &bar {
                    Some(b) => {
                        b.set_message(format!("({} failed)", t.1));
                        b.inc(1);
                        if !ok {
                            b.println(text);
                        }
                    }
                    None => println!("{text}"),
                }
            });
        }
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let (segmented, failed) = *tally.lock().unwrap_or_else(|e| e.into_inner());
    println!(
        "pancseg batch: shard {shard_name}: {segmented} segmented, {} skipped (done before), {failed} failed, in {:.1} s",
        done.len(),
        start.elapsed().as_secs_f64()
    );
    if a.shard.is_none() {
        let t = summary::write_summary(&a.out, Some(&a.manifest))?;
        println!(
            "wrote {}/summary.json and summary.csv: {} ok, {} failed, {} missing",
            a.out.display(),
            t.ok,
            t.failed,
            t.missing
        );
    } else {
        println!(
            "after every shard: pancseg batch-summary {} --manifest {}",
            a.out.display(),
            a.manifest.display()
        );
    }
    Ok(BatchOutcome { failed })
}

/// The exit code of a finished batch run (see the module doc).
pub fn exit_code(o: &BatchOutcome) -> u8 {
    if o.failed > 0 {
        3
    } else {
        0
    }
}
