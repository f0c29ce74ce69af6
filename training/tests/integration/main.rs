//! The integration tests of the training crate, one test binary (each file a module).
//!
//! Tests that train networks hold [`TRAINING`]: burn's backend draws weight initialisation and
//! dropout from one process-wide seeded RNG, so two trainings running at once in one process
//! interleave their draws and neither is reproducible (`train` checks byte-identical reruns).

mod calibrate;
mod candidates;
mod cv;
mod framing;
#[cfg(feature = "gpu")]
mod gpu;
mod import;
mod onnx_parity;
mod phantom;
mod realistic;
mod train;

/// Held by every test that trains a network (see the module doc).
pub static TRAINING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The committed test bundle (`tests/fixtures/bundle-tiny`): its cascade and networks.
pub fn tiny_bundle() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/bundle-tiny")
}

/// A cohort of `count` small classic phantoms (NIfTI) from `seed`, written to `dir/cohort`.
pub fn small_cohort(dir: &std::path::Path, count: usize, seed: u64) -> std::path::PathBuf {
    let cohort = dir.join("cohort");
    pancseg_train::phantom::generate_cohort(&pancseg_train::phantom::CohortOptions {
        count,
        seed,
        size: pancseg_train::phantom::PhantomSize::Small,
        profile: pancseg_train::phantom::Profile::Classic,
        framings: Vec::new(),
        out: cohort.clone(),
        nifti: true,
        dicom: false,
        progress: false,
    })
    .unwrap();
    cohort
}
