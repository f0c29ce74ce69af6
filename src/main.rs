//! The `pancseg` command-line tool.

use clap::{Parser, Subcommand};
use pancseg::dicom_series::DicomReadOptions;
use pancseg::info::VolumeInfo;
use pancseg::input::load_volume;
use std::path::PathBuf;
use std::process::ExitCode;

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
        /// SeriesInstanceUID to read when the directory holds several CT series.
        #[arg(long)]
        series: Option<String>,
    },
    /// Write a NIfTI file or DICOM series as NIfTI (int16 when values are integers).
    Convert {
        input: PathBuf,
        /// Output path ending in .nii or .nii.gz.
        output: PathBuf,
        #[arg(long)]
        series: Option<String>,
    },
}

fn run(cli: Cli) -> pancseg::Result<()> {
    match cli.command {
        Command::Info {
            input,
            json,
            series,
        } => {
            let loaded = load_volume(&input, &DicomReadOptions { series_uid: series })?;
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
            let loaded = load_volume(&input, &DicomReadOptions { series_uid: series })?;
            pancseg::nifti_io::write_ct(&output, &loaded.volume)?;
            let [nx, ny, nz] = loaded.volume.dims_xyz();
            println!("wrote {} ({nx} x {ny} x {nz})", output.display());
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pancseg: error: {e}");
            ExitCode::FAILURE
        }
    }
}
