#!/usr/bin/env python3
"""Compare pancseg's entropy rate superpixels with scikit-image's SLIC on the same slices.

Usage: slic_compare.py DUMP_DIR
where DUMP_DIR was written by `pancseg-train bench superpixels --dump DUMP_DIR`: for each slice
`slice_NNN.json` (nx, ny, spacing, k, ers_ms), `slice_NNN_hu.f32`, `slice_NNN_gt.u8` (structure
labels) and `slice_NNN_ers.u32` (pancseg labels, 0 outside the body).

SLIC runs on the same soft-tissue window [-160, 240] HU, restricted to the same body mask, with
n_segments = pancseg's superpixel count. Boundary recall (2 px tolerance) and undersegmentation
error use the same definitions as pancseg's benchmark (training/src/bench.rs).
Not a dependency of the project: it runs only where scikit-image is installed.
"""
import glob
import json
import os
import sys
import time

import numpy as np
from skimage.segmentation import slic


def boundary(lab):
    b = np.zeros(lab.shape, bool)
    b[:, :-1] |= lab[:, :-1] != lab[:, 1:]
    b[:-1, :] |= lab[:-1, :] != lab[1:, :]
    return b


def metrics(sp, gt, tol=2):
    valid = sp != 0
    spb = boundary(sp) & valid
    gtb = boundary(gt.astype(np.int64)) & valid
    ys, xs = np.nonzero(gtb)
    ny, nx = sp.shape
    pad = np.pad(spb, tol)
    hit = 0
    for y, x in zip(ys, xs):
        if pad[y:y + 2 * tol + 1, x:x + 2 * tol + 1].any():
            hit += 1
    br = hit / max(len(ys), 1)
    leak = 0
    for s in np.unique(sp[valid]):
        m = sp == s
        counts = np.bincount(gt[m])
        leak += m.sum() - counts.max()
    return br, leak / max(valid.sum(), 1)


def main():
    d = sys.argv[1]
    rows = []
    for meta_path in sorted(glob.glob(os.path.join(d, "slice_*.json"))):
        meta = json.load(open(meta_path))
        base = meta_path[:-5]
        nx, ny = meta["nx"], meta["ny"]
        hu = np.fromfile(base + "_hu.f32", np.float32).reshape(ny, nx)
        gt = np.fromfile(base + "_gt.u8", np.uint8).reshape(ny, nx)
        ers = np.fromfile(base + "_ers.u32", np.uint32).reshape(ny, nx).astype(np.int64)
        body = ers != 0
        img = (np.clip(hu, -160, 240) + 160) / 400.0
        t = time.perf_counter()
        sl = slic(img, n_segments=meta["k"], compactness=0.1, channel_axis=None, mask=body, start_label=1)
        slic_ms = (time.perf_counter() - t) * 1e3
        sl = np.where(body, sl, 0)
        e_br, e_ue = metrics(ers, gt)
        s_br, s_ue = metrics(sl, gt)
        rows.append((meta["ers_ms"], e_br, e_ue, slic_ms, s_br, s_ue, len(np.unique(sl[body]))))
        print(f"{os.path.basename(base)}: ERS {meta['ers_ms']:.1f} ms BR {e_br:.3f} UE {e_ue:.4f} | "
              f"SLIC {slic_ms:.1f} ms BR {s_br:.3f} UE {s_ue:.4f} ({rows[-1][6]} segments)")
    a = np.array(rows)
    print(f"mean over {len(rows)} slices: ERS {a[:,0].mean():.1f} ms, BR {a[:,1].mean():.3f}, UE {a[:,2].mean():.4f}; "
          f"SLIC {a[:,3].mean():.1f} ms, BR {a[:,4].mean():.3f}, UE {a[:,5].mean():.4f}")


if __name__ == "__main__":
    main()
