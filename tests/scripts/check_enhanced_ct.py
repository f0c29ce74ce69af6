#!/usr/bin/env python3
"""Independent check of how pancseg reads an Enhanced CT Image (multi-frame) object.

Usage: check_enhanced_ct.py ENHANCED.dcm VOLUME.nii.gz

Reads the object with pydicom (native pixel data), places every frame by its per-frame Plane
Position (along the normal of the shared Plane Orientation), rescales it by its own Pixel Value
Transformation or else the shared one, and compares the result voxel for voxel and the geometry
(spacing, origin, direction) with the NIfTI volume pancseg wrote for it (read with nibabel).
Prints "ENHANCED CT OK" when they agree; exits non-zero otherwise.
"""
import sys

import nibabel as nib
import numpy as np
import pydicom


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def main():
    ds = pydicom.dcmread(sys.argv[1])
    img = nib.load(sys.argv[2])
    if ds.SOPClassUID != "1.2.840.10008.5.1.4.1.1.2.1":
        fail(f"SOP class {ds.SOPClassUID}")
    shared = ds.SharedFunctionalGroupsSequence[0]
    iop = np.asarray(shared.PlaneOrientationSequence[0].ImageOrientationPatient, float)
    row, col = iop[:3], iop[3:]
    normal = np.cross(row, col)
    ps = [float(v) for v in shared.PixelMeasuresSequence[0].PixelSpacing]
    shared_t = shared.PixelValueTransformationSequence[0]
    pixels = ds.pixel_array.astype(np.float64)  # (frames, rows, cols)
    frames = []
    for f, item in enumerate(ds.PerFrameFunctionalGroupsSequence):
        pos = np.asarray(item.PlanePositionSequence[0].ImagePositionPatient, float)
        t = item.PixelValueTransformationSequence[0] if "PixelValueTransformationSequence" in item else shared_t
        hu = pixels[f] * float(t.RescaleSlope) + float(t.RescaleIntercept)
        frames.append((float(pos @ normal), pos, hu))
    frames.sort(key=lambda x: x[0])
    volume = np.stack([h for _, _, h in frames])  # (z, y, x)
    dz = (frames[-1][0] - frames[0][0]) / (len(frames) - 1)
    lps = np.eye(4)
    lps[:3, 0] = row * ps[1]
    lps[:3, 1] = col * ps[0]
    lps[:3, 2] = normal * dz
    lps[:3, 3] = frames[0][1]
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    if not np.allclose(ras, img.affine, atol=1e-4):
        fail(f"affine differs:\n{ras}\n{img.affine}")
    data = np.asarray(img.dataobj, dtype=np.float64).transpose(2, 1, 0)
    if data.shape != volume.shape:
        fail(f"shape {data.shape} vs {volume.shape}")
    diff = np.abs(data - volume).max()
    if diff > 1e-3:
        fail(f"voxels differ by up to {diff} HU")
    print(f"ENHANCED CT OK: {len(frames)} frames of {volume.shape[2]}x{volume.shape[1]}, affine and HU agree (max diff {diff})")


if __name__ == "__main__":
    main()
