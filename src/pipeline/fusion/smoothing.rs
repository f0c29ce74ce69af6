//! 3D Gaussian smoothing G(P) of a probability map (DeepOrgan Sec. 2.5: sigma 3 voxels).
//!
//! Separable: one 1D pass per axis with a normalised kernel truncated at `ceil(3 sigma)`
//! voxels; beyond the array the map reads 0 (probabilities outside the candidate region are 0,
//! and the pipeline smooths a box grown by the kernel radius, so the crop gives the same values
//! as smoothing the whole volume). Sigma is in voxels per axis, as in the paper. Every output is
//! computed by the same sequence of additions whatever the thread count, so results are
//! deterministic. Lanes that hold only zeros are skipped. Written here (not a crate) because it is twenty lines on `ndarray` lanes.

use ndarray::{Array3, Axis, Zip};

/// Kernel radius (voxels) for `sigma`.
pub fn radius(sigma: f64) -> usize {
    if sigma > 0.0 {
        (3.0 * sigma).ceil() as usize
    } else {
        0
    }
}

fn kernel(sigma: f64) -> Vec<f32> {
    let r = radius(sigma) as i64;
    if r == 0 {
        return vec![1.0];
    }
    let w: Vec<f64> = (-r..=r)
        .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f64 = w.iter().sum();
    w.iter().map(|v| (v / sum) as f32).collect()
}

/// One 1D pass along `axis`, in place: each lane is copied to a small buffer and convolved
/// back, so smoothing needs no second volume.
fn pass(map: &mut Array3<f32>, axis: usize, sigma: f64) {
    let k = kernel(sigma);
    let r = k.len() / 2;
    if r == 0 {
        return;
    }
    Zip::from(map.lanes_mut(Axis(axis))).par_for_each(|mut lane| {
        // a lane of zeros stays zero (every product is +-0 and the sums start at +0): most
        // lanes of a crop around scattered candidates are empty
        if lane.iter().all(|&v| v == 0.0) {
            lane.fill(0.0);
            return;
        }
        let src: Vec<f32> = lane.to_vec();
        let n = src.len();
        for x in 0..n {
            let lo = x.saturating_sub(r);
            let hi = (x + r).min(n - 1);
            let mut acc = 0.0f32;
            for y in lo..=hi {
                acc += k[y + r - x] * src[y];
            }
            lane[x] = acc;
        }
    });
}

/// Smooths `map` in place with a Gaussian of standard deviation `sigma` voxels along x, y, z.
pub fn gaussian_smooth_in_place(map: &mut Array3<f32>, sigma: [f64; 3]) {
    // axes of the array are [z][y][x]
    pass(map, 2, sigma[0]);
    pass(map, 1, sigma[1]);
    pass(map, 0, sigma[2]);
}

/// The map smoothed with a Gaussian of standard deviation `sigma` voxels along x, y, z.
pub fn gaussian_smooth(map: &Array3<f32>, sigma: [f64; 3]) -> Array3<f32> {
    let mut out = map.clone();
    gaussian_smooth_in_place(&mut out, sigma);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_is_normalised_and_symmetric() {
        let k = kernel(3.0);
        assert_eq!(k.len(), 19);
        assert!((k.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(k[0], k[18]);
        assert!(k[9] > k[8]);
    }

    #[test]
    fn impulse_response_is_the_separable_gaussian() {
        let mut m = Array3::<f32>::zeros((21, 21, 21));
        m[[10, 10, 10]] = 1.0;
        let g = gaussian_smooth(&m, [3.0, 3.0, 3.0]);
        let k = kernel(3.0);
        for (dz, dy, dx) in [(0, 0, 0), (1, 2, 3), (9, 0, 0), (4, 4, 4)] {
            let want = k[9 + dz] * k[9 + dy] * k[9 + dx];
            let got = g[[10 + dz, 10 + dy, 10 + dx]];
            assert!((got - want).abs() < 1e-7, "{got} vs {want}");
        }
        assert!(
            (g.sum() - 1.0).abs() < 1e-5,
            "mass is kept away from the border"
        );
    }

    #[test]
    fn constant_maps_stay_constant_inside_and_zero_padding_outside() {
        let m = Array3::<f32>::from_elem((30, 30, 30), 0.5);
        let g = gaussian_smooth(&m, [2.0, 2.0, 1.0]);
        assert!((g[[15, 15, 15]] - 0.5).abs() < 1e-6);
        assert!(g[[0, 0, 0]] < 0.5, "the border sees the zero outside");
        let same = gaussian_smooth(&m, [0.0, 0.0, 0.0]);
        assert_eq!(same, m);
    }

    #[test]
    fn sparse_maps_match_the_dense_reference_bit_for_bit() {
        // the reference: every lane convolved, none skipped
        fn dense(map: &Array3<f32>, sigma: [f64; 3]) -> Array3<f32> {
            let mut out = map.clone();
            for (axis, s) in [(2, sigma[0]), (1, sigma[1]), (0, sigma[2])] {
                let k = kernel(s);
                let r = k.len() / 2;
                for mut lane in out.lanes_mut(Axis(axis)) {
                    let src = lane.to_vec();
                    for x in 0..src.len() {
                        let (lo, hi) = (x.saturating_sub(r), (x + r).min(src.len() - 1));
                        let mut acc = 0.0f32;
                        for y in lo..=hi {
                            acc += k[y + r - x] * src[y];
                        }
                        lane[x] = acc;
                    }
                }
            }
            out
        }
        let mut m = Array3::<f32>::zeros((12, 25, 31));
        for (i, v) in m.iter_mut().enumerate() {
            let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
            if h % 23 == 0 {
                *v = (h % 1000) as f32 / 1000.0;
            } else if h % 23 == 1 {
                *v = -0.0;
            }
        }
        m.slice_mut(ndarray::s![3..5, .., ..]).fill(0.0);
        let sigma = [2.0, 1.5, 1.0];
        let got = gaussian_smooth(&m, sigma);
        let want = dense(&m, sigma);
        assert!(got
            .iter()
            .zip(want.iter())
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}
