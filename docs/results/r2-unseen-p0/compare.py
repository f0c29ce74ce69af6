"""Per-tag G(P2) maps (prob-TAG.nii.gz): DSC at fixed thresholds and under volume floors, on the
held-out sets (lcc/cohort-*, lcc/h24) and the calibration set (crf/b24)."""
import glob, json, os, sys, statistics as st
import numpy as np, nibabel as nib
TAGS = sys.argv[1].split(',')
# the held-out sets (the framing set's cohort-* and h24) and the calibration set b24
HELDOUT = os.environ.get('HELDOUT', 'heldout')
B24 = os.environ.get('B24', 'b24')

def load(d, tag):
    man = json.load(open(os.path.join(os.path.dirname(d), 'cohort.json')))
    c = [c for c in man["cases"] if c["id"] == os.path.basename(d)][0]
    img = nib.load(f"{d}/prob-{tag}.nii.gz")
    p = np.asarray(img.dataobj, dtype=np.float32)
    t = np.asarray(nib.load(f"{d}/label.nii.gz").dataobj) == 1
    vox = float(np.prod(img.header.get_zooms()[:3])) / 1000.0
    keep = (p > 0.05) | t
    r = c["details"]["realism"]
    return dict(case=d, phase=r["phase"], framing=r.get("framing", d.split('/')[-2]), pv=p[keep], tv=t[keep], nt=int(t.sum()), vox=vox)

def dsc_at(r, thr):
    m = r["pv"] >= thr
    if r["nt"] == 0:
        return None, float(m.sum() * r["vox"])
    return 2.0 * (m & r["tv"]).sum() / (m.sum() + r["nt"]), float(m.sum() * r["vox"])

def floor_t(r, ml, lo, hi):
    n = int(round(ml / r["vox"]))
    above = int((r["pv"] >= hi).sum())
    if above >= n: return hi
    s = np.sort(r["pv"][(r["pv"] >= lo) & (r["pv"] < hi)])[::-1]
    miss = n - above
    return lo if len(s) < miss else float(s[miss - 1])

sets = {'held-out': sorted(glob.glob(f'{HELDOUT}/cohort-*/case_*') + glob.glob(f'{HELDOUT}/h24/case_*')),
        'b24': sorted(glob.glob(f'{B24}/case_*'))}
rules = [('fixed 0.75', lambda r: 0.75), ('fixed 0.9', lambda r: 0.9), ('floor 45/0.4 @0.75', lambda r: floor_t(r, 45, 0.4, 0.75)),
         ('floor 45/0.4 @0.9', lambda r: floor_t(r, 45, 0.4, 0.9))]
for tag in TAGS:
    for name, cases in sets.items():
        rs = [load(d, tag) for d in cases if os.path.exists(f"{d}/prob-{tag}.nii.gz")]
        for rn, f in rules:
            ds, fp, byphase = [], [], {}
            for r in rs:
                d, ml = dsc_at(r, f(r))
                if d is None: fp.append(ml)
                else:
                    ds.append(d); byphase.setdefault(r['phase'], []).append(d)
            ph = ' '.join(f"{k[:5]} {np.mean(v):.3f}" for k, v in sorted(byphase.items()))
            print(f"{tag:6s} {name:9s} n={len(ds):2d} {rn:20s} DSC {np.mean(ds):.3f} ± {np.std(ds):.3f} | {ph} | max FP mL {max(fp) if fp else 0:.1f}")
        # oracle
        o = [max(dsc_at(r, t)[0] for t in np.arange(0.2, 0.96, 0.05)) for r in rs if r['nt'] > 0]
        print(f"{tag:6s} {name:9s} oracle per case {np.mean(o):.3f}")
