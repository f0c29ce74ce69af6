//! Bit-packed 0/1 box masks. `cv` keeps, for every evaluated case, one CRF(P2) mask per setting
//! of the CRF grid (100) until calibration on the training cases picks one; as one byte per
//! voxel those masks held most of a fold's memory (a fold of 82 realistic cases ran out of
//! 24 GiB), as one bit per voxel they take an eighth. Written here rather than taken from a
//! crate: packing an `ndarray` mask into `u64` words and back is all that is needed.

use ndarray::Array3;

/// A 0/1 mask of fixed dimensions, one bit per voxel in logical (z, y, x) order.
pub(super) struct PackedMask {
    dim: (usize, usize, usize),
    words: Vec<u64>,
}

impl PackedMask {
    /// Packs `mask` (any non-zero voxel is 1).
    pub(super) fn pack(mask: &Array3<u8>) -> Self {
        let mut words = vec![0u64; mask.len().div_ceil(64)];
        for (i, &v) in mask.iter().enumerate() {
            if v != 0 {
                words[i / 64] |= 1 << (i % 64);
            }
        }
        Self {
            dim: mask.dim(),
            words,
        }
    }

    /// The mask as 0/1 bytes again.
    pub(super) fn unpack(&self) -> Array3<u8> {
        let (_, dy, dx) = self.dim;
        Array3::from_shape_fn(self.dim, |(z, y, x)| {
            let i = (z * dy + y) * dx + x;
            u8::from(self.words[i / 64] >> (i % 64) & 1 != 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_every_voxel() {
        // 3 x 5 x 7 = 105 voxels: the last word is partly used
        let m = Array3::from_shape_fn((3, 5, 7), |(z, y, x)| {
            u8::from((z * 31 + y * 7 + x) % 3 == 0)
        });
        let p = PackedMask::pack(&m);
        assert_eq!(p.words.len(), 2);
        assert_eq!(p.unpack(), m);
    }

    #[test]
    fn non_zero_bytes_become_one_and_views_pack_in_logical_order() {
        let m = Array3::from_shape_fn((2, 3, 4), |(z, y, x)| if z + y == x { 7u8 } else { 0 });
        assert_eq!(PackedMask::pack(&m).unpack(), m.mapv(|v| u8::from(v != 0)));
        // an array in non-standard (transposed) memory layout packs in its logical order
        let t = m.mapv(|v| u8::from(v != 0)).reversed_axes();
        assert_eq!(PackedMask::pack(&t).unpack(), t);
        let empty = Array3::<u8>::zeros((0, 0, 0));
        assert_eq!(PackedMask::pack(&empty).unpack().dim(), (0, 0, 0));
    }
}
