//! From painted HU to a scanner's image: the kernel's point spread in-plane and the slice
//! profile along z (Gaussian with the slice thickness as FWHM), beam-hardening streaks between
//! dense bones, streaks from metal, noise with the kernel's texture (band-passed for sharp
//! kernels, whose noise power spectrum peaks away from zero frequency), the calibration offset,
//! and integer HU in the 12-bit range.
//!
//! Every random draw is per slice from its own seed, so the image does not depend on the thread
//! count.

use super::super::labels::METAL;
use super::super::noise::{blur2d, blur_z, derive, gaussian_kernel};
use super::draw::Scanner;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// Blurs in-plane (partial volume plus kernel) and along z (partial volume plus slice profile).
pub fn blur(hu: &mut [f32], dims: (usize, usize, usize), px: f64, sc: &Scanner) {
    let (nz, ny, nx) = dims;
    let s_xy = (0.25 + (sc.kernel.edge_sigma_mm / px).powi(2)).sqrt();
    let k = gaussian_kernel(s_xy);
    hu.par_chunks_mut(ny * nx)
        .for_each(|s| blur2d(s, nx, ny, &k));
    let profile = sc.slice_thickness_mm / 2.355 / sc.slice_spacing_mm;
    let kz = gaussian_kernel((0.35f64.powi(2) + profile * profile).sqrt());
    blur_z(hu, nz, ny * nx, &kz);
}

/// Centroid (x, y in pixels) and count of the pixels selected by `f`.
fn centroid(n: usize, nx: usize, f: impl Fn(usize) -> bool) -> Option<([f64; 2], usize)> {
    let (mut sx, mut sy, mut c) = (0.0, 0.0, 0usize);
    for i in 0..n {
        if f(i) {
            sx += (i % nx) as f64;
            sy += (i / nx) as f64;
            c += 1;
        }
    }
    (c > 0).then(|| ([sx / c as f64, sy / c as f64], c))
}

/// Adds streaks: a dark band between the dense bones of the two sides (beam hardening) and a
/// star of bright and dark lines around metal.
pub fn streaks(
    hu: &mut [f32],
    labels: &[u8],
    dims: (usize, usize, usize),
    px: f64,
    sc: &Scanner,
    seed: u64,
) {
    let (_, ny, nx) = dims;
    let min_px = (250.0 / (px * px)) as usize;
    let dark = (sc.beam_hardening * 45.0) as f32;
    let width_px = 5.0 / px;
    let lines = 8 + (derive(seed, 71) % 10) as i32;
    let phase = (derive(seed, 72) % 1000) as f64 / 1000.0 * std::f64::consts::PI;
    hu.par_chunks_mut(ny * nx)
        .zip(labels.par_chunks(ny * nx))
        .for_each(|(s, lab)| {
            let half = nx / 2;
            let dense = |i: usize| s[i] > 500.0;
            let left = centroid(s.len(), nx, |i| i % nx < half && dense(i));
            let right = centroid(s.len(), nx, |i| i % nx >= half && dense(i));
            let metal = centroid(s.len(), nx, |i| lab[i] == METAL);
            let mut add = vec![0f32; s.len()];
            if let (Some((l, nl)), Some((r, nr))) = (left, right) {
                if dark > 0.0 && nl >= min_px && nr >= min_px {
                    let d = [r[0] - l[0], r[1] - l[1]];
                    let len2 = (d[0] * d[0] + d[1] * d[1]).max(1.0);
                    for (i, a) in add.iter_mut().enumerate() {
                        let p = [(i % nx) as f64 - l[0], (i / nx) as f64 - l[1]];
                        let t = (p[0] * d[0] + p[1] * d[1]) / len2;
                        if !(0.0..=1.0).contains(&t) {
                            continue;
                        }
                        let off2 = (p[0] - t * d[0]).powi(2) + (p[1] - t * d[1]).powi(2);
                        let w = (-off2 / (2.0 * width_px * width_px)).exp()
                            * (std::f64::consts::PI * t).sin().sqrt();
                        *a -= dark * w as f32;
                    }
                }
            }
            if let Some((m, _)) = metal {
                for (i, a) in add.iter_mut().enumerate() {
                    let dx = (i % nx) as f64 - m[0];
                    let dy = (i / nx) as f64 - m[1];
                    let r = (dx * dx + dy * dy).sqrt() * px;
                    let th = dy.atan2(dx);
                    let c = (lines as f64 * th + phase).cos();
                    let line = c.signum() * c.abs().powi(12);
                    *a += (300.0 * line * (-r / 70.0).exp()) as f32;
                }
            }
            for (v, a) in s.iter_mut().zip(add) {
                if *v > -600.0 && *v < 2500.0 {
                    *v += a;
                }
            }
        });
}

/// One slice of noise with the kernel's texture and standard deviation `sigma` (HU).
fn kernel_noise(seed: u64, nx: usize, ny: usize, sigma: f64, corr_px: f64, band: f64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut n: Vec<f32> = (0..nx * ny)
        .map(|_| {
            let v: f64 = StandardNormal.sample(&mut rng);
            v as f32
        })
        .collect();
    blur2d(&mut n, nx, ny, &gaussian_kernel(corr_px));
    if band > 0.0 {
        let mut low = n.clone();
        blur2d(&mut low, nx, ny, &gaussian_kernel(corr_px * 2.5 + 0.5));
        for (v, l) in n.iter_mut().zip(low) {
            *v -= band as f32 * l;
        }
    }
    let m = n.iter().map(|&v| v as f64).sum::<f64>() / n.len() as f64;
    let sd = (n.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / n.len() as f64).sqrt();
    let g = (sigma / sd.max(1e-12)) as f32;
    n.iter().map(|&v| (v - m as f32) * g).collect()
}

/// Adds noise and the calibration offset and rounds to integer HU in [-1024, 3071]. The noise
/// is correlated across slices by the reconstruction's z interpolation (`z_corr_slices`, a
/// Gaussian sigma in slices), as adjacent helical slices share projections.
pub fn noise_and_quantise(
    hu: &mut [f32],
    dims: (usize, usize, usize),
    px: f64,
    sc: &Scanner,
    z_corr_slices: f64,
    seed: u64,
) {
    let (nz, ny, nx) = dims;
    let corr_px = sc.kernel.noise_corr_mm / px;
    let mut noise = vec![0f32; hu.len()];
    noise
        .par_chunks_mut(ny * nx)
        .enumerate()
        .for_each(|(z, s)| {
            let n = kernel_noise(
                derive(seed, 5000 + z as u64),
                nx,
                ny,
                1.0,
                corr_px,
                sc.kernel.band_pass,
            );
            s.copy_from_slice(&n);
        });
    let kz = gaussian_kernel(z_corr_slices);
    let gain = 1.0 / kz.iter().map(|w| w * w).sum::<f64>().sqrt();
    blur_z(&mut noise, nz, ny * nx, &kz);
    let scale = (gain * sc.noise_hu) as f32;
    hu.par_iter_mut().zip(&noise).for_each(|(v, &n)| {
        let e = n * scale;
        // air outside the patient is quieter and sits at the scanner's floor
        let e = if *v < -950.0 { e * 0.3 } else { e };
        *v = (*v + e + sc.hu_offset as f32)
            .round()
            .clamp(-1024.0, 3071.0);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_noise_has_its_sigma_and_sharp_noise_is_less_correlated() {
        let corr = |band: f64| {
            let n = kernel_noise(5, 128, 128, 20.0, 1.5, band);
            let m = n.iter().map(|&v| v as f64).sum::<f64>() / n.len() as f64;
            let sd =
                (n.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / n.len() as f64).sqrt();
            assert!((sd - 20.0).abs() < 0.01, "{sd}");
            // correlation four pixels apart: the band-pass removes the broad (low-frequency)
            // part of the grain, so distant pixels decorrelate
            let lag = 4;
            let c: f64 = (0..128 * 128 - lag)
                .filter(|i| i % 128 < 128 - lag)
                .map(|i| (n[i] as f64 - m) * (n[i + lag] as f64 - m))
                .sum::<f64>()
                / (124.0 * 128.0)
                / (sd * sd);
            c
        };
        let soft = corr(0.0);
        let sharp = corr(0.65);
        assert!(soft > sharp + 0.1, "soft {soft} sharp {sharp}");
    }
}
