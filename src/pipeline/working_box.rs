//! The working box: everything after the candidates runs inside the candidates' bounding box
//! grown by the smoothing radius, so memory follows the pancreas region, not the scan. The box
//! itself, the candidates' mask over it, and per-superpixel scores painted into it.

use crate::pipeline::candidates::cascade::Candidates;
use crate::pipeline::convnets::prob_map::MapCrop;
use crate::pipeline::fusion::smoothing::radius;
use ndarray::Array3;

/// The box the maps live in: the candidates' bounding box `[x0, y0, z0, x1, y1, z1]` grown by
/// the smoothing radius of `sigma` (voxels, x, y, z), x0 and y0 aligned to the P0 stride; `None`
/// without candidates.
pub(crate) fn working_box(
    cands: &Candidates,
    stride: usize,
    sigma: [f64; 3],
    (nz, ny, nx): (usize, usize, usize),
) -> Option<[usize; 6]> {
    let r = sigma.map(radius);
    cands.bbox().map(|b| {
        [
            b[0].saturating_sub(r[0]) / stride * stride,
            b[1].saturating_sub(r[1]) / stride * stride,
            b[2].saturating_sub(r[2]),
            (b[3] + r[0]).min(nx - 1),
            (b[4] + r[1]).min(ny - 1),
            (b[5] + r[2]).min(nz - 1),
        ]
    })
}

/// The candidates' mask over the box.
pub(crate) fn crop_selection(
    cands: &Candidates,
    offset: [usize; 3],
    dim: (usize, usize, usize),
) -> Array3<u8> {
    let mut out = Array3::<u8>::zeros(dim);
    for (sp, _) in cands
        .set
        .superpixels
        .iter()
        .zip(&cands.selected)
        .filter(|(_, &s)| s)
    {
        let z = sp.slice - offset[2];
        for span in &sp.spans {
            let y = span.y as usize - offset[1];
            for x in span.x0 as usize..=span.x1 as usize {
                out[[z, y, x - offset[0]]] = 1;
            }
        }
    }
    out
}

/// A per-superpixel score written to every voxel of each candidate, over the box.
pub(crate) fn paint(
    cands: &Candidates,
    scores: &[f32],
    offset: [usize; 3],
    dim: (usize, usize, usize),
) -> MapCrop {
    let mut data = Array3::<f32>::zeros(dim);
    for (i, sp) in cands.set.superpixels.iter().enumerate() {
        if !cands.selected[i] {
            continue;
        }
        let z = sp.slice - offset[2];
        for span in &sp.spans {
            let y = span.y as usize - offset[1];
            for x in span.x0 as usize..=span.x1 as usize {
                data[[z, y, x - offset[0]]] = scores[i];
            }
        }
    }
    MapCrop { data, offset }
}
