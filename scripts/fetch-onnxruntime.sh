#!/usr/bin/env bash
# Fetches the ONNX Runtime shared library from the `onnxruntime` package on PyPI and unpacks
# libonnxruntime.so* into .ort/ (ignored by git), where pancseg finds it by default.
# Usage: scripts/fetch-onnxruntime.sh [DEST]   (ORT_VERSION overrides the pinned version)
# The CUDA build: ORT_PACKAGE=onnxruntime-gpu scripts/fetch-onnxruntime.sh (into .ort-gpu/, with
# its provider libraries; point ORT_DYLIB_PATH at .ort-gpu/libonnxruntime.so). The 1.31.1 wheel
# is built for CUDA 13 and cuDNN 9 (README, "ONNX Runtime").
set -euo pipefail
ORT_VERSION="${ORT_VERSION:-1.31.1}"   # the release ort 2.0.0-rc.15 is built against
ORT_PACKAGE="${ORT_PACKAGE:-onnxruntime}"
case "$ORT_PACKAGE" in onnxruntime) stamp="$ORT_VERSION"; sub=.ort ;;
  onnxruntime-gpu) stamp="$ORT_PACKAGE $ORT_VERSION"; sub=.ort-gpu ;;
  *) echo "ORT_PACKAGE must be onnxruntime or onnxruntime-gpu" >&2; exit 2 ;; esac
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-$root/$sub}"
if [ -f "$dest/libonnxruntime.so" ] && [ -f "$dest/VERSION" ] && [ "$(cat "$dest/VERSION")" = "$stamp" ]; then
  echo "ONNX Runtime $stamp already in $dest"
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "$ORT_PACKAGE==$ORT_VERSION"
wheel="$(ls "$tmp"/onnxruntime*.whl | head -n 1)"
mkdir -p "$dest"
python3 - "$wheel" "$dest" <<'PY'
import sys, zipfile, os, shutil
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    # the runtime, and in the GPU package its execution-provider libraries beside it
    names = [n for n in z.namelist() if os.path.basename(n).startswith("libonnxruntime")
             and ".so" in os.path.basename(n)]
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
echo "$stamp" > "$dest/VERSION"
echo "ONNX Runtime $stamp in $dest"
