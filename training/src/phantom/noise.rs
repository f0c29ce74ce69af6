//! Seeded noise for phantoms: lattice value noise (organ texture, lobulation, shape deformation)
//! and in-plane correlated Gaussian noise (scanner grain).
//!
//! Written here rather than taken from a crate because the phantoms need noise that is a pure
//! function of (seed, position) — identical bytes whatever the thread count or platform — and
//! the whole of it is a hash and a trilinear interpolation.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// SplitMix64 finaliser: a well-mixed 64-bit hash.
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Derives an independent seed from a seed and a stream number.
pub fn derive(seed: u64, stream: u64) -> u64 {
    mix64(seed ^ mix64(stream.wrapping_add(0x1234_5678)))
}

/// 3D lattice value noise in [-1, 1], smooth (C1) between lattice points.
#[derive(Debug, Clone, Copy)]
pub struct ValueNoise {
    seed: u64,
}

impl ValueNoise {
    pub fn new(seed: u64) -> Self {
        ValueNoise { seed }
    }

    fn lattice(&self, x: i64, y: i64, z: i64) -> f64 {
        let h = mix64(
            self.seed
                ^ mix64((x as u64).wrapping_mul(0x8CB9_2BA7_2F3D_8DD7))
                ^ mix64(
                    (y as u64)
                        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                        .wrapping_add(1),
                )
                ^ mix64(
                    (z as u64)
                        .wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
                        .wrapping_add(2),
                ),
        );
        (h >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }

    /// Noise at point `p` (mm) with features about `1 / freq` mm apart.
    pub fn at(&self, p: [f64; 3], freq: f64) -> f64 {
        let q = [p[0] * freq, p[1] * freq, p[2] * freq];
        let f = q.map(f64::floor);
        let t = [q[0] - f[0], q[1] - f[1], q[2] - f[2]].map(|t| t * t * (3.0 - 2.0 * t));
        let (x, y, z) = (f[0] as i64, f[1] as i64, f[2] as i64);
        let mut acc = 0.0;
        for dz in 0..2 {
            for dy in 0..2 {
                for dx in 0..2 {
                    let w = (if dx == 1 { t[0] } else { 1.0 - t[0] })
                        * (if dy == 1 { t[1] } else { 1.0 - t[1] })
                        * (if dz == 1 { t[2] } else { 1.0 - t[2] });
                    acc += w * self.lattice(x + dx, y + dy, z + dz);
                }
            }
        }
        acc
    }

    /// Two octaves: coarse shape plus finer detail, still in about [-1, 1].
    pub fn fbm(&self, p: [f64; 3], freq: f64) -> f64 {
        (self.at(p, freq) * 0.7 + self.at([p[1], p[2], p[0]], freq * 2.3) * 0.3) / 0.76
    }
}

/// Normalised 1D Gaussian kernel with radius ceil(3 sigma).
pub fn gaussian_kernel(sigma: f64) -> Vec<f64> {
    if sigma <= 0.0 {
        return vec![1.0];
    }
    let r = (3.0 * sigma).ceil() as i64;
    let mut k: Vec<f64> = (-r..=r)
        .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let s: f64 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= s);
    k
}

/// Convolves a row-major `ny x nx` image along x and y with `k` (edges clamped).
pub fn blur2d(img: &mut [f32], nx: usize, ny: usize, k: &[f64]) {
    let r = (k.len() / 2) as i64;
    let mut tmp = vec![0f32; img.len()];
    for y in 0..ny {
        for x in 0..nx {
            let mut acc = 0.0f64;
            for (i, w) in k.iter().enumerate() {
                let xx = (x as i64 + i as i64 - r).clamp(0, nx as i64 - 1) as usize;
                acc += w * img[y * nx + xx] as f64;
            }
            tmp[y * nx + x] = acc as f32;
        }
    }
    for y in 0..ny {
        for x in 0..nx {
            let mut acc = 0.0f64;
            for (i, w) in k.iter().enumerate() {
                let yy = (y as i64 + i as i64 - r).clamp(0, ny as i64 - 1) as usize;
                acc += w * tmp[yy * nx + x] as f64;
            }
            img[y * nx + x] = acc as f32;
        }
    }
}

/// Convolves a volume of `nz` slices of `plane` voxels along z with `k` (edges clamped), in
/// parallel over slices.
pub fn blur_z(vol: &mut [f32], nz: usize, plane: usize, k: &[f64]) {
    use rayon::prelude::*;
    let rz = (k.len() / 2) as i64;
    let src = vol.to_vec();
    vol.par_chunks_mut(plane).enumerate().for_each(|(z, s)| {
        for (i, v) in s.iter_mut().enumerate() {
            let mut acc = 0.0f64;
            for (t, w) in k.iter().enumerate() {
                let zz = (z as i64 + t as i64 - rz).clamp(0, nz as i64 - 1) as usize;
                acc += w * src[zz * plane + i] as f64;
            }
            *v = acc as f32;
        }
    });
}

/// One slice of zero-mean Gaussian noise with standard deviation `sigma` HU, correlated in-plane
/// by a Gaussian of `corr_px` pixels (the grain of filtered back-projection), from its own seed.
pub fn correlated_noise_slice(
    seed: u64,
    nx: usize,
    ny: usize,
    sigma: f64,
    corr_px: f64,
) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut img: Vec<f32> = (0..nx * ny)
        .map(|_| rng.sample::<f64, _>(StandardNormal) as f32)
        .collect();
    let k = gaussian_kernel(corr_px);
    blur2d(&mut img, nx, ny, &k);
    // white noise of unit variance through a separable kernel k has std sqrt(sum k^2)^2
    let gain: f64 = k.iter().map(|v| v * v).sum::<f64>();
    let scale = (sigma / gain) as f32;
    img.iter_mut().for_each(|v| *v *= scale);
    img
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_noise_is_bounded_and_deterministic() {
        let n = ValueNoise::new(7);
        for i in 0..1000 {
            let p = [i as f64 * 0.37, i as f64 * 1.1, -(i as f64) * 0.7];
            let v = n.at(p, 0.1);
            assert!((-1.0..=1.0).contains(&v));
            assert_eq!(v, ValueNoise::new(7).at(p, 0.1));
        }
        assert_ne!(
            n.at([1.3, 2.2, 3.1], 0.5),
            ValueNoise::new(8).at([1.3, 2.2, 3.1], 0.5)
        );
    }

    #[test]
    fn correlated_noise_has_the_requested_sigma() {
        let img = correlated_noise_slice(3, 256, 256, 15.0, 1.0);
        let n = img.len() as f64;
        let mean = img.iter().map(|&v| v as f64).sum::<f64>() / n;
        let sd = (img.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!((sd - 15.0).abs() < 1.5, "{sd}");
        // neighbours are correlated
        let c: f64 = (0..255 * 256)
            .map(|i| img[i] as f64 * img[i + 1] as f64)
            .sum::<f64>()
            / (255.0 * 256.0)
            / (sd * sd);
        assert!(c > 0.4, "{c}");
    }
}
