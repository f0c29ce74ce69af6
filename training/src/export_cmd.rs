//! `pancseg-train export`: assembles a model bundle (see `pancseg::model::bundle`) from a trained
//! cascade and trained ConvNets: copies the forest and ONNX files, writes `manifest.json` with
//! the geometry each network was trained with, the pipeline parameters and a SHA-256 for every
//! file, then loads the result with the library's own verifier.

use crate::convnet::report::{network_entry, read_report, shared_region};
use crate::convnet::NetKind;
use crate::error::{Result, TrainError};
use pancseg::model::bundle::{
    sha256_hex, Bundle, FileRef, ForestFiles, Manifest, NetworkEntry, Networks, OperatingPoints,
    FORMAT, FORMAT_VERSION, MANIFEST,
};
use pancseg::pipeline::candidates::superpixels::SuperpixelConfig;
use std::path::{Path, PathBuf};

/// Inputs of `export`.
#[derive(Debug, Clone)]
pub struct ExportArgs {
    /// Folder with `level1.psrf` and `level2.psrf`.
    pub forests: PathBuf,
    /// `train` output folders.
    pub p: PathBuf,
    pub r1: PathBuf,
    pub r2: PathBuf,
    pub boundary: Option<PathBuf>,
    pub out: PathBuf,
    pub p0_stride: usize,
    /// The P0 grid step in mm (replaces the stride per scan; see [`Manifest::p0_stride_for`]).
    pub p0_step_mm: Option<f64>,
    pub sigma_voxels: [f64; 3],
    /// Smoothing sigma in mm (x, y, z; replaces `sigma_voxels` per scan, see
    /// [`Manifest::sigma_for`]).
    pub sigma_mm: Option<[f64; 3]>,
    pub operating_points: OperatingPoints,
    pub crf_weight: f64,
    /// The CRF unary's prior (None: 0.5, see [`pancseg::pipeline::fusion::crf`]).
    pub crf_prior: Option<f64>,
    /// The CRF's pairwise form (None: linear, see [`pancseg::pipeline::fusion::crf`]).
    pub crf_pairwise: Option<pancseg::pipeline::fusion::crf::Pairwise>,
    /// Working spacing (x, y, z, mm) the networks and forests were trained at (None: the
    /// bundle runs on each scan's own grid).
    pub working_spacing_mm: Option<[f64; 3]>,
    pub description: String,
}

fn copy(from: &Path, out: &Path, name: &str) -> Result<FileRef> {
    let bytes = std::fs::read(from).map_err(|e| TrainError::io(from, e))?;
    let to = out.join(name);
    std::fs::write(&to, &bytes).map_err(|e| TrainError::io(&to, e))?;
    Ok(FileRef {
        file: name.to_string(),
        sha256: sha256_hex(&bytes),
    })
}

/// Writes the bundle; returns the manifest.
pub fn run_export(a: &ExportArgs) -> Result<Manifest> {
    std::fs::create_dir_all(&a.out).map_err(|e| TrainError::io(&a.out, e))?;
    let level1 = copy(&a.forests.join("level1.psrf"), &a.out, "level1.psrf")?;
    let level2 = copy(&a.forests.join("level2.psrf"), &a.out, "level2.psrf")?;
    let mut geometry = None;
    // the boundary ConvNet's own fields (P0 channel, box context), default without one
    let mut boundary_fields = None;
    let mut net = |dir: &Path, kind: NetKind| -> Result<NetworkEntry> {
        let r = read_report(dir)?;
        if r.net != kind {
            return Err(TrainError::Invalid(format!(
                "{} holds a {} network, not {}",
                dir.display(),
                r.net.name(),
                kind.name()
            )));
        }
        // only the boundary ConvNet says whether it reads P0 and how far its box reaches
        let region = shared_region(&r.region);
        if kind == NetKind::Boundary {
            boundary_fields = Some((r.region.boundary_p0, r.region.context));
        }
        match &geometry {
            None => geometry = Some((r.patch, region)),
            Some((p, g)) if *p != r.patch || *g != region => {
                return Err(TrainError::Invalid(format!(
                    "{} was trained with another patch or region geometry than the other networks",
                    dir.display()
                )))
            }
            Some(_) => {}
        }
        let f = copy(
            &dir.join(&r.onnx.file),
            &a.out,
            &format!("{}.onnx", kind.name()),
        )?;
        Ok(network_entry(&r, f.file, f.sha256))
    };
    let networks = Networks {
        p: net(&a.p, NetKind::P)?,
        r1: net(&a.r1, NetKind::R1)?,
        r2: net(&a.r2, NetKind::R2)?,
        boundary: match &a.boundary {
            Some(d) => Some(net(d, NetKind::Boundary)?),
            None => None,
        },
    };
    let (patch, mut region) =
        geometry.ok_or_else(|| TrainError::Invalid("no network given".into()))?;
    if let Some((p0, context)) = boundary_fields {
        region.boundary_p0 = p0;
        region.context = context;
    }
    let manifest = Manifest {
        format: FORMAT.to_string(),
        format_version: FORMAT_VERSION,
        pipeline_version: env!("CARGO_PKG_VERSION").to_string(),
        description: a.description.clone(),
        superpixels: SuperpixelConfig::default(),
        forests: ForestFiles { level1, level2 },
        networks,
        patch,
        region,
        p0_stride: a.p0_stride,
        p0_step_mm: a.p0_step_mm,
        sigma_voxels: a.sigma_voxels,
        sigma_mm: a.sigma_mm,
        operating_points: a.operating_points,
        crf_weight: a.crf_weight,
        crf_prior: a.crf_prior,
        crf_pairwise: a.crf_pairwise,
        working_spacing_mm: a.working_spacing_mm,
        volume_floor: None,
    };
    let path = a.out.join(MANIFEST);
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| TrainError::Invalid(format!("manifest: {e}")))?;
    std::fs::write(&path, text + "\n").map_err(|e| TrainError::io(&path, e))?;
    // what the library will see
    Bundle::load(&a.out)?;
    Ok(manifest)
}
