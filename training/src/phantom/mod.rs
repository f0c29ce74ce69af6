//! Synthetic abdominal CT phantoms with pancreas labels (`pancseg-train phantom`).
//!
//! No labelled pancreas CT can be downloaded here, so training and tests run on phantoms built to
//! be hard in the way real CT is: the pancreas is a lobulated tube with fat between its lobules,
//! running from the duodenal C-loop in front of the aorta and SMA to the splenic hilum, touching
//! duodenum, jejunum, vessels and fat of similar HU, so no intensity window finds it (see
//! `cohort-stats`). Each case draws its anatomy, contrast phase, organ HU, fatty infiltration and
//! noise level from its seed; generation is a pure function of (seed, size): same seed, same bytes.
//!
//! Steps: draw the anatomy ([`anatomy`]), paint labels and base HU on an axis-aligned grid
//! ([`canvas`]), tune the pancreas radius to the drawn target volume (40-120 mL), blur for partial
//! volume, add in-plane correlated noise ([`noise`]), round to integer HU.

pub mod anatomy;
pub mod canvas;
pub mod intensity;
pub mod labels;
pub mod noise;
pub mod realistic;

use crate::cohort::{
    case_id, mask_volume_ml, write_case, write_manifest, CaseRecord, CohortManifest,
};
use crate::error::{Result, TrainError};
use anatomy::{lobulation, noise_fields, Anatomy, BodyForm, Painter};
use canvas::{Canvas, Grid};
use intensity::{HuTable, Phase};
use ndarray::Array3;
use noise::{correlated_noise_slice, derive, gaussian_kernel};
use pancseg::volume::{Geometry, IDENTITY};
use pancseg::{Image, Mask, Volume};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use std::path::PathBuf;

/// Phantom resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PhantomSize {
    /// 192 x 192 pixels of about 2 mm, 2.5 mm slices over about 180 mm.
    Small,
    /// 512 x 512 pixels of 0.6-0.9 mm, 1-2.5 mm slices, 181 or more slices (NIH Pancreas-CT-like).
    Full,
}

/// Which phantom world a cohort is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// The original phantoms: lower chest to iliac crest without lungs, about 2 mm pixels and
    /// 2.5 mm slices (small) or NIH-like full size, three phases; kept so that earlier results
    /// stay reproducible.
    Classic,
    /// Real protocols' framings (whole trunk to short slabs, chest-only and pelvis-only without
    /// pancreas), drawn scanners, bodies, findings and four phases ([`realistic`]).
    Realistic,
}

/// Options of `pancseg-train phantom`.
#[derive(Debug, Clone)]
pub struct CohortOptions {
    pub count: usize,
    pub seed: u64,
    pub size: PhantomSize,
    pub profile: Profile,
    /// The framings a realistic case is drawn from (all when empty).
    pub framings: Vec<realistic::draw::Framing>,
    pub out: PathBuf,
    pub nifti: bool,
    pub dicom: bool,
    pub progress: bool,
}

/// What cohort.json records of a phantom case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseParams {
    pub phase: Phase,
    pub noise_sigma_hu: f64,
    pub anatomy: Anatomy,
    /// The realistic profile's draws (absent in the classic profile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realism: Option<realistic::draw::Realism>,
}

/// One generated case.
pub struct PhantomCase {
    pub ct: Volume,
    pub organs: Mask,
    pub label: Mask,
    pub params: CaseParams,
}

/// Rounds to a multiple of 1/64 mm, exact in f32 and in a DICOM decimal string.
fn q64(v: f64) -> f64 {
    (v * 64.0).round() / 64.0
}

fn grid_for(size: PhantomSize, an: &Anatomy, rng: &mut ChaCha8Rng) -> Grid {
    let [a, b] = an.body;
    let (n, px_lo, px_hi, margin) = match size {
        PhantomSize::Small => (192usize, 1.6, 2.3, 50.0),
        PhantomSize::Full => (512usize, 0.6, 0.9, 40.0),
    };
    let px = q64(((2.0 * a + margin) / n as f64).clamp(px_lo, px_hi));
    let (dz, nz, z_lo) = match size {
        PhantomSize::Small => (2.5, 72usize, -95.0 + rng.random_range(-8.0..8.0)),
        PhantomSize::Full => {
            let dz = [1.0, 1.25, 1.5, 2.0, 2.5][rng.random_range(0..5)];
            let extent: f64 = rng.random_range(270.0..400.0);
            let nz = ((extent / dz).round() as usize).clamp(181, 466);
            let ext = (nz - 1) as f64 * dz;
            (dz, nz, -ext * rng.random_range(0.45..0.6))
        }
    };
    let y_shift = rng.random_range(-10.0..10.0) + b * 0.05;
    Grid {
        dims: (nz, n, n),
        spacing: [px, px, dz],
        origin: [
            q64(-(n as f64 - 1.0) / 2.0 * px),
            q64(-(n as f64 - 1.0) / 2.0 * px + y_shift),
            q64(z_lo),
        ],
    }
}

/// Generates one case from its seed.
pub fn generate_case(seed: u64, size: PhantomSize) -> Result<PhantomCase> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let phase = match rng.random_range(0..10) {
        0..=2 => Phase::NonContrast,
        3..=4 => Phase::Arterial,
        _ => Phase::PortalVenous,
    };
    let noise_sigma = rng.random_range(8.0..25.0);
    let hu = HuTable::draw(phase, &mut rng);
    let mut an = Anatomy::draw(&mut rng, seed);
    let grid = grid_for(size, &an, &mut rng);
    tune_pancreas_volume(&mut an, &grid);
    let (tex, shape) = noise_fields(seed);
    let painter = Painter {
        an: &an,
        hu: &hu,
        tex,
        shape,
        form: BodyForm::CLASSIC,
    };
    let mut canvas = Canvas::new(grid, -1000.0);
    let mut paint_rng = ChaCha8Rng::seed_from_u64(derive(seed, 3));
    painter.paint_all(&mut canvas, &mut paint_rng);
    let (nz, ny, nx) = grid.dims;
    let Canvas { labels, mut hu, .. } = canvas;

    // partial volume: blur in-plane by 0.5 px and across slices by 0.35 slice
    let k = gaussian_kernel(0.5);
    hu.par_chunks_mut(ny * nx)
        .for_each(|s| noise::blur2d(s, nx, ny, &k));
    noise::blur_z(&mut hu, nz, ny * nx, &gaussian_kernel(0.35));
    // correlated noise, one seed per slice (thread-count independent), then integer HU
    let corr = match size {
        PhantomSize::Small => 0.7,
        PhantomSize::Full => 1.3,
    };
    hu.par_chunks_mut(ny * nx).enumerate().for_each(|(z, s)| {
        let n = correlated_noise_slice(derive(seed, 1000 + z as u64), nx, ny, noise_sigma, corr);
        for (v, e) in s.iter_mut().zip(n) {
            *v = (*v + e).round().clamp(-1024.0, 3071.0);
        }
    });

    assemble(
        grid,
        labels,
        hu,
        CaseParams {
            phase,
            noise_sigma_hu: noise_sigma,
            anatomy: an,
            realism: None,
        },
    )
}

/// Generates one case of `profile` from its seed (`framings` only for the realistic profile).
pub fn generate_profile_case(
    seed: u64,
    size: PhantomSize,
    profile: Profile,
    framings: &[realistic::draw::Framing],
) -> Result<PhantomCase> {
    match profile {
        Profile::Classic => generate_case(seed, size),
        Profile::Realistic => realistic::generate(seed, size, framings),
    }
}

/// CT, organ labels and pancreas label of a painted grid.
fn assemble(grid: Grid, labels: Vec<u8>, hu: Vec<f32>, params: CaseParams) -> Result<PhantomCase> {
    let (nz, ny, nx) = grid.dims;
    let geometry = Geometry {
        spacing: grid.spacing,
        origin: grid.origin,
        direction: IDENTITY,
    };
    let shape3 = (nz, ny, nx);
    let to_err = |e: ndarray::ShapeError| TrainError::Invalid(format!("phantom shape: {e}"));
    let ct = Image::new(
        Array3::from_shape_vec(shape3, hu).map_err(to_err)?,
        geometry,
    )?;
    let label_data: Vec<u8> = labels
        .iter()
        .map(|&l| u8::from(l == labels::PANCREAS))
        .collect();
    let organs = Image::new(
        Array3::from_shape_vec(shape3, labels).map_err(to_err)?,
        geometry,
    )?;
    let label = Image::new(
        Array3::from_shape_vec(shape3, label_data).map_err(to_err)?,
        geometry,
    )?;
    Ok(PhantomCase {
        ct,
        organs,
        label,
        params,
    })
}

/// Adjusts `pancreas_scale` so the painted pancreas (alone, before other structures cut into it)
/// has about the drawn target volume.
fn tune_pancreas_volume(an: &mut Anatomy, grid: &Grid) {
    let (_, shape) = noise_fields(an.seed);
    for _ in 0..4 {
        let line = an.pancreas_line(1.0);
        let lo = [0, 1, 2].map(|a| {
            line.iter()
                .map(|p| p.c[a] - p.r * 1.4)
                .fold(f64::INFINITY, f64::min)
        });
        let hi = [0, 1, 2].map(|a| {
            line.iter()
                .map(|p| p.c[a] + p.r * 1.4)
                .fold(f64::NEG_INFINITY, f64::max)
        });
        let (x0, x1) = grid.range(0, lo[0], hi[0]);
        let (y0, y1) = grid.range(1, lo[1], hi[1]);
        let (z0, z1) = grid.range(2, lo[2], hi[2]);
        let sub = Grid {
            dims: (z1 - z0, y1 - y0, x1 - x0),
            spacing: grid.spacing,
            origin: grid.pos(x0, y0, z0),
        };
        if sub.dims.0 == 0 || sub.dims.1 == 0 || sub.dims.2 == 0 {
            return;
        }
        let mut c = Canvas::new(sub, 0.0);
        c.paint_tube(
            &line,
            0.0,
            |p| lobulation(&shape, p),
            |_, _, _| Some((1, 0.0)),
        );
        let n = c.labels.iter().filter(|&&l| l == 1).count() as f64;
        let ml = n * grid.spacing.iter().product::<f64>() / 1000.0;
        if ml <= 0.0 {
            return;
        }
        let ratio = an.pancreas_target_ml / ml;
        if (ratio - 1.0).abs() < 0.03 {
            return;
        }
        an.pancreas_scale *= ratio.powf(0.5).clamp(0.7, 1.4);
    }
}

/// Seed of case `index` of a cohort.
pub fn case_seed(cohort_seed: u64, index: usize) -> u64 {
    derive(cohort_seed, 0x5EED_0000 + index as u64)
}

/// A DICOM UID under the 2.25 (UUID-derived) root, from a 128-bit hash of `parts`.
fn uid_root(parts: &[u64]) -> String {
    let mut h1 = 0x243F_6A88_85A3_08D3u64;
    let mut h2 = 0x1319_8A2E_0370_7344u64;
    for &p in parts {
        h1 = noise::mix64(h1 ^ p);
        h2 = noise::mix64(h2 ^ h1 ^ p.rotate_left(17));
    }
    let v = ((h1 as u128) << 64 | h2 as u128) >> 8; // keep it short enough for sub-UIDs
    format!("2.25.{v}")
}

/// `pancseg-train phantom`: writes the cohort layout of [`crate::cohort`].
pub fn generate_cohort(o: &CohortOptions) -> Result<()> {
    if o.count == 0 {
        return Err(TrainError::Invalid("--count must be at least 1".into()));
    }
    std::fs::create_dir_all(&o.out).map_err(|e| TrainError::io(&o.out, e))?;
    let mut cases = Vec::with_capacity(o.count);
    for i in 0..o.count {
        let id = case_id(i);
        let seed = case_seed(o.seed, i);
        let started = std::time::Instant::now();
        let case = generate_profile_case(seed, o.size, o.profile, &o.framings)?;
        let dir = o.out.join(&id);
        if o.nifti {
            write_case(&o.out, &id, &case.ct, &case.label, Some(&case.organs))?;
        } else {
            std::fs::create_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
        }
        if o.dicom {
            let root = uid_root(&[o.seed, i as u64]);
            let mut w = pancseg::io::dicom::ct_writer::SeriesWriteOptions::new(&root);
            w.patient_id = format!("PHANTOM_{seed:016x}");
            w.series_description = format!("pancseg phantom {id}");
            w.rescale_intercept = -1024.0;
            w.signed = false;
            w.bits_stored = 12;
            pancseg::io::dicom::ct_writer::write_ct_series(&case.ct, &dir.join("dicom"), &w)?;
        }
        let ml = mask_volume_ml(&case.label);
        if o.progress {
            let [nx, ny, nz] = case.ct.dims_xyz();
            let framing = case
                .params
                .realism
                .as_ref()
                .map(|r| format!(", {}", r.framing.name()))
                .unwrap_or_default();
            eprintln!(
                "{id}: {nx}x{ny}x{nz}{framing}, {:?}, pancreas {ml:.1} mL, {:.1} s",
                case.params.phase,
                started.elapsed().as_secs_f64()
            );
        }
        cases.push(CaseRecord {
            id,
            dims: case.ct.dims_xyz(),
            spacing: case.ct.geometry.spacing,
            pancreas_volume_ml: (ml * 1000.0).round() / 1000.0,
            seed: Some(seed),
            source: None,
            details: serde_json::to_value(&case.params)
                .map_err(|e| TrainError::Invalid(format!("case parameters: {e}")))?,
        });
    }
    let manifest = CohortManifest {
        source: "phantom".into(),
        parameters: serde_json::json!({
            "generator": concat!("pancseg-train ", env!("CARGO_PKG_VERSION")),
            "seed": o.seed,
            "count": o.count,
            "size": o.size,
            "profile": o.profile,
            "framings": o.framings,
            "formats": { "nifti": o.nifti, "dicom": o.dicom },
            "labels": labels::NAMES.iter().map(|(l, n)| (l.to_string(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
        }),
        cases,
    };
    write_manifest(&o.out, &manifest)
}
