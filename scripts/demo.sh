#!/usr/bin/env bash
# The main job for now (no trained segmentation bundle yet): generate a phantom CT, describe it,
# find its candidate regions with a cascade trained on a few phantoms, and draw it.
# Usage: scripts/demo.sh [OUT_DIR]   (default /tmp/pancseg-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-/tmp/pancseg-demo}"
scripts/fetch-onnxruntime.sh >/dev/null
cargo build --release --quiet --workspace --bins
bin=target/release
rm -rf "$out"
"$bin/pancseg-train" phantom --count 6 --seed 7 --out "$out/cohort" --size small
"$bin/pancseg" info "$out/cohort/case_001/ct.nii.gz"
"$bin/pancseg-train" cohort-stats "$out/cohort"
"$bin/pancseg-train" candidates --cohort "$out/cohort" --folds 2 --seed 1 --out "$out/candidates" --trees 30 | head -8
"$bin/pancseg" render "$out/cohort/case_001/ct.nii.gz" --truth "$out/cohort/case_001/label.nii.gz" --out "$out/case_001.png"
echo "demo written to $out"
