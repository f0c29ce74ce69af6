"""Offline post-processing variants on saved masks: raw, largest 6-connected component, and
components kept by size relative to the largest."""
import glob, json, os, sys
import numpy as np, nibabel as nib
from scipy import ndimage

tag = sys.argv[1] if len(sys.argv) > 1 else "default"
six = ndimage.generate_binary_structure(3, 1)
rows = []
for rep in sorted(glob.glob(f"*/case_*/report-{tag}.json")):
    d = os.path.dirname(rep)
    r = json.load(open(rep))
    m = np.asarray(nib.load(f"{d}/mask-{tag}.nii.gz").dataobj) > 0
    t = np.asarray(nib.load(f"{d}/label.nii.gz").dataobj) == 1
    vox = float(np.prod(nib.load(f"{d}/label.nii.gz").header.get_zooms()[:3])) / 1000.0
    lab, n = ndimage.label(m, six)
    sizes = ndimage.sum(m, lab, range(1, n + 1)) if n else np.array([])
    def dsc(a):
        s = a.sum() + t.sum()
        return None if t.sum() == 0 else (2.0 * (a & t).sum() / s if s else 1.0)
    variants = {"raw": m}
    if n:
        big = int(np.argmax(sizes)) + 1
        variants["lcc"] = lab == big
        for f in (0.1, 0.25, 0.5):
            keep = [i + 1 for i, s in enumerate(sizes) if s >= f * sizes.max()]
            variants[f"rel{f}"] = np.isin(lab, keep)
    else:
        for k in ("lcc", "rel0.1", "rel0.25", "rel0.5"):
            variants[k] = m
    cohort = d.split("/")[0]
    case = json.load(open(f"{cohort}/cohort.json"))
    c = [c for c in case["cases"] if c["id"] == os.path.basename(d)][0]
    phase = c.get("details", {}).get("realism", {}).get("phase", "?")
    row = dict(case=d, phase=phase, truth=float(t.sum() * vox), ncomp=n)
    for k, a in variants.items():
        row[k] = dsc(a)
        row[k + "_ml"] = float(a.sum() * vox)
    rows.append(row)
keys = ["raw", "lcc", "rel0.1", "rel0.25", "rel0.5"]
def summ(name, rs):
    w = [r for r in rs if r["truth"] > 0]
    wo = [r for r in rs if r["truth"] == 0]
    out = f"| {name} | {len(w)} |"
    for k in keys:
        v = [r[k] for r in w]
        out += f" {np.mean(v):.3f} ± {np.std(v):.3f} |" if v else " - |"
    out += " " + ("/".join(f"{max(r[k+'_ml'] for r in wo):.1f}" for k in keys) if wo else "-") + " |"
    return out
print("| set | n | " + " | ".join(keys) + " | max mL without pancreas (" + "/".join(keys) + ") |")
print("|---|---|" + "---|" * len(keys) + "---|")
groups = {}
for r in rows:
    groups.setdefault(r["case"].split("/")[0], []).append(r)
    groups.setdefault(r["phase"], []).append(r)
for g in sorted(groups):
    print(summ(g, groups[g]))
print(summ("**all**", rows))
with open(f"post-{tag}.csv", "w") as f:
    f.write("case,phase,truth_ml,ncomp," + ",".join(keys) + "\n")
    for r in rows:
        f.write(f"{r['case']},{r['phase']},{r['truth']:.1f},{r['ncomp']}," + ",".join("" if r[k] is None else f"{r[k]:.3f}" for k in keys) + "\n")
