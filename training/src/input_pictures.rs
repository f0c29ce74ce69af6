//! `pancseg-train inputs`: pictures of what a network sees. For `count` positive and `count`
//! negative training examples of one network (drawn at random from the candidates of the given
//! cases, without deformation), one row per example with its input channels side by side, each
//! `size x size` and enlarged `zoom` times: CT channels in the HU window of the normalisation
//! (-160..240 HU, black to white), P0 and mask channels from 0 (black) to 1 (white). Positive
//! rows come first, then a red separator line, then the negative rows. A diagnosis tool (what
//! do the labels look like, what tells them apart), not a benchmark.

use crate::convnet::examples::{case_examples, write_input, Example, ExampleCase, Geometry, Site};
use crate::convnet::NetKind;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Pixels of the smaller superpixel of every pair example, positives and negatives (empty for
/// the networks that do not take pairs), sorted.
pub fn pair_smaller_pixels(cases: &[ExampleCase], examples: &[Example]) -> PairSizes {
    let mut out = [Vec::new(), Vec::new()];
    for e in examples {
        if let Site::Pair { a, b } = e.site {
            let sps = &cases[e.case].set.superpixels;
            let n = sps[a as usize - 1].pixels.min(sps[b as usize - 1].pixels);
            out[usize::from(!e.label)].push(n);
        }
    }
    out.iter_mut().for_each(|v| v.sort_unstable());
    out
}

/// Mean HU and mean P0 (when the case has a map) over superpixel `id`'s pixels.
fn superpixel_means(c: &ExampleCase, id: u32) -> (f64, Option<f64>) {
    let s = &c.set.superpixels[id as usize - 1];
    let p0 = c.p0.as_ref().and_then(|p| p.slice(s.slice).map(|v| (p, v)));
    let (mut hu, mut p, mut n) = (0.0f64, 0.0f64, 0usize);
    for sp in &s.spans {
        for x in sp.x0 as usize..=sp.x1 as usize {
            let y = sp.y as usize;
            hu += f64::from(c.ct.data[[s.slice, y, x]]);
            if let Some((m, v)) = &p0 {
                let (xi, yi) = (x.checked_sub(m.offset[0]), y.checked_sub(m.offset[1]));
                if let (Some(xi), Some(yi)) = (xi, yi) {
                    p += f64::from(v.get((yi, xi)).copied().unwrap_or(0.0));
                }
            }
            n += 1;
        }
    }
    let n = n.max(1) as f64;
    (hu / n, p0.map(|_| p / n))
}

/// Sorted sizes (pixels) of the pairs' smaller superpixels: same-label, different-label.
pub type PairSizes = [Vec<usize>; 2];

/// AUC of the HU contrast rule and, with P0 maps, of the P0 contrast rule.
pub type RuleAucs = (f64, Option<f64>);

/// How well two label-free rules tell same-label pairs (positive) from different-label ones:
/// the AUC of the HU contrast (minus the absolute difference of the two superpixels' mean HU)
/// and, when every case has a P0 map, of the P0 contrast (minus the absolute difference of
/// their mean P0). A boundary ConvNet that reads the same channels should beat both; `None`
/// when there are no pair examples of both labels.
pub fn pair_rule_aucs(cases: &[ExampleCase], examples: &[Example]) -> Option<RuleAucs> {
    let (mut hu, mut p0, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    for e in examples {
        if let Site::Pair { a, b } = e.site {
            let c = &cases[e.case];
            let (ha, pa) = superpixel_means(c, a);
            let (hb, pb) = superpixel_means(c, b);
            hu.push(-(ha - hb).abs() as f32);
            p0.push(pa.zip(pb).map(|(x, y)| -(x - y).abs() as f32));
            labels.push(e.label);
        }
    }
    if !labels.iter().any(|&l| l) || labels.iter().all(|&l| l) {
        return None;
    }
    let p0: Option<Vec<f32>> = p0.into_iter().collect();
    Some((
        crate::convnet::metrics::auc(&hu, &labels),
        p0.map(|v| crate::convnet::metrics::auc(&v, &labels)),
    ))
}

/// An RGB picture.
pub struct Picture {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<u8>,
}

/// The picture of `count` positive and `count` negative examples of `kind` over `cases` with
/// input geometry `g` and `channels` input channels; also the sizes of the pairs' smaller
/// superpixels ([`pair_smaller_pixels`]), the number of positives and negatives and the pair
/// rules' AUCs ([`pair_rule_aucs`]).
pub fn input_pictures(
    kind: NetKind,
    cases: &[ExampleCase],
    g: &Geometry,
    channels: usize,
    count: usize,
    zoom: usize,
    seed: u64,
) -> (Picture, PairSizes, [usize; 2], Option<RuleAucs>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut all: Vec<Example> = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        all.extend(case_examples(kind, c, i, g, 200, &mut rng));
    }
    let sizes = pair_smaller_pixels(cases, &all);
    let rules = pair_rule_aucs(cases, &all);
    let (mut pos, mut neg): (Vec<Example>, Vec<Example>) = all.iter().partition(|e| e.label);
    let totals = [pos.len(), neg.len()];
    pos.shuffle(&mut rng);
    neg.shuffle(&mut rng);
    pos.truncate(count);
    neg.truncate(count);
    let size = match kind {
        NetKind::P => g.patch.size,
        _ => g.region.size,
    };
    let tile = size * zoom;
    let gap = 2;
    let rows = pos.len() + neg.len();
    let width = channels * (tile + gap) + gap;
    let height = rows * (tile + gap) + gap + 4;
    let mut rgb = vec![40u8; width * height * 3];
    let mut buf = vec![0f32; channels * size * size];
    let ct_channels = match kind {
        NetKind::P => 3,
        _ => 1,
    };
    let mut y0 = gap;
    for (r, e) in pos.iter().chain(neg.iter()).enumerate() {
        if r == pos.len() {
            // separator between the positive and the negative rows
            for y in y0..y0 + 2 {
                for x in 0..width {
                    let i = (y * width + x) * 3;
                    rgb[i..i + 3].copy_from_slice(&[220, 40, 40]);
                }
            }
            y0 += 4;
        }
        write_input(kind, cases, e, g, None, &mut buf);
        for ch in 0..channels {
            let x0 = gap + ch * (tile + gap);
            let plane = &buf[ch * size * size..(ch + 1) * size * size];
            for y in 0..tile {
                for x in 0..tile {
                    let v = plane[(y / zoom) * size + x / zoom];
                    // CT is normalised to [-0.5, 0.5], maps lie in [0, 1]
                    let t = if ch < ct_channels { v + 0.5 } else { v };
                    let b = (t.clamp(0.0, 1.0) * 255.0).round() as u8;
                    let i = ((y0 + y) * width + x0 + x) * 3;
                    rgb[i..i + 3].copy_from_slice(&[b, b, b]);
                }
            }
        }
        y0 += tile + gap;
    }
    (Picture { width, height, rgb }, sizes, totals, rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pancseg::pipeline::candidates::superpixels::{compute_superpixels, SuperpixelConfig};
    use pancseg::volume::{Geometry as Geo, Image, IDENTITY};

    /// `nz` slices of `n x n` pixels (2 x 2 x 2.5 mm) in diagonal bands of -100, 20 and 140 HU.
    fn bands(nz: usize, n: usize) -> pancseg::volume::Volume {
        let data = ndarray::Array3::from_shape_fn((nz, n, n), |(_, y, x)| {
            ((x / 8 + y / 8) % 3) as f32 * 120.0 - 100.0
        });
        let geometry = Geo {
            spacing: [2.0, 2.0, 2.5],
            origin: [0.0; 3],
            direction: IDENTITY,
        };
        Image::new(data, geometry).unwrap()
    }

    #[test]
    fn rows_hold_the_positives_then_a_separator_then_the_negatives() {
        // a 3-slice volume of HU bands, so the superpixels have neighbours
        let ct = bands(3, 40);
        let set = compute_superpixels(&ct, &SuperpixelConfig::default());
        let n = set.superpixels.len();
        assert!(n > 4);
        let positive: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
        let mask = Image::new(ndarray::Array3::<u8>::zeros((3, 40, 40)), ct.geometry).unwrap();
        let case = ExampleCase {
            id: "t".into(),
            ct,
            mask,
            set,
            positive,
            candidates: vec![true; n],
            p0: None,
        };
        let g = Geometry::default();
        let (p, sizes, totals, _) = input_pictures(NetKind::Boundary, &[case], &g, 3, 2, 1, 7);
        assert!(totals[0] > 0 && totals[1] > 0, "{totals:?}");
        assert_eq!([sizes[0].len(), sizes[1].len()], totals);
        assert!(sizes[0].windows(2).all(|w| w[0] <= w[1]) && sizes[1][0] > 0);
        assert_eq!(p.width, 3 * (64 + 2) + 2);
        assert_eq!(p.height, 4 * (64 + 2) + 2 + 4);
        assert_eq!(p.rgb.len(), p.width * p.height * 3);
        // the red separator lies under the two positive rows
        let y = 2 + 2 * (64 + 2);
        let i = (y * p.width + 10) * 3;
        assert_eq!(&p.rgb[i..i + 3], &[220, 40, 40]);
        // mask channels are binary: black or white inside a tile
        let i = ((2 + 10) * p.width + 2 + (64 + 2) + 10) * 3;
        assert!(p.rgb[i] == 0 || p.rgb[i] == 255);
    }

    #[test]
    fn rule_aucs_rank_pairs_by_contrast() {
        // HU bands of -100, 20 and 140; a superpixel is "pancreas" when its mean HU is above 0
        let ct = bands(2, 48);
        let set = compute_superpixels(&ct, &SuperpixelConfig::default());
        let n = set.superpixels.len();
        let mean_hu = |i: usize| {
            let s = &set.superpixels[i];
            let (mut t, mut k) = (0.0, 0.0);
            for sp in &s.spans {
                for x in sp.x0 as usize..=sp.x1 as usize {
                    t += f64::from(ct.data[[s.slice, sp.y as usize, x]]);
                    k += 1.0;
                }
            }
            t / k
        };
        let positive: Vec<bool> = (0..n).map(|i| mean_hu(i) > 0.0).collect();
        // a P0 map that is 1 exactly on the positive superpixels
        let mut p0 = ndarray::Array3::<f32>::zeros((2, 48, 48));
        for (s, &pos) in set.superpixels.iter().zip(&positive) {
            for sp in &s.spans {
                for x in sp.x0 as usize..=sp.x1 as usize {
                    p0[[s.slice, sp.y as usize, x]] = f32::from(u8::from(pos));
                }
            }
        }
        let mask = Image::new(ndarray::Array3::<u8>::zeros((2, 48, 48)), ct.geometry).unwrap();
        let mut case = ExampleCase {
            id: "t".into(),
            ct,
            mask,
            set,
            positive,
            candidates: vec![true; n],
            p0: None,
        };
        let g = Geometry::default();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let ex = case_examples(NetKind::Boundary, &case, 0, &g, 0, &mut rng);
        let (hu, p) = pair_rule_aucs(std::slice::from_ref(&case), &ex).unwrap();
        assert!(p.is_none());
        // same-label pairs include equal-HU neighbours, different-label ones never do
        assert!(hu > 0.5, "{hu}");
        case.p0 = Some(pancseg::pipeline::convnets::prob_map::MapCrop::whole(p0));
        let (_, p) = pair_rule_aucs(std::slice::from_ref(&case), &ex).unwrap();
        assert_eq!(p, Some(1.0));
        // no pairs of both labels: no figure
        assert!(pair_rule_aucs(std::slice::from_ref(&case), &ex[..0]).is_none());
    }
}
