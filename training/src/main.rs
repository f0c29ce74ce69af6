//! The `pancseg-train` command-line tool.

use clap::{Parser, Subcommand, ValueEnum};
use pancseg_train::error::TrainError;
use pancseg_train::{bench, candidates_cv, cohort_stats, import, phantom};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "pancseg-train",
    version,
    about = "Phantoms, dataset import, training and evaluation for pancseg"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Size {
    Small,
    Full,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Nifti,
    Dicom,
    Both,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a seeded cohort of synthetic abdominal CT phantoms with pancreas labels.
    Phantom {
        #[arg(long)]
        count: usize,
        #[arg(long)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value = "small")]
        size: Size,
        #[arg(long, value_enum, default_value = "nifti")]
        format: Format,
    },
    /// Per-case pancreas volume, HU statistics and best-window DSC of a cohort.
    CohortStats {
        dir: PathBuf,
        /// Also write the statistics as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Import a public dataset into the cohort layout.
    #[command(subcommand)]
    Import(ImportCommand),
    /// The paper's evaluation: k-fold cross-validation of the whole pipeline (cascade and
    /// ConvNets trained per fold, operating points calibrated on the training cases), Table 1
    /// (table1.json, table1.md) and Fig. 5 (fig5.png). Resumable.
    Cv {
        #[arg(long)]
        cohort: PathBuf,
        #[arg(long, default_value_t = 4)]
        folds: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
        /// quick (narrow networks, short training: the CI run) or paper (the paper's settings).
        #[arg(long, default_value = "paper")]
        profile: pancseg_train::cv::Profile,
        /// Worker threads of the segmentations (0: all cores).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// After the folds, train on every case, calibrate on every case and write that bundle
        /// to this directory (how models/default is made).
        #[arg(long)]
        final_bundle: Option<PathBuf>,
        /// Run only fold K (1-based) of the split and write OUT/fold_K/, so the folds can run
        /// on separate machines; a later run without it reuses them and writes Table 1.
        #[arg(long, value_name = "K")]
        only_fold: Option<usize>,
        /// Start of the ConvNets' weights: he (default) or uniform (reproduces the runs made
        /// before session 6, models/default among them).
        #[arg(long, value_enum, default_value = "he")]
        init: pancseg_train::convnet::model::WeightInit,
        /// Smoothing sigma of the bundles in mm, one value or x,y,z (default: 3 voxels, the
        /// paper's figure on its own ~0.7 mm scans).
        #[arg(long, value_delimiter = ',')]
        sigma_mm: Vec<f64>,
    },
    /// Train the random-forest cascade per fold and evaluate its candidates {S_RF}.
    Candidates {
        #[arg(long)]
        cohort: PathBuf,
        #[arg(long, default_value_t = 4)]
        folds: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
        /// Trees per forest.
        #[arg(long)]
        trees: Option<usize>,
    },
    /// Train one ConvNet (p, r1, r2 or boundary) on cohort cases and export it to ONNX.
    Train {
        #[arg(long)]
        cohort: PathBuf,
        /// Comma-separated case ids (default: every case of the cohort).
        #[arg(long, value_delimiter = ',')]
        cases: Vec<String>,
        /// Which network: p, r1, r2 or boundary.
        #[arg(long)]
        net: String,
        #[arg(long)]
        out: PathBuf,
        /// Cascade to take the candidates from (level1.psrf, level2.psrf); default:
        /// cross-fitted cascades trained here.
        #[arg(long)]
        forests: Option<PathBuf>,
        /// A trained P-ConvNet (`train --net p` output folder), needed for r2's P0 channel.
        #[arg(long)]
        p_net: Option<PathBuf>,
        #[arg(long, default_value_t = 12)]
        epochs: usize,
        #[arg(long, default_value_t = 64)]
        batch: usize,
        /// Examples per epoch (half positive, half negative).
        #[arg(long, default_value_t = 8192)]
        examples_per_epoch: usize,
        #[arg(long, default_value_t = 1e-3)]
        lr: f64,
        #[arg(long, default_value_t = 1e-4)]
        weight_decay: f32,
        /// Epochs without a better validation loss before stopping.
        #[arg(long, default_value_t = 3)]
        patience: usize,
        /// Share of the cases held out for validation.
        #[arg(long, default_value_t = 0.2)]
        val_fraction: f64,
        /// Validation examples per class.
        #[arg(long, default_value_t = 1000)]
        val_per_class: usize,
        /// P-ConvNet training voxels per class and case.
        #[arg(long, default_value_t = 2000)]
        max_voxels: usize,
        /// Grid step (voxels) of the P0 map.
        #[arg(long, default_value_t = 2)]
        p0_stride: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Continue from the checkpoint in OUT.
        #[arg(long)]
        resume: bool,
        /// Five convolution widths (default 32,64,64,64,64).
        #[arg(long, value_delimiter = ',')]
        widths: Vec<usize>,
        /// Fully connected width (default 256).
        #[arg(long)]
        fc: Option<usize>,
        /// Start of the weights: he (default) or uniform (burn's layer default, used before
        /// session 6).
        #[arg(long, value_enum, default_value = "he")]
        init: pancseg_train::convnet::model::WeightInit,
    },
    /// Assemble a model bundle (manifest.json with SHA-256s, forests, ONNX networks) for the
    /// library from a trained cascade and trained networks.
    Export {
        /// Folder with level1.psrf and level2.psrf.
        #[arg(long)]
        forests: PathBuf,
        /// `train --net p` output folder.
        #[arg(long)]
        p: PathBuf,
        #[arg(long)]
        r1: PathBuf,
        #[arg(long)]
        r2: PathBuf,
        /// `train --net boundary` output folder (without it the bundle has no CRF).
        #[arg(long)]
        boundary: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
        /// P0 grid stride n (voxels).
        #[arg(long, default_value_t = 2)]
        p0_stride: usize,
        /// P0 grid step in mm: the stride becomes round(step / in-plane spacing) per scan.
        #[arg(long)]
        p0_step_mm: Option<f64>,
        /// Smoothing sigma (voxels).
        #[arg(long, default_value_t = 3.0)]
        sigma: f64,
        /// Smoothing sigma in mm, one value or x,y,z: per scan it replaces --sigma by
        /// sigma_mm / spacing on each axis.
        #[arg(long, value_delimiter = ',')]
        sigma_mm: Vec<f64>,
        /// JSON file with the operating points {p0, p1, p2, g_p0, g_p1, g_p2} (default: 0.5 each).
        #[arg(long)]
        operating_points: Option<PathBuf>,
        #[arg(long, default_value_t = 1.0)]
        crf_weight: f64,
        /// The CRF unary's prior t in (0, 1): the P2 value at which the unary alone changes
        /// label (absent: 0.5, the paper's energy).
        #[arg(long)]
        crf_prior: Option<f64>,
        /// Free text for the manifest (data and command).
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Benchmarks (speed figures are measured here, never in unit tests).
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Phantom generation time per small and per full case.
    Phantom {
        #[arg(long, default_value_t = 5)]
        count: usize,
        #[arg(long, default_value_t = 2)]
        full: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// ConvNet training examples/s (vs the machine's matmul rate), input building rate, and
    /// inference images/s of the exported graphs (ort, and Python onnxruntime when present).
    Train {
        /// Timed training batches (64 examples) per network.
        #[arg(long, default_value_t = 8)]
        batches: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Candidate cascade inference time on a full-size phantom.
    Cascade {
        /// A fold directory written by `candidates` (level1.psrf, level2.psrf).
        #[arg(long)]
        forests: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// End-to-end segmentation (the `pancseg` binary) of a generated phantom: time, peak
    /// memory against the f32 volume, identical masks across thread counts.
    Pipeline {
        /// Model bundle directory.
        #[arg(long)]
        model: PathBuf,
        #[arg(long, value_enum, default_value = "full")]
        size: Size,
        #[arg(long, default_value_t = 77)]
        seed: u64,
        /// Thread counts to run (comma-separated).
        #[arg(long, value_delimiter = ',', default_value = "2,1")]
        threads: Vec<usize>,
    },
    /// Entropy rate superpixels: time per slice, boundary recall, undersegmentation error.
    Superpixels {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Real CT DICOM directory to time as well.
        #[arg(long)]
        real: Option<PathBuf>,
        /// Slices of the phantom to time.
        #[arg(long, default_value_t = 20)]
        slices: usize,
        /// Superpixel area in mm² (default: the library default).
        #[arg(long)]
        area: Option<f64>,
        /// Instead of timing, report the Opt. DSC over the cases of this cohort.
        #[arg(long)]
        cohort: Option<PathBuf>,
        /// Write the measured slices here for training/bench/slic_compare.py.
        #[arg(long)]
        dump: Option<PathBuf>,
        #[arg(long)]
        lambda: Option<f64>,
        #[arg(long)]
        sigma: Option<f64>,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// NIH Pancreas-CT (TCIA): PANCREAS_NNNN/.../*.dcm images and labelNNNN.nii.gz labels.
    NihPancreasCt {
        #[arg(long)]
        images: PathBuf,
        #[arg(long)]
        labels: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Medical Segmentation Decathlon Task07 Pancreas (imagesTr, labelsTr; tumour merged).
    MsdPancreas {
        #[arg(long)]
        root: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Phantom {
            count,
            seed,
            out,
            size,
            format,
        } => {
            let size = match size {
                Size::Small => phantom::PhantomSize::Small,
                Size::Full => phantom::PhantomSize::Full,
            };
            let (nifti, dicom) = match format {
                Format::Nifti => (true, false),
                Format::Dicom => (false, true),
                Format::Both => (true, true),
            };
            phantom::generate_cohort(&phantom::CohortOptions {
                count,
                seed,
                size,
                out,
                nifti,
                dicom,
                progress: true,
            })?;
        }
        Command::CohortStats { dir, json } => {
            let stats = cohort_stats::cohort_stats(&dir)?;
            print!("{}", stats.to_text());
            if let Some(p) = json {
                std::fs::write(&p, stats.to_json())?;
            }
        }
        Command::Import(ImportCommand::NihPancreasCt {
            images,
            labels,
            out,
        }) => {
            let n = import::import_nih(&images, &labels, &out)?;
            println!("imported {n} cases into {}", out.display());
        }
        Command::Bench(BenchCommand::Phantom { count, full, seed }) => {
            print!("{}", bench::bench_phantom(count, full, seed)?);
        }
        Command::Bench(BenchCommand::Train { batches, seed }) => {
            print!(
                "{}",
                pancseg_train::bench_train::bench_train(batches, seed)?
            );
        }
        Command::Bench(BenchCommand::Pipeline {
            model,
            size,
            seed,
            threads,
        }) => {
            let size = match size {
                Size::Small => phantom::PhantomSize::Small,
                Size::Full => phantom::PhantomSize::Full,
            };
            print!(
                "{}",
                pancseg_train::bench_pipeline::bench_pipeline(&model, size, seed, &threads)?
            );
        }
        Command::Bench(BenchCommand::Cascade { forests, seed }) => {
            print!("{}", bench::bench_cascade(&forests, seed)?);
        }
        Command::Bench(BenchCommand::Superpixels {
            seed,
            real,
            slices,
            area,
            cohort,
            dump,
            lambda,
            sigma,
        }) => {
            let mut cfg = pancseg::pipeline::candidates::superpixels::SuperpixelConfig::default();
            if let Some(a) = area {
                cfg.area_mm2 = a;
            }
            if let Some(l) = lambda {
                cfg.lambda = l;
            }
            if let Some(s) = sigma {
                cfg.sigma_hu = s;
            }
            if let Some(c) = cohort {
                print!("{}", bench::bench_opt_dsc(&c, &cfg)?);
            } else {
                // timing per slice is single-threaded; the whole-volume run uses the pool
                print!(
                    "{}",
                    bench::bench_superpixels(seed, &cfg, real.as_deref(), slices, dump.as_deref())?
                );
            }
        }
        Command::Cv {
            cohort,
            folds,
            seed,
            out,
            profile,
            threads,
            final_bundle,
            only_fold,
            init,
            sigma_mm,
        } => {
            let args = pancseg_train::cv::CvArgs {
                cohort,
                folds,
                seed,
                out,
                profile,
                threads,
                final_bundle,
                init,
                sigma_mm: sigma_triple(&sigma_mm)?,
            };
            match only_fold {
                Some(k) => {
                    let r = pancseg_train::cv::run_single_fold(&args, k)?;
                    let test: Vec<_> = r.cases.iter().filter(|c| c.split == "test").collect();
                    println!(
                        "fold {k}: {} test cases written to {}",
                        test.len(),
                        args.out.join(format!("fold_{k}")).display()
                    );
                }
                None => print!("{}", pancseg_train::cv::run_cv(&args)?.to_markdown()),
            }
        }
        Command::Candidates {
            cohort,
            folds,
            seed,
            out,
            trees,
        } => {
            let mut o = candidates_cv::CandidateOptions::default();
            if let Some(t) = trees {
                o.forest.n_trees = t;
            }
            let s = candidates_cv::run_candidates(&cohort, folds, seed, &out, &o)?;
            print!("{}", s.to_markdown());
        }
        Command::Train {
            cohort,
            cases,
            net,
            out,
            forests,
            p_net,
            epochs,
            batch,
            examples_per_epoch,
            lr,
            weight_decay,
            patience,
            val_fraction,
            val_per_class,
            max_voxels,
            p0_stride,
            seed,
            resume,
            widths,
            fc,
            init,
        } => {
            let widths = match widths.len() {
                0 => None,
                5 => Some([widths[0], widths[1], widths[2], widths[3], widths[4]]),
                n => {
                    return Err(TrainError::Invalid(format!(
                        "--widths takes 5 comma-separated values, got {n}"
                    ))
                    .into())
                }
            };
            let net = pancseg_train::convnet::NetKind::parse(&net).ok_or_else(|| {
                TrainError::Invalid(format!(
                    "unknown network {net:?}: use p, r1, r2 or boundary"
                ))
            })?;
            let args = pancseg_train::train_cmd::TrainArgs {
                cohort,
                cases,
                net,
                out,
                forests,
                p_net,
                options: pancseg_train::convnet::train::TrainOptions {
                    epochs,
                    batch,
                    examples_per_epoch,
                    val_per_class,
                    lr,
                    weight_decay,
                    patience,
                    seed,
                    init,
                },
                val_fraction,
                resume,
                max_voxels,
                p0_stride,
                widths,
                fc,
            };
            print!("{}", pancseg_train::train_cmd::run_train(&args)?);
        }
        Command::Export {
            forests,
            p,
            r1,
            r2,
            boundary,
            out,
            p0_stride,
            p0_step_mm,
            sigma,
            sigma_mm,
            operating_points,
            crf_weight,
            crf_prior,
            description,
        } => {
            let operating_points = match operating_points {
                None => pancseg::model::bundle::OperatingPoints::default(),
                Some(path) => {
                    let text =
                        std::fs::read_to_string(&path).map_err(|e| TrainError::io(&path, e))?;
                    serde_json::from_str(&text).map_err(|e| TrainError::Json { path, source: e })?
                }
            };
            let args = pancseg_train::export_cmd::ExportArgs {
                forests,
                p,
                r1,
                r2,
                boundary,
                out: out.clone(),
                p0_stride,
                p0_step_mm,
                sigma_voxels: [sigma; 3],
                sigma_mm: sigma_triple(&sigma_mm)?,
                operating_points,
                crf_weight,
                crf_prior,
                description,
            };
            let m = pancseg_train::export_cmd::run_export(&args)?;
            println!(
                "wrote bundle {} (format {}, networks p r1 r2{}, stride {}, sigma {})",
                out.display(),
                m.format_version,
                if m.networks.boundary.is_some() {
                    " boundary"
                } else {
                    ""
                },
                m.p0_stride,
                m.sigma_voxels[0]
            );
        }
        Command::Import(ImportCommand::MsdPancreas { root, out }) => {
            let n = import::import_msd(&root, &out)?;
            println!("imported {n} cases into {}", out.display());
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pancseg-train: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--sigma-mm`: none, one value for every axis, or x,y,z.
fn sigma_triple(v: &[f64]) -> Result<Option<[f64; 3]>, TrainError> {
    match *v {
        [] => Ok(None),
        [s] => Ok(Some([s; 3])),
        [x, y, z] => Ok(Some([x, y, z])),
        _ => Err(TrainError::Invalid(format!(
            "--sigma-mm takes 1 or 3 comma-separated values, got {}",
            v.len()
        ))),
    }
}
