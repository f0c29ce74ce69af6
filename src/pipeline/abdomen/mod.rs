//! Abdomen localisation in a patient frame: the [`landmarks`] any abdominal CT shows (lung
//! bases, iliac crests), the [`region`] slab between them that can hold the pancreas, and the
//! field-of-view verdict. The pipeline works only inside the slab, so a whole-trunk scan costs
//! about what an abdomen-only scan does, and a chest-only scan gives an empty mask and says
//! so; a pelvis-only scan does when it ends in the lumbar gap close over the pelvis (the crest
//! alone is trusted only with the lungs: see [`region`]).

pub mod landmarks;
pub mod region;

pub use landmarks::{find_landmarks, slice_measures, Landmark, Landmarks, SliceMeasures};
pub use region::{slab, verdict, FieldOfView, Slab};

use crate::volume::{Image, Volume};
use std::borrow::Cow;

/// The landmarks and the slab of a working-grid volume.
pub struct Located {
    pub landmarks: Landmarks,
    pub slab: Option<Slab>,
}

/// Finds the landmarks of a working-grid volume and the slab they give.
pub fn locate(wct: &Volume) -> Located {
    let slice_mm = wct.geometry.spacing[2];
    let landmarks = find_landmarks(&slice_measures(wct), slice_mm);
    let slab = slab(&landmarks, wct.data.dim().0, slice_mm);
    Located { landmarks, slab }
}

/// The slices of the slab (borrowed when it is the whole volume), with the geometry of its
/// first slice.
pub fn slab_volume<'a>(wct: &'a Volume, slab: &Slab) -> Cow<'a, Volume> {
    if slab.first == 0 && slab.last + 1 == wct.data.dim().0 {
        return Cow::Borrowed(wct);
    }
    let data = wct
        .data
        .slice(ndarray::s![slab.first..=slab.last, .., ..])
        .to_owned();
    let mut geometry = wct.geometry;
    geometry.origin = wct.geometry.index_to_lps([0.0, 0.0, slab.first as f64]);
    Cow::Owned(Image { data, geometry })
}
