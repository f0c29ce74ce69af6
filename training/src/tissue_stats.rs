//! Global tissue statistics of one scan, inside the body, on the working grid: the share of the
//! body in each HU class (gas, fat, soft tissue, enhanced, bone), the median HU of fat, soft
//! tissue, bone and the air outside the body, the image noise in fat and in soft tissue and the
//! slice-to-slice change in soft tissue. `pancseg-train realism` reports them for the real scans
//! and for each cohort beside its score, so that what gives phantoms away can be read as
//! physical quantities (how much fat, how noisy) and not only as an AUC. They describe global
//! appearance only; nothing here looks at the pancreas.
//!
//! Noise: in homogeneous regions (a voxel and its eight in-plane neighbours all in the same HU
//! class) the residual against the neighbours' mean is mostly noise; its robust spread (1.4826
//! x the median absolute deviation) divided by sqrt(1 + 1/8) estimates the per-voxel noise SD
//! of white noise. Correlated noise (soft kernels, the working grid's averaging) reads lower,
//! the same way on both sides of a comparison.

use pancseg::pipeline::candidates::superpixels::body::body_mask;
use pancseg::Volume;
use serde::Serialize;

/// HU classes: gas and lung below -400, fat -190..-30, soft tissue -30..100, enhanced
/// (contrast, dense organs) 100..300, bone from 300.
const GAS: f32 = -400.0;
const FAT: (f32, f32) = (-190.0, -30.0);
const SOFT_HI: f32 = 100.0;
const BONE: f32 = 300.0;

/// The statistics of one scan (shares in % of body voxels, HU otherwise).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct TissueStats {
    pub body_litres: f64,
    pub gas_pct: f64,
    pub fat_pct: f64,
    pub soft_pct: f64,
    pub enhanced_pct: f64,
    pub bone_pct: f64,
    pub fat_median_hu: f64,
    pub soft_median_hu: f64,
    pub bone_median_hu: f64,
    /// Median HU outside the body (air, the table excluded by the body mask's complement being
    /// mostly air); NaN when the field of view holds no outside voxel.
    pub outside_median_hu: f64,
    pub noise_fat_hu: f64,
    pub noise_soft_hu: f64,
    /// Median absolute difference between a soft-tissue voxel and the one on the next slice.
    pub slice_change_soft_hu: f64,
}

/// The names and units of [`TissueStats`]' fields, in the order of [`TissueStats::values`].
pub const FIELDS: [&str; 13] = [
    "body L",
    "gas %",
    "fat %",
    "soft %",
    "enhanced %",
    "bone %",
    "fat HU",
    "soft HU",
    "bone HU",
    "outside HU",
    "noise fat HU",
    "noise soft HU",
    "slice change soft HU",
];

impl TissueStats {
    /// The values in the order of [`FIELDS`].
    pub fn values(&self) -> [f64; 13] {
        [
            self.body_litres,
            self.gas_pct,
            self.fat_pct,
            self.soft_pct,
            self.enhanced_pct,
            self.bone_pct,
            self.fat_median_hu,
            self.soft_median_hu,
            self.bone_median_hu,
            self.outside_median_hu,
            self.noise_fat_hu,
            self.noise_soft_hu,
            self.slice_change_soft_hu,
        ]
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Class {
    Gas,
    Fat,
    Soft,
    Enhanced,
    Bone,
    Other,
}

fn class(v: f32) -> Class {
    if v < GAS {
        Class::Gas
    } else if (FAT.0..FAT.1).contains(&v) {
        Class::Fat
    } else if (FAT.1..SOFT_HI).contains(&v) {
        Class::Soft
    } else if (SOFT_HI..BONE).contains(&v) {
        Class::Enhanced
    } else if v >= BONE {
        Class::Bone
    } else {
        Class::Other
    }
}

/// The median of `v` (NaN when empty); reorders `v`.
fn median(v: &mut [f32]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let k = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(k, f32::total_cmp);
    *m as f64
}

/// Robust SD of residuals: 1.4826 x MAD, corrected for the neighbours' mean (see the module doc).
fn noise_sd(res: &mut [f32]) -> f64 {
    let med = median(res) as f32;
    let mut dev: Vec<f32> = res.iter().map(|r| (r - med).abs()).collect();
    1.4826 * median(&mut dev) / (1.0f64 + 1.0 / 8.0).sqrt()
}

/// The body mask of every axial slice of `ct` (the library's per-slice body mask), shared by
/// [`tissue_stats`] and the realism patches so that a scan's masks are found once.
pub fn slice_bodies(ct: &Volume) -> Vec<Vec<bool>> {
    let (nz, ny, nx) = ct.data.dim();
    let data = ct.data.as_standard_layout();
    (0..nz)
        .map(|z| {
            let slice: Vec<f32> = data
                .index_axis(ndarray::Axis(0), z)
                .iter()
                .copied()
                .collect();
            body_mask(&slice, nx, ny)
        })
        .collect()
}

/// The statistics of a CT on its own grid (pass the working-grid volume to compare scans of
/// different spacing alike) with its [`slice_bodies`]. Voxels outside the per-slice body mask
/// count only as "outside".
pub fn tissue_stats(ct: &Volume, bodies: &[Vec<bool>]) -> TissueStats {
    let (nz, ny, nx) = ct.data.dim();
    let data = ct.data.as_standard_layout();
    let at = |z: usize, y: usize, x: usize| data[[z, y, x]];
    let mut counts = [0usize; 6];
    let (mut fat, mut soft, mut bone, mut outside) = (vec![], vec![], vec![], vec![]);
    let (mut res_fat, mut res_soft, mut dz_soft) = (vec![], vec![], vec![]);
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let v = at(z, y, x);
                if !bodies[z][y * nx + x] {
                    outside.push(v);
                    continue;
                }
                let c = class(v);
                counts[c as usize] += 1;
                match c {
                    Class::Fat => fat.push(v),
                    Class::Soft => soft.push(v),
                    Class::Bone => bone.push(v),
                    _ => {}
                }
                if c != Class::Fat && c != Class::Soft {
                    continue;
                }
                if z + 1 < nz && c == Class::Soft && bodies[z + 1][y * nx + x] {
                    let w = at(z + 1, y, x);
                    if class(w) == Class::Soft {
                        dz_soft.push((w - v).abs());
                    }
                }
                if y == 0 || x == 0 || y + 1 == ny || x + 1 == nx {
                    continue;
                }
                let mut sum = 0.0f32;
                let mut same = true;
                for dy in 0..3 {
                    for dx in 0..3 {
                        if dy == 1 && dx == 1 {
                            continue;
                        }
                        let w = at(z, y + dy - 1, x + dx - 1);
                        same &= class(w) == c && bodies[z][(y + dy - 1) * nx + x + dx - 1];
                        sum += w;
                    }
                }
                if same {
                    let r = v - sum / 8.0;
                    if c == Class::Fat {
                        res_fat.push(r);
                    } else {
                        res_soft.push(r);
                    }
                }
            }
        }
    }
    let body: usize = counts.iter().sum();
    let pct = |k: Class| 100.0 * counts[k as usize] as f64 / body.max(1) as f64;
    let s = ct.geometry.spacing;
    TissueStats {
        body_litres: body as f64 * s[0] * s[1] * s[2] / 1e6,
        gas_pct: pct(Class::Gas),
        fat_pct: pct(Class::Fat),
        soft_pct: pct(Class::Soft),
        enhanced_pct: pct(Class::Enhanced),
        bone_pct: pct(Class::Bone),
        fat_median_hu: median(&mut fat),
        soft_median_hu: median(&mut soft),
        bone_median_hu: median(&mut bone),
        outside_median_hu: median(&mut outside),
        noise_fat_hu: noise_sd(&mut res_fat),
        noise_soft_hu: noise_sd(&mut res_soft),
        slice_change_soft_hu: median(&mut dz_soft),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;
    use pancseg::Geometry;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A 12 x 64 x 64 box: air around a body disc, its left half fat (-100 HU), its right half
    /// soft tissue (40 HU), a bone core; Gaussian-like noise of a known SD.
    fn phantom(noise: f32) -> Volume {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (nz, ny, nx) = (12, 64, 64);
        let mut a = Array3::<f32>::zeros((nz, ny, nx));
        for ((_, y, x), v) in a.indexed_iter_mut() {
            let (dy, dx) = (y as f32 - 32.0, x as f32 - 32.0);
            let r = (dy * dy + dx * dx).sqrt();
            // sum of 12 uniforms: near-Gaussian with SD 1
            let n: f32 = (0..12).map(|_| rng.random::<f32>()).sum::<f32>() - 6.0;
            *v = if r > 26.0 {
                -1000.0
            } else if r < 4.0 {
                700.0
            } else if x < 32 {
                -100.0 + noise * n
            } else {
                40.0 + noise * n
            };
        }
        let g = Geometry {
            spacing: [2.0, 2.0, 2.5],
            ..Geometry::default()
        };
        Volume::new(a, g).expect("a valid test volume")
    }

    #[test]
    fn shares_levels_and_noise_of_a_known_body() {
        let s = {
            let v = phantom(10.0);
            tissue_stats(&v, &slice_bodies(&v))
        };
        // the disc of radius 26: fat and soft about half each, bone the core
        assert!((s.fat_pct - s.soft_pct).abs() < 5.0, "{s:?}");
        assert!(
            s.fat_pct > 40.0 && s.bone_pct > 1.0 && s.bone_pct < 5.0,
            "{s:?}"
        );
        assert!((s.fat_median_hu + 100.0).abs() < 2.0, "{s:?}");
        assert!((s.soft_median_hu - 40.0).abs() < 2.0, "{s:?}");
        assert!((s.outside_median_hu + 1000.0).abs() < 1.0, "{s:?}");
        assert!((s.noise_fat_hu - 10.0).abs() < 1.0, "{s:?}");
        assert!((s.noise_soft_hu - 10.0).abs() < 1.0, "{s:?}");
        // two independent draws differ by sqrt(2) x 10 HU SD: median |d| = 0.6745 x 14.1
        assert!((s.slice_change_soft_hu - 9.5).abs() < 1.0, "{s:?}");
    }

    #[test]
    fn noise_scales_with_the_noise_put_in() {
        let lo = {
            let v = phantom(5.0);
            tissue_stats(&v, &slice_bodies(&v))
        };
        let hi = {
            let v = phantom(20.0);
            tissue_stats(&v, &slice_bodies(&v))
        };
        let r = hi.noise_soft_hu / lo.noise_soft_hu;
        assert!((r - 4.0).abs() < 0.3, "{r}");
    }
}
