#!/usr/bin/env bash
# Segments the two unlabelled real scans of ../shared/data/real-ct with a bundle and renders the
# masks (axial and coronal, at the slice of largest mask area) for a look at frame, resolution
# and verdict on real scanner output. Writes OUT/{nifti,dicom}-{axial,coronal}.png, the masks,
# the reports and OUT/summary.txt (the segment lines). The scans carry no labels: nothing here
# measures or tunes accuracy.
# Usage: scripts/real-ct-check.sh [BUNDLE] [OUT]   (defaults: models/default, docs/results/real-ct)
set -euo pipefail
cd "$(dirname "$0")/.."
bundle="${1:-models/default}"
out="${2:-docs/results/real-ct}"
real=../shared/data/real-ct
mkdir -p "$out"
cargo build --release --quiet -p pancseg --bin pancseg
bin=target/release/pancseg
: > "$out/summary.txt"
for name in nifti dicom; do
  case $name in
    nifti) ct="$real/example_ct.nii.gz" ;;
    dicom) ct="$real/dicom" ;;
  esac
  [ -e "$ct" ] || { echo "skipped $name: $ct not found" | tee -a "$out/summary.txt"; continue; }
  { echo "## $name: $ct"; "$bin" segment "$ct" "$out/$name-mask.nii.gz" --model "$bundle" \
      --report "$out/$name-report.json"; } | tee -a "$out/summary.txt"
  for view in axial coronal; do
    "$bin" render "$ct" --mask "$out/$name-mask.nii.gz" --view "$view" \
      --out "$out/$name-$view.png" | tee -a "$out/summary.txt"
  done
done
