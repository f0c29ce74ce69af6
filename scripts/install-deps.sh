#!/usr/bin/env bash
# Installs what pancseg needs on a bare Debian/Ubuntu machine, and nothing when it is already
# there (then it prints nothing). One step shared by scripts/demo.sh, scripts/test.sh and .ci/run.
#   scripts/install-deps.sh build   cmake and a C/C++ compiler (the JPEG-LS decoder, charls, is
#                                   C++ built by cmake), pkg-config, and the ONNX Runtime library
#                                   (.ort/, scripts/fetch-onnxruntime.sh)
#   scripts/install-deps.sh test    the same, plus the TrueType font Fig. 5 is drawn with, the
#                                   Python readers the conformance tests use
#                                   (scripts/requirements-test.txt: nibabel, pydicom, highdicom)
#                                   and a Vulkan device for the GPU training tests: the loader
#                                   (libvulkan1) and Mesa's drivers (mesa-vulkan-drivers), whose
#                                   software device lavapipe runs where there is no GPU
# System packages come from apt-get (as root, or through sudo when it is there); without either,
# the script names the missing packages and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-build}"
case "$what" in build | test) ;; *) echo "usage: scripts/install-deps.sh build|test" >&2; exit 2 ;; esac
need=()
command -v cmake >/dev/null || need+=(cmake)
command -v cc >/dev/null || need+=(gcc)
command -v c++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v python3 >/dev/null || need+=(python3 python3-pip)
if [ "$what" = test ]; then
  [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
  command -v nm >/dev/null || need+=(binutils)
  ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 || need+=(mesa-vulkan-drivers)
  libs="$(ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true)"
  [[ "$libs" == *"libvulkan.so.1 "* ]] || need+=(libvulkan1)
  if command -v python3 >/dev/null && ! python3 -m pip --version >/dev/null 2>&1; then
    need+=(python3-pip)
  fi
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt=(apt-get)
  elif command -v sudo >/dev/null; then
    apt=(sudo apt-get)
  else
    echo "install-deps: missing ${need[*]}; install them (apt-get install ${need[*]}) and rerun" >&2
    exit 1
  fi
  echo "install-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${apt[@]}" update -qq
  "${apt[@]}" install -y -qq "${need[@]}" >/dev/null
fi
if [ "$what" = test ] && ! python3 -c "import nibabel, pydicom, highdicom, onnx" 2>/dev/null; then
  echo "install-deps: installing the Python readers (scripts/requirements-test.txt)"
  python3 -m pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
fi
scripts/fetch-onnxruntime.sh >/dev/null
