#!/usr/bin/env bash
# The GPU training check, for a machine with an NVIDIA GPU that has no registry access, from a
# build made here.
#
#   scripts/gpu-check.sh prepare DIR    (here, with the registry) builds pancseg-train --release
#       --features gpu (or takes PANCSEG_TRAIN_BIN), generates a small phantom cohort, fetches the
#       Vulkan loader package (libvulkan1) and ONNX Runtime, and copies this script: DIR is all
#       the GPU machine needs (carry it there).
#   DIR/gpu-check.sh run [DIR]          (there; no root, no network, at most 10 minutes) sets up
#       the Vulkan loader (the package's files unpacked into DIR when the machine has none) and
#       NVIDIA's Vulkan driver (the ICD of the installed NVIDIA driver, libGLX_nvidia.so.0),
#       prints the adapter, runs one short P-ConvNet `train` on the CPU and on the GPU from the
#       same seed and prints their loss curves side by side, then `bench train --device gpu`
#       (examples/s per network, GPU next to CPU). The whole output is also in
#       DIR/gpu-check.log. GPU_CHECK_EXAMPLES (default 2048) sets the examples per epoch of that
#       training, GPU_CHECK_BATCHES (default 8) the timed steps of the benchmark.
#
# In a container the NVIDIA runtime must expose the graphics libraries
# (NVIDIA_DRIVER_CAPABILITIES including "graphics", or "all"), or Vulkan finds no NVIDIA device.
set -euo pipefail
mode="${1:-}"
case "$mode" in
prepare)
  dir="${2:?usage: scripts/gpu-check.sh prepare DIR}"
  root="$(cd "$(dirname "$0")/.." && pwd)"
  mkdir -p "$dir/debs" "$dir/ort"
  dir="$(cd "$dir" && pwd)"
  bin="${PANCSEG_TRAIN_BIN:-}"
  if [ -z "$bin" ]; then
    (cd "$root" && cargo build --release -p pancseg-train --features gpu)
    bin="$root/target/release/pancseg-train"
  fi
  cp "$bin" "$dir/pancseg-train"
  "$root/scripts/fetch-onnxruntime.sh" >/dev/null
  cp -L "$root/.ort/libonnxruntime.so" "$dir/ort/libonnxruntime.so"
  rm -rf "$dir/cohort"
  "$dir/pancseg-train" phantom --count 4 --seed 7 --size small --profile classic \
    --out "$dir/cohort" >/dev/null
  (cd "$dir/debs" && rm -f ./*.deb && apt-get download libvulkan1 >/dev/null)
  cp "$0" "$dir/gpu-check.sh"
  chmod +x "$dir/gpu-check.sh" "$dir/pancseg-train"
  echo "gpu-check: $dir is ready ($(du -sh "$dir" | cut -f1)); on the GPU machine: $dir/gpu-check.sh run"
  ;;
run)
  dir="${2:-$(cd "$(dirname "$0")" && pwd)}"
  dir="$(cd "$dir" && pwd)"
  [ -x "$dir/pancseg-train" ] || { echo "gpu-check: $dir has no pancseg-train (run prepare first)" >&2; exit 2; }
  exec > >(tee "$dir/gpu-check.log") 2>&1
  started=$(date +%s)
  echo "gpu-check: $(date -u +%FT%TZ) on $(hostname), $(nproc) cores"
  command -v nvidia-smi >/dev/null && nvidia-smi -L || echo "gpu-check: no nvidia-smi"
  # the Vulkan loader: the machine's own, else the package carried along
  libs="$(ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true)"
  if [[ "$libs" != *"libvulkan.so.1 "* ]]; then
    deb="$(ls "$dir"/debs/libvulkan1_*.deb 2>/dev/null | head -n 1)"
    [ -n "$deb" ] || { echo "gpu-check: no Vulkan loader on this machine and none carried" >&2; exit 1; }
    rm -rf "$dir/vulkan" && mkdir -p "$dir/vulkan"
    if command -v dpkg-deb >/dev/null; then
      dpkg-deb -x "$deb" "$dir/vulkan"
    else
      (cd "$dir/vulkan" && ar x "$deb" && tar xf data.tar.* )
    fi
    export LD_LIBRARY_PATH="$(dirname "$(find "$dir/vulkan" -name 'libvulkan.so.1' | head -n 1)")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "gpu-check: Vulkan loader from $(basename "$deb")"
  fi
  # NVIDIA's Vulkan ICD: the driver's manifest, else one written for its library
  icd=""
  for d in /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d; do
    f="$(ls "$d"/nvidia_icd*.json 2>/dev/null | head -n 1 || true)"
    [ -n "$f" ] && { icd="$f"; break; }
  done
  if [ -z "$icd" ] && [[ "$libs" == *"libGLX_nvidia.so.0 "* ]]; then
    icd="$dir/nvidia_icd.json"
    printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "libGLX_nvidia.so.0", "api_version": "1.3.0"}}\n' >"$icd"
  fi
  if [ -n "$icd" ]; then
    export VK_ICD_FILENAMES="$icd"
    echo "gpu-check: Vulkan driver manifest $icd"
  else
    echo "gpu-check: no NVIDIA Vulkan driver found (libGLX_nvidia.so.0); wgpu picks what else there is"
  fi
  export ORT_DYLIB_PATH="$dir/ort/libonnxruntime.so"
  left() { echo $((600 - 20 - ($(date +%s) - started))); }
  out="$dir/out" && rm -rf "$out"
  examples="${GPU_CHECK_EXAMPLES:-2048}"   # per epoch; smaller for a try on a software device
  batches="${GPU_CHECK_BATCHES:-8}"         # timed steps per network in bench train
  for dev in cpu gpu; do
    t="$(left)"; [ "$t" -gt 30 ] || { echo "gpu-check: no time left for train --device $dev"; break; }
    echo; echo "== train --net p --device $dev (2 epochs of $examples examples)"
    timeout "$t" "$dir/pancseg-train" train --cohort "$dir/cohort" --net p --out "$out/$dev" \
      --epochs 2 --examples-per-epoch "$examples" --patience 5 --seed 3 --device "$dev" \
      || echo "gpu-check: train --device $dev failed ($?)"
  done
  echo; echo "== loss curves (train.json)"
  curve() {
    # train.json when the training finished, else the epochs its checkpoint holds
    local f="$1/train.json"
    [ -f "$f" ] || f="$1/checkpoint.json"
    [ -f "$f" ] || { echo "(no epoch finished)"; return; }
    awk -F': ' '/"(device|adapter)": "/ { gsub(/[",]/, "", $2); printf "%s ", $2 }
      /"epoch":/ { gsub(/,/, "", $2); e = $2 } /"train_loss":/ { gsub(/,/, "", $2); tl = $2 }
      /"val_loss":/ { gsub(/,/, "", $2); vl = $2 } /"val_auc":/ { gsub(/,/, "", $2); va = $2 }
      /"examples_per_second":/ { gsub(/,/, "", $2); if (e != "") printf "\n  epoch %s: train loss %.4f, val loss %.4f, val AUC %.3f, %.0f examples/s", e, tl, vl, va, $2; e = "" }
      END { printf "\n" }' "$f"
  }
  for dev in cpu gpu; do echo "$dev: $(curve "$out/$dev")"; done
  t="$(left)"
  if [ "$t" -gt 30 ]; then
    echo; echo "== bench train --device gpu --batches $batches"
    timeout "$t" "$dir/pancseg-train" bench train --device gpu --batches "$batches" \
      || echo "gpu-check: bench train failed or ran out of time ($?)"
  else
    echo "gpu-check: no time left for bench train"
  fi
  echo "gpu-check: done in $(( $(date +%s) - started )) s"
  ;;
*)
  echo "usage: scripts/gpu-check.sh prepare DIR | DIR/gpu-check.sh run [DIR]" >&2
  exit 2
  ;;
esac
