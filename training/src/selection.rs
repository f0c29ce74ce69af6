//! Evaluation helpers over superpixel selections, for the cascade's cross-validation and the
//! benchmarks: the optimal labelling of a set against a truth mask (Table 1's "Opt." bound), and
//! the DSC and recall of a selection. Training only: inference never sees a truth mask.

use ndarray::Array3;
use pancseg::pipeline::candidates::superpixels::SuperpixelSet;

/// Optimal superpixel labels (a superpixel is positive when at least half of its pixels are
/// pancreas) and the DSC of that labelling against the mask: the "Opt." upper bound of Table 1.
pub fn optimal_labels(set: &SuperpixelSet, mask: &Array3<u8>) -> (Vec<bool>, f64) {
    let mut inside = vec![0usize; set.superpixels.len()];
    for (l, m) in set.label_volume().iter().zip(mask.iter()) {
        if *l != 0 && *m != 0 {
            inside[*l as usize - 1] += 1;
        }
    }
    let positive: Vec<bool> = set
        .superpixels
        .iter()
        .zip(&inside)
        .map(|(s, &k)| 2 * k >= s.pixels && k > 0)
        .collect();
    let dsc = selection_dsc(set, &positive, mask);
    (positive, dsc)
}

/// DSC between the union of the selected superpixels and the mask.
pub fn selection_dsc(set: &SuperpixelSet, selected: &[bool], mask: &Array3<u8>) -> f64 {
    let (mut tp, mut a, mut b) = (0usize, 0usize, 0usize);
    for (l, m) in set.label_volume().iter().zip(mask.iter()) {
        let s = *l != 0 && selected[*l as usize - 1];
        let t = *m != 0;
        tp += usize::from(s && t);
        a += usize::from(s);
        b += usize::from(t);
    }
    if a + b == 0 {
        1.0
    } else {
        2.0 * tp as f64 / (a + b) as f64
    }
}

/// Fraction of mask voxels covered by the selected superpixels.
pub fn selection_recall(set: &SuperpixelSet, selected: &[bool], mask: &Array3<u8>) -> f64 {
    let (mut tp, mut t) = (0usize, 0usize);
    for (l, m) in set.label_volume().iter().zip(mask.iter()) {
        if *m != 0 {
            t += 1;
            tp += usize::from(*l != 0 && selected[*l as usize - 1]);
        }
    }
    if t == 0 {
        1.0
    } else {
        tp as f64 / t as f64
    }
}
