#!/usr/bin/env bash
# Per-framing evaluation of a bundle on held-out realistic phantoms: generates one small cohort
# per framing (COUNT cases each, seeds 3001-3007, never the training seeds), segments every case
# with `pancseg segment --truth`, and writes OUT/framing-table-TAG.md (DSC per framing and per
# phase on the scans that hold pancreas; painted mL on chest-only and pelvis-only scans, which
# hold none) and OUT/framing-cases-TAG.csv, TAG being the bundle folder's name and the method.
# Usage: scripts/framing-eval.sh [MODEL_DIR] [OUT_DIR] [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-models/default}"
out="${2:-/tmp/pancseg-framing-eval}"
count="${3:-3}"
method="${4:-g-p2}"
tag="$(basename "$model")-$method"
scripts/install-deps.sh test
cargo build --release --quiet --bin pancseg -p pancseg -p pancseg-train
mkdir -p "$out"
i=0
for f in abdomen-only abdomen-pelvis whole-trunk upper-abdomen slab chest-only pelvis-only; do
  i=$((i + 1))
  cohort="$out/cohort-$f"
  [ -f "$cohort/cohort.json" ] || target/release/pancseg-train phantom --count "$count" \
    --seed $((3000 + i)) --size small --out "$cohort" --framing "$f" 2>>"$out/generate.log"
  for c in "$cohort"/case_*; do
    [ -f "$c/report-$tag.json" ] || target/release/pancseg segment "$c/ct.nii.gz" "$c/mask-$tag.nii.gz" \
      --model "$model" --method "$method" --truth "$c/label.nii.gz" --report "$c/report-$tag.json" \
      >>"$out/segment-$tag.log" 2>&1
  done
done
python3 - "$out" "$tag" <<'PY'
import json, sys, glob, os, statistics as st
out, tag = sys.argv[1], sys.argv[2]
rows = []
for d in sorted(glob.glob(os.path.join(out, "cohort-*"))):
    framing = os.path.basename(d)[len("cohort-"):]
    man = json.load(open(os.path.join(d, "cohort.json")))
    for c in man["cases"]:
        r = json.load(open(os.path.join(d, c["id"], f"report-{tag}.json")))
        real = c["details"]["realism"]
        rows.append(dict(framing=framing, case=c["id"], phase=real["phase"],
                         truth_ml=c["pancreas_volume_ml"], painted_ml=r["pancreas_ml"],
                         dsc=r.get("dsc"), fov=r["field_of_view"], seconds=r["total_seconds"]))
with open(os.path.join(out, f"framing-cases-{tag}.csv"), "w") as f:
    f.write("framing,case,phase,truth_ml,painted_ml,dsc,field_of_view,seconds\n")
    for r in rows:
        f.write(f"{r['framing']},{r['case']},{r['phase']},{r['truth_ml']:.1f},{r['painted_ml']:.1f},"
                f"{'' if r['dsc'] is None else round(r['dsc'], 3)},{r['fov']},{r['seconds']:.1f}\n")
def line(name, rs):
    with_p = [r for r in rs if r["truth_ml"] > 0]
    without = [r for r in rs if r["truth_ml"] == 0]
    d = [r["dsc"] for r in with_p]
    dsc = f"{st.mean(d):.3f} ± {st.pstdev(d):.3f} (n={len(d)})" if d else "-"
    fp = f"{max(r['painted_ml'] for r in without):.1f} (n={len(without)})" if without else "-"
    verdicts = ", ".join(sorted({r["fov"] for r in rs}))
    secs = st.mean(r["seconds"] for r in rs)
    return f"| {name} | {dsc} | {fp} | {verdicts} | {secs:.1f} |\n"
t = "| framing | DSC (scans with pancreas) | max painted mL (scans without) | verdicts | mean s |\n|---|---|---|---|---|\n"
for f in sorted({r["framing"] for r in rows}):
    t += line(f, [r for r in rows if r["framing"] == f])
t += line("**all**", rows)
t += "\n| phase | DSC (scans with pancreas) | max painted mL (scans without) | verdicts | mean s |\n|---|---|---|---|---|\n"
for p in sorted({r["phase"] for r in rows}):
    t += line(p, [r for r in rows if r["phase"] == p])
open(os.path.join(out, f"framing-table-{tag}.md"), "w").write(t)
print(t)
PY
