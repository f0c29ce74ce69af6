//! What the realistic profile draws per case, before anything is painted: body, pathology,
//! phase and timing, framing (which part of the trunk a protocol covers) and scanner (matrix,
//! field of view, slice thickness and spacing, kernel, noise, calibration, artefacts).
//!
//! Everything comes from one random stream derived from the case seed, so a case is a pure
//! function of (seed, size, framing choice). Ranges follow `../shared/notes/realism.md`
//! (protocols, noise, kernels, pancreas sizes and HU) and are wide on purpose: the networks
//! should meet every scanner and body a hospital produces (domain randomisation).

use super::super::anatomy::{BodyForm, BodySize};
use super::super::intensity::Phase;
use super::super::PhantomSize;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Which part of the trunk a scan covers, as real protocols frame it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Framing {
    /// Diaphragm domes to the iliac crest.
    AbdomenOnly,
    /// Diaphragm domes to the pelvic floor.
    AbdomenPelvis,
    /// Lung apices to the pelvic floor (chest-abdomen-pelvis).
    WholeTrunk,
    /// Liver dome to the lower kidney poles.
    UpperAbdomen,
    /// 20-60 slices anywhere over the pancreas.
    Slab,
    /// Lung apices to above the pancreas: no pancreas in the scan.
    ChestOnly,
    /// Iliac crest to the pelvic floor: no pancreas in the scan.
    PelvisOnly,
}

impl Framing {
    /// Every framing, in the order of [`Framing::WEIGHTS`].
    pub const ALL: [Framing; 7] = [
        Framing::AbdomenOnly,
        Framing::AbdomenPelvis,
        Framing::WholeTrunk,
        Framing::UpperAbdomen,
        Framing::Slab,
        Framing::ChestOnly,
        Framing::PelvisOnly,
    ];
    /// How often each framing is drawn (per cent).
    pub const WEIGHTS: [u32; 7] = [22, 22, 12, 14, 16, 7, 7];

    /// Draws a framing among `allowed` (every framing when empty) with their weights.
    fn draw(rng: &mut ChaCha8Rng, allowed: &[Framing]) -> Framing {
        let choices: Vec<(Framing, u32)> = Self::ALL
            .iter()
            .zip(Self::WEIGHTS)
            .filter(|(f, _)| allowed.is_empty() || allowed.contains(f))
            .map(|(f, w)| (*f, w))
            .collect();
        if choices.len() == 1 {
            return choices[0].0;
        }
        pick(rng, &choices)
    }

    /// Whether the pancreas lies (at least partly) inside the scan.
    pub fn holds_pancreas(self) -> bool {
        !matches!(self, Framing::ChestOnly | Framing::PelvisOnly)
    }

    pub fn name(self) -> &'static str {
        match self {
            Framing::AbdomenOnly => "abdomen-only",
            Framing::AbdomenPelvis => "abdomen-pelvis",
            Framing::WholeTrunk => "whole-trunk",
            Framing::UpperAbdomen => "upper-abdomen",
            Framing::Slab => "slab",
            Framing::ChestOnly => "chest-only",
            Framing::PelvisOnly => "pelvis-only",
        }
    }
}

/// Heights (z, mm; pancreatic neck at 0) of the landmarks the framing and the thorax and
/// pelvis painters use.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Levels {
    pub lung_apex: f64,
    pub dome_right: f64,
    pub dome_left: f64,
    /// Lowest point of the posterior costophrenic recesses.
    pub lung_recess: f64,
    pub iliac_crest: f64,
    pub femoral_heads: f64,
    pub pelvic_floor: f64,
}

/// A reconstruction kernel: edge sharpness and noise texture.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Kernel {
    pub name: &'static str,
    /// In-plane Gaussian blur of the image (mm): the point-spread of the kernel.
    pub edge_sigma_mm: f64,
    /// Correlation length of the noise (mm): long for soft kernels, short for sharp ones.
    pub noise_corr_mm: f64,
    /// Fraction of the low-frequency noise removed (0 for soft kernels): sharp kernels have a
    /// noise power spectrum that peaks away from zero frequency.
    pub band_pass: f64,
    /// Noise multiplier relative to a standard kernel.
    pub noise_gain: f64,
}

const KERNELS: [Kernel; 4] = [
    Kernel {
        name: "soft",
        edge_sigma_mm: 0.75,
        noise_corr_mm: 1.4,
        band_pass: 0.0,
        noise_gain: 0.75,
    },
    Kernel {
        name: "standard",
        edge_sigma_mm: 0.5,
        noise_corr_mm: 1.0,
        band_pass: 0.2,
        noise_gain: 1.0,
    },
    Kernel {
        name: "detail",
        edge_sigma_mm: 0.35,
        noise_corr_mm: 0.75,
        band_pass: 0.45,
        noise_gain: 1.3,
    },
    Kernel {
        name: "sharp",
        edge_sigma_mm: 0.2,
        noise_corr_mm: 0.55,
        band_pass: 0.65,
        noise_gain: 1.7,
    },
];

/// Metal in the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Metal {
    HipProsthesis,
    SpinalHardware,
    SurgicalClips,
}

/// The scanner side of a case.
#[derive(Debug, Clone, Serialize)]
pub struct Scanner {
    /// Matrix (pixels per side).
    pub matrix: usize,
    pub fov_mm: f64,
    pub pixel_mm: f64,
    pub slice_thickness_mm: f64,
    pub slice_spacing_mm: f64,
    pub kernel: Kernel,
    /// Noise standard deviation (HU) at a reference voxel of 0.75 x 0.75 x 2.5 mm with a
    /// standard kernel; the image's own noise follows from its voxel and kernel.
    pub noise_ref_hu: f64,
    /// Noise standard deviation (HU) of this image.
    pub noise_hu: f64,
    /// Calibration offset added to every voxel (HU).
    pub hu_offset: f64,
    /// Correlation of the noise across slices (Gaussian sigma, slices): the z interpolation of
    /// helical reconstruction.
    pub noise_z_corr_slices: f64,
    /// Strength of beam-hardening streaks between dense structures (0 = none, 1 = strong).
    pub beam_hardening: f64,
    /// Field-of-view centre offset from the body centre (x, y; mm).
    pub centre_mm: [f64; 2],
}

/// The body side of a case beyond the classic anatomy.
#[derive(Debug, Clone, Serialize)]
pub struct Body {
    /// 0 = thin, 1 = obese.
    pub habitus: f64,
    pub half_axes_mm: [f64; 2],
    pub subcutaneous_fat_mm: f64,
    pub form: BodyForm,
    pub arms_down: bool,
    pub table: bool,
    pub ascites: bool,
    /// Oral contrast: `positive`, `water` or `none`.
    pub oral: &'static str,
    /// Pancreatic duct radius in the head (mm); dilated above 2.5.
    pub duct_radius_mm: f64,
    /// A hypodense mass (radius mm) labelled as pancreas, as NIH and MSD label tumours.
    pub mass_radius_mm: Option<f64>,
    /// A cyst (radius mm) labelled as pancreas.
    pub cyst_radius_mm: Option<f64>,
    /// Target pancreas volume (mL): small when atrophic.
    pub pancreas_target_ml: f64,
    pub metal: Option<Metal>,
}

/// Everything the realistic profile draws for a case (recorded in cohort.json).
#[derive(Debug, Clone, Serialize)]
pub struct Realism {
    pub framing: Framing,
    /// Scanned z range (mm, pancreatic neck at 0).
    pub z_range_mm: [f64; 2],
    pub levels: Levels,
    pub phase: Phase,
    /// Position inside the phase (0 = early, 1 = late).
    pub timing: f64,
    /// Largest per-structure HU shift of the appearance randomisation.
    pub appearance_shift_hu: f64,
    pub body: Body,
    pub scanner: Scanner,
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, v: &[(T, u32)]) -> T {
    let total: u32 = v.iter().map(|(_, w)| w).sum();
    let mut u = rng.random_range(0..total);
    for (x, w) in v {
        if u < *w {
            return *x;
        }
        u -= w;
    }
    v[0].0
}

impl Realism {
    /// Draws body, phase and pathology (the parts the anatomy needs before it is drawn).
    pub fn draw(rng: &mut ChaCha8Rng, size: PhantomSize, framings: &[Framing]) -> Realism {
        let habitus: f64 = rng.random::<f64>().powf(1.3);
        let a = 118.0 + 85.0 * habitus + rng.random_range(-8.0..8.0);
        let b = a * rng.random_range(0.66..0.88);
        let fat = (4.0 + 55.0 * habitus * rng.random_range(0.5..1.2)).clamp(3.0, 75.0);
        // the ribs draw from a stream of their own, seeded from the habitus draw: adding them
        // left every other draw of a case (and so the cases of earlier seeds) as it was
        let mut ribs = ChaCha8Rng::seed_from_u64(habitus.to_bits() ^ 0x5249_4253);
        let form = BodyForm {
            bowel_scale: rng.random_range(0.65..1.45),
            liver_scale: rng.random_range(0.95..1.3),
            psoas_top_mm: rng.random_range(40.0..70.0),
            posterior_exponent: rng.random_range(2.0..3.2),
            chest_from_mm: rng.random_range(130.0..180.0),
            chest_ap_gain: rng.random_range(0.0..0.15),
            hips_from_mm: rng.random_range(-170.0..-120.0),
            hip_gain: rng.random_range(0.0..0.12),
            collapsed_bowel: rng.random_range(0.15..0.5),
            chyme_bowel: rng.random_range(0.2..0.6),
            // adult ribs: cortex mostly 0.5-1.5 mm (Holcombe et al., J Anat 2019, 2022); the
            // real abdomen-pelvis scan of ../shared/data/real-ct shows no lateral bone piece of
            // 0.5 cm² above 250 HU between its lowest ribs and its lungs, where the classic
            // ribs (5 mm, 2.2 mm cortex) showed 1-5 cm² (docs/results/landmarks.md)
            rib_radius_mm: ribs.random_range(3.5..5.0),
            rib_cortex_mm: ribs.random_range(0.7..1.5),
        };
        let phase = pick(
            rng,
            &[
                (Phase::NonContrast, 22),
                (Phase::Arterial, 22),
                (Phase::PortalVenous, 44),
                (Phase::Delayed, 12),
            ],
        );
        let timing = rng.random::<f64>();
        let age_atrophy = rng.random::<f64>();
        let pancreas_target_ml = if age_atrophy < 0.2 {
            rng.random_range(20.0..45.0)
        } else {
            rng.random_range(45.0..125.0)
        };
        let duct_radius_mm = if rng.random_bool(0.15) {
            rng.random_range(2.5..4.5)
        } else {
            rng.random_range(0.8..2.0)
        };
        let mass_radius_mm = rng.random_bool(0.15).then(|| rng.random_range(8.0..20.0));
        let cyst_radius_mm = rng.random_bool(0.1).then(|| rng.random_range(5.0..16.0));
        let oral = pick(rng, &[("positive", 35), ("water", 25), ("none", 40)]);
        let metal = pick(
            rng,
            &[
                (None, 88),
                (Some(Metal::HipProsthesis), 3),
                (Some(Metal::SpinalHardware), 4),
                (Some(Metal::SurgicalClips), 5),
            ],
        );
        let body = Body {
            habitus,
            half_axes_mm: [a, b],
            subcutaneous_fat_mm: fat,
            form,
            arms_down: rng.random_bool(0.3),
            table: rng.random_bool(0.9),
            ascites: rng.random_bool(0.06),
            oral,
            duct_radius_mm,
            mass_radius_mm,
            cyst_radius_mm,
            pancreas_target_ml,
            metal,
        };
        let levels = Levels {
            dome_right: 0.0,
            dome_left: 0.0,
            lung_apex: 0.0,
            lung_recess: 0.0,
            iliac_crest: 0.0,
            femoral_heads: 0.0,
            pelvic_floor: 0.0,
        };
        let framing = Framing::draw(rng, framings);
        let scanner = Scanner::draw(rng, size, framing, habitus);
        Realism {
            framing,
            z_range_mm: [0.0, 0.0],
            levels,
            phase,
            timing,
            appearance_shift_hu: rng.random_range(4.0..15.0),
            body,
            scanner,
        }
    }

    /// The body size the anatomy is drawn with.
    pub fn body_size(&self) -> BodySize {
        BodySize {
            half_axes: self.body.half_axes_mm,
            fat_mm: self.body.subcutaneous_fat_mm,
        }
    }

    /// Draws the landmark heights around the drawn organs (liver top `liver_top`, pancreas
    /// z extent, lower kidney pole) and the scanned z range of the framing.
    pub fn place(
        &mut self,
        rng: &mut ChaCha8Rng,
        liver_top: f64,
        pancreas_z: [f64; 2],
        kidney_bottom: f64,
    ) {
        let dome_right = liver_top + rng.random_range(-6.0..4.0);
        let dome_left = dome_right - rng.random_range(8.0..25.0);
        let lung_recess = (pancreas_z[1] + rng.random_range(-5.0..25.0)).max(20.0);
        let iliac_crest = (kidney_bottom - rng.random_range(15.0..55.0)).min(pancreas_z[0] - 40.0);
        let femoral_heads = iliac_crest - rng.random_range(140.0..170.0);
        let levels = Levels {
            lung_apex: dome_right + rng.random_range(180.0..240.0),
            dome_right,
            dome_left,
            lung_recess,
            iliac_crest,
            femoral_heads,
            pelvic_floor: femoral_heads - rng.random_range(60.0..90.0),
        };
        let mut u = |lo: f64, hi: f64| rng.random_range(lo..hi);
        let l = levels;
        let (lo, hi) = match self.framing {
            Framing::AbdomenOnly => (l.iliac_crest - u(0.0, 40.0), l.dome_right + u(5.0, 30.0)),
            Framing::AbdomenPelvis => (l.pelvic_floor - u(0.0, 30.0), l.dome_right + u(5.0, 30.0)),
            Framing::WholeTrunk => (l.pelvic_floor - u(0.0, 30.0), l.lung_apex + u(0.0, 30.0)),
            Framing::UpperAbdomen => (kidney_bottom - u(0.0, 25.0), l.dome_right + u(5.0, 25.0)),
            Framing::Slab => {
                let n = u(20.0, 61.0).floor();
                let ext = (n - 1.0) * self.scanner.slice_spacing_mm;
                let c = u(pancreas_z[0] + 8.0, pancreas_z[1] - 8.0);
                (c - ext / 2.0, c + ext / 2.0)
            }
            Framing::ChestOnly => (pancreas_z[1] + u(10.0, 40.0), l.lung_apex + u(0.0, 30.0)),
            Framing::PelvisOnly => (
                l.pelvic_floor - u(0.0, 30.0),
                (l.iliac_crest + u(0.0, 40.0)).min(pancreas_z[0] - 10.0),
            ),
        };
        self.levels = levels;
        self.z_range_mm = [lo, hi];
    }
}

impl Scanner {
    fn draw(rng: &mut ChaCha8Rng, size: PhantomSize, framing: Framing, habitus: f64) -> Scanner {
        let (matrix, thickness): (usize, f64) = match size {
            PhantomSize::Small => (
                pick(rng, &[(160usize, 1), (192, 2), (224, 2), (256, 2)]),
                pick(
                    rng,
                    &[(1.25, 2), (1.5, 1), (2.0, 2), (2.5, 3), (3.0, 2), (5.0, 2)],
                ),
            ),
            PhantomSize::Full => (
                pick(rng, &[(512usize, 6), (256, 1)]),
                pick(
                    rng,
                    &[
                        (0.625, 1),
                        (1.0, 2),
                        (1.25, 2),
                        (2.0, 2),
                        (2.5, 3),
                        (3.0, 2),
                        (5.0, 2),
                    ],
                ),
            ),
        };
        // long framings are reconstructed thicker on small phantoms (memory and time)
        let long = matches!(
            framing,
            Framing::WholeTrunk | Framing::AbdomenPelvis | Framing::ChestOnly
        );
        let thickness: f64 = match (size, long) {
            (PhantomSize::Small, true) => thickness.max(2.0),
            (PhantomSize::Full, true) => thickness.max(1.25),
            _ => thickness,
        };
        let spacing = if rng.random_bool(0.2) {
            thickness * 0.8
        } else {
            thickness
        };
        let kernel = KERNELS[pick(rng, &[(0usize, 3), (1, 4), (2, 2), (3, 1)])];
        let noise_ref_hu =
            (rng.random_range(5.0..22.0) + 20.0 * habitus * rng.random_range(0.3..1.0)).min(40.0);
        Scanner {
            matrix,
            fov_mm: rng.random_range(300.0..500.0),
            pixel_mm: 0.0,
            slice_thickness_mm: thickness,
            slice_spacing_mm: (spacing * 64.0).round() / 64.0,
            kernel,
            noise_ref_hu,
            noise_hu: 0.0,
            hu_offset: rng.random_range(-5.0..5.0),
            noise_z_corr_slices: rng.random_range(0.4..1.0),
            beam_hardening: rng.random_range(0.0..1.0),
            centre_mm: [rng.random_range(-12.0..12.0), rng.random_range(-5.0..30.0)],
        }
    }

    /// Settles the field of view on the body (it holds the trunk; arms may be cut) and the
    /// image's noise from the reference noise, the voxel and the kernel (noise falls with the
    /// square root of the voxel volume).
    pub fn settle(&mut self, body_width_mm: f64, size: PhantomSize) {
        let min_fov = body_width_mm + 16.0;
        self.fov_mm = self.fov_mm.max(min_fov);
        let px = self.fov_mm / self.matrix as f64;
        let (lo, hi) = match size {
            PhantomSize::Small => (1.1, 3.2),
            PhantomSize::Full => (0.5, 1.0),
        };
        let px = if self.matrix == 256 && size == PhantomSize::Full {
            px.clamp(1.0, 2.0)
        } else {
            px.clamp(lo, hi)
        };
        self.pixel_mm = (px * 64.0).round() / 64.0;
        self.fov_mm = self.pixel_mm * self.matrix as f64;
        let ref_voxel = 0.75 * 0.75 * 2.5;
        let voxel = self.pixel_mm * self.pixel_mm * self.slice_thickness_mm;
        self.noise_hu =
            (self.noise_ref_hu * self.kernel.noise_gain * (ref_voxel / voxel).sqrt()).max(1.5);
    }
}
