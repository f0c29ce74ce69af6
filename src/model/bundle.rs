//! Model bundles: a directory with `manifest.json` and the files it names.
//!
//! The manifest states everything inference must do exactly as training did: the format and
//! pipeline versions; for each network its ONNX file, input and output names, input shape and
//! channel order, the HU normalisation and the patch or box geometry; the superpixel parameters
//! and the two cascade forests; the P0 grid stride n, the smoothing sigma, the operating points
//! and the CRF weight; and a SHA-256 for every file. [`Bundle::load`] checks the format version,
//! that every named file exists, and every hash, and fails with an error naming the file and the
//! cause. Nothing else in the directory is read.

use crate::error::{Error, Result};
use crate::pipeline::candidates::superpixels::SuperpixelConfig;
use crate::pipeline::convnets::inputs::{PatchGeometry, RegionGeometry};
use crate::pipeline::fusion::crf::{CrfSetting, Pairwise};
use crate::pipeline::fusion::volume_floor::VolumeFloor;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The `format` field every manifest carries.
pub const FORMAT: &str = "pancseg-bundle";
/// Newest manifest format version this library reads.
pub const FORMAT_VERSION: u32 = 1;
/// Name of the manifest file in a bundle directory.
pub const MANIFEST: &str = "manifest.json";
/// HU normalisation every network of this format uses (see [`crate::pipeline::convnets::inputs`]).
pub const HU_NORMALISATION: &str = "(clamp(HU, -160, 240) + 160) / 400 - 0.5";

/// A file of the bundle with its SHA-256 (lower-case hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    pub file: String,
    pub sha256: String,
}

/// One ConvNet of the bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkEntry {
    pub file: String,
    pub sha256: String,
    /// ONNX input name (a float tensor `[N, C, S, S]`, N symbolic).
    pub input: String,
    /// ONNX output name (`[N, 2]` softmax probabilities; column 1 is "pancreas", for the
    /// boundary ConvNet "the two superpixels carry the same label").
    pub output: String,
    /// `[C, S, S]`.
    pub input_shape: [usize; 3],
    /// What each input channel holds, in order.
    pub channels: Vec<String>,
    /// Must equal [`HU_NORMALISATION`].
    pub hu_normalisation: String,
}

/// The two forests of the candidate cascade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForestFiles {
    pub level1: FileRef,
    pub level2: FileRef,
}

/// The networks of a bundle; the boundary ConvNet is optional (no CRF without it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Networks {
    pub p: NetworkEntry,
    pub r1: NetworkEntry,
    pub r2: NetworkEntry,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boundary: Option<NetworkEntry>,
}

/// Thresholds of each probability map, raw (`p0`, `p1`, `p2`) and after smoothing (`g_p0` ...).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OperatingPoints {
    pub p0: f32,
    pub p1: f32,
    pub p2: f32,
    pub g_p0: f32,
    pub g_p1: f32,
    pub g_p2: f32,
}

impl Default for OperatingPoints {
    fn default() -> Self {
        OperatingPoints {
            p0: 0.5,
            p1: 0.5,
            p2: 0.5,
            g_p0: 0.5,
            g_p1: 0.5,
            g_p2: 0.5,
        }
    }
}

/// The parsed `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    /// Version of the pancseg pipeline that trained the bundle.
    pub pipeline_version: String,
    /// Free text: data and command the bundle was trained with.
    #[serde(default)]
    pub description: String,
    pub superpixels: SuperpixelConfig,
    pub forests: ForestFiles,
    pub networks: Networks,
    pub patch: PatchGeometry,
    pub region: RegionGeometry,
    /// The P0 grid stride n (voxels, in x and y).
    pub p0_stride: usize,
    /// The P0 grid step in millimetres (x and y). When present it replaces `p0_stride` per scan
    /// by `round(step / in-plane spacing)` (at least 1), so a finely sampled scan gets the grid
    /// density, in millimetres, the bundle was calibrated with rather than many times as many
    /// P-ConvNet patches. Absent in bundles written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p0_step_mm: Option<f64>,
    /// Smoothing sigma in voxels (x, y, z).
    pub sigma_voxels: [f64; 3],
    /// Smoothing sigma in millimetres (x, y, z). When present it replaces `sigma_voxels` per
    /// scan by `sigma_mm / spacing` on each axis: the paper's 3 voxels were voxels of its own
    /// scans (about 0.7 mm in-plane), and the same count on a coarser grid smooths several times
    /// as far. Absent in bundles written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigma_mm: Option<[f64; 3]>,
    pub operating_points: OperatingPoints,
    /// Weight of the boundary term against the unary term in the CRF.
    pub crf_weight: f64,
    /// The CRF unary's prior `t` in (0, 1): the P2 value at which the unary alone changes
    /// label (`crate::pipeline::fusion::crf`). Absent (0.5, the paper's energy) in bundles written before it
    /// existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crf_prior: Option<f64>,
    /// How the CRF's pairwise term turns the boundary ConvNet's P(same label) into the cost of
    /// a cut (`crate::pipeline::fusion::crf::Pairwise`: "linear" or "log-odds"). Absent
    /// (linear) in bundles written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crf_pairwise: Option<Pairwise>,
    /// The working spacing (x, y, z, mm) every stage runs at: the pipeline resamples the
    /// oriented CT to it and brings the final map back to the scan's grid
    /// (`crate::pipeline::working_grid`); the bundle's forests and ConvNets were trained on
    /// cases resampled to it by the same code. Absent in bundles written before it existed:
    /// those run on the scan's own grid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_spacing_mm: Option<[f64; 3]>,
    /// G(P2)'s volume floor: per scan, its threshold is lowered (never below `lowest`) until
    /// the mask holds `ml` millilitres (`crate::pipeline::fusion::volume_floor`). Absent (the
    /// fixed operating point) in bundles written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_floor: Option<VolumeFloor>,
}

/// A loaded, verified bundle. It keeps the verified contents of its files, so what is parsed
/// later is exactly what was hashed (a file swapped on disk after loading is never used).
///
/// ```
/// let bundle = pancseg::Bundle::load("tests/fixtures/bundle-tiny")?;
/// // the grid every stage runs at, in mm (x, y, z)
/// println!("{:?}", bundle.manifest.working_spacing_mm);
/// // a missing bundle is an error, never a panic
/// assert!(pancseg::Bundle::load("/nonexistent/bundle").is_err());
/// # Ok::<(), pancseg::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Bundle {
    pub dir: PathBuf,
    pub manifest: Manifest,
    files: BTreeMap<String, Vec<u8>>,
}

/// SHA-256 of a byte string, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Manifest {
    /// The P0 grid stride (voxels, x and y) for a scan with this spacing: from `p0_step_mm`
    /// when the bundle gives it, else `p0_stride`.
    pub fn p0_stride_for(&self, spacing: [f64; 3]) -> usize {
        let in_plane = spacing[0].min(spacing[1]);
        match self.p0_step_mm {
            Some(step) if in_plane > 0.0 && in_plane.is_finite() => {
                ((step / in_plane).round() as usize).clamp(1, 64)
            }
            _ => self.p0_stride,
        }
    }

    /// The smoothing sigma (voxels, x, y, z) for a scan with this spacing: from `sigma_mm`
    /// when the bundle gives it (at most 20 voxels per axis), else `sigma_voxels`.
    pub fn sigma_for(&self, spacing: [f64; 3]) -> [f64; 3] {
        match self.sigma_mm {
            Some(mm) if spacing.iter().all(|s| *s > 0.0 && s.is_finite()) => {
                [0, 1, 2].map(|i| (mm[i] / spacing[i]).min(20.0))
            }
            _ => self.sigma_voxels,
        }
    }

    /// The CRF unary's prior: `crf_prior`, or 0.5 when the bundle does not give one.
    pub fn crf_prior(&self) -> f64 {
        self.crf_prior.unwrap_or(0.5)
    }

    /// The CRF setting the bundle runs CRF(P2) with.
    pub fn crf_setting(&self) -> CrfSetting {
        CrfSetting {
            weight: self.crf_weight,
            prior: self.crf_prior(),
            pairwise: self.crf_pairwise.unwrap_or_default(),
        }
    }

    /// Parses and validates `manifest.json` text (`path` names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Manifest> {
        let manifest: Manifest = serde_json::from_str(text)
            .map_err(|e| Error::model(path, format!("malformed manifest: {e}")))?;
        manifest.validate(path)?;
        Ok(manifest)
    }

    /// Checks the fields that do not need the files.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let bad = |reason: String| Err(Error::model(path, reason));
        if self.format != FORMAT {
            return bad(format!("format is {:?}, not {FORMAT:?}", self.format));
        }
        if self.format_version == 0 || self.format_version > FORMAT_VERSION {
            return bad(format!(
                "format version {} is not supported (this library reads 1 to {FORMAT_VERSION}); update pancseg",
                self.format_version
            ));
        }
        let nets = [
            ("p", Some(&self.networks.p), 3usize, self.patch.size),
            ("r1", Some(&self.networks.r1), 1, self.region.size),
            ("r2", Some(&self.networks.r2), 2, self.region.size),
            (
                "boundary",
                self.networks.boundary.as_ref(),
                self.region.boundary_channels(),
                self.region.size,
            ),
        ];
        for (name, net, channels, size) in nets {
            let Some(n) = net else { continue };
            if n.input_shape != [channels, size, size] {
                return bad(format!(
                    "network {name}: input shape {:?}, expected [{channels}, {size}, {size}] from the patch/region geometry",
                    n.input_shape
                ));
            }
            if n.channels.len() != channels {
                return bad(format!(
                    "network {name}: {} channel names for {channels} channels",
                    n.channels.len()
                ));
            }
            if n.hu_normalisation != HU_NORMALISATION {
                return bad(format!(
                    "network {name}: HU normalisation {:?} is not this library's {HU_NORMALISATION:?}",
                    n.hu_normalisation
                ));
            }
        }
        if self.patch.size == 0
            || self.patch.size > 512
            || !(self.patch.pixel_mm > 0.0 && self.patch.pixel_mm.is_finite())
        {
            return bad(format!("patch geometry {:?} is invalid", self.patch));
        }
        let r = &self.region;
        if r.size == 0
            || r.size > 512
            || r.scales.is_empty()
            || r.scales.iter().any(|s| !(*s > 0.0 && s.is_finite()))
            || !(r.floor_mm >= 0.0 && r.floor_mm.is_finite())
            || !(r.context > 0.0 && r.context.is_finite())
        {
            return bad(format!("region geometry {r:?} is invalid"));
        }
        if self.p0_stride == 0 || self.p0_stride > 64 {
            return bad(format!("p0_stride {} is not in 1..=64", self.p0_stride));
        }
        if let Some(step) = self.p0_step_mm {
            if !(step > 0.0 && step <= 100.0) {
                return bad(format!("p0_step_mm {step} is not in (0, 100]"));
            }
        }
        if self.sigma_voxels.iter().any(|s| !(*s >= 0.0 && *s <= 20.0)) {
            return bad(format!(
                "sigma_voxels {:?} is not in [0, 20]",
                self.sigma_voxels
            ));
        }
        if let Some(mm) = self.sigma_mm {
            if mm.iter().any(|s| !(*s >= 0.0 && *s <= 100.0)) {
                return bad(format!("sigma_mm {mm:?} is not in [0, 100]"));
            }
        }
        let o = self.operating_points;
        if [o.p0, o.p1, o.p2, o.g_p0, o.g_p1, o.g_p2]
            .iter()
            .any(|t| !(*t >= 0.0 && *t <= 1.0))
        {
            return bad(format!("operating points {o:?} are not in [0, 1]"));
        }
        if !(self.crf_weight >= 0.0 && self.crf_weight.is_finite()) {
            return bad(format!("crf_weight {} is invalid", self.crf_weight));
        }
        if let Some(t) = self.crf_prior {
            if !(t > 0.0 && t < 1.0) {
                return bad(format!("crf_prior {t} is not in (0, 1)"));
            }
        }
        if let Some(w) = self.working_spacing_mm {
            if let Err(e) = crate::pipeline::working_grid::validate_spacing(w) {
                return bad(e.to_string());
            }
        }
        if let Some(Err(e)) = self.volume_floor.map(|f| f.check()) {
            return bad(e);
        }
        let s = &self.superpixels;
        let positive = |v: f64| v > 0.0 && v.is_finite();
        let window_ok = s.window.0.is_finite() && s.window.1.is_finite() && s.window.0 < s.window.1;
        let lambda_ok = s.lambda >= 0.0 && s.lambda.is_finite();
        if !(positive(s.area_mm2) && positive(s.sigma_hu) && lambda_ok && window_ok) {
            return bad(format!("superpixel parameters {s:?} are invalid"));
        }
        for (file, sha) in self.files() {
            let rel = Path::new(file);
            if file.is_empty()
                || rel.is_absolute()
                || rel
                    .components()
                    .any(|c| !matches!(c, std::path::Component::Normal(_)))
            {
                return bad(format!(
                    "file name {file:?} must be a plain path inside the bundle"
                ));
            }
            if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                return bad(format!(
                    "{file}: sha256 {sha:?} is not 64 hexadecimal digits"
                ));
            }
        }
        Ok(())
    }

    /// Every file the manifest names, with its expected hash.
    pub fn files(&self) -> Vec<(&str, &str)> {
        let mut out = vec![
            (
                self.forests.level1.file.as_str(),
                self.forests.level1.sha256.as_str(),
            ),
            (
                self.forests.level2.file.as_str(),
                self.forests.level2.sha256.as_str(),
            ),
        ];
        let n = &self.networks;
        for e in [Some(&n.p), Some(&n.r1), Some(&n.r2), n.boundary.as_ref()]
            .into_iter()
            .flatten()
        {
            out.push((e.file.as_str(), e.sha256.as_str()));
        }
        out
    }
}

impl Bundle {
    /// Reads and verifies a bundle directory.
    pub fn load(dir: impl AsRef<Path>) -> Result<Bundle> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(Error::model(
                dir,
                "model bundle directory does not exist (or is not a directory)",
            ));
        }
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let manifest = Manifest::parse(&text, &path)?;
        let mut files = BTreeMap::new();
        for (file, sha) in manifest.files() {
            // plain relative names and well-formed hashes: checked by Manifest::validate
            let fp = dir.join(file);
            let bytes = std::fs::read(&fp).map_err(|e| Error::io(&fp, e))?;
            let got = sha256_hex(&bytes);
            if !got.eq_ignore_ascii_case(sha) {
                return Err(Error::model(
                    &fp,
                    format!("SHA-256 {got} does not match the manifest's {sha}: the file was changed or corrupted"),
                ));
            }
            files.insert(file.to_string(), bytes);
        }
        Ok(Bundle {
            dir: dir.to_path_buf(),
            manifest,
            files,
        })
    }

    /// Where the default bundle is looked for, in order: `PANCSEG_MODEL_DIR`; `models/default`
    /// next to the running executable, in `../share/pancseg/models/default` from it (how a vendor
    /// installs it) or one level up (cargo's test binaries); then `models/default` in this
    /// source tree.
    pub fn default_locations() -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Some(p) = std::env::var_os("PANCSEG_MODEL_DIR").filter(|p| !p.is_empty()) {
            out.push(PathBuf::from(p));
        }
        if let Ok(exe) = std::env::current_exe() {
            if let Some(dir) = exe.parent() {
                out.push(dir.join("models").join("default"));
                out.push(dir.join("../share/pancseg/models/default"));
                out.push(dir.join("../models/default"));
            }
        }
        out.push(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("models")
                .join("default"),
        );
        out
    }

    /// Loads the default bundle (the first of [`Bundle::default_locations`] holding a manifest).
    pub fn load_default() -> Result<Bundle> {
        if let Some(p) = std::env::var_os("PANCSEG_MODEL_DIR").filter(|p| !p.is_empty()) {
            return Bundle::load(PathBuf::from(p));
        }
        let tried = Self::default_locations();
        match tried.iter().find(|d| d.join(MANIFEST).is_file()) {
            Some(d) => Bundle::load(d),
            None => Err(Error::model(
                tried.first().cloned().unwrap_or_default(),
                format!(
                    "no default model bundle found (tried: {}); pass a bundle directory or set PANCSEG_MODEL_DIR",
                    tried
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    /// The verified contents of a file the manifest names (until
    /// [`Bundle::release_file_contents`]).
    pub fn file_contents(&self, file: &str) -> Result<&[u8]> {
        self.files.get(file).map(Vec::as_slice).ok_or_else(|| {
            Error::model(
                self.path(file),
                "not a verified file of this bundle (not in the manifest, or already released)",
            )
        })
    }

    /// Frees the kept file contents once the models are built from them.
    pub fn release_file_contents(&mut self) {
        self.files.clear();
    }

    /// Path of a bundle file.
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    fn fixture_manifest() -> (Manifest, PathBuf) {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bundle-tiny/manifest.json");
        let text = std::fs::read_to_string(&path).unwrap();
        (Manifest::parse(&text, &path).unwrap(), path)
    }

    #[test]
    fn p0_grid_step_in_mm_sets_the_stride_per_scan() {
        let (mut m, path) = fixture_manifest();
        // a bundle without the field keeps its voxel stride on every scan
        assert_eq!(m.p0_step_mm, None);
        assert_eq!(m.p0_stride_for([0.7, 0.7, 1.0]), m.p0_stride);
        m.p0_step_mm = Some(4.0);
        m.validate(&path).unwrap();
        assert_eq!(m.p0_stride_for([1.96875, 1.96875, 2.5]), 2);
        assert_eq!(m.p0_stride_for([2.17, 2.17, 2.5]), 2);
        assert_eq!(m.p0_stride_for([0.77, 0.77, 1.0]), 5);
        // the smaller in-plane spacing decides; far below a voxel still samples every voxel
        assert_eq!(m.p0_stride_for([0.5, 2.0, 1.0]), 8);
        assert_eq!(m.p0_stride_for([40.0, 40.0, 1.0]), 1);
        // written only when present, read back equal
        let text = serde_json::to_string(&m).unwrap();
        assert!(text.contains("\"p0_step_mm\":4.0"));
        assert_eq!(Manifest::parse(&text, &path).unwrap(), m);
        for bad in [0.0, -1.0, f64::NAN, 1000.0] {
            m.p0_step_mm = Some(bad);
            let e = m.validate(&path).unwrap_err().to_string();
            assert!(e.contains("p0_step_mm"), "{e}");
        }
    }

    #[test]
    fn smoothing_sigma_in_mm_sets_the_voxels_per_scan() {
        let (mut m, path) = fixture_manifest();
        // a bundle without the field smooths by its voxel sigma on every grid
        assert_eq!(m.sigma_mm, None);
        assert_eq!(m.sigma_for([0.7, 0.7, 2.0]), m.sigma_voxels);
        assert!(!serde_json::to_string(&m).unwrap().contains("sigma_mm"));
        // the paper's 3 voxels on its ~0.7 mm scans, on a 1.86 mm phantom and a 0.7 mm scan
        m.sigma_mm = Some([2.1, 2.1, 6.0]);
        m.validate(&path).unwrap();
        let s = m.sigma_for([1.859375, 1.859375, 2.5]);
        assert!(
            (s[0] - 1.129).abs() < 1e-3 && (s[2] - 2.4).abs() < 1e-12,
            "{s:?}"
        );
        let s = m.sigma_for([0.7, 0.7, 2.0]);
        assert!(
            (s[0] - 3.0).abs() < 1e-12 && (s[2] - 3.0).abs() < 1e-12,
            "{s:?}"
        );
        // capped at 20 voxels; a grid without a valid spacing keeps the voxel sigma
        assert_eq!(m.sigma_for([0.01, 0.01, 0.01]), [20.0; 3]);
        assert_eq!(m.sigma_for([f64::NAN, 1.0, 1.0]), m.sigma_voxels);
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(Manifest::parse(&text, &path).unwrap(), m);
        for bad in [-1.0, f64::NAN, 1000.0] {
            m.sigma_mm = Some([2.0, bad, 2.0]);
            let e = m.validate(&path).unwrap_err().to_string();
            assert!(e.contains("sigma_mm"), "{e}");
        }
    }

    #[test]
    fn crf_prior_is_optional_and_validated() {
        let (mut m, path) = fixture_manifest();
        assert_eq!(m.crf_prior, None);
        assert_eq!(m.crf_prior(), 0.5);
        assert!(!serde_json::to_string(&m).unwrap().contains("crf_prior"));
        m.crf_prior = Some(0.8);
        m.validate(&path).unwrap();
        assert_eq!(m.crf_prior(), 0.8);
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(Manifest::parse(&text, &path).unwrap(), m);
        for bad in [0.0, 1.0, -0.5, f64::NAN] {
            m.crf_prior = Some(bad);
            let e = m.validate(&path).unwrap_err().to_string();
            assert!(e.contains("crf_prior"), "{e}");
        }
    }

    #[test]
    fn volume_floor_is_optional_and_validated() {
        let (mut m, path) = fixture_manifest();
        assert_eq!(m.volume_floor, None);
        assert!(!serde_json::to_string(&m).unwrap().contains("volume_floor"));
        m.volume_floor = Some(VolumeFloor {
            ml: 45.0,
            lowest: 0.4,
        });
        m.validate(&path).unwrap();
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(Manifest::parse(&text, &path).unwrap(), m);
        m.volume_floor = Some(VolumeFloor {
            ml: -1.0,
            lowest: 0.4,
        });
        let e = m.validate(&path).unwrap_err().to_string();
        assert!(e.contains("volume_floor"), "{e}");
    }
}
