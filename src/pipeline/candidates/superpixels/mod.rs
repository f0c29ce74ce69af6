//! Superpixels of a CT volume: entropy rate superpixels on every axial slice (in parallel), with
//! one record per superpixel (slice, run-length spans, bounding box, area, in-slice neighbours).
//! Labels are global over the volume: 1..=n, 0 outside the body.

pub mod body;
pub mod ers;

use crate::volume::Volume;
use ndarray::Array3;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Superpixel parameters, stored in model bundles so inference uses what training used.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SuperpixelConfig {
    /// Target superpixel area in mm² (K per slice = body area / this).
    pub area_mm2: f64,
    /// Balancing weight of ERS relative to K.
    pub lambda: f64,
    /// Gaussian kernel width on windowed HU differences.
    pub sigma_hu: f64,
    /// HU window applied before comparing intensities (soft tissue).
    pub window: (f32, f32),
}

impl Default for SuperpixelConfig {
    /// Defaults chosen on the small phantom cohort (Opt. DSC 0.93 there, see `bench superpixels
    /// benchmark): 100 mm² superpixels, lambda 0.5, sigma 15 HU, window [-160, 240] HU.
    fn default() -> Self {
        SuperpixelConfig {
            area_mm2: 100.0,
            lambda: 0.5,
            sigma_hu: 15.0,
            window: (-160.0, 240.0),
        }
    }
}

/// A horizontal run of pixels `x0..=x1` on row `y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub y: u16,
    pub x0: u16,
    pub x1: u16,
}

/// One superpixel.
#[derive(Debug, Clone, PartialEq)]
pub struct Superpixel {
    /// Global label (1-based) in [`SuperpixelSet::labels`].
    pub id: u32,
    /// Axial slice index z.
    pub slice: usize,
    pub pixels: usize,
    pub area_mm2: f64,
    /// Inclusive bounding box (x0, y0, x1, y1) in pixels.
    pub bbox: [usize; 4],
    /// Run-length encoding of its pixels, row by row.
    pub spans: Vec<Span>,
    /// Global ids of the superpixels touching it in the same slice (8-connected), sorted.
    pub neighbours: Vec<u32>,
}

/// All superpixels of a volume.
#[derive(Debug, Clone)]
pub struct SuperpixelSet {
    /// `[z][y][x]` global label, 0 outside the body; empty (0 x 0 x 0) when not kept
    /// ([`compute_superpixel_records`]): the spans hold the same information, and
    /// [`SuperpixelSet::slice_labels`] / [`SuperpixelSet::label_volume`] give the labels either way.
    pub labels: Array3<u32>,
    /// `superpixels[id - 1]` is superpixel `id`, in slice order.
    pub superpixels: Vec<Superpixel>,
    /// Volume dimensions (z, y, x).
    pub dims: (usize, usize, usize),
}

impl SuperpixelSet {
    pub fn get(&self, id: u32) -> Option<&Superpixel> {
        self.superpixels.get(id.checked_sub(1)? as usize)
    }

    /// Whether the label volume is kept (else the labels come from the spans).
    pub fn has_label_volume(&self) -> bool {
        self.labels.dim() == self.dims && self.labels.is_standard_layout()
    }

    /// The superpixels of axial slice `z` (a range of ids, as they are in slice order).
    pub fn in_slice(&self, z: usize) -> &[Superpixel] {
        let lo = self.superpixels.partition_point(|s| s.slice < z);
        let hi = self.superpixels.partition_point(|s| s.slice <= z);
        &self.superpixels[lo..hi.max(lo)]
    }

    /// Global labels of axial slice `z`, row-major `ny * nx`: a view of the label volume when it
    /// is kept, else drawn from the spans of the slice's superpixels.
    pub fn slice_labels(&self, z: usize) -> std::borrow::Cow<'_, [u32]> {
        let (nz, ny, nx) = self.dims;
        if self.has_label_volume() {
            if let Some(all) = self.labels.as_slice() {
                return std::borrow::Cow::Borrowed(&all[z * ny * nx..(z + 1) * ny * nx]);
            }
        }
        let mut out = vec![0u32; ny * nx];
        if z < nz {
            for s in self.in_slice(z) {
                for sp in &s.spans {
                    let row = sp.y as usize * nx;
                    out[row + sp.x0 as usize..=row + sp.x1 as usize].fill(s.id);
                }
            }
        }
        std::borrow::Cow::Owned(out)
    }

    /// The label volume: borrowed when kept, else drawn from the spans.
    pub fn label_volume(&self) -> std::borrow::Cow<'_, Array3<u32>> {
        if self.has_label_volume() {
            return std::borrow::Cow::Borrowed(&self.labels);
        }
        let (nz, ny, nx) = self.dims;
        let mut out = Array3::<u32>::zeros(self.dims);
        if let Some(flat) = out.as_slice_mut() {
            flat.par_chunks_mut((ny * nx).max(1))
                .enumerate()
                .take(nz)
                .for_each(|(z, chunk)| chunk.copy_from_slice(&self.slice_labels(z)));
        }
        std::borrow::Cow::Owned(out)
    }
}

/// Superpixels of one slice: labels 1..=n local to the slice, and n.
pub fn slice_superpixels(
    hu: &[f32],
    nx: usize,
    ny: usize,
    spacing: (f64, f64),
    cfg: &SuperpixelConfig,
) -> (Vec<u32>, usize) {
    let body = body::body_mask(hu, nx, ny);
    let area = body.iter().filter(|&&b| b).count() as f64 * spacing.0 * spacing.1;
    let k = ((area / cfg.area_mm2).round() as usize).max(1);
    ers::ers_slice(
        hu,
        &body,
        nx,
        ny,
        &ers::ErsParams {
            k,
            lambda: cfg.lambda,
            sigma_hu: cfg.sigma_hu,
            window: cfg.window,
            spacing,
        },
    )
}

/// Records of one slice's superpixels from its local labels 1..=n: ids and neighbours are local
/// (1..=n) here and offset by the caller.
fn slice_records(
    z: usize,
    lab: &[u32],
    n: usize,
    nx: usize,
    ny: usize,
    pixel_area: f64,
) -> Vec<Superpixel> {
    let mut recs: Vec<Superpixel> = (1..=n as u32)
        .map(|l| Superpixel {
            id: l,
            slice: z,
            pixels: 0,
            area_mm2: 0.0,
            bbox: [usize::MAX, usize::MAX, 0, 0],
            spans: Vec::new(),
            neighbours: Vec::new(),
        })
        .collect();
    for y in 0..ny {
        let mut x = 0;
        while x < nx {
            let l = lab[y * nx + x];
            if l == 0 {
                x += 1;
                continue;
            }
            let x0 = x;
            while x + 1 < nx && lab[y * nx + x + 1] == l {
                x += 1;
            }
            let r = &mut recs[l as usize - 1];
            r.spans.push(Span {
                y: y as u16,
                x0: x0 as u16,
                x1: x as u16,
            });
            r.pixels += x - x0 + 1;
            r.bbox[0] = r.bbox[0].min(x0);
            r.bbox[1] = r.bbox[1].min(y);
            r.bbox[2] = r.bbox[2].max(x);
            r.bbox[3] = r.bbox[3].max(y);
            x += 1;
        }
    }
    // neighbours (8-connected) in the slice
    let mut pairs = Vec::new();
    for y in 0..ny {
        for x in 0..nx {
            let a = lab[y * nx + x];
            if a == 0 {
                continue;
            }
            let mut check = |b: u32| {
                if b != 0 && b != a {
                    pairs.push((a.min(b), a.max(b)));
                }
            };
            if x + 1 < nx {
                check(lab[y * nx + x + 1]);
            }
            if y + 1 < ny {
                check(lab[(y + 1) * nx + x]);
                if x + 1 < nx {
                    check(lab[(y + 1) * nx + x + 1]);
                }
                if x > 0 {
                    check(lab[(y + 1) * nx + x - 1]);
                }
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    for (a, b) in pairs {
        recs[a as usize - 1].neighbours.push(b);
        recs[b as usize - 1].neighbours.push(a);
    }
    for r in recs.iter_mut() {
        r.area_mm2 = r.pixels as f64 * pixel_area;
        r.neighbours.sort_unstable();
    }
    recs
}

/// Computes the superpixels of every axial slice (slices in parallel; the result does not depend
/// on the thread count).
pub fn compute_superpixels(ct: &Volume, cfg: &SuperpixelConfig) -> SuperpixelSet {
    // the callback never stops the work, so a set always comes back
    compute_superpixels_with(ct, cfg, &|| true).unwrap_or_else(|| SuperpixelSet {
        labels: Array3::zeros(ct.data.dim()),
        superpixels: Vec::new(),
        dims: ct.data.dim(),
    })
}

/// [`compute_superpixels_with`] without the label volume (`labels` left empty): the superpixel
/// records only. The pipeline uses it: the label volume is as large as the CT (u32 per voxel)
/// and everything after the superpixels can work from the spans.
pub fn compute_superpixel_records(
    ct: &Volume,
    cfg: &SuperpixelConfig,
    on_slice: &(dyn Fn() -> bool + Sync),
) -> Option<SuperpixelSet> {
    superpixels_impl(ct, cfg, on_slice, false)
}

/// [`compute_superpixels`] calling `on_slice` after each finished slice (from worker threads);
/// when it returns false the remaining slices are skipped and the result is `None`
/// (cancellation).
pub fn compute_superpixels_with(
    ct: &Volume,
    cfg: &SuperpixelConfig,
    on_slice: &(dyn Fn() -> bool + Sync),
) -> Option<SuperpixelSet> {
    superpixels_impl(ct, cfg, on_slice, true)
}

fn superpixels_impl(
    ct: &Volume,
    cfg: &SuperpixelConfig,
    on_slice: &(dyn Fn() -> bool + Sync),
    keep_labels: bool,
) -> Option<SuperpixelSet> {
    let (nz, ny, nx) = ct.data.dim();
    let spacing = (ct.geometry.spacing[0], ct.geometry.spacing[1]);
    let pixel_area = spacing.0 * spacing.1;
    let stop = std::sync::atomic::AtomicBool::new(false);
    // each slice writes its local labels straight into its part of the volume (no second copy
    // of the label volume); global ids are applied in place afterwards
    let mut flat = vec![0u32; if keep_labels { nz * ny * nx } else { 0 }];
    let one_slice = |z: usize, out: Option<&mut [u32]>| -> Vec<Superpixel> {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            return Vec::new();
        }
        let slice = ct.slice_vec(z);
        let (lab, n) = slice_superpixels(&slice, nx, ny, spacing, cfg);
        let recs = slice_records(z, &lab, n, nx, ny, pixel_area);
        if let Some(out) = out {
            out.copy_from_slice(&lab);
        }
        if !on_slice() {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        recs
    };
    let per_slice: Vec<Vec<Superpixel>> = if keep_labels {
        flat.par_chunks_mut((ny * nx).max(1))
            .enumerate()
            .map(|(z, out)| one_slice(z, Some(out)))
            .collect()
    } else {
        (0..nz)
            .into_par_iter()
            .map(|z| one_slice(z, None))
            .collect()
    };
    if stop.into_inner() {
        return None;
    }
    // global ids: slice by slice in z order
    let mut offsets = Vec::with_capacity(nz);
    let mut total = 0u32;
    for recs in &per_slice {
        offsets.push(total);
        total += recs.len() as u32;
    }
    flat.par_chunks_mut((ny * nx).max(1))
        .zip(offsets.par_iter())
        .for_each(|(out, &offset)| {
            for o in out.iter_mut() {
                if *o != 0 {
                    *o += offset;
                }
            }
        });
    let labels = if keep_labels {
        // the shape matches the length by construction
        Array3::from_shape_vec((nz, ny, nx), flat).expect("label volume shape")
    } else {
        Array3::zeros((0, 0, 0))
    };
    let mut superpixels = Vec::with_capacity(total as usize);
    for (recs, offset) in per_slice.into_iter().zip(offsets) {
        superpixels.extend(recs.into_iter().map(|mut r| {
            r.id += offset;
            for nb in r.neighbours.iter_mut() {
                *nb += offset;
            }
            r
        }));
    }
    Some(SuperpixelSet {
        labels,
        superpixels,
        dims: (nz, ny, nx),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::candidates::cascade::{selection_mask, Candidates};
    use crate::pipeline::candidates::features::{level2_features, superpixel_features};

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn records_without_the_label_volume_give_the_same_labels_features_and_groups() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/phantom/ct.nii.gz");
        let ct = crate::io::nifti::read_nifti(path).unwrap().volume;
        let cfg = SuperpixelConfig::default();
        let full = compute_superpixels(&ct, &cfg);
        let recs = compute_superpixel_records(&ct, &cfg, &|| true).unwrap();
        assert!(full.has_label_volume() && !recs.has_label_volume());
        assert_eq!(recs.labels.len(), 0);
        assert_eq!(recs.dims, ct.data.dim());
        assert_eq!(full.superpixels, recs.superpixels);
        assert_eq!(*recs.label_volume(), full.labels);
        for z in 0..full.dims.0 {
            assert_eq!(full.slice_labels(z), recs.slice_labels(z), "slice {z}");
            assert!(full.in_slice(z).iter().all(|s| s.slice == z));
        }
        let n = full.superpixels.len();
        assert!(n > 100);
        let (fa, fb) = (
            superpixel_features(&ct, &full),
            superpixel_features(&ct, &recs),
        );
        assert_eq!(bits(&fa), bits(&fb));
        let p1: Vec<f32> = (0..n).map(|i| (i * 37 % 101) as f32 / 100.0).collect();
        assert_eq!(
            bits(&level2_features(&full, &fa, &p1)),
            bits(&level2_features(&recs, &fb, &p1))
        );
        // the largest connected group of a selection (in-slice neighbours and overlap with the
        // slice above) and its mask
        let selected: Vec<bool> = p1.iter().map(|&p| p > 0.4).collect();
        let group = |set: SuperpixelSet| {
            let c = Candidates {
                set,
                p1: p1.clone(),
                p2: p1.clone(),
                selected: selected.clone(),
            };
            (c.main_group(), selection_mask(&c.set, &c.selected))
        };
        let (ga, ma) = group(full);
        let (gb, mb) = group(recs);
        assert_eq!(ga, gb);
        assert!(ga.iter().filter(|&&g| g).count() > 1);
        assert_eq!(ma, mb);
    }
}
