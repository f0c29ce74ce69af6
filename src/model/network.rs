//! ConvNets of a bundle on ONNX Runtime (ort, loaded dynamically; see [`crate::model::runtime`]).
//!
//! One session per network, created once per loaded bundle and shared by every thread of the
//! caller: `ort` runs a session through `&mut`, so a session sits behind a mutex and each batch
//! takes it for the length of one `run` (inference is already multi-threaded inside ONNX
//! Runtime, with `intra_threads` threads). The execution provider is CPU, or CUDA when asked
//! for: with `strict` a CUDA failure is an error, otherwise the session falls back to the CPU and
//! [`Network::provider`] says so and why.

use crate::error::{Error, Result};
use crate::model::bundle::NetworkEntry;
use crate::model::runtime::ort_error;
use parking_lot::Mutex;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where the networks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    #[default]
    Cpu,
    /// A CUDA GPU by index.
    Cuda(u32),
}

impl std::str::FromStr for Device {
    type Err = Error;
    /// `cpu`, `cuda` (GPU 0) or `cuda:N`.
    fn from_str(s: &str) -> Result<Device> {
        let bad = || {
            Error::InvalidArgument(format!(
                "device {s:?} is not one of cpu, cuda, cuda:N (N a GPU index)"
            ))
        };
        match s.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda(0)),
            t => t
                .strip_prefix("cuda:")
                .and_then(|n| n.parse::<u32>().ok())
                .filter(|&n| n < 1024)
                .map(Device::Cuda)
                .ok_or_else(bad),
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// How the networks are run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeOptions {
    pub device: Device,
    /// With [`Device::Cuda`]: fail instead of falling back to the CPU.
    pub strict: bool,
    /// ONNX Runtime intra-op threads (0: ONNX Runtime's default, one per core).
    pub intra_threads: usize,
    /// The ONNX Runtime library (None: see `crate::model::runtime::resolve_library`).
    pub ort_library: Option<PathBuf>,
    /// Inputs per `run` call.
    pub batch_size: usize,
    /// ONNX Runtime's CPU memory arena (and memory-pattern planning). Off by default: the arena
    /// keeps the largest activations of every network resident after their runs, about 100 MB
    /// at the peak of a full-size scan (docs/results/pipeline.md); on, repeated runs reuse it
    /// and are a few percent faster.
    pub cpu_arena: bool,
}

/// Network inputs per ONNX Runtime call unless the caller chooses: batches of 32 keep the
/// 64 x 64 activations of the R networks small (the peak memory of a full-size run) at a cost
/// within measurement noise against 128.
pub const DEFAULT_BATCH_SIZE: usize = 32;

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            device: Device::Cpu,
            strict: false,
            intra_threads: 0,
            ort_library: None,
            batch_size: DEFAULT_BATCH_SIZE,
            cpu_arena: false,
        }
    }
}

/// One loaded network.
pub struct Network {
    name: String,
    session: Mutex<ort::session::Session>,
    input: String,
    output: String,
    shape: [usize; 3],
    provider: String,
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Network")
            .field("name", &self.name)
            .field("input", &self.input)
            .field("shape", &self.shape)
            .field("provider", &self.provider)
            .finish()
    }
}

fn rt_err<R>(what: &str) -> impl Fn(ort::Error<R>) -> Error + '_ {
    move |e| ort_error(what, e)
}

impl Network {
    /// Creates the session of a bundle network from its ONNX bytes (`path` names it in errors)
    /// and checks its input and output against the manifest entry.
    pub fn load(
        name: &str,
        path: &Path,
        bytes: &[u8],
        entry: &NetworkEntry,
        opts: &RuntimeOptions,
    ) -> Result<Network> {
        let env = crate::model::runtime::environment(opts.ort_library.as_deref())?;
        let ctx = format!("network {name} ({})", path.display());
        let builder = |cuda: Option<u32>| -> Result<ort::session::Session> {
            let mut b = ort::session::Session::builder(&env).map_err(rt_err(&ctx))?;
            if opts.intra_threads > 0 {
                b = b
                    .with_intra_threads(opts.intra_threads)
                    .map_err(rt_err(&ctx))?;
            }
            // providers in priority order: CUDA first when asked for, then the CPU (without its
            // arena unless asked for)
            let mut providers = Vec::new();
            if let Some(id) = cuda {
                providers.push(
                    ort::ep::CUDA::default()
                        .with_device_id(id as i32)
                        .build()
                        .error_on_failure(),
                );
            }
            if !opts.cpu_arena {
                b = b.with_memory_pattern(false).map_err(rt_err(&ctx))?;
                providers.push(ort::ep::CPU::default().with_arena_allocator(false).build());
            }
            if !providers.is_empty() {
                b = b
                    .with_execution_providers(providers)
                    .map_err(rt_err(&ctx))?;
            }
            b.commit_from_memory(bytes).map_err(rt_err(&ctx))
        };
        let (session, provider) = match opts.device {
            Device::Cpu => (builder(None)?, "cpu".to_string()),
            Device::Cuda(id) => match builder(Some(id)) {
                Ok(s) => (s, format!("cuda:{id}")),
                Err(e) if opts.strict => {
                    return Err(Error::runtime_from(
                        format!("CUDA device {id} was required (strict) but is not usable"),
                        e,
                    ))
                }
                Err(e) => (
                    builder(None)?,
                    format!("cpu (CUDA device {id} not usable: {})", e.chain()),
                ),
            },
        };
        let input = session
            .inputs()
            .iter()
            .find(|o| o.name() == entry.input)
            .ok_or_else(|| {
                Error::model(
                    path,
                    format!("the model has no input named {:?}", entry.input),
                )
            })?;
        let shape: Vec<i64> = input
            .dtype()
            .tensor_shape()
            .map(|s| s.to_vec())
            .unwrap_or_default();
        let want = entry.input_shape.map(|v| v as i64);
        if shape.len() != 4 || shape[1..] != want {
            return Err(Error::model(
                path,
                format!(
                    "input {:?} has shape {shape:?}; the manifest says [N, {}, {}, {}]",
                    entry.input, want[0], want[1], want[2]
                ),
            ));
        }
        if !session.outputs().iter().any(|o| o.name() == entry.output) {
            return Err(Error::model(
                path,
                format!("the model has no output named {:?}", entry.output),
            ));
        }
        Ok(Network {
            name: name.to_string(),
            session: Mutex::new(session),
            input: entry.input.clone(),
            output: entry.output.clone(),
            shape: entry.input_shape,
            provider,
        })
    }

    /// The execution provider in use ("cpu", "cuda:N", or "cpu (CUDA ... not usable: why)").
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// Values per input (`C * S * S`).
    pub fn input_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// `[C, S, S]`.
    pub fn shape(&self) -> [usize; 3] {
        self.shape
    }

    /// Positive-class probabilities of `inputs` (a whole number of inputs, one `run`).
    pub fn probabilities(&self, inputs: &[f32]) -> Result<Vec<f32>> {
        let len = self.input_len();
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        if inputs.len() % len != 0 {
            return Err(Error::InvalidArgument(format!(
                "network {}: {} values are not a whole number of {len}-value inputs",
                self.name,
                inputs.len()
            )));
        }
        let n = inputs.len() / len;
        let [c, h, w] = self.shape;
        let ctx = format!("network {}", self.name);
        let x = ort::value::Tensor::from_array(([n, c, h, w], inputs.to_vec()))
            .map_err(rt_err(&ctx))?;
        let mut session = self.session.lock();
        let outputs = session
            .run(ort::inputs![self.input.as_str() => x])
            .map_err(rt_err(&ctx))?;
        let (shape, y) = outputs[self.output.as_str()]
            .try_extract_tensor::<f32>()
            .map_err(rt_err(&ctx))?;
        if shape.len() != 2 || shape[0] as usize != n || shape[1] != 2 {
            return Err(Error::runtime(format!(
                "{ctx}: output shape {:?}, expected [{n}, 2]",
                &**shape
            )));
        }
        Ok(y.chunks(2).map(|r| r[1]).collect())
    }
}
