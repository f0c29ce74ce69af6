#!/usr/bin/env python3
"""Held-out comparison of smoothing sigmas for G(P2) on one cross-validation fold.

The threshold of each sigma is calibrated as `pancseg-train cv` does (best mean DSC over
0.05..0.95 on the fold's training cases) and applied to its test cases.

Usage: sigma_heldout.py FOLD/results.json MAPS_DIR COHORT_DIR
  MAPS_DIR holds CASE-p2.nii.gz for every case: the unsmoothed P2 map of the fold's bundle,
  `pancseg segment CT MASK --model FOLD/bundle --method p2 --probability MAPS_DIR/CASE-p2.nii.gz`.
Needs numpy, scipy and nibabel; prints a Markdown table (DSC in %).
"""
import json
import sys

import nibabel as nib
import numpy as np
from scipy.ndimage import gaussian_filter

results, maps, cohort = sys.argv[1:4]
r = json.load(open(results))
train, test = r["train_cases"], r["test_cases"]
# (unit, sigma x, y, z): "vox" as the manifest's sigma_voxels, "mm" as its sigma_mm
variants = {
    "P2 (no smoothing)": None,
    "G(P2), 3 voxels": ("vox", (3.0, 3.0, 3.0)),
    "G(P2), 2.4, 2.4, 6 mm": ("mm", (2.4, 2.4, 6.0)),
    "G(P2), 1.5, 1.5, 4 mm": ("mm", (1.5, 1.5, 4.0)),
    "G(P2), 4, 4, 8 mm": ("mm", (4.0, 4.0, 8.0)),
}
ts = np.round(np.arange(1, 20) * 0.05, 2)
dsc = {v: {} for v in variants}
for c in train + test:
    img = nib.load(f"{maps}/{c}-p2.nii.gz")
    p = np.asarray(img.dataobj, dtype=np.float32)
    spacing = np.array(img.header.get_zooms()[:3], dtype=float)
    truth = np.asarray(nib.load(f"{cohort}/{c}/label.nii.gz").dataobj) == 1
    for v, s in variants.items():
        if s is None:
            g = p
        else:
            sigma = np.array(s[1]) if s[0] == "vox" else np.array(s[1]) / spacing
            # zero outside, kernel truncated at 3 sigma: as the library smooths
            g = gaussian_filter(p, sigma, mode="constant", truncate=3.0)
        dsc[v][c] = [
            2 * ((g >= t) & truth).sum() / max((g >= t).sum() + truth.sum(), 1) for t in ts
        ]
print("| map | threshold | training | testing | test min | test max |")
print("|---|---|---|---|---|---|")
for v in variants:
    i = int(np.array([dsc[v][c] for c in train]).mean(0).argmax())
    tr = np.array([dsc[v][c][i] for c in train])
    te = np.array([dsc[v][c][i] for c in test])
    print(
        f"| {v} | {ts[i]:.2f} | {100 * tr.mean():.1f} ± {100 * tr.std():.1f} | "
        f"{100 * te.mean():.1f} ± {100 * te.std():.1f} | {100 * te.min():.1f} | {100 * te.max():.1f} |"
    )
