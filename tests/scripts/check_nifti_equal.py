#!/usr/bin/env python3
"""Checks that two NIfTI files hold the same voxels and affine (read with nibabel).

Usage: check_nifti_equal.py A.nii.gz B.nii.gz. Prints "NIFTI EQUAL" or exits non-zero.
"""
import sys

import nibabel as nib
import numpy as np

a, b = (nib.load(p) for p in sys.argv[1:3])
if a.shape != b.shape or not np.array_equal(np.asarray(a.dataobj), np.asarray(b.dataobj)):
    print(f"FAIL: voxels differ ({a.shape} vs {b.shape})")
    sys.exit(1)
if not np.allclose(a.affine, b.affine, atol=0):
    print("FAIL: affines differ")
    sys.exit(1)
print(f"NIFTI EQUAL: {sys.argv[1]} and {sys.argv[2]}, {a.shape}, {int(np.count_nonzero(np.asarray(a.dataobj)))} non-zero voxels")
