//! Overlap metrics of binary masks (non-zero = inside), used by the CLI's `--truth` check and by
//! evaluation: the Dice similarity coefficient (DSC) of the paper's Table 1.

use ndarray::Array3;

/// DSC = 2 |A ∩ B| / (|A| + |B|); 1 when both masks are empty. `None` when the shapes differ.
pub fn dice(a: &Array3<u8>, b: &Array3<u8>) -> Option<f64> {
    if a.dim() != b.dim() {
        return None;
    }
    let (mut inter, mut na, mut nb) = (0u64, 0u64, 0u64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x != 0, y != 0);
        inter += u64::from(x && y);
        na += u64::from(x);
        nb += u64::from(y);
    }
    Some(if na + nb == 0 {
        1.0
    } else {
        2.0 * inter as f64 / (na + nb) as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dice_of_hand_made_masks() {
        let mut a = Array3::<u8>::zeros((1, 2, 4));
        let mut b = a.clone();
        a.slice_mut(ndarray::s![0, 0, ..]).fill(1); // 4 voxels
        b.slice_mut(ndarray::s![0, .., 0..2]).fill(1); // 4 voxels, 2 shared
        assert_eq!(dice(&a, &b), Some(0.5));
        assert_eq!(dice(&a, &a), Some(1.0));
        let empty = Array3::<u8>::zeros((1, 2, 4));
        assert_eq!(dice(&empty, &empty), Some(1.0));
        assert_eq!(dice(&a, &empty), Some(0.0));
        assert_eq!(dice(&a, &Array3::zeros((2, 2, 4))), None);
    }
}
