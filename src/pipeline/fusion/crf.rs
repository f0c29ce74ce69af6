//! CRF(P2): structured prediction over the candidate superpixels of each axial slice
//! (DeepOrgan Sec. 2.6).
//!
//! Per slice, a graph whose nodes are the candidate superpixels and whose edges join directly
//! neighbouring candidates. Unary (regional) term from R2: labelling superpixel `i` pancreas
//! costs `-ln P2_i`, background `-ln (1 - P2_i)` (clamped away from 0 and 1), each weighted by
//! the superpixel's area relative to the slice's mean candidate area, so large superpixels count
//! for more. An optional prior `t` moves the unary's decision boundary from P2 = 0.5 to P2 = t
//! (pancreas `-ln (P2 / t)`, background `-ln ((1 - P2) / (1 - t))`, shifted per node so both
//! stay non-negative): the unary alone then agrees with P2 thresholded at its calibrated
//! operating point instead of at one half. `t = 0.5` is exactly the energy above. Pairwise (boundary) term from the boundary ConvNet: giving two neighbours different
//! labels costs `w * p_same`, where `p_same` is the network's probability that the two
//! superpixels carry the same label (its training target) and `w` the calibrated CRF weight
//! ([`Pairwise::Linear`], the form of bundles that do not name one). [`Pairwise::LogOdds`]
//! instead charges `w * max(0, ln(p_same / (1 - p_same)))`: the same negative log-likelihood as
//! the unary (a pair costs `-ln p_same` when its labels agree and `-ln(1 - p_same)` when they
//! differ; the difference is the cost of the cut, and pairs the network thinks more likely
//! different than alike cost nothing, which keeps the energy submodular), so a confident network
//! (p_same 0.99: 4.6) weighs far more than an unsure one (0.6: 0.4), where the linear form gives
//! 0.99 against 0.6.
//! The minimum of the energy is found exactly by min-cut ([`crate::pipeline::fusion::maxflow`]).

use crate::pipeline::candidates::superpixels::SuperpixelSet;
use crate::pipeline::fusion::maxflow::Graph;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How the boundary ConvNet's P(same label) becomes the cost of cutting an edge (module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pairwise {
    /// `w * p_same`.
    #[default]
    Linear,
    /// `w * max(0, logit(p_same))`.
    LogOdds,
}

impl Pairwise {
    /// Both forms, the default first.
    pub const ALL: [Pairwise; 2] = [Pairwise::Linear, Pairwise::LogOdds];

    /// The name in manifests and on command lines.
    pub fn name(self) -> &'static str {
        match self {
            Pairwise::Linear => "linear",
            Pairwise::LogOdds => "log-odds",
        }
    }

    /// The cost of giving two neighbours with P(same label) `p_same` different labels, per unit
    /// of weight.
    pub fn cut_cost(self, p_same: f32) -> f64 {
        let p = f64::from(p_same);
        match self {
            Pairwise::Linear => p.clamp(0.0, 1.0),
            Pairwise::LogOdds => {
                let p = p.clamp(P_MIN, 1.0 - P_MIN);
                (p / (1.0 - p)).ln().max(0.0)
            }
        }
    }
}

impl std::str::FromStr for Pairwise {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Pairwise::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown CRF pairwise form {s:?} (linear or log-odds)"))
    }
}

/// One setting of the CRF: pairwise weight, unary prior and pairwise form.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CrfSetting {
    pub weight: f64,
    /// The P2 value at which the unary alone changes label, in (0, 1).
    pub prior: f64,
    pub pairwise: Pairwise,
}

/// Clamp of probabilities inside the logarithms.
const P_MIN: f64 = 1e-4;

/// The boundary ConvNet's output for one pair of neighbouring candidates (global ids, a < b).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairScore {
    pub a: u32,
    pub b: u32,
    /// Probability that `a` and `b` carry the same label.
    pub p_same: f32,
}

/// Pairs of in-slice neighbouring candidates (a < b), in ascending order of (a, b).
pub fn candidate_pairs(set: &SuperpixelSet, selected: &[bool]) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for (i, s) in set.superpixels.iter().enumerate() {
        if !selected[i] {
            continue;
        }
        for &nb in &s.neighbours {
            if nb > s.id && selected[nb as usize - 1] {
                out.push((s.id, nb));
            }
        }
    }
    out
}

/// Labels of the candidates (index id - 1; non-candidates false) minimising the CRF energy.
pub fn crf_labels(
    set: &SuperpixelSet,
    selected: &[bool],
    p2: &[f32],
    pairs: &[PairScore],
    setting: CrfSetting,
) -> Vec<bool> {
    let CrfSetting {
        weight,
        prior,
        pairwise,
    } = setting;
    // the unary's offsets ln(2t), ln(2(1 - t)): both 0 at t = 0.5 (the paper's energy, bit for
    // bit); callers validate t in (0, 1), the clamp only keeps the logarithms finite
    let t = prior.clamp(P_MIN, 1.0 - P_MIN);
    let (off_fg, off_bg) = ((2.0 * t).ln(), (2.0 * (1.0 - t)).ln());
    let n = set.superpixels.len();
    let mut out = vec![false; n];
    // candidates grouped by slice, in id order (ids grow with the slice)
    let mut by_slice: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, s) in set.superpixels.iter().enumerate() {
        if !selected[i] {
            continue;
        }
        match by_slice.last_mut() {
            Some((z, v)) if *z == s.slice => v.push(i),
            _ => by_slice.push((s.slice, vec![i])),
        }
    }
    let pair_of: HashMap<(u32, u32), f32> = pairs
        .iter()
        .map(|p| ((p.a.min(p.b), p.a.max(p.b)), p.p_same))
        .collect();
    for (_, nodes) in by_slice {
        let local: HashMap<usize, usize> = nodes.iter().enumerate().map(|(k, &i)| (i, k)).collect();
        let mean_area = nodes
            .iter()
            .map(|&i| set.superpixels[i].pixels as f64)
            .sum::<f64>()
            / nodes.len() as f64;
        let mut g = Graph::new(nodes.len());
        for (k, &i) in nodes.iter().enumerate() {
            let p = f64::from(p2[i]).clamp(P_MIN, 1.0 - P_MIN);
            let a = set.superpixels[i].pixels as f64 / mean_area.max(1.0);
            // source side = pancreas: ending on the sink side (background) pays
            // -ln(1 - p) + ln(2(1 - t)), on the source side -ln p + ln(2t); a constant added
            // to both does not move the minimum, so the smaller is brought to 0 when negative
            let (fg, bg) = (-p.ln() + off_fg, -(1.0 - p).ln() + off_bg);
            let shift = fg.min(bg).min(0.0);
            g.add_terminal(k, (bg - shift) * a, (fg - shift) * a);
        }
        for &i in &nodes {
            let s = &set.superpixels[i];
            for &nb in &s.neighbours {
                if nb <= s.id {
                    continue;
                }
                let j = nb as usize - 1;
                let (Some(&ki), Some(&kj)) = (local.get(&i), local.get(&j)) else {
                    continue;
                };
                if let Some(&ps) = pair_of.get(&(s.id, nb)) {
                    g.add_edge(ki, kj, weight * pairwise.cut_cost(ps));
                }
            }
        }
        let (_, side) = g.min_cut();
        for (k, &i) in nodes.iter().enumerate() {
            out[i] = side[k];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::candidates::superpixels::{Span, Superpixel};
    use ndarray::Array3;

    fn lin(weight: f64, prior: f64) -> CrfSetting {
        CrfSetting {
            weight,
            prior,
            pairwise: Pairwise::Linear,
        }
    }

    fn sp(id: u32, slice: usize, neighbours: Vec<u32>) -> Superpixel {
        Superpixel {
            id,
            slice,
            pixels: 10,
            area_mm2: 10.0,
            bbox: [0, 0, 1, 1],
            spans: vec![Span { y: 0, x0: 0, x1: 9 }],
            neighbours,
        }
    }

    fn chain() -> SuperpixelSet {
        // slice 0: 1 - 2 - 3 in a row; slice 1: 4 alone
        SuperpixelSet {
            labels: Array3::zeros((2, 1, 1)),
            dims: (2, 1, 1),
            superpixels: vec![
                sp(1, 0, vec![2]),
                sp(2, 0, vec![1, 3]),
                sp(3, 0, vec![2]),
                sp(4, 1, vec![]),
            ],
        }
    }

    #[test]
    fn without_pairwise_terms_the_crf_thresholds_p2_at_one_half() {
        let set = chain();
        let sel = vec![true; 4];
        let p2 = [0.9, 0.4, 0.6, 0.2];
        let labels = crf_labels(&set, &sel, &p2, &[], lin(1.0, 0.5));
        assert_eq!(labels, vec![true, false, true, false]);
    }

    #[test]
    fn strong_same_label_evidence_fills_a_gap() {
        let set = chain();
        let sel = vec![true; 4];
        let p2 = [0.9, 0.4, 0.9, 0.2];
        let pairs: Vec<PairScore> = candidate_pairs(&set, &sel)
            .into_iter()
            .map(|(a, b)| PairScore { a, b, p_same: 1.0 })
            .collect();
        assert_eq!(pairs.len(), 2);
        let labels = crf_labels(&set, &sel, &p2, &pairs, lin(2.0, 0.5));
        assert_eq!(labels, vec![true, true, true, false]);
        // a boundary the network is sure of keeps the weak middle out
        let sure: Vec<PairScore> = pairs
            .iter()
            .map(|p| PairScore { p_same: 0.0, ..*p })
            .collect();
        assert_eq!(
            crf_labels(&set, &sel, &p2, &sure, lin(2.0, 0.5)),
            vec![true, false, true, false]
        );
    }

    #[test]
    fn non_candidates_stay_background() {
        let set = chain();
        let sel = vec![true, false, true, false];
        let labels = crf_labels(&set, &sel, &[0.9, 0.99, 0.9, 0.99], &[], lin(1.0, 0.5));
        assert_eq!(labels, vec![true, false, true, false]);
    }

    #[test]
    fn a_prior_moves_the_unary_boundary_to_the_operating_point() {
        let set = chain();
        let sel = vec![true; 4];
        let p2 = [0.9, 0.4, 0.6, 0.2];
        for (t, want) in [
            (0.3, [true, true, true, false]),
            (0.5, [true, false, true, false]),
            (0.7, [true, false, false, false]),
            (0.95, [false, false, false, false]),
        ] {
            assert_eq!(crf_labels(&set, &sel, &p2, &[], lin(1.0, t)), want, "t {t}");
        }
        // with pairwise terms the prior only shifts the unary: same-label evidence still
        // pulls the weak middle in at t = 0.7 when the pairs are strong enough
        let pairs: Vec<PairScore> = candidate_pairs(&set, &sel)
            .into_iter()
            .map(|(a, b)| PairScore { a, b, p_same: 1.0 })
            .collect();
        let p2 = [0.9, 0.65, 0.9, 0.2];
        assert_eq!(
            crf_labels(&set, &sel, &p2, &[], lin(1.0, 0.7)),
            vec![true, false, true, false]
        );
        assert_eq!(
            crf_labels(&set, &sel, &p2, &pairs, lin(2.0, 0.7)),
            vec![true, true, true, false]
        );
    }

    #[test]
    fn log_odds_weighs_confident_pairs_and_ignores_likely_boundaries() {
        let lo = Pairwise::LogOdds;
        assert!((lo.cut_cost(0.99) - (99.0f64).ln()).abs() < 1e-6);
        assert_eq!(lo.cut_cost(0.5), 0.0);
        assert_eq!(lo.cut_cost(0.2), 0.0);
        assert!(lo.cut_cost(1.0).is_finite());
        assert_eq!(Pairwise::Linear.cut_cost(0.6), 0.6f32 as f64);
        assert_eq!("log-odds".parse::<Pairwise>(), Ok(Pairwise::LogOdds));
        assert!("quadratic".parse::<Pairwise>().is_err());
        // a middle node at 0.4 between two at 0.9 (labelling it pancreas costs ln(0.6 / 0.4) =
        // 0.41 more): pairs of 0.7 at weight 2 fill the gap in the linear form (2 x 1.4)
        let set = chain();
        let sel = vec![true; 4];
        let p2 = [0.9, 0.4, 0.9, 0.2];
        let pairs: Vec<PairScore> = candidate_pairs(&set, &sel)
            .into_iter()
            .map(|(a, b)| PairScore { a, b, p_same: 0.7 })
            .collect();
        let with = |pairwise| CrfSetting {
            pairwise,
            ..lin(2.0, 0.5)
        };
        assert_eq!(
            crf_labels(&set, &sel, &p2, &pairs, with(Pairwise::Linear)),
            vec![true, true, true, false]
        );
        // log-odds at weight 0.1: pairs of 0.7 cost 2 x 0.085 and leave the gap, sure pairs
        // (0.999) cost 2 x 0.69 and fill it
        let sure: Vec<PairScore> = pairs
            .iter()
            .map(|p| PairScore { p_same: 0.999, ..*p })
            .collect();
        let small = CrfSetting {
            weight: 0.1,
            ..with(Pairwise::LogOdds)
        };
        assert_eq!(
            crf_labels(&set, &sel, &p2, &pairs, small),
            vec![true, false, true, false]
        );
        assert_eq!(
            crf_labels(&set, &sel, &p2, &sure, small),
            vec![true, true, true, false]
        );
    }
}
