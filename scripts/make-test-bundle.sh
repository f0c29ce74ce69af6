#!/usr/bin/env bash
# Rebuilds the small model bundle the library's integration tests use
# (tests/fixtures/bundle-tiny) and its sample phantom (tests/fixtures/phantom, unseen in training):
# narrow networks (widths 8,16,16,16,16, FC 32) trained for 8 short epochs on 6 small phantoms, a 20-tree cascade. The
# networks are weak on purpose (small and fast); they exercise every stage of the pipeline on
# real trained files. Run from anywhere; takes a few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${WORK:-$(mktemp -d)}"
out=tests/fixtures/bundle-tiny
cargo build --release --workspace --quiet --bins
t=target/release/pancseg-train
$t phantom --profile classic --count 6 --seed 31 --size small --out "$work/cohort"
$t candidates --cohort "$work/cohort" --folds 2 --seed 1 --trees 20 --out "$work/cand" >/dev/null
cases=case_001,case_002,case_003,case_004,case_005,case_006
common=(--cohort "$work/cohort" --cases "$cases" --forests "$work/cand/fold_1" --widths 8,16,16,16,16
  --fc 32 --epochs 8 --examples-per-epoch 2048 --patience 8 --val-per-class 200
  --max-voxels 400 --seed 3)
$t train "${common[@]}" --net p --out "$work/p"
$t train "${common[@]}" --net r1 --out "$work/r1"
$t train "${common[@]}" --net r2 --p-net "$work/p" --out "$work/r2"
$t train "${common[@]}" --net boundary --out "$work/boundary"
# operating point of G(P2) calibrated on training cases (mean DSC over a threshold grid); the
# other operating points stay at 0.5
$t export --forests "$work/cand/fold_1" --p "$work/p" --r1 "$work/r1" --r2 "$work/r2" \
  --boundary "$work/boundary" --out "$work/uncalibrated" --p0-stride 3
for c in case_001 case_002 case_003; do
  target/release/pancseg segment "$work/cohort/$c/ct.nii.gz" "$work/$c-mask.nii.gz" \
    --model "$work/uncalibrated" --probability "$work/$c-gp2.nii.gz" >/dev/null
done
python3 - "$work" > "$work/operating-points.json" <<'PY'
import json, sys
import nibabel as nib, numpy as np
work = sys.argv[1]
cases = ["case_001", "case_002", "case_003"]
maps = [(nib.load(f"{work}/{c}-gp2.nii.gz").get_fdata(), nib.load(f"{work}/cohort/{c}/label.nii.gz").get_fdata() > 0.5) for c in cases]
def mean_dsc(t):
    return np.mean([2 * ((p >= t) & l).sum() / max((p >= t).sum() + l.sum(), 1) for p, l in maps])
best = max(np.arange(0.05, 0.96, 0.05), key=mean_dsc)
print(json.dumps({"p0": 0.5, "p1": 0.5, "p2": 0.5, "g_p0": 0.5, "g_p1": 0.5, "g_p2": round(float(best), 2)}))
PY
rm -rf "$out"
$t export --forests "$work/cand/fold_1" --p "$work/p" --r1 "$work/r1" --r2 "$work/r2" \
  --boundary "$work/boundary" --out "$out" --p0-stride 3 --operating-points "$work/operating-points.json" \
  --description "test fixture: scripts/make-test-bundle.sh (6 small phantoms, seed 31; narrow networks, 8 short epochs; G(P2) operating point calibrated on 3 training cases)"
# the sample: a phantom none of the models saw, cut to the slices around the pancreas (+-6) to
# keep the tests fast
$t phantom --profile classic --count 1 --seed 32 --size small --out "$work/sample"
mkdir -p tests/fixtures/phantom
python3 - "$work/sample/case_001" tests/fixtures/phantom <<'PY'
import sys
import nibabel as nib, numpy as np
src, dst = sys.argv[1], sys.argv[2]
label = nib.load(f"{src}/label.nii.gz")
z = np.where(np.asarray(label.dataobj).any(axis=(0, 1)))[0]
lo, hi = max(int(z.min()) - 6, 0), min(int(z.max()) + 7, label.shape[2])
for name in ["ct.nii.gz", "label.nii.gz"]:
    img = nib.load(f"{src}/{name}")
    nib.save(img.slicer[:, :, lo:hi], f"{dst}/{name}")
print(f"sample slices {lo}..{hi - 1} of {label.shape[2]}")
PY
cat "$work/operating-points.json"
du -sh "$out" tests/fixtures/phantom
