//! Abdomen localisation in a patient frame: the [`landmarks`] any abdominal CT shows (lung
//! bases, iliac crests), the [`region`] slab between them that can hold the pancreas, and the
//! field-of-view verdict. The pipeline works only inside the slab, so a whole-trunk scan costs
//! about what an abdomen-only scan does, and a chest-only scan gives an empty mask and says
//! so (the pelvis is reported but trusted only with the lungs: see [`region`]).

pub mod landmarks;
pub mod region;

pub use landmarks::{find_landmarks, slice_measures, Landmark, Landmarks, SliceMeasures};
pub use region::{slab, verdict, FieldOfView, Slab};
