//! `pancseg render`: draws a CT slice with mask outlines as a PNG that decodes with the expected
//! size and colours; masks that do not match the CT's grid are refused with both dimensions.

use ndarray::Array3;
use pancseg::io::nifti::{write_ct, write_nifti};
use pancseg::volume::{Geometry, Image};
use std::path::Path;
use std::process::Command;

fn pancseg() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pancseg"))
}

/// nx 24, ny 20, nz 6 voxels of 1 x 1 x 2.5 mm in RAS (as most NIfTI files): a soft-tissue disc
/// in air, a mask square and a truth square that overlap, largest on slice 4.
fn write_case(dir: &Path, mask_dims: (usize, usize, usize)) {
    let g = Geometry {
        spacing: [1.0, 1.0, 2.5],
        origin: [12.0, 10.0, -40.0],
        direction: [[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]],
    };
    let ct = Array3::from_shape_fn((6, 20, 24), |(_, y, x)| {
        let (dy, dx) = (y as f32 - 10.0, x as f32 - 12.0);
        if dx * dx + dy * dy < 81.0 {
            40.0 + (x + y) as f32
        } else {
            -1000.0
        }
    });
    write_ct(dir.join("ct.nii.gz"), &Image::new(ct, g).unwrap()).unwrap();
    let square = |y0: usize, x0: usize, half: usize| {
        Array3::from_shape_fn(mask_dims, move |(z, y, x)| {
            let h = if z == 4 { half } else { half / 2 };
            u8::from(z >= 2 && y.abs_diff(y0) <= h && x.abs_diff(x0) <= h)
        })
    };
    write_nifti(
        dir.join("mask.nii.gz"),
        &Image::new(square(9, 11, 4), g).unwrap(),
    )
    .unwrap();
    write_nifti(
        dir.join("truth.nii"),
        &Image::new(square(11, 13, 3), g).unwrap(),
    )
    .unwrap();
}

fn decode(path: &Path) -> (usize, usize, Vec<u8>) {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let mut reader = png::Decoder::new(file).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buf).unwrap();
    assert_eq!(frame.color_type, png::ColorType::Rgb);
    assert_eq!(frame.bit_depth, png::BitDepth::Eight);
    buf.truncate(frame.buffer_size());
    (frame.width as usize, frame.height as usize, buf)
}

fn count(rgb: &[u8], color: [u8; 3]) -> usize {
    rgb.chunks_exact(3).filter(|p| *p == color).count()
}

#[test]
fn renders_axial_and_coronal_pngs_with_outlines() {
    let dir = tempfile::tempdir().unwrap();
    write_case(dir.path(), (6, 20, 24));
    let o = pancseg()
        .current_dir(dir.path())
        .args(["render", "ct.nii.gz", "--mask", "mask.nii.gz"])
        .args(["--truth", "truth.nii", "--out", "axial.png"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("axial slice 4"), "{stdout}");
    let (w, h, rgb) = decode(&dir.path().join("axial.png"));
    assert_eq!((w, h), (24, 20));
    let red = count(&rgb, [255, 40, 40]);
    let green = count(&rgb, [40, 220, 40]);
    assert!(red > 0 && green > 0, "red {red}, green {green}");
    // The counts printed include the pixels where both outlines coincide (yellow).
    let yellow = count(&rgb, [255, 220, 40]);
    assert!(
        stdout.contains(&format!("mask outline {} px", red + yellow)),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("truth outline {} px", green + yellow)),
        "{stdout}"
    );

    // Coronal with 2.5 mm slices: 6 slices x 2.5 mm = 15 rows of 1 mm pixels.
    let o = pancseg()
        .current_dir(dir.path())
        .args(["render", "ct.nii.gz", "--mask", "mask.nii.gz"])
        .args(["--view", "coronal", "--slice", "9", "--out", "coronal.png"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (w, h, rgb) = decode(&dir.path().join("coronal.png"));
    assert_eq!((w, h), (24, 15));
    assert!(count(&rgb, [255, 40, 40]) > 0);
    assert_eq!(count(&rgb, [40, 220, 40]), 0);
}

#[test]
fn mismatched_mask_and_bad_slice_fail_with_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    write_case(dir.path(), (6, 20, 23));
    let o = pancseg()
        .current_dir(dir.path())
        .args(["render", "ct.nii.gz", "--mask", "mask.nii.gz"])
        .args(["--out", "x.png"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("[23, 20, 6]") && err.contains("[24, 20, 6]"),
        "{err}"
    );
    assert!(!dir.path().join("x.png").exists());

    let o = pancseg()
        .current_dir(dir.path())
        .args(["render", "ct.nii.gz", "--slice", "6", "--out", "x.png"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("out of range"), "{err}");
}
