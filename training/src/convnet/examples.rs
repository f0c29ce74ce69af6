//! Training examples of the four networks, drawn from the candidates of the training cases, and
//! their inputs built on the fly by the library's input code ([`pancseg::pipeline::convnets::inputs`]) with an
//! optional thin-plate-spline deformation (paper Sec. 2.5: Nt = 8 per example).
//!
//! - P-ConvNet: voxels inside candidate superpixels; label = pancreas voxel.
//! - R1/R2-ConvNet: candidate superpixels at each of the Ns zoom-out scales (each scale its own
//!   example, as in the paper); label = at least half of its pixels are pancreas.
//! - Boundary ConvNet: pairs of in-slice neighbouring candidate superpixels; label = both
//!   superpixels have the same (optimal) label.
//!
//! Every example records its case, so validation holds out whole cases.

use super::NetKind;
use pancseg::pipeline::candidates::superpixels::SuperpixelSet;
use pancseg::pipeline::convnets::inputs::{
    boundary_input, p_patch, r_input, PatchGeometry, RegionGeometry,
};
use pancseg::pipeline::convnets::tps::Tps;
use pancseg::volume::{Mask, Volume};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Thin-plate-spline deformations per example (the paper's Nt).
pub const NT: usize = 8;
/// Control grid side and the largest control-point move (fraction of the window side).
pub const TPS_GRID: usize = 4;
pub const TPS_BOUND: f64 = 0.04;

/// A case ready for example generation.
pub struct ExampleCase {
    pub id: String,
    pub ct: Volume,
    pub mask: Mask,
    pub set: SuperpixelSet,
    /// Optimal label of each superpixel (at least half pancreas).
    pub positive: Vec<bool>,
    /// Candidate superpixels (the cascade's {S_RF}).
    pub candidates: Vec<bool>,
    /// P0 over the case (R2 only).
    pub p0: Option<pancseg::pipeline::convnets::prob_map::MapCrop>,
}

/// Where one example is sampled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Site {
    Voxel([usize; 3]),
    Region { sp: u32, scale: u8 },
    Pair { a: u32, b: u32 },
}

/// One example: case index, site and binary label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Example {
    pub case: usize,
    pub site: Site,
    pub label: bool,
}

/// Input geometry shared by the networks.
#[derive(Debug, Clone, Default)]
pub struct Geometry {
    pub patch: PatchGeometry,
    pub region: RegionGeometry,
}

/// All candidate examples of one case for `kind`. P-ConvNet voxels are subsampled to at most
/// `max_voxels` per class (positive and negative) per case.
pub fn case_examples(
    kind: NetKind,
    c: &ExampleCase,
    case: usize,
    g: &Geometry,
    max_voxels: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Example> {
    let sps = &c.set.superpixels;
    let mut out = Vec::new();
    match kind {
        NetKind::P => {
            let (mut pos, mut neg) = (Vec::new(), Vec::new());
            for (i, s) in sps.iter().enumerate() {
                if !c.candidates[i] {
                    continue;
                }
                for sp in &s.spans {
                    for x in sp.x0 as usize..=sp.x1 as usize {
                        let v = [x, sp.y as usize, s.slice];
                        if c.mask.data[[v[2], v[1], v[0]]] != 0 {
                            pos.push(v);
                        } else {
                            neg.push(v);
                        }
                    }
                }
            }
            for (list, label) in [(pos, true), (neg, false)] {
                let mut list = list;
                list.shuffle(rng);
                list.truncate(max_voxels);
                out.extend(list.into_iter().map(|v| Example {
                    case,
                    site: Site::Voxel(v),
                    label,
                }));
            }
        }
        NetKind::R1 | NetKind::R2 => {
            for (i, s) in sps.iter().enumerate() {
                if !c.candidates[i] {
                    continue;
                }
                for scale in 0..g.region.scales.len() {
                    out.push(Example {
                        case,
                        site: Site::Region {
                            sp: s.id,
                            scale: scale as u8,
                        },
                        label: c.positive[i],
                    });
                }
            }
        }
        NetKind::Boundary => {
            for (i, s) in sps.iter().enumerate() {
                if !c.candidates[i] {
                    continue;
                }
                for &nb in &s.neighbours {
                    let j = nb as usize - 1;
                    // each unordered pair once, both candidates
                    if nb > s.id && c.candidates[j] {
                        out.push(Example {
                            case,
                            site: Site::Pair { a: s.id, b: nb },
                            label: c.positive[i] == c.positive[j],
                        });
                    }
                }
            }
        }
    }
    out
}

/// The deformation `k` (1..=NT) of example `index` under `seed`; `k == 0` is no deformation.
pub fn deformation(seed: u64, index: usize, k: usize) -> Option<Tps> {
    if k == 0 {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(
        seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((k as u64) << 56),
    );
    Some(Tps::random(TPS_GRID, TPS_BOUND, &mut rng))
}

/// Writes the network input of `e` (with deformation `warp`) into `out`.
pub fn write_input(
    kind: NetKind,
    cases: &[ExampleCase],
    e: &Example,
    g: &Geometry,
    warp: Option<&Tps>,
    out: &mut [f32],
) {
    let c = &cases[e.case];
    match e.site {
        Site::Voxel(v) => p_patch(&c.ct, v, &g.patch, warp, out),
        Site::Region { sp, scale } => {
            let s = &c.set.superpixels[sp as usize - 1];
            let p0 = if kind == NetKind::R2 {
                c.p0.as_ref()
            } else {
                None
            };
            r_input(
                &c.ct,
                p0,
                s,
                &g.region,
                g.region.scales[scale as usize],
                warp,
                out,
            );
        }
        Site::Pair { a, b } => {
            let (sa, sb) = (
                &c.set.superpixels[a as usize - 1],
                &c.set.superpixels[b as usize - 1],
            );
            // the caller fills every case's P0 for a boundary ConvNet that reads it
            let p0 = c.p0.as_ref().filter(|_| g.region.boundary_p0);
            boundary_input(&c.ct, p0, &c.set.labels, sa, sb, &g.region, warp, out);
        }
    }
}

/// Draws a balanced epoch: `n / 2` positives and `n / 2` negatives (with replacement when a
/// class has fewer), each with a random deformation index in 0..=NT. Returns (example index,
/// deformation index) pairs in random order.
pub fn balanced_epoch(examples: &[Example], n: usize, rng: &mut impl Rng) -> Vec<(usize, usize)> {
    let pos: Vec<usize> = (0..examples.len()).filter(|&i| examples[i].label).collect();
    let neg: Vec<usize> = (0..examples.len())
        .filter(|&i| !examples[i].label)
        .collect();
    let mut out = Vec::with_capacity(n);
    for pool in [&pos, &neg] {
        if pool.is_empty() {
            continue;
        }
        let mut order = pool.clone();
        order.shuffle(rng);
        for k in 0..n / 2 {
            let i = if k < order.len() {
                order[k]
            } else {
                pool[rng.random_range(0..pool.len())]
            };
            out.push((i, rng.random_range(0..=NT)));
        }
    }
    out.shuffle(rng);
    out
}
