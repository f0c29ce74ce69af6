//! DICOM as scanners and PACS deliver it: a study folder with a localizer, several
//! reconstructions, a reformat, a short slab and a dose report (the series selection and its
//! table), instances held in memory, Enhanced CT (multi-frame, uncompressed and JPEG 2000), and
//! the RT Structure Set output checked by the project's reader and by an independent one
//! (`tests/scripts/validate_rtstruct.py`: pydicom + nibabel).

use dicom::core::value::{PixelFragmentSequence, Value};
use dicom::core::{DataElement, PrimitiveValue, VR};
use dicom::dictionary_std::tags;
use dicom::object::{open_file, FileMetaTableBuilder, InMemDicomObject};
use ndarray::{s, Array3};
use pancseg::io::dicom::ct_writer::{write_ct_series, SeriesWriteOptions, EXPLICIT_VR_LE};
use pancseg::io::dicom::rtstruct::read_rtstruct;
use pancseg::io::dicom::series::{
    read_dicom_buffers, read_dicom_dir, survey_series, DicomReadOptions, ENHANCED_CT_IMAGE_STORAGE,
};
use pancseg::io::nifti::{read_nifti, write_ct};
use pancseg::volume::{Geometry, Image, Volume};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A small CT: 24 x 20 pixels of 1.5 mm, `nz` slices of `dz` mm.
fn ct(nz: usize, dz: f64) -> Volume {
    let data = Array3::from_shape_fn((nz, 20, 24), |(z, y, x)| {
        ((z * 31 + y * 7 + x * 3) % 400) as f32 - 200.0
    });
    Image::new(
        data,
        Geometry {
            spacing: [1.5, 1.5, dz],
            origin: [-18.0, -15.0, -100.0],
            ..Geometry::default()
        },
    )
    .unwrap()
}

const UID: &str = "1.2.826.0.1.3680043.10.1234.500";

fn series(
    vol: &Volume,
    dir: &Path,
    n: u32,
    description: &str,
    kernel: &str,
    f: impl FnOnce(&mut SeriesWriteOptions),
) {
    let mut o = SeriesWriteOptions::new(UID);
    o.series_uid = format!("{UID}.2.{n}");
    o.series_number = n;
    o.series_description = description.into();
    o.convolution_kernel = kernel.into();
    f(&mut o);
    write_ct_series(vol, &dir.join(format!("series{n}")), &o).unwrap();
}

/// A radiation dose report: another SOP class in the same study.
fn dose_report(dir: &Path) {
    let mut obj = InMemDicomObject::new_empty();
    let put = |obj: &mut InMemDicomObject, tag, vr, v: &str| {
        obj.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
    };
    let class = "1.2.840.10008.5.1.4.1.1.88.67";
    put(&mut obj, tags::SOP_CLASS_UID, VR::UI, class);
    put(
        &mut obj,
        tags::SOP_INSTANCE_UID,
        VR::UI,
        &format!("{UID}.9.1"),
    );
    put(
        &mut obj,
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        &format!("{UID}.1"),
    );
    put(
        &mut obj,
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        &format!("{UID}.2.99"),
    );
    put(&mut obj, tags::MODALITY, VR::CS, "SR");
    put(&mut obj, tags::SERIES_DESCRIPTION, VR::LO, "Dose Report");
    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(EXPLICIT_VR_LE)
                .media_storage_sop_class_uid(class)
                .media_storage_sop_instance_uid(format!("{UID}.9.1")),
        )
        .unwrap();
    std::fs::create_dir_all(dir.join("sr")).unwrap();
    file.write_to_file(dir.join("sr/dose.dcm")).unwrap();
}

/// A study folder as a scanner writes it; series 3 and 4 are equally good.
fn study_folder(dir: &Path) -> Volume {
    let thin = ct(40, 2.0);
    let localizer = ct(1, 2.0);
    series(&localizer, dir, 1, "Topogram", "T20s", |o| {
        o.image_type = "ORIGINAL\\PRIMARY\\LOCALIZER".into()
    });
    series(&thin, dir, 3, "Abdomen 2.0 soft", "B30f", |_| {});
    series(&thin, dir, 4, "Abdomen 2.0 soft copy", "B30f", |_| {});
    series(&thin, dir, 5, "Abdomen 2.0 bone", "B70f", |_| {});
    let thick = Image::new(
        thin.data.slice(s![..;3, .., ..]).to_owned(),
        Geometry {
            spacing: [1.5, 1.5, 6.0],
            ..thin.geometry
        },
    )
    .unwrap();
    series(&thick, dir, 6, "Abdomen 6.0 soft", "B30f", |_| {});
    let slab = Image::new(thin.data.slice(s![..6, .., ..]).to_owned(), thin.geometry).unwrap();
    series(&slab, dir, 7, "Pancreas slab", "B30f", |_| {});
    // a coronal reformat: slice normal along y
    let coronal = Image::new(
        ct(12, 2.0).data,
        Geometry {
            spacing: [1.5, 1.5, 2.0],
            origin: [-18.0, -15.0, -100.0],
            direction: [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]],
        },
    )
    .unwrap();
    series(&coronal, dir, 8, "Coronal MPR", "B30f", |o| {
        o.image_type = "DERIVED\\SECONDARY\\MPR".into()
    });
    dose_report(dir);
    dicomdir(dir);
    thin
}

/// The DICOMDIR of a CD export: an index of the files, no series of its own.
fn dicomdir(dir: &Path) {
    let mut obj = InMemDicomObject::new_empty();
    obj.put(DataElement::new(
        tags::FILE_SET_ID,
        VR::CS,
        PrimitiveValue::from("PANCSEG"),
    ));
    let class = "1.2.840.10008.1.3.10";
    obj.with_meta(
        FileMetaTableBuilder::new()
            .transfer_syntax(EXPLICIT_VR_LE)
            .media_storage_sop_class_uid(class)
            .media_storage_sop_instance_uid(format!("{UID}.8.1")),
    )
    .unwrap()
    .write_to_file(dir.join("DICOMDIR"))
    .unwrap();
}

#[test]
fn study_folder_selection_table() {
    let tmp = tempfile::tempdir().unwrap();
    let thin = study_folder(tmp.path());
    let s = read_dicom_dir(tmp.path(), &DicomReadOptions::default()).unwrap();
    // the twins 3 and 4 tie on kernel, thickness and coverage: the smaller UID wins
    assert_eq!(s.info.series_uid, format!("{UID}.2.3"));
    assert_eq!(s.volume.data, thin.data);
    assert_eq!(
        s.skipped,
        vec![tmp.path().join("DICOMDIR")],
        "the DICOMDIR is skipped"
    );
    let sel = &s.selection;
    assert_eq!(sel.mode, "auto");
    let reason = |n: u32| {
        let uid = format!("{UID}.2.{n}");
        sel.series
            .iter()
            .find(|v| v.series.series_uid == uid)
            .map(|v| v.reason.clone())
            .unwrap()
    };
    assert!(reason(1).contains("localizer"), "{}", reason(1));
    assert!(
        reason(3).contains("preferred of 4 eligible"),
        "{}",
        reason(3)
    );
    assert!(reason(4).contains("not preferred"), "{}", reason(4));
    assert!(reason(5).contains("not preferred"), "{}", reason(5));
    assert!(reason(6).contains("not preferred"), "{}", reason(6));
    assert!(reason(7).contains("6 slices"), "{}", reason(7));
    assert!(reason(8).contains("derived"), "{}", reason(8));
    assert!(
        reason(99).contains("X-Ray Radiation Dose SR"),
        "{}",
        reason(99)
    );
    // the same table from the headers alone; an explicit UID wins over the policy
    let survey = survey_series(tmp.path(), &DicomReadOptions::default()).unwrap();
    assert_eq!(&survey, sel);
    let bone = read_dicom_dir(
        tmp.path(),
        &DicomReadOptions {
            series_uid: Some(format!("{UID}.2.5")),
            ..DicomReadOptions::default()
        },
    )
    .unwrap();
    assert_eq!(bone.selection.mode, "uid");
    assert_eq!(bone.info.description, "Abdomen 2.0 bone");
    // the bone kernel is preferred over nothing: without the soft series it is read
    for n in [3, 4, 6] {
        std::fs::remove_dir_all(tmp.path().join(format!("series{n}"))).unwrap();
    }
    let s = read_dicom_dir(tmp.path(), &DicomReadOptions::default()).unwrap();
    assert_eq!(s.info.description, "Abdomen 2.0 bone");
}

#[test]
fn series_list_of_the_cli_is_stable() {
    let tmp = tempfile::tempdir().unwrap();
    study_folder(tmp.path());
    let o = Command::new(env!("CARGO_BIN_EXE_pancseg"))
        .args(["info", "--series-list"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    insta::assert_snapshot!(String::from_utf8_lossy(&o.stdout));
    let o = Command::new(env!("CARGO_BIN_EXE_pancseg"))
        .args(["info", "--series-list", "--json"])
        .arg(tmp.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["chosen_uid"], format!("{UID}.2.3"));
    assert_eq!(v["series"].as_array().unwrap().len(), 8);
}

fn read_all(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<PathBuf> = walk(dir);
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let b = std::fs::read(&f).unwrap();
            (f, b)
        })
        .collect()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn instances_in_memory_read_like_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    study_folder(tmp.path());
    let files = read_all(tmp.path());
    let buffers: Vec<&[u8]> = files.iter().map(|(_, b)| b.as_slice()).collect();
    let disk = read_dicom_dir(tmp.path(), &DicomReadOptions::default()).unwrap();
    let memory = read_dicom_buffers(&buffers, &DicomReadOptions::default()).unwrap();
    assert_eq!(memory.volume.data, disk.volume.data);
    assert_eq!(memory.volume.geometry, disk.volume.geometry);
    assert_eq!(memory.selection, disk.selection);
    assert_eq!(memory.source, disk.source);
    assert!(memory.files.is_empty());
    // a truncated instance is named by its index; nothing past its length is read
    let k = files
        .iter()
        .position(|(p, _)| p.to_string_lossy().contains("series3"))
        .unwrap();
    let mut cut = buffers.clone();
    let short = &files[k].1[..files[k].1.len() - 100];
    cut[k] = short;
    let e = read_dicom_buffers(&cut, &DicomReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains(&format!("memory buffer {k}")), "{e}");
    let e = read_dicom_buffers(&[b"not dicom".as_slice()], &DicomReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("memory buffer 0") && e.contains("DICM"), "{e}");
    let e = read_dicom_buffers(&[], &DicomReadOptions::default()).unwrap_err();
    assert!(e.to_string().contains("no DICOM instances"), "{e}");
}

fn ds_list(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x}"))
        .collect::<Vec<_>>()
        .join("\\")
}

fn sq(tag: dicom::core::Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(
        tag,
        VR::SQ,
        dicom::core::value::DataSetSequence::from(items),
    )
}

fn el(tag: dicom::core::Tag, vr: VR, v: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(v))
}

/// One frame's plane position and rescale, for the Enhanced CT writer of the tests.
struct FrameSpec {
    position: [f64; 3],
    rescale: Option<(f64, f64)>,
}

/// An Enhanced CT Image object: shared orientation, pixel measures and (unless every frame
/// has its own) rescale; per-frame plane positions and, where given, rescale. `pixels` is the
/// native 16-bit data of all frames or an encapsulated fragment per frame.
#[allow(clippy::too_many_arguments)]
fn enhanced_ct(
    path: &Path,
    rows: u16,
    cols: u16,
    spacing: [f64; 2],
    thickness: f64,
    iop: [f64; 6],
    frames: &[FrameSpec],
    shared_rescale: (f64, f64),
    pixel_data: DataElement<InMemDicomObject>,
    transfer_syntax: &str,
    pixel_repr: u16,
    bits_stored: u16,
) {
    let mut obj = InMemDicomObject::new_empty();
    for e in [
        el(tags::SOP_CLASS_UID, VR::UI, ENHANCED_CT_IMAGE_STORAGE),
        el(tags::SOP_INSTANCE_UID, VR::UI, &format!("{UID}.7.1")),
        el(tags::STUDY_INSTANCE_UID, VR::UI, &format!("{UID}.1")),
        el(tags::SERIES_INSTANCE_UID, VR::UI, &format!("{UID}.7")),
        el(tags::FRAME_OF_REFERENCE_UID, VR::UI, &format!("{UID}.3")),
        el(tags::PATIENT_ID, VR::LO, "ENHANCED"),
        el(tags::MODALITY, VR::CS, "CT"),
        el(tags::IMAGE_TYPE, VR::CS, "ORIGINAL\\PRIMARY\\VOLUME\\NONE"),
        el(tags::NUMBER_OF_FRAMES, VR::IS, &frames.len().to_string()),
        el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
    ] {
        obj.put(e);
    }
    for (tag, v) in [
        (tags::SAMPLES_PER_PIXEL, 1u16),
        (tags::ROWS, rows),
        (tags::COLUMNS, cols),
        (tags::BITS_ALLOCATED, 16),
        (tags::BITS_STORED, bits_stored),
        (tags::HIGH_BIT, bits_stored - 1),
        (tags::PIXEL_REPRESENTATION, pixel_repr),
    ] {
        obj.put(DataElement::new(tag, VR::US, PrimitiveValue::from(v)));
    }
    let transform = |(slope, intercept): (f64, f64)| {
        sq(
            tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                el(tags::RESCALE_SLOPE, VR::DS, &format!("{slope}")),
                el(tags::RESCALE_INTERCEPT, VR::DS, &format!("{intercept}")),
                el(tags::RESCALE_TYPE, VR::LO, "HU"),
            ])],
        )
    };
    obj.put(sq(
        tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
        vec![InMemDicomObject::from_element_iter([
            sq(
                tags::PIXEL_MEASURES_SEQUENCE,
                vec![InMemDicomObject::from_element_iter([
                    el(tags::PIXEL_SPACING, VR::DS, &ds_list(&spacing)),
                    el(tags::SLICE_THICKNESS, VR::DS, &format!("{thickness}")),
                ])],
            ),
            sq(
                tags::PLANE_ORIENTATION_SEQUENCE,
                vec![InMemDicomObject::from_element_iter([el(
                    tags::IMAGE_ORIENTATION_PATIENT,
                    VR::DS,
                    &ds_list(&iop),
                )])],
            ),
            transform(shared_rescale),
            sq(
                tags::CT_IMAGE_FRAME_TYPE_SEQUENCE,
                vec![InMemDicomObject::from_element_iter([el(
                    tags::FRAME_TYPE,
                    VR::CS,
                    "ORIGINAL\\PRIMARY\\VOLUME\\NONE",
                )])],
            ),
        ])],
    ));
    obj.put(sq(
        tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
        frames
            .iter()
            .map(|f| {
                let mut e = vec![sq(
                    tags::PLANE_POSITION_SEQUENCE,
                    vec![InMemDicomObject::from_element_iter([el(
                        tags::IMAGE_POSITION_PATIENT,
                        VR::DS,
                        &ds_list(&f.position),
                    )])],
                )];
                if let Some(r) = f.rescale {
                    e.push(transform(r));
                }
                InMemDicomObject::from_element_iter(e)
            })
            .collect(),
    ));
    obj.put(pixel_data);
    obj.with_meta(
        FileMetaTableBuilder::new()
            .transfer_syntax(transfer_syntax)
            .media_storage_sop_class_uid(ENHANCED_CT_IMAGE_STORAGE)
            .media_storage_sop_instance_uid(format!("{UID}.7.1")),
    )
    .unwrap()
    .write_to_file(path)
    .unwrap();
}

fn python_with(modules: &str) -> Option<String> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        return Some(python);
    }
    if std::env::var_os("CI").is_some() {
        panic!("CI must install {modules} for the independent DICOM checks");
    }
    eprintln!("SKIPPED: python3 with {modules} not available");
    None
}

#[test]
fn enhanced_ct_uncompressed_reads_back_exactly_and_agrees_with_pydicom() {
    let tmp = tempfile::tempdir().unwrap();
    let vol = ct(9, 2.5);
    let (nz, ny, nx) = vol.data.dim();
    // frames stored in reverse slice order; odd frames carry their own rescale
    let order: Vec<usize> = (0..nz).rev().collect();
    let mut pixels = Vec::new();
    let mut frames = Vec::new();
    for (f, &k) in order.iter().enumerate() {
        let (slope, intercept) = if f % 2 == 1 {
            (0.5, -300.0)
        } else {
            (1.0, -1024.0)
        };
        for &hu in vol.data.index_axis(ndarray::Axis(0), k) {
            pixels.push(((hu as f64 - intercept) / slope).round() as u16);
        }
        frames.push(FrameSpec {
            position: vol.geometry.index_to_lps([0.0, 0.0, k as f64]),
            rescale: (f % 2 == 1).then_some((slope, intercept)),
        });
    }
    let path = tmp.path().join("enhanced.dcm");
    enhanced_ct(
        &path,
        ny as u16,
        nx as u16,
        [1.5, 1.5],
        2.5,
        [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        &frames,
        (1.0, -1024.0),
        DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(pixels.into())),
        EXPLICIT_VR_LE,
        0,
        16,
    );
    let s = read_dicom_dir(tmp.path(), &DicomReadOptions::default()).unwrap();
    assert_eq!(s.volume.data, vol.data);
    assert_eq!(s.volume.geometry, vol.geometry);
    // slice k is frame nz - k of the one instance
    assert_eq!(
        s.source.frame_numbers,
        (1..=nz as u32).rev().collect::<Vec<_>>()
    );
    assert_eq!(s.source.distinct_instances().len(), 1);
    assert_eq!(s.info.slice_count, nz);
    // pydicom places and rescales the frames the same way
    let nifti = tmp.path().join("enhanced.nii.gz");
    write_ct(&nifti, &s.volume).unwrap();
    if let Some(python) = python_with("pydicom, nibabel, numpy") {
        let o = Command::new(python)
            .arg(root().join("tests/scripts/check_enhanced_ct.py"))
            .args([&path, &nifti])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        eprintln!("{text}{}", String::from_utf8_lossy(&o.stderr));
        assert!(
            o.status.success() && text.contains("ENHANCED CT OK"),
            "{text}"
        );
    }
    // a frame count that disagrees with the functional groups is refused by name
    let bad = tmp.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    enhanced_ct(
        &bad.join("e.dcm"),
        ny as u16,
        nx as u16,
        [1.5, 1.5],
        2.5,
        [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        &frames[..3],
        (1.0, -1024.0),
        DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U16(vec![0u16; nx * ny * 2].into()),
        ),
        EXPLICIT_VR_LE,
        0,
        16,
    );
    let e = read_dicom_dir(&bad, &DicomReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("e.dcm") && e.contains("PixelData holds"), "{e}");
}

/// The real JPEG 2000 series re-wrapped as one Enhanced CT object (its fragments as frames)
/// reads as the same volume as the classic series.
#[test]
fn enhanced_ct_jpeg2000_matches_the_classic_series() {
    let real = root().join("../shared/data/real-ct/dicom");
    if !real.is_dir() {
        eprintln!("SKIPPED: {} not present", real.display());
        return;
    }
    let classic = read_dicom_dir(&real, &DicomReadOptions::default()).unwrap();
    let files = walk(&real);
    let mut fragments = Vec::new();
    let mut frames = Vec::new();
    let mut first = None;
    for f in &files {
        let obj = open_file(f).unwrap();
        let floats = |tag| obj.element(tag).unwrap().to_multi_float64().unwrap();
        let ipp = floats(tags::IMAGE_POSITION_PATIENT);
        let slope = floats(tags::RESCALE_SLOPE)[0];
        let intercept = floats(tags::RESCALE_INTERCEPT)[0];
        frames.push(FrameSpec {
            position: [ipp[0], ipp[1], ipp[2]],
            rescale: Some((slope, intercept)),
        });
        let Value::PixelSequence(seq) = obj.element(tags::PIXEL_DATA).unwrap().value() else {
            panic!("{} is not encapsulated", f.display());
        };
        assert_eq!(seq.fragments().len(), 1, "one fragment per slice");
        fragments.push(seq.fragments()[0].clone());
        if first.is_none() {
            let int = |tag| obj.element(tag).unwrap().to_int::<u16>().unwrap();
            first = Some((
                int(tags::ROWS),
                int(tags::COLUMNS),
                floats(tags::PIXEL_SPACING),
                floats(tags::IMAGE_ORIENTATION_PATIENT),
                int(tags::PIXEL_REPRESENTATION),
                int(tags::BITS_STORED),
                obj.meta()
                    .transfer_syntax()
                    .trim_end_matches('\0')
                    .to_string(),
                floats(tags::SLICE_THICKNESS)[0],
            ));
        }
    }
    let (rows, cols, ps, iop, repr, bits, ts, thickness) = first.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    enhanced_ct(
        &tmp.path().join("enhanced-j2k.dcm"),
        rows,
        cols,
        [ps[0], ps[1]],
        thickness,
        <[f64; 6]>::try_from(iop.as_slice()).unwrap(),
        &frames,
        (1.0, 0.0),
        DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PixelFragmentSequence::new(Vec::<u32>::new(), fragments),
        ),
        &ts,
        repr,
        bits,
    );
    let enhanced = read_dicom_dir(tmp.path(), &DicomReadOptions::default()).unwrap();
    assert_eq!(enhanced.volume.geometry, classic.volume.geometry);
    assert_eq!(enhanced.volume.data, classic.volume.data);
    assert_eq!(
        enhanced.info.transfer_syntax_uid,
        classic.info.transfer_syntax_uid
    );
}

/// `pancseg segment` on a folder with a localizer and a bone series next to the phantom's soft
/// series: the soft series is chosen and reported; the RT Structure Set's contours give the
/// NIfTI mask back (our reader: exactly; the independent reader: DSC >= 0.95).
#[test]
fn segment_writes_an_rt_structure_set_of_the_chosen_series() {
    let tmp = tempfile::tempdir().unwrap();
    let phantom = read_nifti(root().join("tests/fixtures/phantom/ct.nii.gz"))
        .unwrap()
        .volume;
    let study = tmp.path().join("study");
    series(&phantom, &study, 2, "Abdomen soft", "I31f\\3", |o| {
        o.patient_name = "PHANTOM^RT".into()
    });
    series(&phantom, &study, 3, "Abdomen bone", "I70f\\3", |_| {});
    let localizer = Image::new(
        phantom.data.slice(s![..1, .., ..]).to_owned(),
        phantom.geometry,
    )
    .unwrap();
    series(&localizer, &study, 1, "Topogram", "", |o| {
        o.image_type = "ORIGINAL\\PRIMARY\\LOCALIZER".into()
    });
    let (mask, rt, report) = (
        tmp.path().join("mask.nii.gz"),
        tmp.path().join("rt.dcm"),
        tmp.path().join("report.json"),
    );
    let o = Command::new(env!("CARGO_BIN_EXE_pancseg"))
        .arg("segment")
        .arg(&study)
        .arg(&mask)
        .arg("--model")
        .arg(root().join("tests/fixtures/bundle-tiny"))
        .arg("--rtstruct")
        .arg(&rt)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "series {UID}.2.2 \"Abdomen soft\" of 3 in the input"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("RT Structure Set"), "{stdout}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["series_selection"]["chosen_uid"], format!("{UID}.2.2"));
    let stats = &r["pancreas_statistics"];
    assert!(stats["hu_mean"].as_f64().unwrap() > -100.0, "{stats}");
    assert!(stats["extent_mm"]["superior_inferior"].as_f64().unwrap() > 0.0);
    // our reader: the contours fill back to the mask exactly
    let m = read_nifti(&mask).unwrap().volume;
    let want = pancseg::Mask {
        data: m.data.mapv(|v| u8::from(v > 0.5)),
        geometry: m.geometry,
    };
    assert!(
        want.data.iter().any(|&v| v != 0),
        "the fixture has a pancreas"
    );
    let back = read_rtstruct(&rt, &want).unwrap();
    assert_eq!(back.data, want.data);
    if let Some(python) = python_with("pydicom, nibabel, numpy") {
        let o = Command::new(python)
            .arg(root().join("tests/scripts/validate_rtstruct.py"))
            .arg(&rt)
            .arg(study.join("series2"))
            .arg(&mask)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        eprintln!("{text}{}", String::from_utf8_lossy(&o.stderr));
        assert!(o.status.success() && text.contains("RTSTRUCT OK"), "{text}");
    }
}
