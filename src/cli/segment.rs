//! `pancseg segment`: load a CT, run the pipeline with a bundle, write the mask, the optional
//! probability map and a JSON report; a progress bar (indicatif) when stderr is a terminal.

use pancseg::Bundle;
use pancseg::SeriesSelection;
use pancseg::{dice, runtime_version, surface_distances, write_nifti, DEFAULT_BATCH_SIZE};
use pancseg::{load_volume, Source};
use pancseg::{write_dicom_seg, write_rtstruct, RtStructWriteOptions, SegWriteOptions};
use pancseg::{Device, RuntimeOptions};
use pancseg::{FieldOfView, Landmark};
use pancseg::{Limits, Method, SegmentOptions, SegmentationReport, Segmenter};
use serde::Serialize;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `pancseg segment`.
#[derive(clap::Args)]
pub struct SegmentArgs {
    /// The CT: a NIfTI file (.nii, .nii.gz) or a DICOM directory.
    pub input: PathBuf,
    /// Output mask, ending in .nii or .nii.gz.
    pub output: PathBuf,
    /// Model bundle directory (default: the installed default bundle, or PANCSEG_MODEL_DIR).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// g-p2 (default), g-p0, g-p1, p0, p1, p2 or crf-p2.
    #[arg(long, default_value = "g-p2")]
    pub method: Method,
    /// Also write the probability map the mask was thresholded from (float32 NIfTI).
    #[arg(long)]
    pub probability: Option<PathBuf>,
    /// cpu, cuda or cuda:N. CUDA falls back to the CPU (reported) unless --strict.
    #[arg(long, default_value = "cpu")]
    pub device: Device,
    /// Fail instead of falling back to the CPU when the CUDA device is not usable.
    #[arg(long)]
    pub strict: bool,
    /// Worker threads (0: every core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Network inputs per ONNX Runtime call.
    #[arg(long, default_value_t = DEFAULT_BATCH_SIZE)]
    pub batch_size: usize,
    /// Use ONNX Runtime's CPU memory arena: a few percent faster, about 100 MB more peak memory
    /// on a full-size scan.
    #[arg(long)]
    pub cpu_arena: bool,
    /// Keep only the largest connected component of the mask.
    #[arg(long)]
    pub largest_component: bool,
    /// Write a JSON report (pancreas volume, provider, stage times, peak memory).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Which DICOM series: `auto` (the selection policy: original axial CT, soft-tissue kernel,
    /// 1-3 mm slices preferred; see `pancseg info --series-list`) or a SeriesInstanceUID.
    #[arg(long, default_value = "auto")]
    pub series: String,
    /// The ONNX Runtime library (default: ORT_DYLIB_PATH or the standard locations).
    #[arg(long)]
    pub ort_library: Option<PathBuf>,
    /// A reference mask on the same grid (voxels > 0.5 are pancreas): print and report the DSC.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Also write the mask as a DICOM Segmentation (BINARY, referencing the source series; the
    /// input must be a DICOM series).
    #[arg(long, value_name = "OUT.dcm")]
    pub dicom_seg: Option<PathBuf>,
    /// Also write the mask as a DICOM RT Structure Set (ROI "Pancreas", closed planar contours
    /// per slice, referencing the source series; the input must be a DICOM series).
    #[arg(long, value_name = "OUT.dcm")]
    pub rtstruct: Option<PathBuf>,
    /// Refuse volumes with more voxels.
    #[arg(long, default_value_t = 1 << 28)]
    pub max_voxels: u64,
    /// Refuse volumes whose segmentation would need more memory, in MiB.
    #[arg(long, default_value_t = 4096)]
    pub memory_budget_mb: u64,
}

impl SegmentArgs {
    fn limits(&self) -> Limits {
        Limits {
            max_voxels: self.max_voxels,
            memory_budget: self.memory_budget_mb.saturating_mul(1 << 20),
        }
    }
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
    /// DSC, ASSD and HD95 (mm) against `--truth`, when given (surface distances: None when a
    /// mask is empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    dsc: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assd_mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hd95_mm: Option<f64>,
    /// How the DICOM series was chosen (every series of the input with its verdict).
    #[serde(skip_serializing_if = "Option::is_none")]
    series_selection: Option<&'a SeriesSelection>,
    #[serde(flatten)]
    segmentation: &'a SegmentationReport,
}

pub fn run(a: &SegmentArgs) -> pancseg::Result<()> {
    let t0 = Instant::now();
    // the limits are checked again by the pipeline; checking the header's dims here first would
    // need a header-only reader, so a too-large file is refused right after it is read
    let loaded = load_volume(&a.input, &super::dicom_options(&a.series, a.max_voxels))?;
    let ct = loaded.volume;
    a.limits().check(ct.data.len() as u64)?;
    // the source series of a DICOM Segmentation is read (and checked) before segmenting
    let (selection, reference) = match &loaded.source {
        Source::Dicom {
            selection,
            reference,
            ..
        } => (Some(selection), Some(reference)),
        Source::Nifti { .. } => (None, None),
    };
    for (flag, out) in [("--dicom-seg", &a.dicom_seg), ("--rtstruct", &a.rtstruct)] {
        if let Some(out) = out {
            match reference {
                Some(r) => r.check_referencable(&a.input)?,
                None => {
                    return Err(pancseg::Error::InvalidArgument(format!(
                        "{flag} {}: the input {} is NIfTI; a DICOM object needs a DICOM series to reference",
                        out.display(),
                        a.input.display()
                    )))
                }
            }
        }
    }
    if let Some(s) = selection {
        if let Some(v) = s.series.iter().find(|v| v.chosen) {
            if s.series.len() > 1 {
                println!(
                    "series {} \"{}\" of {} in the input: {}",
                    v.series.series_uid,
                    v.series.description,
                    s.series.len(),
                    v.reason
                );
            }
        }
    }
    // the reference is read first so a bad file fails before the (long) segmentation
    let truth = a
        .truth
        .as_deref()
        .map(|p| super::load_truth(p, &ct))
        .transpose()?;
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
        cpu_arena: a.cpu_arena,
    };
    let seg = Segmenter::new(bundle, runtime, a.threads)?.with_limits(a.limits());
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
    write_nifti(&a.output, &result.mask)?;
    if let (Some(path), Some(p)) = (&a.probability, &result.probability) {
        write_nifti(path, p)?;
    }
    if let (Some(path), Some(source)) = (&a.dicom_seg, reference) {
        let opts = SegWriteOptions {
            algorithm_parameters: format!("method={}; bundle={}", a.method, bundle_dir),
            ..SegWriteOptions::default()
        };
        let s = write_dicom_seg(&result.mask, source, path, &opts)?;
        println!(
            "wrote {}: DICOM Segmentation {} ({} frames)",
            path.display(),
            s.sop_instance_uid,
            s.frames
        );
    }
    if let (Some(path), Some(source)) = (&a.rtstruct, reference) {
        let opts = RtStructWriteOptions {
            algorithm_parameters: format!("method={}; bundle={}", a.method, bundle_dir),
            ..RtStructWriteOptions::default()
        };
        let s = write_rtstruct(&result.mask, source, path, &opts)?;
        println!(
            "wrote {}: RT Structure Set {} ({} contours on {} slices)",
            path.display(),
            s.sop_instance_uid,
            s.contours,
            s.slices
        );
    }
    let write_seconds = t2.elapsed().as_secs_f64();
    let r = &result.report;
    let dsc = truth.as_ref().and_then(|t| dice(&result.mask.data, t));
    let surface = truth
        .as_ref()
        .and_then(|t| surface_distances(&result.mask.data, t, ct.geometry.spacing));
    if let Some(path) = &a.report {
        let report = Report {
            pancseg_version: env!("CARGO_PKG_VERSION"),
            input: a.input.display().to_string(),
            output: a.output.display().to_string(),
            bundle: bundle_dir,
            onnx_runtime: runtime_version(a.ort_library.as_deref())?,
            dims_xyz: ct.dims_xyz(),
            spacing_mm: ct.geometry.spacing,
            load_seconds,
            load_model_seconds,
            write_seconds,
            dsc,
            assd_mm: surface.map(|d| d.assd),
            hd95_mm: surface.map(|d| d.hd95),
            series_selection: selection,
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
        "wrote {}: pancreas {:.1} mL ({} voxels), method {}, field of view {}, {} candidates, provider {}, {:.1} s (stages, s: {})",
        a.output.display(),
        r.pancreas_ml,
        r.pancreas_voxels,
        r.method,
        r.field_of_view.name(),
        r.candidates,
        r.provider,
        r.total_seconds,
        stages.join(", ")
    );
    let landmark = |l: Landmark| match l {
        Landmark::At(z) => format!("at {:.0} mm", z as f64 * r.working_spacing[2]),
        Landmark::Below => "below the scan".to_string(),
        Landmark::Above => "above the scan".to_string(),
        Landmark::NotFound => "not in the scan".to_string(),
    };
    println!(
        "working grid {:.2} x {:.2} x {:.2} mm ({} x {} x {}); lung base {}, iliac crest {} (mm above the lowest slice); {}",
        r.working_spacing[0],
        r.working_spacing[1],
        r.working_spacing[2],
        r.working_dims.2,
        r.working_dims.1,
        r.working_dims.0,
        landmark(r.landmarks.lung_base),
        landmark(r.landmarks.iliac_crest),
        match (&r.slab, r.field_of_view) {
            (None, _) => format!(
                "no pancreas region in the field of view ({}): nothing segmented",
                if r.landmarks.lung_base == Landmark::Below {
                    "chest only"
                } else {
                    "pelvis only"
                }
            ),
            (Some(s), fov) => format!(
                "searched {:.0}..{:.0} mm; the pancreas region is {}",
                s.first as f64 * r.working_spacing[2],
                s.last as f64 * r.working_spacing[2],
                match fov {
                    FieldOfView::Full => "in the field of view",
                    FieldOfView::Cut => "cut by the field of view's edge",
                    FieldOfView::Absent => "not in the field of view",
                }
            ),
        }
    );
    if let Some(d) = dsc {
        let truth_name = a.truth.as_deref().unwrap_or(std::path::Path::new(""));
        match surface {
            Some(sd) => println!(
                "against {}: DSC {d:.3}, ASSD {:.2} mm, HD95 {:.2} mm",
                truth_name.display(),
                sd.assd,
                sd.hd95
            ),
            None => println!(
                "against {}: DSC {d:.3} (surface distances undefined: a mask is empty)",
                truth_name.display()
            ),
        }
    }
    Ok(())
}
