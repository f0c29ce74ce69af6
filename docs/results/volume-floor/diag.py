"""Where the pipeline loses the pancreas, per phase: candidate recall (truth voxels inside the
cascade's candidates), and R2's P2 on candidate voxels (AUC truth vs not, mean P2 on each)."""
import glob, json, os, statistics as st
import numpy as np, nibabel as nib
rows = []
for d in sorted(glob.glob("*/case_*")):
    if not os.path.exists(f"{d}/prob-p2.nii.gz"):
        continue
    cohort, case = d.split("/")
    man = json.load(open(f"{cohort}/cohort.json"))
    c = [c for c in man["cases"] if c["id"] == case][0]
    if c["pancreas_volume_ml"] == 0:
        continue
    p = np.asarray(nib.load(f"{d}/prob-p2.nii.gz").dataobj, dtype=np.float32)
    t = np.asarray(nib.load(f"{d}/label.nii.gz").dataobj) == 1
    cand = p > 0
    rec = (cand & t).sum() / t.sum()
    pt, pn = p[cand & t], p[cand & ~t]
    if len(pt) and len(pn):
        # AUC by ranks
        allv = np.concatenate([pt, pn]); order = allv.argsort(kind="mergesort")
        ranks = np.empty(len(allv)); ranks[order] = np.arange(1, len(allv) + 1)
        # ties: average ranks
        from scipy.stats import rankdata
        ranks = rankdata(allv)
        auc = (ranks[:len(pt)].sum() - len(pt) * (len(pt) + 1) / 2) / (len(pt) * len(pn))
    else:
        auc = float("nan")
    rows.append(dict(case=d, phase=c["details"]["realism"]["phase"], recall=rec, auc=auc,
                     p_t=float(pt.mean()) if len(pt) else 0.0, p_n=float(pn.mean()) if len(pn) else 0.0,
                     cand_ratio=cand.sum() / t.sum()))
print("| phase | n | candidate recall | P2 AUC on candidates | mean P2 on pancreas / elsewhere | candidate voxels / pancreas voxels |")
print("|---|---|---|---|---|---|")
for ph in sorted({r["phase"] for r in rows}) + ["all"]:
    rs = [r for r in rows if ph == "all" or r["phase"] == ph]
    f = lambda k: f"{st.mean(r[k] for r in rs):.3f} ± {st.pstdev(r[k] for r in rs):.3f}"
    print(f"| {ph} | {len(rs)} | {f('recall')} | {f('auc')} | {st.mean(r['p_t'] for r in rs):.2f} / {st.mean(r['p_n'] for r in rs):.2f} | {st.mean(r['cand_ratio'] for r in rs):.1f} |")
