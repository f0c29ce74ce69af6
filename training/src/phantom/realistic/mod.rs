//! The realistic phantom profile (`pancseg-train phantom --profile realistic`): the classic
//! abdomen inside a trunk framed like a real protocol (thorax with lungs and heart, pelvis with
//! iliac wings, sacrum, femoral heads and bladder), drawn over bodies from thin to obese with
//! findings (duct, masses, cysts, ascites), four contrast phases with timing inside each, and
//! imaged by a drawn scanner (matrix, field of view, slice thickness and spacing, kernel, noise,
//! calibration, beam hardening, metal). Every draw is recorded in cohort.json (`realism`).
//!
//! The anatomy of the classic profile is reused as drawn from the same seed (its random stream
//! is consumed identically); the realistic draws come from a stream of their own, so the classic
//! profile stays byte-identical to what it was.

pub mod bowel;
pub mod draw;
pub mod environment;
pub mod pathology;
pub mod pelvis;
pub mod scanner;
pub mod thorax;

use super::anatomy::{noise_fields, Anatomy, Painter};
use super::canvas::{Canvas, Grid};
use super::intensity::HuTable;
use super::noise::derive;
use super::{tune_pancreas_volume, CaseParams, PhantomCase, PhantomSize};
use crate::error::Result;
use draw::{Framing, Realism};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The liver's right lobe in the classic anatomy: centre height and half-height above the
/// pancreatic neck (mm); its dome is their sum (times the drawn liver scale).
const LIVER_CENTRE_MM: f64 = 75.0;
const LIVER_HALF_HEIGHT_MM: f64 = 85.0;
/// Lower pole of the kidneys in the classic anatomy (mm).
const KIDNEY_BOTTOM_MM: f64 = -85.0;

/// z extent (mm) of the pancreas as drawn.
fn pancreas_z(an: &Anatomy) -> [f64; 2] {
    let line = an.pancreas_line(1.0);
    let lo = line
        .iter()
        .map(|p| p.c[2] - p.r * 1.3)
        .fold(f64::INFINITY, f64::min);
    let hi = line
        .iter()
        .map(|p| p.c[2] + p.r * 1.3)
        .fold(f64::NEG_INFINITY, f64::max);
    [lo, hi]
}

fn grid(re: &Realism, z_lo: f64, nz: usize, body_b: f64) -> Grid {
    let q64 = |v: f64| (v * 64.0).round() / 64.0;
    let n = re.scanner.matrix;
    let px = re.scanner.pixel_mm;
    let half = (n as f64 - 1.0) / 2.0 * px;
    Grid {
        dims: (nz, n, n),
        spacing: [px, px, re.scanner.slice_spacing_mm],
        origin: [
            q64(-half + re.scanner.centre_mm[0]),
            q64(-half + re.scanner.centre_mm[1] + body_b * 0.05),
            q64(z_lo),
        ],
    }
}

/// Generates one realistic case from its seed, its framing drawn among `framings` (all when
/// empty).
pub fn generate(seed: u64, size: PhantomSize, framings: &[Framing]) -> Result<PhantomCase> {
    let mut rr = ChaCha8Rng::seed_from_u64(derive(seed, 0x7EA1));
    let mut re = Realism::draw(&mut rr, size, framings);
    let hu = HuTable::draw_realistic(re.phase, re.timing, re.appearance_shift_hu, &mut rr);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut an = Anatomy::draw_sized(&mut rng, seed, Some(re.body_size()));
    an.pancreas_target_ml = re.body.pancreas_target_ml;
    an.oral_contrast = re.body.oral == "positive";
    let form = re.body.form;
    let (fa, fb) = form.max_scale();
    let [a, b] = an.body;
    re.scanner
        .settle((2.0 * a * fa).max(2.0 * b * fb + 40.0), size);
    // tune the pancreas on a grid with the final voxel, then frame around the landmarks
    let provisional = grid(
        &re,
        -200.0,
        (400.0 / re.scanner.slice_spacing_mm) as usize,
        b,
    );
    tune_pancreas_volume(&mut an, &provisional);
    let pz = pancreas_z(&an);
    let liver_top = LIVER_CENTRE_MM + LIVER_HALF_HEIGHT_MM * form.liver_scale;
    re.place(&mut rr, liver_top, pz, KIDNEY_BOTTOM_MM);
    let [lo, hi] = re.z_range_mm;
    let dz = re.scanner.slice_spacing_mm;
    let nz = (((hi - lo) / dz).round() as usize + 1).max(8);
    let g = grid(&re, lo, nz, b);
    re.z_range_mm = [g.origin[2], g.origin[2] + (nz - 1) as f64 * dz];

    let (tex, shape) = noise_fields(seed);
    let painter = Painter {
        an: &an,
        hu: &hu,
        tex,
        shape,
        form,
    };
    let mut canvas = Canvas::new(g, -1000.0);
    let mut paint_rng = ChaCha8Rng::seed_from_u64(derive(seed, 3));
    painter.paint_all(&mut canvas, &mut paint_rng);
    let mut extra = ChaCha8Rng::seed_from_u64(derive(seed, 0x7EA2));
    let lv = re.levels;
    pathology::paint_pancreas_findings(&painter, &mut canvas, &re.body, &mut extra);
    let loops = (8.0 + 28.0 * (1.0 - re.body.habitus)).round() as usize;
    bowel::paint_loops(&painter, &mut canvas, &lv, loops, &mut extra);
    pelvis::paint_bones(&painter, &mut canvas, &lv, &mut extra);
    pelvis::paint_organs(&painter, &mut canvas, &lv, &mut extra);
    pelvis::paint_iliac_vessels(&painter, &mut canvas, &lv, &mut extra);
    if re.body.ascites {
        pathology::paint_ascites(&painter, &mut canvas, 12.0, lv.iliac_crest - 30.0);
    }
    thorax::paint_chest(&painter, &mut canvas, &lv, &mut extra);
    thorax::paint_ribcage(&painter, &mut canvas, &lv, &mut extra);
    if re.body.arms_down {
        environment::paint_arms(&painter, &mut canvas, &mut extra);
    }
    if re.body.table {
        environment::paint_table(&painter, &mut canvas, &mut extra);
    }
    if let Some(m) = re.body.metal {
        environment::paint_metal(&painter, &mut canvas, m, &lv, &mut extra);
    }
    let Canvas { labels, mut hu, .. } = canvas;
    let px = re.scanner.pixel_mm;
    scanner::blur(&mut hu, g.dims, px, &re.scanner);
    scanner::streaks(&mut hu, &labels, g.dims, px, &re.scanner, seed);
    scanner::noise_and_quantise(
        &mut hu,
        g.dims,
        px,
        &re.scanner,
        re.scanner.noise_z_corr_slices,
        seed,
    );
    let params = CaseParams {
        phase: re.phase,
        noise_sigma_hu: re.scanner.noise_hu,
        anatomy: an,
        realism: Some(re),
    };
    super::assemble(g, labels, hu, params)
}
