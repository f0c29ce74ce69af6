#!/usr/bin/env python3
"""Independent check of pancseg's DICOM -> NIfTI geometry.

Usage: check_nifti_affine.py OUT.nii[.gz] DICOM_DIR

Reads the NIfTI written by pancseg with nibabel, and computes the expected voxel-to-RAS affine
straight from the DICOM tags with pydicom (slices sorted by position along the normal, LPS -> RAS).
Exits non-zero when any affine entry differs by more than 1e-4 mm, or the shape differs.
"""
import glob
import os
import sys

import nibabel
import numpy as np
import pydicom

nii_path, dicom_dir = sys.argv[1], sys.argv[2]
files = [f for f in glob.glob(os.path.join(dicom_dir, "**", "*"), recursive=True) if os.path.isfile(f)]
slices = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
iop = np.array(slices[0].ImageOrientationPatient, dtype=float)
row, col = iop[:3], iop[3:]
normal = np.cross(row, col)
slices.sort(key=lambda s: float(np.dot(np.array(s.ImagePositionPatient, dtype=float), normal)))
first = np.array(slices[0].ImagePositionPatient, dtype=float)
last = np.array(slices[-1].ImagePositionPatient, dtype=float)
dz = np.dot(last - first, normal) / (len(slices) - 1)
ps = [float(v) for v in slices[0].PixelSpacing]  # row spacing, column spacing
lps = np.eye(4)
lps[:3, 0] = row * ps[1]
lps[:3, 1] = col * ps[0]
lps[:3, 2] = normal * dz
lps[:3, 3] = first
expected = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps

img = nibabel.load(nii_path)
got = img.affine
shape = (int(slices[0].Columns), int(slices[0].Rows), len(slices))
diff = np.abs(got - expected).max()
print("nibabel affine:\n", got)
print("expected from DICOM tags:\n", expected)
print(f"max |difference| = {diff:.3g} mm; shape {img.shape} (expected {shape})")
if img.shape != shape or diff > 1e-4:
    sys.exit(1)
print("AFFINE OK")
