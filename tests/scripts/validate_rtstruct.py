#!/usr/bin/env python3
"""Independent check of an RT Structure Set written by pancseg.

Usage: validate_rtstruct.py RTSTRUCT.dcm SOURCE_DICOM_DIR MASK.nii.gz

Reads the object and the source CT series with pydicom and the mask with nibabel, and checks that
- it is an RT Structure Set (RTSTRUCT) with one ROI "Pancreas", coded SNOMED CT 15776009, ORGAN,
  AUTOMATIC, with the algorithm named in its ROI Derivation Algorithm Identification Sequence;
- it joins the source's patient, study and frame of reference, references the source series and
  lists every source image; each contour is CLOSED_PLANAR, references an image of the series,
  and lies on that image's plane;
- its contours, rasterised onto the source grid (each slice's contours filled by the even-odd
  rule at the voxel centres, in numpy), give the NIfTI mask (placed through its affine) with a
  DSC of at least 0.95.
Prints "RTSTRUCT OK" with the DSC when every check passes; exits non-zero otherwise.
"""
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def even_odd(nx, ny, polys):
    """Pixel centres (i, j) inside the polygons (in pixel coordinates) by the even-odd rule."""
    inside = np.zeros((ny, nx), dtype=bool)
    xs = np.arange(nx)
    for j in range(ny):
        y = float(j)
        for poly in polys:
            p = np.asarray(poly)
            q = np.roll(p, -1, axis=0)
            crosses = (p[:, 1] > y) != (q[:, 1] > y)
            for a, b in zip(p[crosses], q[crosses]):
                x = a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1])
                inside[j] ^= xs > x
    return inside


def main():
    rt_path, source_dir, mask_path = sys.argv[1:4]
    ds = pydicom.dcmread(rt_path)
    if ds.SOPClassUID != "1.2.840.10008.5.1.4.1.1.481.3" or ds.Modality != "RTSTRUCT":
        fail(f"not an RT Structure Set: {ds.SOPClassUID} {ds.Modality}")
    if len(ds.StructureSetROISequence) != 1:
        fail("expected one ROI")
    roi = ds.StructureSetROISequence[0]
    if roi.ROIName != "Pancreas" or roi.ROIGenerationAlgorithm != "AUTOMATIC":
        fail("ROI description")
    alg = roi.ROIDerivationAlgorithmIdentificationSequence[0]
    if alg.AlgorithmName != "pancseg" or not alg.AlgorithmVersion:
        fail("algorithm identification")
    obs = ds.RTROIObservationsSequence[0]
    code = obs.RTROIIdentificationCodeSequence[0]
    if (code.CodeValue, code.CodingSchemeDesignator) != ("15776009", "SCT") or obs.RTROIInterpretedType != "ORGAN":
        fail("ROI code or interpreted type")
    if obs.ReferencedROINumber != roi.ROINumber:
        fail("observation references another ROI")

    source = {}
    for f in sorted(Path(source_dir).rglob("*")):
        if f.is_file():
            s = pydicom.dcmread(f)
            # anonymised files may leave the data set's UID empty; the file meta has it
            source[s.get("SOPInstanceUID") or s.file_meta.MediaStorageSOPInstanceUID] = s
    first = next(iter(source.values()))
    for tag in ["PatientID", "StudyInstanceUID", "FrameOfReferenceUID"]:
        if getattr(ds, tag) != getattr(first, tag):
            fail(f"{tag} differs from the source")
    ref = ds.ReferencedFrameOfReferenceSequence[0]
    if ref.FrameOfReferenceUID != first.FrameOfReferenceUID or roi.ReferencedFrameOfReferenceUID != first.FrameOfReferenceUID:
        fail("frame of reference references")
    study = ref.RTReferencedStudySequence[0]
    if study.ReferencedSOPInstanceUID != first.StudyInstanceUID:
        fail("referenced study")
    series = study.RTReferencedSeriesSequence[0]
    if series.SeriesInstanceUID != first.SeriesInstanceUID:
        fail("referenced series")
    listed = {i.ReferencedSOPInstanceUID for i in series.ContourImageSequence}
    if listed != set(source):
        fail(f"Contour Image Sequence lists {len(listed)} images, the series has {len(source)}")

    img = nib.load(mask_path)
    mask = np.asarray(img.dataobj) > 0.5  # (x, y, z) in nibabel order
    ras = img.affine
    lps_from_ijk = np.diag([-1.0, -1.0, 1.0, 1.0]) @ ras
    ijk_from_lps = np.linalg.inv(lps_from_ijk)
    nx, ny, nz = mask.shape
    polys = {}
    roi_contours = ds.ROIContourSequence[0]
    if roi_contours.ReferencedROINumber != roi.ROINumber:
        fail("ROI contour references another ROI")
    n_contours = 0
    for c in roi_contours.ContourSequence:
        if c.ContourGeometricType != "CLOSED_PLANAR":
            fail(f"contour type {c.ContourGeometricType}")
        pts = np.asarray(c.ContourData, dtype=float).reshape(-1, 3)
        if len(pts) != int(c.NumberOfContourPoints):
            fail("NumberOfContourPoints")
        uid = c.ContourImageSequence[0].ReferencedSOPInstanceUID
        if uid not in source:
            fail(f"contour references {uid}, not in the series")
        s = source[uid]
        normal = np.cross(np.asarray(s.ImageOrientationPatient[:3], float), np.asarray(s.ImageOrientationPatient[3:], float))
        dist = np.abs((pts - np.asarray(s.ImagePositionPatient, float)) @ normal)
        if dist.max() > 0.01:
            fail(f"contour lies {dist.max():.4f} mm off its image's plane")
        ijk = (ijk_from_lps @ np.c_[pts, np.ones(len(pts))].T).T[:, :3]
        k = int(round(ijk[0, 2]))
        if np.abs(ijk[:, 2] - k).max() > 1e-3:
            fail("contour not on one slice of the mask grid")
        polys.setdefault(k, []).append(ijk[:, :2])
        n_contours += 1
    back = np.zeros_like(mask)
    for k, p in polys.items():
        back[:, :, k] = even_odd(nx, ny, p).T
    inter = np.logical_and(back, mask).sum()
    total = back.sum() + mask.sum()
    dsc = 1.0 if total == 0 else 2.0 * inter / total
    if dsc < 0.95:
        fail(f"contours rasterised back give DSC {dsc:.4f} against the mask (< 0.95)")
    print(
        f"RTSTRUCT OK: ROI Pancreas, {n_contours} contours on {len(polys)} slices, "
        f"{len(listed)} source images referenced, rasterised back DSC {dsc:.4f} "
        f"({int(back.sum())} of {int(mask.sum())} voxels)"
    )


if __name__ == "__main__":
    main()
