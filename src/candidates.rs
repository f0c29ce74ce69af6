//! Candidate regions {S_RF}: superpixels kept by the two-level random-forest cascade.
//!
//! Level 1 scores every superpixel from its features; level 2 scores it again from the same
//! features plus the level-1 probabilities of itself, its in-slice neighbours and the superpixels
//! overlapping it in the adjacent slices. Level 2's positive class is weighted (in the forest
//! file) so that the cut p > 0.5 keeps at least the calibrated share of pancreas voxels; the
//! superpixels above the cut are the candidates.

use crate::error::Result;
use crate::features::{level2_features, superpixel_features, N_FEATURES, N_LEVEL2_FEATURES};
use crate::forest::Forest;
use crate::superpixels::{compute_superpixels, SuperpixelConfig, SuperpixelSet};
use crate::volume::Volume;
use crate::Error;
use ndarray::Array3;

/// The trained cascade.
#[derive(Debug, Clone)]
pub struct Cascade {
    pub superpixels: SuperpixelConfig,
    pub level1: Forest,
    pub level2: Forest,
}

/// Result of the candidate stage on one volume.
#[derive(Debug, Clone)]
pub struct Candidates {
    pub set: SuperpixelSet,
    /// Level-1 and level-2 probabilities per superpixel (index id - 1).
    pub p1: Vec<f32>,
    pub p2: Vec<f32>,
    /// p2 > 0.5.
    pub selected: Vec<bool>,
}

impl Cascade {
    /// Checks that the forests take the feature counts this library computes.
    pub fn validate(&self) -> Result<()> {
        if self.level1.n_features != N_FEATURES || self.level2.n_features != N_LEVEL2_FEATURES {
            return Err(Error::InvalidArgument(format!(
                "cascade forests take {} and {} features; this library computes {N_FEATURES} and {N_LEVEL2_FEATURES}",
                self.level1.n_features, self.level2.n_features
            )));
        }
        Ok(())
    }

    /// Scores precomputed superpixels.
    pub fn score(&self, ct: &Volume, set: SuperpixelSet) -> Result<Candidates> {
        self.validate()?;
        let n = set.superpixels.len();
        let rows = superpixel_features(ct, &set);
        let p1 = self.level1.predict_many(&rows, n);
        let rows2 = level2_features(&set, &rows, &p1);
        let p2 = self.level2.predict_many(&rows2, n);
        let selected = p2.iter().map(|&p| p > 0.5).collect();
        Ok(Candidates {
            set,
            p1,
            p2,
            selected,
        })
    }

    /// Superpixels and scores of a CT volume (canonical LPS orientation).
    pub fn run(&self, ct: &Volume) -> Result<Candidates> {
        let set = compute_superpixels(ct, &self.superpixels);
        self.score(ct, set)
    }
}

impl Candidates {
    /// Mask of the selected superpixels.
    pub fn mask(&self) -> Array3<u8> {
        self.set
            .labels
            .mapv(|l| u8::from(l != 0 && self.selected[l as usize - 1]))
    }

    /// Number of selected superpixels.
    pub fn count(&self) -> usize {
        self.selected.iter().filter(|&&s| s).count()
    }

    /// Inclusive voxel bounding box `[x0, y0, z0, x1, y1, z1]` of the selected superpixels.
    pub fn bbox(&self) -> Option<[usize; 6]> {
        let mut b = [usize::MAX, usize::MAX, usize::MAX, 0, 0, 0];
        let mut any = false;
        for (s, &sel) in self.set.superpixels.iter().zip(&self.selected) {
            if sel {
                any = true;
                b[0] = b[0].min(s.bbox[0]);
                b[1] = b[1].min(s.bbox[1]);
                b[2] = b[2].min(s.slice);
                b[3] = b[3].max(s.bbox[2]);
                b[4] = b[4].max(s.bbox[3]);
                b[5] = b[5].max(s.slice);
            }
        }
        any.then_some(b)
    }
}
