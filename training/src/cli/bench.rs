//! `pancseg-train bench ...`: benchmarks (speed figures are measured here, never in unit tests).

use crate::cli::options::Size;
use crate::cli::CliResult;
use clap::{Args, Subcommand};
use pancseg_train::bench;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Phantom generation time per small and per full case.
    Phantom(PhantomArgs),
    /// ConvNet training examples/s (vs the machine's matmul rate), input building rate, and
    /// inference images/s of the exported graphs (ort, and Python onnxruntime when present).
    Train(TrainArgs),
    /// Candidate cascade inference time on a full-size phantom.
    Cascade(CascadeArgs),
    /// End-to-end segmentation (the `pancseg` binary) of a generated phantom: time, peak
    /// memory against the f32 volume, identical masks across thread counts.
    Pipeline(PipelineArgs),
    /// Inputs without anatomy (uniform blocks, noise, absurd spacing) against a phantom of the
    /// same size: wall time ratio (target at most 3x) and what each gave.
    Degenerate(DegenerateArgs),
    /// The lung base found on realistic phantoms of every framing against the organ labels.
    Landmarks(LandmarksArgs),
    /// Scans per hour of `pancseg batch` against a shell loop of `pancseg segment` over the
    /// same manifest (same masks required).
    Batch(BatchArgs),
    /// Entropy rate superpixels: time per slice, boundary recall, undersegmentation error.
    Superpixels(SuperpixelsArgs),
    /// Images/s of each network of a bundle through the library's inference path against
    /// Python onnxruntime on the same file, batch and threads (target at least 0.95x).
    Inference(InferenceArgs),
}

/// Runs the chosen subcommand.
pub fn run(cmd: BenchCommand) -> CliResult {
    match cmd {
        BenchCommand::Phantom(a) => phantom(a),
        BenchCommand::Train(a) => train(a),
        BenchCommand::Cascade(a) => cascade(a),
        BenchCommand::Pipeline(a) => pipeline(a),
        BenchCommand::Degenerate(a) => degenerate(a),
        BenchCommand::Landmarks(a) => landmarks(a),
        BenchCommand::Batch(a) => batch(a),
        BenchCommand::Superpixels(a) => superpixels(a),
        BenchCommand::Inference(a) => inference(a),
    }
}

/// Phantom generation time per small and per full case.
#[derive(Args)]
pub struct PhantomArgs {
    #[arg(long, default_value_t = 5)]
    pub count: usize,
    #[arg(long, default_value_t = 2)]
    pub full: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Runs `pancseg-train bench phantom`.
pub fn phantom(a: PhantomArgs) -> CliResult {
    let PhantomArgs { count, full, seed } = a;
    print!("{}", bench::bench_phantom(count, full, seed)?);
    Ok(())
}

/// ConvNet training examples/s (vs the machine's matmul rate), input building rate, and
/// inference images/s of the exported graphs (ort, and Python onnxruntime when present).
#[derive(Args)]
pub struct TrainArgs {
    /// Timed training batches (64 examples) per network.
    #[arg(long, default_value_t = 8)]
    pub batches: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// cpu, or gpu / gpu:N to time the training steps on that GPU too, next to the CPU
    /// (a build with `--features gpu`).
    #[arg(long, default_value = "cpu")]
    pub device: pancseg_train::convnet::device::ComputeDevice,
}

/// Runs `pancseg-train bench train`.
pub fn train(a: TrainArgs) -> CliResult {
    let TrainArgs {
        batches,
        seed,
        device,
    } = a;
    print!(
        "{}",
        pancseg_train::bench_train::bench_train(batches, seed, device)?
    );
    Ok(())
}

/// Candidate cascade inference time on a full-size phantom.
#[derive(Args)]
pub struct CascadeArgs {
    /// A fold directory written by `candidates` (level1.psrf, level2.psrf).
    #[arg(long)]
    pub forests: PathBuf,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Runs `pancseg-train bench cascade`.
pub fn cascade(a: CascadeArgs) -> CliResult {
    let CascadeArgs { forests, seed } = a;
    print!("{}", bench::bench_cascade(&forests, seed)?);
    Ok(())
}

/// End-to-end segmentation (the `pancseg` binary) of a generated phantom: time, peak
/// memory against the f32 volume, identical masks across thread counts.
#[derive(Args)]
pub struct PipelineArgs {
    /// Model bundle directory.
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long, value_enum, default_value = "full")]
    pub size: Size,
    #[arg(long, default_value_t = 77)]
    pub seed: u64,
    /// Thread counts to run (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "2,1")]
    pub threads: Vec<usize>,
    /// Another `pancseg` binary (an earlier build) to run on the same phantom, for the ratio.
    #[arg(long, requires = "reference_model")]
    pub reference: Option<PathBuf>,
    /// The bundle the reference binary runs with.
    #[arg(long, requires = "reference")]
    pub reference_model: Option<PathBuf>,
}

/// Runs `pancseg-train bench pipeline`.
pub fn pipeline(a: PipelineArgs) -> CliResult {
    let PipelineArgs {
        model,
        size,
        seed,
        threads,
        reference,
        reference_model,
    } = a;
    let size = size.phantom();
    let reference = reference.as_deref().zip(reference_model.as_deref());
    print!(
        "{}",
        pancseg_train::bench_pipeline::bench_pipeline(&model, size, seed, &threads, reference)?
    );
    Ok(())
}

/// Inputs without anatomy against a phantom of the same size.
#[derive(Args)]
pub struct DegenerateArgs {
    /// Model bundle directory.
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long, value_enum, default_value = "small")]
    pub size: Size,
    #[arg(long, default_value_t = 77)]
    pub seed: u64,
}

/// Runs `pancseg-train bench degenerate`.
pub fn degenerate(a: DegenerateArgs) -> CliResult {
    print!(
        "{}",
        pancseg_train::bench_degenerate::bench_degenerate(&a.model, a.size.phantom(), a.seed)?
    );
    Ok(())
}

/// The lung base found on realistic phantoms against the organ labels.
#[derive(Args)]
pub struct LandmarksArgs {
    /// Cases per framing (seeds 5001, 5002, ...).
    #[arg(long, default_value_t = 6)]
    pub seeds: u64,
    /// Also measure the lungs' air shares on this many whole-trunk bodies (seeds 5001, ...):
    /// the fullest lung slice against the fullest slice without lung.
    #[arg(long, default_value_t = 0)]
    pub bodies: u64,
    /// Also run the finder on these scans (NIfTI file or DICOM folder; no labels): their
    /// landmarks, lateral bone per slice and the crops from the lowest slice up that get no
    /// slab (as a pelvis-only scan would).
    #[arg(long)]
    pub real: Vec<PathBuf>,
}

/// Runs `pancseg-train bench landmarks`.
pub fn landmarks(a: LandmarksArgs) -> CliResult {
    print!(
        "{}",
        pancseg_train::bench_landmarks::bench_landmarks(a.seeds)?
    );
    if a.bodies > 0 {
        print!(
            "\n{}",
            pancseg_train::bench_landmarks::lung_shares(a.bodies)?
        );
    }
    if !a.real.is_empty() {
        print!("\n{}", pancseg_train::bench_landmarks::real_scans(&a.real)?);
    }
    Ok(())
}

/// `pancseg batch` against a shell loop of `pancseg segment`.
#[derive(Args)]
pub struct BatchArgs {
    /// Model bundle directory.
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long, value_enum, default_value = "small")]
    pub size: Size,
    /// Phantoms in the manifest.
    #[arg(long, default_value_t = 6)]
    pub count: usize,
    #[arg(long, default_value_t = 91)]
    pub seed: u64,
    /// Threads of every run.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
}

/// Runs `pancseg-train bench batch`.
pub fn batch(a: BatchArgs) -> CliResult {
    print!(
        "{}",
        pancseg_train::bench_batch::bench_batch(
            &a.model,
            a.size.phantom(),
            a.count,
            a.seed,
            a.threads
        )?
    );
    Ok(())
}

/// Entropy rate superpixels: time per slice, boundary recall, undersegmentation error.
#[derive(Args)]
pub struct SuperpixelsArgs {
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Real CT DICOM directory to time as well.
    #[arg(long)]
    pub real: Option<PathBuf>,
    /// Slices of the phantom to time.
    #[arg(long, default_value_t = 20)]
    pub slices: usize,
    /// Superpixel area in mm² (default: the library default).
    #[arg(long)]
    pub area: Option<f64>,
    /// Instead of timing, report the Opt. DSC over the cases of this cohort.
    #[arg(long)]
    pub cohort: Option<PathBuf>,
    /// Write the measured slices here for training/bench/slic_compare.py.
    #[arg(long)]
    pub dump: Option<PathBuf>,
    #[arg(long)]
    pub lambda: Option<f64>,
    #[arg(long)]
    pub sigma: Option<f64>,
}

/// Runs `pancseg-train bench superpixels`.
pub fn superpixels(a: SuperpixelsArgs) -> CliResult {
    let SuperpixelsArgs {
        seed,
        real,
        slices,
        area,
        cohort,
        dump,
        lambda,
        sigma,
    } = a;
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
    Ok(())
}

/// The library's network inference against Python onnxruntime.
#[derive(Args)]
pub struct InferenceArgs {
    /// Model bundle directory.
    #[arg(long, default_value = "models/default")]
    pub model: PathBuf,
    /// Inputs per run (default: the segmenter's batch size).
    #[arg(long, default_value_t = pancseg::model::network::DEFAULT_BATCH_SIZE)]
    pub batch: usize,
    /// Intra-op threads (default: the machine's cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// ONNX Runtime's CPU arena on both sides (the library's default is off).
    #[arg(long)]
    pub cpu_arena: bool,
    /// Seconds of runs per side and round.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Alternating rounds; each side's best counts.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
}

/// Runs `pancseg-train bench inference`.
pub fn inference(a: InferenceArgs) -> CliResult {
    let b = pancseg_train::bench_inference::InferenceBench {
        batch: a.batch,
        threads: a
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        cpu_arena: a.cpu_arena,
        seconds: a.seconds,
        rounds: a.rounds,
    };
    print!(
        "{}",
        pancseg_train::bench_inference::bench_inference(&a.model, &b)?
    );
    Ok(())
}
