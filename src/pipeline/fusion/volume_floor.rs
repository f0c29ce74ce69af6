//! A volume floor on G(P2)'s operating point: per scan, the threshold is lowered from the
//! calibrated operating point, never below `lowest`, until the mask holds at least `ml`
//! millilitres. The same floor holds CRF(P2): its unary prior (the P2 value where the unary
//! alone changes label) is lowered the same way until the CRF's mask holds `ml`.
//!
//! Why: on scans unlike its training cases the networks still rank the pancreas above the rest
//! of the candidates, but with less confidence. On 39 held-out realistic phantoms the shipped
//! bundle's P2 ranked the pancreas's candidate voxels above the others with AUC 0.94 (0.92 on
//! non-contrast scans), yet its mean P2 on the pancreas fell from 0.69 (arterial) to 0.45
//! (non-contrast), so one fixed threshold, calibrated where the networks are sure, left most of
//! the gland out (mean DSC 0.27 on those scans). An adult pancreas holds about 50-100 mL
//! (atrophic glands 20-45): a mask far smaller than that says the threshold, not the gland,
//! is too small, and the floor fixes only that case; scans whose mask already reaches the
//! floor keep the calibrated threshold. Both values are bundle fields, calibrated by mean DSC
//! on labelled cases the networks were not trained on (`docs/results/volume-floor/`).
//! Written here: a sort, a count and a bisection; no crate does this.

use serde::{Deserialize, Serialize};

/// The bundle's volume floor (manifest field `volume_floor`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VolumeFloor {
    /// The mask volume (mL) below which the threshold is lowered.
    pub ml: f64,
    /// The threshold is never lowered below this.
    pub lowest: f32,
}

impl VolumeFloor {
    /// Why the values cannot be used, if they cannot.
    pub fn check(&self) -> Result<(), String> {
        if !(self.ml >= 0.0 && self.ml.is_finite()) {
            return Err(format!("volume_floor.ml {} is not a volume", self.ml));
        }
        if !(self.lowest > 0.0 && self.lowest <= 1.0) {
            return Err(format!("volume_floor.lowest {} is not in (0, 1]", self.lowest));
        }
        Ok(())
    }

    /// The threshold for a map whose voxels hold `voxel_ml` millilitres each: `threshold` when
    /// at least `ml` of the map lie at or above it; otherwise the largest value at or above
    /// `lowest` with at least `ml` at or above it; `lowest` when even that leaves less.
    pub fn threshold<'a>(
        &self,
        map: impl IntoIterator<Item = &'a f32> + Clone,
        voxel_ml: f64,
        threshold: f32,
    ) -> f32 {
        let lowest = self.lowest.min(threshold);
        if voxel_ml.is_nan() || voxel_ml <= 0.0 {
            return threshold;
        }
        let needed = (self.ml / voxel_ml).ceil() as usize;
        let above = map.clone().into_iter().filter(|&&v| v >= threshold).count();
        if above >= needed {
            return threshold;
        }
        let mut band: Vec<f32> = map
            .into_iter()
            .copied()
            .filter(|&v| v >= lowest && v < threshold)
            .collect();
        let missing = needed - above;
        if band.len() < missing {
            return lowest;
        }
        // the `missing`-th largest value of the band
        band.sort_unstable_by(|a, b| b.total_cmp(a));
        band[missing - 1]
    }

    /// The CRF's unary prior for a scan: `prior` when the CRF's mask at it holds at least `ml`;
    /// otherwise the largest prior in [`lowest`, `prior`] (to within [`PRIOR_STEP`]) at which it
    /// does; `lowest` when even that leaves less. `volume_at(t)` is the mask volume (mL) of the
    /// CRF solved with prior `t`; it does not grow with `t` (a higher prior raises the cost of
    /// every pancreas label and lowers that of every background one, so the minimum cut can
    /// only give up pancreas). The prior returned is always one `volume_at` was called with.
    pub fn crf_prior(&self, prior: f64, mut volume_at: impl FnMut(f64) -> f64) -> f64 {
        // the f32 field as the decimal the manifest wrote (0.4, not 0.4000000059604645)
        let lowest = (f64::from(self.lowest) * 1e6).round() / 1e6;
        let mut lo = lowest.min(prior);
        let mut hi = prior;
        if volume_at(hi) >= self.ml {
            return hi;
        }
        if lo == hi || volume_at(lo) < self.ml {
            return lo;
        }
        // invariant: volume_at(lo) >= ml > volume_at(hi)
        while hi - lo > PRIOR_STEP {
            let mid = 0.5 * (lo + hi);
            if volume_at(mid) >= self.ml {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// Precision of the CRF prior the floor finds (a bisection of at most 9 CRF solves over the
/// 0.3 wide range of the default bundle).
pub const PRIOR_STEP: f64 = 1e-3;

#[cfg(test)]
mod tests {
    use super::*;

    const FLOOR: VolumeFloor = VolumeFloor {
        ml: 3.0,
        lowest: 0.4,
    };

    #[test]
    fn a_mask_at_the_floor_keeps_the_calibrated_threshold() {
        let map = [0.9, 0.8, 0.8, 0.5, 0.1];
        assert_eq!(FLOOR.threshold(&map, 1.0, 0.75), 0.75);
    }

    #[test]
    fn a_small_mask_lowers_the_threshold_to_reach_the_floor() {
        let map = [0.9, 0.6, 0.5, 0.45, 0.1];
        let t = FLOOR.threshold(&map, 1.0, 0.75);
        assert_eq!(t, 0.5);
        // exactly the floor's volume lies at or above it
        assert_eq!(map.iter().filter(|&&v| v >= t).count(), 3);
        // with voxels of half a millilitre the floor needs six, more than the map has above
        // the lowest threshold
        assert_eq!(FLOOR.threshold(&map, 0.5, 0.75), 0.4);
    }

    #[test]
    fn the_threshold_never_falls_below_lowest() {
        let map = [0.9, 0.3, 0.2, 0.1];
        assert_eq!(FLOOR.threshold(&map, 1.0, 0.75), 0.4);
        // an empty map (no candidates) gives the lowest threshold and an empty mask
        assert_eq!(FLOOR.threshold(&[], 1.0, 0.75), 0.4);
        // a calibrated threshold below `lowest` is never raised
        assert_eq!(FLOOR.threshold(&map, 1.0, 0.25), 0.25);
    }

    #[test]
    fn the_threshold_does_not_depend_on_the_order_of_the_map() {
        let mut map: Vec<f32> = (0..200).map(|i| ((i * 37) % 200) as f32 / 200.0).collect();
        let t = FLOOR.threshold(&map, 0.1, 0.95);
        map.reverse();
        assert_eq!(FLOOR.threshold(&map, 0.1, 0.95), t);
        assert_eq!(map.iter().filter(|&&v| v >= t).count(), 30);
    }

    /// A CRF stand-in: superpixels of 1 mL with these P2 values, kept when P2 >= prior.
    fn kept_ml(p2: &[f64], prior: f64) -> f64 {
        p2.iter().filter(|&&p| p >= prior).count() as f64
    }

    #[test]
    fn the_crf_prior_is_lowered_to_reach_the_floor_and_no_further() {
        let p2 = [0.9, 0.65, 0.55, 0.45, 0.2];
        // three superpixels (3 mL) at 0.7 already: the prior stays
        let floor = VolumeFloor {
            ml: 1.0,
            lowest: 0.4,
        };
        assert_eq!(floor.crf_prior(0.7, |t| kept_ml(&p2, t)), 0.7);
        // three needed: the largest prior keeping three is 0.55
        let t = FLOOR.crf_prior(0.7, |t| kept_ml(&p2, t));
        assert!((t - 0.55).abs() <= PRIOR_STEP && t <= 0.55, "{t}");
        assert_eq!(kept_ml(&p2, t), 3.0);
        // five needed, four reachable above 0.4: lowest
        let floor = VolumeFloor {
            ml: 5.0,
            lowest: 0.4,
        };
        assert_eq!(floor.crf_prior(0.7, |t| kept_ml(&p2, t)), 0.4);
        // a calibrated prior below lowest is never raised, and nothing is solved twice for it
        let mut solves = 0;
        let t = FLOOR.crf_prior(0.3, |t| {
            solves += 1;
            kept_ml(&p2, t)
        });
        assert_eq!((t, solves), (0.3, 1));
    }

    #[test]
    fn bad_values_are_named() {
        let bad = VolumeFloor {
            ml: f64::NAN,
            lowest: 0.4,
        };
        assert!(bad.check().unwrap_err().contains("ml"));
        let bad = VolumeFloor {
            ml: 45.0,
            lowest: 0.0,
        };
        assert!(bad.check().unwrap_err().contains("lowest"));
        assert!(FLOOR.check().is_ok());
    }
}
