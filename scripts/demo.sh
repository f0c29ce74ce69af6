#!/usr/bin/env bash
# The main job: segment the bundled sample phantom CT with the bundled model bundle; write the
# mask, the probability map, an overlay PNG and the JSON report; print the DSC, ASSD and HD95
# against the sample's reference mask. Uses models/default when it exists, else the test bundle
# (tests/fixtures/bundle-tiny, weak: see README).
# Usage: scripts/demo.sh [OUT_DIR]   (default /tmp/pancseg-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-/tmp/pancseg-demo}"
scripts/fetch-onnxruntime.sh >/dev/null
cargo build --release --quiet --bin pancseg
bin=target/release/pancseg
model=models/default
[ -f "$model/manifest.json" ] || model=tests/fixtures/bundle-tiny
sample=tests/fixtures/phantom
rm -rf "$out" && mkdir -p "$out"
"$bin" info "$sample/ct.nii.gz"
"$bin" segment "$sample/ct.nii.gz" "$out/mask.nii.gz" --model "$model" \
  --probability "$out/probability.nii.gz" --report "$out/report.json" --truth "$sample/label.nii.gz"
"$bin" render "$sample/ct.nii.gz" --mask "$out/mask.nii.gz" --truth "$sample/label.nii.gz" --out "$out/overlay.png"
echo "demo written to $out (bundle $model): mask.nii.gz, probability.nii.gz, overlay.png, report.json"
