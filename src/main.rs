//! The `pancseg` command-line tool.

use clap::{Parser, Subcommand};
use cli::info::VolumeInfo;
use pancseg::DicomReadOptions;
use pancseg::{load_volume, survey_series};
use pancseg::{render_png, write_ct, RenderOptions, SliceChoice, View};
use std::path::PathBuf;
use std::process::ExitCode;

mod cli;

#[derive(Parser)]
#[command(
    name = "pancseg",
    version,
    about = "Automatic pancreas segmentation of abdominal CT"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print dimensions, geometry and HU statistics of a NIfTI file or DICOM series.
    Info {
        /// A NIfTI file (.nii, .nii.gz) or a DICOM directory.
        input: PathBuf,
        /// Print stable JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Which DICOM series: `auto` (the selection policy of docs/dicom.md) or a
        /// SeriesInstanceUID.
        #[arg(long, default_value = "auto")]
        series: String,
        /// List every series of a DICOM input with the selection policy's verdict (the one read
        /// is marked `->`; the others with why not) instead of describing the volume.
        #[arg(long)]
        series_list: bool,
    },
    /// Write a NIfTI file or DICOM series as NIfTI (int16 when values are integers).
    Convert {
        input: PathBuf,
        /// Output path ending in .nii or .nii.gz.
        output: PathBuf,
        /// Which DICOM series: `auto` (the selection policy) or a SeriesInstanceUID.
        #[arg(long, default_value = "auto")]
        series: String,
    },
    /// Draw one CT slice (soft-tissue window: centre 40 HU, width 400 HU) with mask outlines as a
    /// PNG, in radiological orientation with square pixels. Mask outline red, truth green, both
    /// yellow.
    Render {
        /// The CT: a NIfTI file (.nii, .nii.gz) or a DICOM directory.
        ct: PathBuf,
        /// A mask on the CT's grid (NIfTI or DICOM; voxels > 0.5 are inside), outlined in red.
        #[arg(long)]
        mask: Option<PathBuf>,
        /// A ground-truth mask on the CT's grid, outlined in green.
        #[arg(long)]
        truth: Option<PathBuf>,
        /// `auto` (largest truth area, else largest mask area, else the middle slice) or an index
        /// along the view's axis (axial: inferior to superior, coronal: anterior to posterior,
        /// sagittal: right to left).
        #[arg(long, default_value = "auto")]
        slice: SliceChoice,
        /// axial, coronal or sagittal.
        #[arg(long, default_value = "axial")]
        view: View,
        /// Output PNG file.
        #[arg(long)]
        out: PathBuf,
        /// Which DICOM series: `auto` (the selection policy) or a SeriesInstanceUID.
        #[arg(long, default_value = "auto")]
        series: String,
    },
    /// Segment the pancreas: writes a 0/1 mask (uint8 NIfTI) on the input's grid and geometry.
    Segment(cli::segment::SegmentArgs),
    /// Segment the scans of a manifest (one model load, resumable, shardable over a cluster's
    /// array jobs); exit status 3 when some scans failed.
    Batch(cli::batch::BatchArgs),
    /// Merge the case reports of `pancseg batch` (every shard) into summary.json and summary.csv.
    BatchSummary(cli::batch::summary::SummaryArgs),
}

fn check_nifti_name(p: &std::path::Path) -> pancseg::Result<()> {
    let name = p.to_string_lossy();
    if name.ends_with(".nii") || name.ends_with(".nii.gz") {
        Ok(())
    } else {
        Err(pancseg::Error::InvalidArgument(format!(
            "{name}: output must end in .nii or .nii.gz"
        )))
    }
}

/// Runs a command; the exit code of a command that finished (0, or 3 for a batch with failed
/// scans).
fn run(cli: Cli) -> pancseg::Result<u8> {
    match cli.command {
        Command::Info {
            input,
            json,
            series,
            series_list,
        } => {
            let options = cli::dicom_options(&series, 1 << 28);
            if series_list {
                let selection = survey_series(&input, &options)?;
                if json {
                    let text = serde_json::to_string_pretty(&selection)
                        .map_err(|e| pancseg::Error::Internal(format!("series list: {e}")))?;
                    println!("{text}");
                } else {
                    print!("{}", selection.to_table());
                }
                return Ok(0);
            }
            let loaded = load_volume(&input, &options)?;
            let info = VolumeInfo::new(&input.display().to_string(), &loaded);
            if json {
                println!("{}", info.to_json());
            } else {
                print!("{}", info.to_text());
            }
        }
        Command::Convert {
            input,
            output,
            series,
        } => {
            let name = output.to_string_lossy();
            if !(name.ends_with(".nii") || name.ends_with(".nii.gz")) {
                return Err(pancseg::Error::InvalidArgument(format!(
                    "{name}: output must end in .nii or .nii.gz"
                )));
            }
            let loaded = load_volume(&input, &cli::dicom_options(&series, 1 << 28))?;
            write_ct(&output, &loaded.volume)?;
            let [nx, ny, nz] = loaded.volume.dims_xyz();
            println!("wrote {} ({nx} x {ny} x {nz})", output.display());
        }
        Command::Render {
            ct,
            mask,
            truth,
            slice,
            view,
            out,
            series,
        } => {
            let name = out.to_string_lossy().to_ascii_lowercase();
            if !name.ends_with(".png") {
                return Err(pancseg::Error::InvalidArgument(format!(
                    "{}: output must end in .png",
                    out.display()
                )));
            }
            let ct = load_volume(&ct, &cli::dicom_options(&series, 1 << 28))?.volume;
            let load_mask = |path: &Option<PathBuf>| -> pancseg::Result<Option<pancseg::Mask>> {
                let Some(path) = path else { return Ok(None) };
                let v = load_volume(path, &DicomReadOptions::default())?.volume;
                if v.geometry.orientation_code() != ct.geometry.orientation_code() {
                    eprintln!(
                        "pancseg: warning: {} is oriented {} but the CT is {}; drawing it on the CT grid",
                        path.display(),
                        v.geometry.orientation_code(),
                        ct.geometry.orientation_code()
                    );
                }
                Ok(Some(pancseg::Mask {
                    data: v.data.mapv(|x| u8::from(x > 0.5)),
                    geometry: v.geometry,
                }))
            };
            let mask = load_mask(&mask)?;
            let truth = load_mask(&truth)?;
            let opts = RenderOptions {
                view,
                slice,
                ..Default::default()
            };
            let info = render_png(&ct, mask.as_ref(), truth.as_ref(), &opts, &out)?;
            println!(
                "wrote {} ({} x {} px): {view} slice {}, mask outline {} px, truth outline {} px",
                out.display(),
                info.width,
                info.height,
                info.slice,
                info.mask_pixels,
                info.truth_pixels
            );
        }
        Command::Segment(args) => {
            check_nifti_name(&args.output)?;
            if let Some(p) = &args.probability {
                check_nifti_name(p)?;
            }
            cli::segment::run(&args)?;
        }
        Command::Batch(args) => {
            let outcome = cli::batch::run(&args)?;
            return Ok(cli::batch::exit_code(&outcome));
        }
        Command::BatchSummary(args) => cli::batch::summary::run(&args)?,
    }
    Ok(0)
}

fn main() -> ExitCode {
    // output piped into `head` or a closed log: end quietly, as other command-line tools do,
    // rather than panic on the failed write
    #[cfg(unix)]
    // SAFETY: restores the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    match run(Cli::parse()) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("pancseg: error: {}", e.chain());
            ExitCode::FAILURE
        }
    }
}
