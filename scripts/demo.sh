#!/usr/bin/env bash
# The main job: segment the bundled sample phantom CT (examples/data) with the default model
# bundle (models/default); write the mask, the probability map, an overlay PNG and the JSON
# report; print the DSC, ASSD and HD95 against the sample's reference mask.
# Usage: scripts/demo.sh [OUT_DIR]   (default /tmp/pancseg-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-/tmp/pancseg-demo}"
# what a bare machine lacks (cmake and a C++ compiler for the build, ONNX Runtime)
scripts/install-deps.sh build
cargo build --release --quiet --bin pancseg
bin=target/release/pancseg
model=models/default
ct=examples/data/sample-ct.nii.gz
truth=examples/data/sample-label.nii.gz
rm -rf "$out" && mkdir -p "$out"
"$bin" info "$ct"
"$bin" segment "$ct" "$out/mask.nii.gz" --model "$model" \
  --probability "$out/probability.nii.gz" --report "$out/report.json" --truth "$truth"
"$bin" render "$ct" --mask "$out/mask.nii.gz" --truth "$truth" --out "$out/overlay.png"
echo "demo written to $out (bundle $model): mask.nii.gz, probability.nii.gz, overlay.png, report.json"
