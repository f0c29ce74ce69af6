import glob, os, numpy as np, nibabel as nib, sys
sys.argv=['x','gp2']
exec(open('compare.py').read().split("sets = {")[0])
sets = {'held-out': sorted(glob.glob(f'{HELDOUT}/cohort-*/case_*') + glob.glob(f'{HELDOUT}/h24/case_*')), 'b24': sorted(glob.glob(f'{B24}/case_*'))}
def loadavg(d):
    a = load(d, 'gp2'); 
    img = nib.load(f"{d}/prob-gp2.nii.gz"); p1 = np.asarray(img.dataobj, dtype=np.float32)
    p2 = np.asarray(nib.load(f"{d}/prob-r2h.nii.gz").dataobj, dtype=np.float32)
    t = np.asarray(nib.load(f"{d}/label.nii.gz").dataobj) == 1
    p = (p1 + p2) / 2; keep = (p > 0.05) | t
    a.update(pv=p[keep], tv=t[keep]); return a
for name, cases in sets.items():
    rs = [loadavg(d) for d in cases]
    for rn, f in [('fixed 0.75', lambda r: 0.75), ('fixed 0.8', lambda r: 0.8), ('floor 45/0.4 @0.75', lambda r: floor_t(r, 45, 0.4, 0.75)), ('floor 45/0.4 @0.85', lambda r: floor_t(r, 45, 0.4, 0.85))]:
        ds, fp = [], []
        for r in rs:
            d, ml = dsc_at(r, f(r)); (fp.append(ml) if d is None else ds.append(d))
        print(f"ens {name} {rn:20s} {np.mean(ds):.3f} ± {np.std(ds):.3f} max FP {max(fp) if fp else 0:.1f}")
