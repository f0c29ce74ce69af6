#!/usr/bin/env bash
# Fetches the ONNX Runtime shared library from the `onnxruntime` package on PyPI and unpacks
# libonnxruntime.so* into .ort/ (ignored by git), where pancseg finds it by default.
# Usage: scripts/fetch-onnxruntime.sh [DEST]   (ORT_VERSION overrides the pinned version)
set -euo pipefail
ORT_VERSION="${ORT_VERSION:-1.31.1}"   # the release ort 2.0.0-rc.15 is built against
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-$root/.ort}"
if [ -f "$dest/libonnxruntime.so" ] && [ -f "$dest/VERSION" ] && [ "$(cat "$dest/VERSION")" = "$ORT_VERSION" ]; then
  echo "ONNX Runtime $ORT_VERSION already in $dest"
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "onnxruntime==$ORT_VERSION"
wheel="$(ls "$tmp"/onnxruntime-*.whl | head -n 1)"
mkdir -p "$dest"
python3 - "$wheel" "$dest" <<'PY'
import sys, zipfile, os, shutil
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if os.path.basename(n).startswith("libonnxruntime.so")]
    if not names:
        sys.exit(f"no libonnxruntime.so in {wheel}")
    for n in names:
        out = os.path.join(dest, os.path.basename(n))
        with z.open(n) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
        print("unpacked", out)
PY
lib="$(ls "$dest"/libonnxruntime.so.* | head -n 1)"
ln -sf "$(basename "$lib")" "$dest/libonnxruntime.so"
echo "$ORT_VERSION" > "$dest/VERSION"
echo "ONNX Runtime $ORT_VERSION in $dest"
