//! Round trips and malformed-input tests of the DICOM series reader on synthetic series written
//! by the tests themselves (every supported native transfer syntax, JPEG-LS and RLE encodings,
//! shuffled files, signed/unsigned pixels, rescale, several orientations).

use dicom::core::value::{PixelFragmentSequence, Value};
use dicom::core::{DataElement, PrimitiveValue, VR};
use dicom::dictionary_std::tags;
use dicom::object::{open_file, OpenFileOptions};
use ndarray::Array3;
use pancseg::io::dicom::ct_writer::{self, write_ct_series, SeriesWriteOptions};
use pancseg::io::dicom::series::{read_dicom_dir, read_dicom_files, DicomReadOptions};
use pancseg::volume::{Geometry, Image, Volume};
use std::path::{Path, PathBuf};

fn volume(direction: [[f64; 3]; 3], slope: f64, intercept: f64, signed: bool) -> Volume {
    let (nz, ny, nx) = (5, 6, 7);
    let data = Array3::from_shape_fn((nz, ny, nx), |(z, y, x)| {
        let stored = (z * 97 + y * 13 + x * 7) as i64 % 300 - if signed { 150 } else { 0 };
        (stored as f64 * slope + intercept) as f32
    });
    Image::new(
        data,
        Geometry {
            spacing: [0.8, 0.75, 2.5],
            origin: [-100.5, 50.25, -300.0],
            direction,
        },
    )
    .unwrap()
}

const AXIAL: [[f64; 3]; 3] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
// rows flipped (column direction anterior), slice normal = row x col = -z
const FLIPPED_ROWS: [[f64; 3]; 3] = [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]];
// coronal: row = +x, col = -z (feet), normal = +y
const CORONAL: [[f64; 3]; 3] = [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]];

fn write(vol: &Volume, dir: &Path, f: impl FnOnce(&mut SeriesWriteOptions)) -> Vec<PathBuf> {
    let mut o = SeriesWriteOptions::new("1.2.826.0.1.3680043.10.1234");
    f(&mut o);
    write_ct_series(vol, dir, &o).unwrap()
}

/// Renames the files to names whose order is unrelated to slice order.
fn shuffle_names(files: &[PathBuf]) {
    for (k, f) in files.iter().enumerate() {
        let name = format!("IM{:03}", (k * 7 + 3) % 11 * 10 + (files.len() - k));
        std::fs::rename(f, f.with_file_name(name)).unwrap();
    }
}

#[test]
fn round_trip_orientations_pixels_and_rescale() {
    let cases = [
        (AXIAL, 1.0, -1024.0, false, 16u16),
        (AXIAL, 0.5, -1024.0, true, 16),
        (FLIPPED_ROWS, 1.0, 0.0, true, 12),
        (CORONAL, 2.0, -1000.0, false, 12),
    ];
    for (dir_m, slope, intercept, signed, bits) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let vol = volume(dir_m, slope, intercept, signed);
        let files = write(&vol, tmp.path(), |o| {
            o.rescale_slope = slope;
            o.rescale_intercept = intercept;
            o.signed = signed;
            o.bits_stored = bits;
        });
        shuffle_names(&files);
        let s = read_dicom_dir(tmp.path(), &DicomReadOptions::default()).unwrap();
        assert_eq!(s.volume.geometry, vol.geometry, "{dir_m:?}");
        assert_eq!(
            s.volume.data, vol.data,
            "{dir_m:?} slope {slope} signed {signed}"
        );
        assert_eq!(s.info.slice_count, 5);
    }
}

#[test]
fn left_handed_stack_reads_as_same_physical_grid() {
    // slices written along -normal: the reader sorts along the normal, reversing the stack
    let m = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, -1.0]];
    let vol = volume(m, 1.0, 0.0, true);
    let tmp = tempfile::tempdir().unwrap();
    write(&vol, tmp.path(), |_| {});
    let s = read_dicom_dir(tmp.path(), &DicomReadOptions::default()).unwrap();
    let nz = vol.data.dim().0;
    for k in 0..nz {
        assert_eq!(
            s.volume.data.index_axis(ndarray::Axis(0), k),
            vol.data.index_axis(ndarray::Axis(0), nz - 1 - k)
        );
        let a = s.volume.geometry.index_to_lps([1.0, 2.0, k as f64]);
        let b = vol.geometry.index_to_lps([1.0, 2.0, (nz - 1 - k) as f64]);
        for c in 0..3 {
            assert!((a[c] - b[c]).abs() < 1e-9);
        }
    }
}

#[test]
fn native_transfer_syntaxes() {
    for ts in [
        ct_writer::IMPLICIT_VR_LE,
        ct_writer::EXPLICIT_VR_LE,
        ct_writer::EXPLICIT_VR_BE,
        ct_writer::DEFLATED_EXPLICIT_VR_LE,
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let vol = volume(AXIAL, 1.0, -1024.0, true);
        write(&vol, tmp.path(), |o| o.transfer_syntax = ts.into());
        let s = read_dicom_dir(tmp.path(), &DicomReadOptions::default()).unwrap();
        assert_eq!(s.info.transfer_syntax_uid, ts);
        assert_eq!(s.volume.data, vol.data, "{ts}");
    }
}

#[test]
fn jpeg_ls_lossless() {
    use dicom_pixeldata::Transcode;
    let tmp = tempfile::tempdir().unwrap();
    let vol = volume(AXIAL, 1.0, -1024.0, false);
    let files = write(&vol, tmp.path(), |o| {
        o.signed = false;
        o.rescale_intercept = -1024.0;
    });
    for f in &files {
        let mut obj = open_file(f).unwrap();
        obj.transcode(
            &dicom_transfer_syntax_registry::entries::JPEG_LS_LOSSLESS_IMAGE_COMPRESSION.erased(),
        )
        .unwrap();
        obj.write_to_file(f).unwrap();
    }
    let s = read_dicom_dir(tmp.path(), &DicomReadOptions::default()).unwrap();
    assert_eq!(s.info.transfer_syntax_uid, "1.2.840.10008.1.2.4.80");
    assert_eq!(s.volume.data, vol.data);
}

#[test]
fn jpeg_baseline_eight_bit() {
    // 8-bit unsigned pixels, JPEG baseline (lossy): values come back within a few steps
    use dicom_pixeldata::Transcode;
    let tmp = tempfile::tempdir().unwrap();
    let (slope, intercept) = (4.0, -500.0);
    let data = Array3::from_shape_fn((3, 16, 16), |(z, y, x)| {
        let stored = ((x * 8 + y * 4 + z * 16) % 200 + 20) as f64;
        (stored * slope + intercept) as f32
    });
    let vol = Image::new(
        data,
        Geometry {
            spacing: [0.8, 0.8, 2.0],
            origin: [0.0; 3],
            direction: AXIAL,
        },
    )
    .unwrap();
    let files = write(&vol, tmp.path(), |o| {
        o.signed = false;
        o.bits_stored = 8;
        o.rescale_slope = slope;
        o.rescale_intercept = intercept;
    });
    for f in &files {
        let mut obj = open_file(f).unwrap();
        obj.transcode(&dicom_transfer_syntax_registry::entries::JPEG_BASELINE.erased())
            .unwrap();
        obj.write_to_file(f).unwrap();
    }
    let s = read_dicom_dir(tmp.path(), &DicomReadOptions::default()).unwrap();
    assert_eq!(s.info.transfer_syntax_uid, "1.2.840.10008.1.2.4.50");
    let mean_err = s
        .volume
        .data
        .iter()
        .zip(vol.data.iter())
        .map(|(a, b)| ((a - b) / slope as f32).abs() as f64)
        .sum::<f64>()
        / vol.data.len() as f64;
    assert!(mean_err < 3.0, "mean error {mean_err} stored steps");
    assert_eq!(s.volume.geometry, vol.geometry);
}

/// PackBits with replicate runs, as RLE Lossless segments use.
fn packbits(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let mut run = 1;
        while i + run < data.len() && run < 128 && data[i + run] == data[i] {
            run += 1;
        }
        if run >= 3 {
            out.push((1i16 - run as i16) as i8 as u8);
            out.push(data[i]);
            i += run;
        } else {
            let start = i;
            while i < data.len() && i - start < 128 {
                if i + 2 < data.len() && data[i] == data[i + 1] && data[i] == data[i + 2] {
                    break;
                }
                i += 1;
            }
            out.push((i - start - 1) as u8);
            out.extend_from_slice(&data[start..i]);
        }
    }
    if out.len() % 2 == 1 {
        out.push(0x80); // no-op byte pads the segment to even length
    }
    out
}

#[test]
fn rle_lossless() {
    let tmp = tempfile::tempdir().unwrap();
    let vol = volume(AXIAL, 1.0, -1024.0, true);
    let files = write(&vol, tmp.path(), |_| {});
    for f in &files {
        let mut obj = open_file(f).unwrap();
        let pixels = obj
            .element(tags::PIXEL_DATA)
            .unwrap()
            .to_bytes()
            .unwrap()
            .to_vec();
        let hi: Vec<u8> = pixels.chunks(2).map(|c| c[1]).collect();
        let lo: Vec<u8> = pixels.chunks(2).map(|c| c[0]).collect();
        let (s1, s2) = (packbits(&hi), packbits(&lo));
        let mut frame = vec![0u8; 64];
        frame[0..4].copy_from_slice(&2u32.to_le_bytes());
        frame[4..8].copy_from_slice(&64u32.to_le_bytes());
        frame[8..12].copy_from_slice(&(64 + s1.len() as u32).to_le_bytes());
        frame.extend_from_slice(&s1);
        frame.extend_from_slice(&s2);
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            Value::PixelSequence(PixelFragmentSequence::new(Vec::<u32>::new(), vec![frame])),
        ));
        let mut meta = obj.meta().clone();
        meta.set_transfer_syntax(&dicom_transfer_syntax_registry::entries::RLE_LOSSLESS);
        *obj.meta_mut() = meta;
        obj.write_to_file(f).unwrap();
    }
    let s = read_dicom_dir(tmp.path(), &DicomReadOptions::default()).unwrap();
    assert_eq!(s.info.transfer_syntax_uid, "1.2.840.10008.1.2.5");
    assert_eq!(s.volume.data, vol.data);
}

fn err_of(dir: &Path) -> String {
    read_dicom_dir(dir, &DicomReadOptions::default())
        .unwrap_err()
        .to_string()
}

#[test]
fn truncated_and_non_dicom_files() {
    let tmp = tempfile::tempdir().unwrap();
    let vol = volume(AXIAL, 1.0, 0.0, true);
    let files = write(&vol, tmp.path(), |_| {});
    // a non-DICOM file in a directory is skipped and listed
    std::fs::write(tmp.path().join("README.txt"), "not dicom").unwrap();
    let s = read_dicom_dir(tmp.path(), &DicomReadOptions::default()).unwrap();
    assert_eq!(s.skipped.len(), 1);
    // but it is an error in an explicit list
    let mut list = files.clone();
    list.push(tmp.path().join("README.txt"));
    let e = read_dicom_files(&list, &DicomReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("README.txt") && e.contains("not a DICOM file"),
        "{e}"
    );
    // a truncated file is an error naming it
    let bytes = std::fs::read(&files[2]).unwrap();
    std::fs::write(&files[2], &bytes[..bytes.len() - 40]).unwrap();
    let e = err_of(tmp.path());
    assert!(e.contains("slice_0003.dcm"), "{e}");
    std::fs::write(&files[2], &bytes[..400]).unwrap();
    let e = err_of(tmp.path());
    assert!(e.contains("slice_0003.dcm"), "{e}");
}

/// Rewrites one file after editing its data set.
fn edit(path: &Path, f: impl FnOnce(&mut dicom::object::DefaultDicomObject)) {
    let mut obj = OpenFileOptions::new().open_file(path).unwrap();
    f(&mut obj);
    obj.write_to_file(path).unwrap();
}

#[test]
fn malformed_series_are_refused_with_the_cause() {
    let setup = || {
        let tmp = tempfile::tempdir().unwrap();
        let vol = volume(AXIAL, 1.0, 0.0, true);
        let files = write(&vol, tmp.path(), |_| {});
        (tmp, files)
    };
    let ds = |obj: &mut dicom::object::DefaultDicomObject, tag, v: &str| {
        obj.put(DataElement::new(tag, VR::DS, PrimitiveValue::from(v)));
    };

    let (tmp, files) = setup();
    edit(&files[1], |o| {
        o.remove_element(tags::PIXEL_DATA);
    });
    let e = err_of(tmp.path());
    assert!(
        e.contains("slice_0002.dcm") && e.contains("PixelData"),
        "{e}"
    );

    let (tmp, files) = setup();
    edit(&files[3], |o| {
        o.put(DataElement::new(
            tags::ROWS,
            VR::US,
            PrimitiveValue::from(8u16),
        ));
    });
    let e = err_of(tmp.path());
    assert!(
        e.contains("slice_0004.dcm") && e.contains("Rows/Columns"),
        "{e}"
    );

    let (tmp, files) = setup();
    edit(&files[0], |o| ds(o, tags::PIXEL_SPACING, "nan\\0.8"));
    let e = err_of(tmp.path());
    assert!(
        e.contains("slice_0001.dcm") && e.contains("PixelSpacing"),
        "{e}"
    );

    let (tmp, files) = setup();
    for f in &files {
        edit(f, |o| ds(o, tags::PIXEL_SPACING, "0\\0"));
    }
    let e = err_of(tmp.path());
    assert!(e.contains("PixelSpacing") && e.contains("positive"), "{e}");

    let (tmp, files) = setup();
    edit(&files[2], |o| {
        ds(o, tags::IMAGE_POSITION_PATIENT, "-100.5\\50.25\\-297.5")
    });
    let e = err_of(tmp.path());
    assert!(e.contains("duplicate") && e.contains("-297.500"), "{e}");

    let (tmp, files) = setup();
    std::fs::remove_file(&files[2]).unwrap();
    let e = err_of(tmp.path());
    assert!(
        e.contains("missing") && e.contains("-297.500") && e.contains("-292.500"),
        "{e}"
    );

    let (tmp, files) = setup();
    for (k, f) in files.iter().enumerate() {
        let p = format!(
            "{}\\50.25\\{}",
            -100.5 + 1.0 * k as f64,
            -300.0 + 2.5 * k as f64
        );
        edit(f, |o| ds(o, tags::IMAGE_POSITION_PATIENT, &p));
    }
    let e = err_of(tmp.path());
    assert!(e.contains("tilted gantry"), "{e}");

    let (tmp, files) = setup();
    for f in &files {
        edit(f, |o| {
            ds(o, tags::IMAGE_ORIENTATION_PATIENT, "1\\0\\0\\0.2\\1\\0")
        });
    }
    let e = err_of(tmp.path());
    assert!(e.contains("non-orthogonal"), "{e}");
}

#[test]
fn several_series_that_do_not_qualify_need_a_choice() {
    let tmp = tempfile::tempdir().unwrap();
    let vol = volume(AXIAL, 1.0, 0.0, true);
    write(&vol, &tmp.path().join("a"), |o| {
        o.series_uid = "1.2.3.4.1".into();
        o.series_description = "first".into();
    });
    write(&vol, &tmp.path().join("b/deeper"), |o| {
        o.series_uid = "1.2.3.4.2".into();
        o.series_description = "second".into();
    });
    let e = err_of(tmp.path());
    assert!(
        e.contains("no series qualifies")
            && e.contains("fewer than 10")
            && e.contains("1.2.3.4.1 \"first\" (5 slices)")
            && e.contains("1.2.3.4.2 \"second\""),
        "{e}"
    );
    let s = read_dicom_dir(
        tmp.path(),
        &DicomReadOptions {
            series_uid: Some("1.2.3.4.2".into()),
            ..DicomReadOptions::default()
        },
    )
    .unwrap();
    assert_eq!(s.info.description, "second");
    assert_eq!(s.volume.data, vol.data);
    let e = read_dicom_dir(
        tmp.path(),
        &DicomReadOptions {
            series_uid: Some("9.9".into()),
            ..DicomReadOptions::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("9.9") && e.contains("first"), "{e}");
    // a series over the voxel limit is refused from its headers
    let e = read_dicom_dir(
        tmp.path(),
        &DicomReadOptions {
            series_uid: Some("1.2.3.4.2".into()),
            max_voxels: 10,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("more than the limit of 10"), "{e}");
}
