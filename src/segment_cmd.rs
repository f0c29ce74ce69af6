//! `pancseg segment`: load a CT, run the pipeline with a bundle, write the mask, the optional
//! probability map and a JSON report; a progress bar (indicatif) when stderr is a terminal.

use pancseg::bundle::Bundle;
use pancseg::dicom_series::DicomReadOptions;
use pancseg::input::load_volume;
use pancseg::network::{Device, RuntimeOptions};
use pancseg::pipeline::{Method, SegmentOptions, SegmentationReport, Segmenter};
use serde::Serialize;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

pub struct SegmentArgs {
    pub input: PathBuf,
    pub output: PathBuf,
    pub model: Option<PathBuf>,
    pub method: Method,
    pub probability: Option<PathBuf>,
    pub device: Device,
    pub strict: bool,
    pub threads: usize,
    pub batch_size: usize,
    pub largest_component: bool,
    pub report: Option<PathBuf>,
    pub series: Option<String>,
    pub ort_library: Option<PathBuf>,
    pub truth: Option<PathBuf>,
    pub limits: pancseg::pipeline::Limits,
}

/// The JSON report of one run.
#[derive(Serialize)]
struct Report<'a> {
    pancseg_version: &'static str,
    input: String,
    output: String,
    bundle: String,
    onnx_runtime: String,
    dims_xyz: [usize; 3],
    spacing_mm: [f64; 3],
    load_seconds: f64,
    load_model_seconds: f64,
    write_seconds: f64,
    /// DSC against `--truth`, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    dsc: Option<f64>,
    #[serde(flatten)]
    segmentation: &'a SegmentationReport,
}

pub fn run(a: &SegmentArgs) -> pancseg::Result<()> {
    let t0 = Instant::now();
    // the limits are checked again by the pipeline; checking the header's dims here first would
    // need a header-only reader, so a too-large file is refused right after it is read
    let loaded = load_volume(
        &a.input,
        &DicomReadOptions {
            series_uid: a.series.clone(),
        },
    )?;
    let ct = loaded.volume;
    a.limits.check(ct.data.len() as u64)?;
    // the reference is read first so a bad file fails before the (long) segmentation
    let truth = match &a.truth {
        None => None,
        Some(p) => {
            let t = load_volume(p, &DicomReadOptions::default())?.volume;
            if t.data.dim() != ct.data.dim() {
                return Err(pancseg::Error::InvalidArgument(format!(
                    "{}: dims {:?} differ from the CT's {:?}",
                    p.display(),
                    t.dims_xyz(),
                    ct.dims_xyz()
                )));
            }
            Some(t.data.mapv(|v| u8::from(v > 0.5)))
        }
    };
    let load_seconds = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let bundle = match &a.model {
        Some(dir) => Bundle::load(dir)?,
        None => Bundle::load_default()?,
    };
    let bundle_dir = bundle.dir.display().to_string();
    let runtime = RuntimeOptions {
        device: a.device,
        strict: a.strict,
        intra_threads: 0,
        ort_library: a.ort_library.clone(),
        batch_size: a.batch_size,
    };
    let seg = Segmenter::new(bundle, runtime, a.threads)?.with_limits(a.limits);
    let load_model_seconds = t1.elapsed().as_secs_f64();
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new(1000);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} segmenting [{bar:40}] {percent:>3}% {elapsed_precise}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    });
    let cb = |v: f32| {
        if let Some(b) = &bar {
            b.set_position((v * 1000.0) as u64);
        }
    };
    let opts = SegmentOptions {
        method: a.method,
        probability: a.probability.is_some(),
        largest_component: a.largest_component,
        progress: Some(&cb),
        cancel: None,
    };
    let result = seg.segment(&ct, &opts);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let result = result?;
    let t2 = Instant::now();
    pancseg::nifti_io::write_nifti(&a.output, &result.mask)?;
    if let (Some(path), Some(p)) = (&a.probability, &result.probability) {
        pancseg::nifti_io::write_nifti(path, p)?;
    }
    let write_seconds = t2.elapsed().as_secs_f64();
    let r = &result.report;
    let dsc = truth
        .as_ref()
        .and_then(|t| pancseg::metrics::dice(&result.mask.data, t));
    if let Some(path) = &a.report {
        let report = Report {
            pancseg_version: env!("CARGO_PKG_VERSION"),
            input: a.input.display().to_string(),
            output: a.output.display().to_string(),
            bundle: bundle_dir,
            onnx_runtime: pancseg::runtime::runtime_version(a.ort_library.as_deref())?,
            dims_xyz: ct.dims_xyz(),
            spacing_mm: ct.geometry.spacing,
            load_seconds,
            load_model_seconds,
            write_seconds,
            dsc,
            segmentation: r,
        };
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| pancseg::Error::Internal(format!("report: {e}")))?;
        std::fs::write(path, text + "\n").map_err(|e| pancseg::Error::Io {
            path: path.clone(),
            source: e,
        })?;
    }
    let stages: Vec<String> = r
        .stage_seconds
        .iter()
        .map(|s| format!("{} {:.2}", s.stage, s.seconds))
        .collect();
    println!(
        "wrote {}: pancreas {:.1} mL ({} voxels), method {}, {} candidates, provider {}, {:.1} s (stages, s: {})",
        a.output.display(),
        r.pancreas_ml,
        r.pancreas_voxels,
        r.method,
        r.candidates,
        r.provider,
        r.total_seconds,
        stages.join(", ")
    );
    if let Some(d) = dsc {
        println!(
            "DSC against {}: {d:.3}",
            a.truth
                .as_deref()
                .unwrap_or(std::path::Path::new(""))
                .display()
        );
    }
    Ok(())
}
