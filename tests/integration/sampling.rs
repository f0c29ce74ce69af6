//! The working grid makes the result independent of how the scan was sampled: the bundled
//! sample phantom (`examples/data`, segmented with the default bundle) resampled to 0.7, 1.0 and 2.0 mm pixels and 1, 2.5 and 5 mm slices is segmented
//! with a DSC against its (equally resampled) truth within 0.05 of the native-grid result, and
//! every mask lies on its input's grid with its geometry.

use pancseg::io::nifti::read_nifti;
use pancseg::model::bundle::Bundle;
use pancseg::model::network::RuntimeOptions;
use pancseg::pipeline::working_grid::WorkingGrid;
use pancseg::pipeline::{SegmentOptions, Segmenter};
use pancseg::{dice, Image, Volume};
use std::path::{Path, PathBuf};

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// CT and truth resampled to `spacing` (the phantom is stored in canonical order).
fn resampled(
    ct: &Volume,
    truth: &ndarray::Array3<u8>,
    spacing: [f64; 3],
) -> (Volume, ndarray::Array3<u8>) {
    let g = WorkingGrid::new(ct.data.dim(), ct.geometry.spacing, Some(spacing)).unwrap();
    let data = g.resample_ct(ct.data.view());
    let t = g.resample_mask(truth.view());
    (
        Image {
            data,
            geometry: g.geometry(&ct.geometry),
        },
        t,
    )
}

#[test]
fn any_sampling_gives_the_native_result() {
    let ct = read_nifti(repo("examples/data/sample-ct.nii.gz"))
        .unwrap()
        .volume;
    let truth = read_nifti(repo("examples/data/sample-label.nii.gz"))
        .unwrap()
        .volume
        .data
        .mapv(|v| u8::from(v == 1.0));
    let bundle = Bundle::load(repo("models/default")).unwrap();
    assert!(bundle.manifest.working_spacing_mm.is_some());
    let seg = Segmenter::new(bundle, RuntimeOptions::default(), 2).unwrap();
    let opts = SegmentOptions::default();
    let native = seg.segment(&ct, &opts).unwrap();
    let d0 = dice(&native.mask.data, &truth).unwrap();
    assert!(d0 > 0.7, "native DSC {d0:.3}");
    let mut lines = vec![format!("native {:?}: DSC {d0:.3}", ct.geometry.spacing)];
    for (xy, z) in [
        (0.7, 2.5),
        (1.0, 2.5),
        (2.0, 2.5),
        (1.0, 1.0),
        (1.0, 5.0),
        (0.7, 1.0),
        (2.0, 5.0),
    ] {
        let (rct, rtruth) = resampled(&ct, &truth, [xy, xy, z]);
        let r = seg.segment(&rct, &opts).unwrap();
        assert_eq!(r.mask.geometry, rct.geometry);
        assert_eq!(r.mask.data.dim(), rct.data.dim());
        let d = dice(&r.mask.data, &rtruth).unwrap();
        lines.push(format!("{xy} x {xy} x {z} mm: DSC {d:.3}"));
        assert!((d - d0).abs() <= 0.05, "{}", lines.join("\n"));
    }
    eprintln!("{}", lines.join("\n"));
}
