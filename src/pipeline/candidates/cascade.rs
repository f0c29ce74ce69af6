//! Candidate regions {S_RF}: superpixels kept by the two-level random-forest cascade.
//!
//! Level 1 scores every superpixel from its features; level 2 scores it again from the same
//! features plus the level-1 probabilities of itself, its in-slice neighbours and the superpixels
//! overlapping it in the adjacent slices. Level 2's positive class is weighted (in the forest
//! file) so that the cut p > 0.5 keeps at least the calibrated share of pancreas voxels; the
//! superpixels above the cut are the candidates.

use crate::error::Result;
use crate::model::forest::Forest;
use crate::pipeline::candidates::features::{
    level2_features, superpixel_features, N_FEATURES, N_LEVEL2_FEATURES,
};
use crate::pipeline::candidates::superpixels::{
    compute_superpixels, SuperpixelConfig, SuperpixelSet,
};
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
        selection_mask(&self.set, &self.selected)
    }

    /// Number of selected superpixels.
    pub fn count(&self) -> usize {
        self.selected.iter().filter(|&&s| s).count()
    }

    /// Inclusive voxel bounding box `[x0, y0, z0, x1, y1, z1]` of the selected superpixels.
    /// Voxels of the kept superpixels.
    pub fn voxels(&self) -> usize {
        self.set
            .superpixels
            .iter()
            .zip(&self.selected)
            .filter(|(_, &s)| s)
            .map(|(s, _)| s.pixels)
            .sum()
    }

    pub fn bbox(&self) -> Option<[usize; 6]> {
        bbox_of(&self.set, &self.selected)
    }

    /// The largest 3D-connected group of selected superpixels (by voxels): superpixels connect
    /// when they are in-slice neighbours or overlap in adjacent slices. Scattered false
    /// positives far from the pancreas fall outside it.
    pub fn main_group(&self) -> Vec<bool> {
        let n = self.selected.len();
        let mut parent: Vec<usize> = (0..n).collect();
        fn find(p: &mut [usize], mut x: usize) -> usize {
            while p[x] != x {
                p[x] = p[p[x]];
                x = p[x];
            }
            x
        }
        let union = |p: &mut Vec<usize>, a: usize, b: usize| {
            let (ra, rb) = (find(p, a), find(p, b));
            if ra != rb {
                p[ra.max(rb)] = ra.min(rb);
            }
        };
        let nz = self.set.dims.0;
        // the labels of the slice above, drawn once per slice
        let mut above: Option<(usize, std::borrow::Cow<'_, [u32]>)> = None;
        let nx = self.set.dims.2;
        for (i, s) in self.set.superpixels.iter().enumerate() {
            if !self.selected[i] {
                continue;
            }
            for &nb in &s.neighbours {
                let j = nb as usize - 1;
                if self.selected[j] {
                    union(&mut parent, i, j);
                }
            }
            // overlap with the slice above
            if s.slice + 1 < nz {
                if above.as_ref().map(|a| a.0) != Some(s.slice + 1) {
                    above = Some((s.slice + 1, self.set.slice_labels(s.slice + 1)));
                }
                if let Some((_, lab)) = &above {
                    for sp in &s.spans {
                        let row = sp.y as usize * nx;
                        for &l in &lab[row + sp.x0 as usize..=row + sp.x1 as usize] {
                            if l != 0 && self.selected[l as usize - 1] {
                                union(&mut parent, i, l as usize - 1);
                            }
                        }
                    }
                }
            }
        }
        let mut size = vec![0usize; n];
        for (i, s) in self.set.superpixels.iter().enumerate() {
            if self.selected[i] {
                let r = find(&mut parent, i);
                size[r] += s.pixels;
            }
        }
        let Some(best) = (0..n).max_by_key(|&r| (size[r], std::cmp::Reverse(r))) else {
            return vec![false; n];
        };
        if size[best] == 0 {
            return vec![false; n];
        }
        (0..n)
            .map(|i| self.selected[i] && find(&mut parent, i) == best)
            .collect()
    }

    /// Bounding box of [`Candidates::main_group`].
    pub fn main_bbox(&self) -> Option<[usize; 6]> {
        bbox_of(&self.set, &self.main_group())
    }
}

/// Mask (1 inside) of the superpixels of `set` flagged in `selected`.
pub fn selection_mask(set: &SuperpixelSet, selected: &[bool]) -> Array3<u8> {
    set.label_volume()
        .mapv(|l| u8::from(l != 0 && selected[l as usize - 1]))
}

/// Inclusive voxel bounding box `[x0, y0, z0, x1, y1, z1]` of the selected superpixels.
pub fn bbox_of(set: &SuperpixelSet, selected: &[bool]) -> Option<[usize; 6]> {
    let mut b = [usize::MAX, usize::MAX, usize::MAX, 0, 0, 0];
    let mut any = false;
    for (s, &sel) in set.superpixels.iter().zip(selected) {
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
