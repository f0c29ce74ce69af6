//! Where a ConvNet trains: burn's `flex` backend on the CPU (always built), or, in a build with
//! the `gpu` feature, burn's wgpu backend on a Vulkan, Metal or DX12 adapter: any GPU, or
//! Mesa's software Vulkan driver (lavapipe) on a machine without one. `--device cpu|gpu[:N]`
//! parses into [`ComputeDevice`]; [`ComputeDevice::open`] gives the burn device and what it is
//! ([`DeviceInfo`]: backend, adapter, driver), which `train.json` and the progress line carry.
//!
//! `gpu` is the adapter wgpu ranks first (a high-power GPU before an integrated one before a
//! software one; `CUBECL_WGPU_DEFAULT_DEVICE` overrides it); `gpu:N` is the N-th adapter burn
//! enumerates. A device that cannot be opened (no driver, no adapter) is an error naming the
//! cause, never a panic: burn's wgpu runtime panics when it finds no adapter, so opening is
//! guarded here.

use crate::error::{Result, TrainError};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The device asked for (`--device`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum ComputeDevice {
    /// burn's `flex` CPU backend on the rayon thread pool.
    #[default]
    Cpu,
    /// burn's wgpu backend: the first-ranked adapter (`None`) or the N-th enumerated one.
    Gpu(Option<usize>),
}

impl ComputeDevice {
    /// Parses `cpu`, `gpu` or `gpu:N`.
    pub fn parse(s: &str) -> std::result::Result<ComputeDevice, String> {
        match s {
            "cpu" => Ok(ComputeDevice::Cpu),
            "gpu" => Ok(ComputeDevice::Gpu(None)),
            _ => s
                .strip_prefix("gpu:")
                .and_then(|n| n.parse::<usize>().ok())
                .map(|n| ComputeDevice::Gpu(Some(n)))
                .ok_or_else(|| format!("unknown device {s:?}: use cpu, gpu or gpu:N")),
        }
    }

    /// Opens the device: the burn device and what it is.
    pub fn open(self) -> Result<(Device, DeviceInfo)> {
        match self {
            ComputeDevice::Cpu => Ok((Device::flex(), DeviceInfo::cpu())),
            ComputeDevice::Gpu(index) => open_gpu(self, index),
        }
    }
}

impl fmt::Display for ComputeDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComputeDevice::Cpu => write!(f, "cpu"),
            ComputeDevice::Gpu(None) => write!(f, "gpu"),
            ComputeDevice::Gpu(Some(n)) => write!(f, "gpu:{n}"),
        }
    }
}

impl From<ComputeDevice> for String {
    fn from(d: ComputeDevice) -> String {
        d.to_string()
    }
}

impl TryFrom<String> for ComputeDevice {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<ComputeDevice, String> {
        ComputeDevice::parse(&s)
    }
}

impl std::str::FromStr for ComputeDevice {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<ComputeDevice, String> {
        ComputeDevice::parse(s)
    }
}

/// What a network trained on (in `train.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// As asked: `cpu`, `gpu` or `gpu:N`.
    pub device: String,
    /// The burn backend and, for wgpu, the graphics API: `flex (CPU)`, `wgpu (Vulkan)`.
    pub backend: String,
    /// The processor or adapter as it names itself.
    pub adapter: String,
    /// The driver and its version (empty for the CPU backend).
    pub driver: String,
}

impl Default for DeviceInfo {
    /// What reports written before devices were recorded trained on: the CPU backend.
    fn default() -> Self {
        DeviceInfo {
            device: "cpu".into(),
            backend: "flex (CPU)".into(),
            adapter: String::new(),
            driver: String::new(),
        }
    }
}

impl DeviceInfo {
    fn cpu() -> DeviceInfo {
        let model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_string());
        DeviceInfo {
            adapter: format!("{model}, {} threads", rayon::current_num_threads()),
            ..DeviceInfo::default()
        }
    }

    /// One line for progress output: `cpu (flex (CPU), ...)`.
    pub fn line(&self) -> String {
        let mut s = format!("{} [{}] {}", self.device, self.backend, self.adapter);
        if !self.driver.is_empty() {
            s += &format!(", driver {}", self.driver);
        }
        s
    }
}

#[cfg(not(feature = "gpu"))]
fn open_gpu(asked: ComputeDevice, _index: Option<usize>) -> Result<(Device, DeviceInfo)> {
    Err(TrainError::Invalid(format!(
        "--device {asked}: this pancseg-train was built without the `gpu` feature \
         (cargo build -p pancseg-train --release --features gpu)"
    )))
}

#[cfg(feature = "gpu")]
fn open_gpu(asked: ComputeDevice, index: Option<usize>) -> Result<(Device, DeviceInfo)> {
    use burn::tensor::{DeviceKind, DeviceType};
    let no_adapter = |why: String| {
        TrainError::Invalid(format!(
            "--device {asked}: no GPU adapter could be opened ({why}); install a Vulkan driver \
             (on Debian/Ubuntu, mesa-vulkan-drivers and libvulkan1 give the software device \
             lavapipe) or use --device cpu"
        ))
    };
    let opened = guarded(|| {
        let device = match index {
            None => Device::wgpu(DeviceKind::DefaultDevice),
            Some(n) => {
                let all = Device::enumerate(DeviceType::Wgpu);
                match all.get(n) {
                    Some(d) => d.clone(),
                    None => return Err(format!("{} wgpu adapters found", all.len())),
                }
            }
        };
        let identity = device
            .identity()
            .ok_or_else(|| "the device reports no identity".to_string())?;
        Ok((device, identity))
    })
    .map_err(no_adapter)?;
    let (device, identity) = opened.map_err(no_adapter)?;
    let details = adapter_details(&identity.name);
    let info = DeviceInfo {
        device: asked.to_string(),
        backend: match &details {
            Some(d) => format!("wgpu ({:?})", d.backend),
            None => format!("wgpu ({})", identity.fingerprint),
        },
        adapter: identity.name.clone(),
        driver: details
            .map(|d| format!("{} {}", d.driver, d.driver_info).trim().to_string())
            .unwrap_or_default(),
    };
    Ok((device, info))
}

/// Runs `f`, turning a panic inside burn's runtime into an error message.
#[cfg(feature = "gpu")]
fn guarded<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    r.map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "the GPU runtime panicked".into())
    })
}

/// wgpu's description of the adapter named `name` (driver, graphics API); burn reports the
/// name only.
#[cfg(feature = "gpu")]
fn adapter_details(name: &str) -> Option<wgpu::AdapterInfo> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::all(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapters = ready(instance.enumerate_adapters(wgpu::Backends::all()))?;
    adapters
        .iter()
        .map(wgpu::Adapter::get_info)
        .find(|i| i.name == name)
}

/// The value of a future that native wgpu completes at once (adapter enumeration); None if it
/// is still pending after the first poll.
#[cfg(feature = "gpu")]
fn ready<F: std::future::Future>(f: F) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_every_form() {
        for (s, d) in [
            ("cpu", ComputeDevice::Cpu),
            ("gpu", ComputeDevice::Gpu(None)),
            ("gpu:2", ComputeDevice::Gpu(Some(2))),
        ] {
            assert_eq!(ComputeDevice::parse(s), Ok(d));
            assert_eq!(d.to_string(), s);
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<ComputeDevice>(&json).unwrap(), d);
        }
        for bad in ["cuda", "gpu:", "gpu:x", "GPU", ""] {
            let e = ComputeDevice::parse(bad).unwrap_err();
            assert!(e.contains("use cpu, gpu or gpu:N"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_cpu_opens_and_names_itself() {
        let (_, info) = ComputeDevice::Cpu.open().unwrap();
        assert_eq!(info.device, "cpu");
        assert_eq!(info.backend, "flex (CPU)");
        assert!(info.adapter.contains("threads"), "{}", info.adapter);
    }

    #[cfg(not(feature = "gpu"))]
    #[test]
    fn a_gpu_without_the_feature_is_a_clear_error() {
        let e = ComputeDevice::Gpu(None).open().err().unwrap().to_string();
        assert!(e.contains("without the `gpu` feature"), "{e}");
    }
}
