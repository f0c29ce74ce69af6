//! Every stage map of the pipeline for one CT at once, for evaluation and calibration
//! (`pancseg-train cv`): the candidates {S_RF}, P0, P1, P2 and their smoothed versions G(Pk)
//! over the working box, and CRF(P2) labels for several CRF settings (weight, prior, pairwise form).
//! The networks run once; thresholds, weights and priors are then free to vary. The maps are exactly what
//! [`Segmenter::segment`] thresholds for each method (same stages, same code).

use crate::error::Result;
use crate::pipeline::candidates::cascade::selection_mask;
use crate::pipeline::candidates::superpixels::{compute_superpixels_with, SuperpixelSet};
use crate::pipeline::fusion::crf::CrfSetting;
use crate::pipeline::fusion::smoothing::gaussian_smooth_in_place;
use crate::pipeline::orient::Canonical;
use crate::pipeline::progress::Progress;
use crate::pipeline::segmenter::{floored_crf, Segmenter};
use crate::pipeline::working_box::{crop_selection, paint, working_box};
use crate::pipeline::abdomen::{locate, slab_volume, Slab};
use crate::pipeline::working_grid::{working_volume, WorkingGrid};
use crate::volume::Volume;
use ndarray::{s, Array3};

/// The stage maps of one CT on its working grid: canonical orientation (see
/// [`crate::pipeline::orient`]) at the bundle's working spacing (see
/// [`crate::pipeline::working_grid`]).
pub struct StageMaps {
    /// How the CT was reoriented and resampled; reference masks go through
    /// [`StageMaps::reorient`].
    pub canonical: Canonical,
    pub grid: WorkingGrid,
    /// Working grid `[z][y][x]` and its spacing (x, y, z, mm).
    pub dims: (usize, usize, usize),
    pub spacing: [f64; 3],
    /// The slab of working slices the stages ran on ([`crate::pipeline::abdomen`]; `None`:
    /// the scan holds no pancreas, nothing ran).
    pub slab: Option<Slab>,
    /// The superpixels of the slab (with its full label volume; slice 0 is the slab's first)
    /// and the cascade's selection {S_RF}.
    pub set: SuperpixelSet,
    pub selected: Vec<bool>,
    /// Working box: offset (x, y, z) of the maps below in the canonical grid; the maps are empty
    /// (0 x 0 x 0) when there is no candidate.
    pub offset: [usize; 3],
    pub p0: Array3<f32>,
    pub p1: Array3<f32>,
    pub p2: Array3<f32>,
    pub g_p0: Array3<f32>,
    pub g_p1: Array3<f32>,
    pub g_p2: Array3<f32>,
    /// CRF(P2) over the box for each requested setting (empty without a boundary net).
    pub crf: Vec<(CrfSetting, Array3<u8>)>,
}

impl StageMaps {
    /// A 0/1 mask of the input CT's layout (a reference) on the maps' grid: canonical order,
    /// resampled to the working grid as training cases are.
    pub fn reorient(&self, a: &Array3<u8>) -> Array3<u8> {
        let v = self.canonical.view(a.view());
        if self.grid.is_identity() {
            v.as_standard_layout().into_owned()
        } else {
            self.grid.resample_mask(v)
        }
    }

    /// The mask `segment` makes from a box map of these maps (a G or raw map; a CRF mask as
    /// 0/1): the map brought back to the input's grid as the pipeline does, `>= t` there, in
    /// the input's array layout (`input_dim`).
    pub fn mask_on_input(
        &self,
        map: &Array3<f32>,
        t: f32,
        input_dim: (usize, usize, usize),
    ) -> Result<Array3<u8>> {
        let a = self.grid.axes;
        let mut canonical = Array3::<u8>::zeros((a[2].n_in, a[1].n_in, a[0].n_in));
        if let Some((start, back)) = self.grid.map_to_input(map, self.offset) {
            let (dz, dy, dx) = back.dim();
            canonical
                .slice_mut(s![
                    start[2]..start[2] + dz,
                    start[1]..start[1] + dy,
                    start[0]..start[0] + dx
                ])
                .zip_mut_with(&back, |o, &v| *o = u8::from(v >= t));
        }
        self.canonical.restore(&canonical, input_dim)
    }

    /// `map >= t` over the box.
    pub fn threshold(map: &Array3<f32>, t: f32) -> Array3<u8> {
        map.mapv(|v| u8::from(v >= t))
    }

    /// A box-sized mask placed on the whole canonical grid.
    pub fn full(&self, boxed: &Array3<u8>) -> Array3<u8> {
        let mut out = Array3::<u8>::zeros(self.dims);
        let [x0, y0, z0] = self.offset;
        let (dz, dy, dx) = boxed.dim();
        out.slice_mut(s![z0..z0 + dz, y0..y0 + dy, x0..x0 + dx])
            .assign(boxed);
        out
    }

    /// A mask of the slab placed on the whole working grid.
    fn placed_from_slab(&self, m: Array3<u8>) -> Array3<u8> {
        match &self.slab {
            Some(sl) if m.dim().0 == sl.last - sl.first + 1 => {
                let mut out = Array3::<u8>::zeros(self.dims);
                out.slice_mut(s![sl.first..=sl.last, .., ..]).assign(&m);
                out
            }
            _ => Array3::<u8>::zeros(self.dims),
        }
    }

    /// The candidates {S_RF} as a mask of the working grid.
    pub fn candidates_mask(&self) -> Array3<u8> {
        self.placed_from_slab(selection_mask(&self.set, &self.selected))
    }

    /// The "Opt." labelling: every superpixel with at least half of its voxels in `truth`
    /// (canonical grid), the upper bound of any superpixel labelling.
    pub fn optimal_mask(&self, truth: &Array3<u8>) -> Array3<u8> {
        let Some(sl) = self.slab else {
            return Array3::zeros(self.dims);
        };
        let truth = truth.slice(s![sl.first..=sl.last, .., ..]);
        let n = self.set.superpixels.len();
        let (mut inside, mut total) = (vec![0usize; n + 1], vec![0usize; n + 1]);
        let labels = self.set.label_volume();
        for (&l, &t) in labels.iter().zip(truth.iter()) {
            total[l as usize] += 1;
            if t != 0 {
                inside[l as usize] += 1;
            }
        }
        self.placed_from_slab(
            labels.mapv(|l| u8::from(l != 0 && 2 * inside[l as usize] >= total[l as usize])),
        )
    }
}

impl Segmenter {
    /// All stage maps of `ct` (see `StageMaps`); CRF(P2) for each setting of `crf_params` when
    /// the bundle has a boundary ConvNet.
    pub fn stage_maps(&self, ct: &Volume, crf_params: &[CrfSetting]) -> Result<StageMaps> {
        self.pool.install(|| self.stage_maps_inner(ct, crf_params))
    }

    fn stage_maps_inner(&self, ct: &Volume, crf_params: &[CrfSetting]) -> Result<StageMaps> {
        let m = &self.bundle.manifest;
        ct.geometry.validate()?;
        self.limits.check(ct.data.len() as u64)?;
        let progress = Progress::new(None, None);
        let canonical = Canonical::of(&ct.geometry)?;
        let (grid, cct) = working_volume(ct, &canonical, m.working_spacing_mm)?;
        let cct: &Volume = &cct;
        let dims = cct.data.dim();
        let located = locate(cct);
        let first = located.slab.map_or(0, |sl| sl.first);
        let sct = match &located.slab {
            Some(sl) => slab_volume(cct, sl),
            // nothing to segment: an empty slab of one slice keeps the code below uniform
            None => std::borrow::Cow::Owned(crate::volume::Image {
                data: Array3::zeros((0, dims.1, dims.2)),
                geometry: cct.geometry,
            }),
        };
        let cct: &Volume = &sct;
        let set = compute_superpixels_with(cct, &self.cascade.superpixels, &|| true)
            .ok_or(crate::Error::Cancelled)?;
        let cands = self.cascade.score(cct, set)?;
        let empty = || Array3::<f32>::zeros((0, 0, 0));
        let mut maps = StageMaps {
            canonical,
            grid,
            dims,
            slab: located.slab,
            spacing: cct.geometry.spacing,
            set: SuperpixelSet {
                labels: Array3::zeros((0, 0, 0)),
                superpixels: Vec::new(),
                dims: (0, 0, 0),
            },
            selected: cands.selected.clone(),
            offset: [0; 3],
            p0: empty(),
            p1: empty(),
            p2: empty(),
            g_p0: empty(),
            g_p1: empty(),
            g_p2: empty(),
            crf: Vec::new(),
        };
        let sigma = m.sigma_for(cct.geometry.spacing);
        let box_of = working_box(
            &cands,
            m.p0_stride_for(cct.geometry.spacing),
            sigma,
            cct.data.dim(),
        );
        if let Some(bx) = box_of.filter(|_| located.slab.is_some()) {
            let offset = [bx[0], bx[1], bx[2]];
            let dim = (bx[5] - bx[2] + 1, bx[4] - bx[1] + 1, bx[3] - bx[0] + 1);
            let region = crop_selection(&cands, offset, dim);
            let (p0, _) = self.p0_map(cct, &region, offset, &progress)?;
            let (s1, _) = self.region_scores(cct, &cands, None, &progress)?;
            let (s2, _) = self.region_scores(cct, &cands, Some(&p0), &progress)?;
            if self.boundary.is_some() && !crf_params.is_empty() {
                let bp0 = Some(&p0).filter(|_| m.region.boundary_p0);
                let pairs = self.pair_scores(cct, &cands, bp0, &progress)?;
                // each setting as the segmenter applies it: under the bundle's volume floor
                let voxel_ml = cct.geometry.spacing.iter().product::<f64>() / 1000.0;
                for &setting in crf_params {
                    let (labels, _) = floored_crf(
                        &cands,
                        &s2,
                        &pairs,
                        setting,
                        m.volume_floor,
                        voxel_ml,
                    );
                    let full = selection_mask(&cands.set, &labels);
                    let boxed = full
                        .slice(s![
                            offset[2]..offset[2] + dim.0,
                            offset[1]..offset[1] + dim.1,
                            offset[0]..offset[0] + dim.2
                        ])
                        .to_owned();
                    maps.crf.push((setting, boxed));
                }
            }
            let smoothed = |a: &Array3<f32>| {
                let mut g = a.clone();
                gaussian_smooth_in_place(&mut g, sigma);
                g
            };
            maps.offset = [offset[0], offset[1], offset[2] + first];
            maps.p1 = paint(&cands, &s1, offset, dim).data;
            maps.p2 = paint(&cands, &s2, offset, dim).data;
            maps.p0 = p0.data;
            maps.g_p0 = smoothed(&maps.p0);
            maps.g_p1 = smoothed(&maps.p1);
            maps.g_p2 = smoothed(&maps.p2);
        }
        maps.set = cands.set;
        Ok(maps)
    }
}
