//! The P-ConvNet probability map P0 (DeepOrgan Sec. 2.2): the P-ConvNet is evaluated at voxels
//! on a regular grid inside the candidate region (every `stride` voxels in x and y, on every
//! slice: axial slices are usually the coarse axis already), and every candidate voxel takes the
//! probability of its nearest evaluated voxel in the same slice (in millimetres); voxels outside
//! the candidates are 0. One implementation for training (R2 inputs) and inference.

use ndarray::Array3;

/// A probability map over a box of a larger volume: `data[[z, y, x]]` is the value at volume
/// voxel `(x + offset[0], y + offset[1], z + offset[2])`; outside the box the map reads 0. The
/// pipeline keeps its maps on the candidates' bounding box so memory follows the pancreas
/// region, not the scan; training keeps whole-volume maps (offset 0).
#[derive(Debug, Clone, PartialEq)]
pub struct MapCrop {
    pub data: Array3<f32>,
    /// Volume voxel `[x, y, z]` of `data[[0, 0, 0]]`.
    pub offset: [usize; 3],
}

impl MapCrop {
    /// A map covering a whole volume.
    pub fn whole(data: Array3<f32>) -> Self {
        MapCrop {
            data,
            offset: [0; 3],
        }
    }

    /// Axial slice `z` of the volume as a view with its in-slice offset, if the box holds it.
    pub fn slice(&self, z: usize) -> Option<ndarray::ArrayView2<'_, f32>> {
        let k = z.checked_sub(self.offset[2])?;
        (k < self.data.dim().0).then(|| self.data.index_axis(ndarray::Axis(0), k))
    }
}

/// Grid voxels `[x, y, z]` inside `region` (non-zero) at which the P-ConvNet is evaluated, in
/// raster order (z, y, x).
pub fn grid_points(region: &Array3<u8>, stride: usize) -> Vec<[usize; 3]> {
    let s = stride.max(1);
    let (nz, ny, nx) = region.dim();
    let mut pts = Vec::new();
    for z in 0..nz {
        for y in (0..ny).step_by(s) {
            for x in (0..nx).step_by(s) {
                if region[[z, y, x]] != 0 {
                    pts.push([x, y, z]);
                }
            }
        }
    }
    pts
}

/// Nearest-neighbour fill of the probabilities `probs[i]` evaluated at `points[i]` (from
/// [`grid_points`] with the same `stride`) over `region`. A region voxel looks at the grid
/// points of its own slice within one grid cell around it and takes the nearest evaluated one
/// (ties: the first in raster order); with none there it reads 0.
pub fn nearest_fill(
    region: &Array3<u8>,
    stride: usize,
    spacing: [f64; 3],
    points: &[[usize; 3]],
    probs: &[f32],
) -> Array3<f32> {
    let s = stride.max(1);
    let (nz, ny, nx) = region.dim();
    let (gy, gx) = (ny.div_ceil(s), nx.div_ceil(s));
    // probability per grid node, NaN where not evaluated
    let mut grid = vec![f32::NAN; nz * gy * gx];
    for (p, &v) in points.iter().zip(probs) {
        let [x, y, z] = *p;
        if x % s == 0 && y % s == 0 && z < nz && y < ny && x < nx {
            grid[(z * gy + y / s) * gx + x / s] = v;
        }
    }
    let mut out = Array3::<f32>::zeros((nz, ny, nx));
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                if region[[z, y, x]] == 0 {
                    continue;
                }
                let (cy, cx) = (y / s, x / s);
                let mut best = (f64::INFINITY, 0.0f32);
                for j in cy.saturating_sub(1)..(cy + 2).min(gy) {
                    for i in cx.saturating_sub(1)..(cx + 2).min(gx) {
                        let v = grid[(z * gy + j) * gx + i];
                        if v.is_nan() {
                            continue;
                        }
                        let dx = (i * s) as f64 - x as f64;
                        let dy = (j * s) as f64 - y as f64;
                        let d = (dx * spacing[0]).powi(2) + (dy * spacing[1]).powi(2);
                        if d < best.0 {
                            best = (d, v);
                        }
                    }
                }
                out[[z, y, x]] = best.1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_points_sample_the_region_every_stride() {
        let mut r = Array3::<u8>::zeros((2, 6, 7));
        r.slice_mut(ndarray::s![.., 1..5, 2..7]).fill(1);
        let pts = grid_points(&r, 2);
        assert!(pts.iter().all(|p| p[0] % 2 == 0 && p[1] % 2 == 0));
        assert_eq!(pts.len(), 2 * 2 * 3); // y in {2, 4}, x in {2, 4, 6}, 2 slices
        assert_eq!(pts[0], [2, 2, 0]);
    }

    #[test]
    fn nearest_fill_copies_the_nearest_sample_and_zeroes_outside() {
        let mut r = Array3::<u8>::zeros((1, 5, 5));
        r.slice_mut(ndarray::s![.., 0..5, 0..4]).fill(1);
        let pts = grid_points(&r, 2);
        let probs: Vec<f32> = (0..pts.len()).map(|i| i as f32 / 10.0).collect();
        let m = nearest_fill(&r, 2, [1.0, 1.0, 1.0], &pts, &probs);
        for (p, &v) in pts.iter().zip(&probs) {
            assert_eq!(m[[p[2], p[1], p[0]]], v, "sample voxels keep their value");
        }
        assert_eq!(m[[0, 0, 4]], 0.0, "outside the region");
        // (x 1, y 0): grid neighbours (0,0) and (2,0) at equal distance, first wins
        assert_eq!(m[[0, 0, 1]], probs[0]);
        // (x 3, y 4): nearest evaluated is (2, 4)
        let i = pts.iter().position(|p| *p == [2, 4, 0]).unwrap();
        assert_eq!(m[[0, 4, 3]], probs[i]);
    }
}
