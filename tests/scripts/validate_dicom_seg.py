#!/usr/bin/env python3
"""Independent check of a DICOM Segmentation written by pancseg.

Usage: validate_dicom_seg.py SEG.dcm SOURCE_DICOM_DIR MASK.nii.gz

Reads the object with pydicom and with highdicom (which parses the Segmentation IOD: segment
descriptions, functional groups, dimension index, frame references), and checks that
- it is a BINARY Segmentation with one segment "Pancreas" (SNOMED CT 15776009), AUTOMATIC, named;
- it joins the source's patient, study and frame of reference, and references every source
  instance; each frame's source image exists and the frame lies on that image's plane;
- its pixels, placed through each source slice's position, equal the NIfTI mask (read with nibabel
  through its affine), voxel for voxel.
Prints "DICOM SEG OK" and a summary when every check passes; exits non-zero otherwise.
"""
import sys
from pathlib import Path

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def main():
    seg_path, source_dir, mask_path = sys.argv[1:4]
    ds = pydicom.dcmread(seg_path)
    if ds.SOPClassUID != "1.2.840.10008.5.1.4.1.1.66.4":
        fail(f"SOP class {ds.SOPClassUID}")
    if ds.Modality != "SEG" or ds.SegmentationType != "BINARY" or ds.BitsAllocated != 1:
        fail("not a BINARY SEG")
    if len(ds.SegmentSequence) != 1:
        fail("expected one segment")
    s = ds.SegmentSequence[0]
    if s.SegmentLabel != "Pancreas" or s.SegmentAlgorithmType != "AUTOMATIC" or not s.SegmentAlgorithmName:
        fail("segment description")
    t = s.SegmentedPropertyTypeCodeSequence[0]
    if (t.CodeValue, t.CodingSchemeDesignator) != ("15776009", "SCT"):
        fail(f"property type {t.CodeValue} {t.CodingSchemeDesignator}")

    # the source series, read independently
    source = {}
    first = None
    for f in sorted(Path(source_dir).rglob("*")):
        if not f.is_file():
            continue
        try:
            d = pydicom.dcmread(f, stop_before_pixels=True)
        except Exception:
            continue
        # anonymised files may leave the dataset's UID empty: the file meta has it too
        source[d.get("SOPInstanceUID") or d.file_meta.MediaStorageSOPInstanceUID] = d
        first = first or d
    if first is None:
        fail("no source instances")
    for attr in ("PatientID", "StudyInstanceUID", "FrameOfReferenceUID"):
        if getattr(ds, attr) != getattr(first, attr):
            fail(f"{attr} differs from the source")
    ref = ds.ReferencedSeriesSequence[0]
    if ref.SeriesInstanceUID != first.SeriesInstanceUID:
        fail("referenced series")
    referenced = {i.ReferencedSOPInstanceUID for i in ref.ReferencedInstanceSequence}
    if referenced != set(source):
        fail(f"references {len(referenced)} instances, the series has {len(source)}")

    # highdicom parses the whole IOD
    seg = hd.seg.Segmentation.from_dataset(ds)
    if list(seg.segment_numbers) != [1]:
        fail(f"highdicom segment numbers {list(seg.segment_numbers)}")
    desc = seg.get_segment_description(1)
    if desc.segment_label != "Pancreas" or desc.algorithm_type.value != "AUTOMATIC":
        fail("highdicom segment description")
    if desc.algorithm_identification is None or not desc.algorithm_identification[0].AlgorithmVersion:
        fail("highdicom: no algorithm identification")
    src_uids = {u[2] for u in seg.get_source_image_uids()}
    if not src_uids <= set(source):
        fail("highdicom: frames reference unknown instances")

    # pixels against the NIfTI mask, through each source slice's own geometry
    img = nib.load(mask_path)
    mask = np.asarray(img.dataobj) > 0
    inv = np.linalg.inv(img.affine)
    frames = ds.pixel_array.reshape(int(ds.NumberOfFrames), ds.Rows, ds.Columns)
    iop = np.array(ds.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0].ImageOrientationPatient, float)
    total = 0
    for i, pf in enumerate(ds.PerFrameFunctionalGroupsSequence):
        uid = pf.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        src = source[uid]
        ipp = np.array(pf.PlanePositionSequence[0].ImagePositionPatient, float)
        if np.abs(ipp - np.array(src.ImagePositionPatient, float)).max() > 1e-3:
            fail(f"frame {i + 1} does not lie on its source image")
        if np.abs(iop - np.array(src.ImageOrientationPatient, float)).max() > 1e-4:
            fail("orientation differs from the source")
        rs, cs = (float(v) for v in src.PixelSpacing)
        r, c = np.mgrid[0:ds.Rows, 0:ds.Columns]
        lps = ipp[None, None, :] + c[..., None] * cs * iop[None, None, :3] + r[..., None] * rs * iop[None, None, 3:]
        ras = np.concatenate([-lps[..., :2], lps[..., 2:], np.ones(lps.shape[:2] + (1,))], axis=-1)
        ijk = np.rint(ras @ inv.T)[..., :3].astype(int)
        want = mask[ijk[..., 0], ijk[..., 1], ijk[..., 2]]
        if not np.array_equal(frames[i].astype(bool), want):
            fail(f"frame {i + 1}: {int((frames[i].astype(bool) != want).sum())} pixels differ from the NIfTI mask")
        total += int(frames[i].sum())
    if total != int(mask.sum()):
        fail(f"SEG holds {total} voxels, the NIfTI mask {int(mask.sum())}")
    print(f"DICOM SEG OK: {int(ds.NumberOfFrames)} frames, {total} voxels, highdicom {hd.__version__}, pydicom {pydicom.__version__}")


if __name__ == "__main__":
    main()
