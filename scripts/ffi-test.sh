#!/usr/bin/env bash
# The C ABI checks: installs the library into target/pancseg-install (scripts/install.sh), builds
# ffi-tests/ against the installed CMake package and runs ctest (labels abi and asan), then builds
# cpp-examples/ the same way and runs both programs on the fixture phantom with the fixture bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
prefix="$root/target/pancseg-install"
PANCSEG_PROFILE=dev scripts/install.sh "$prefix" >/dev/null
jobs="$(nproc 2>/dev/null || echo 2)"
cmake -S ffi-tests -B target/ffi-tests -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build target/ffi-tests -j "$jobs" >/dev/null
# two at a time: the tests spend part of their time loading and writing
(cd target/ffi-tests && ctest --output-on-failure -j 2)
cmake -S cpp-examples -B target/cpp-examples -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build target/cpp-examples -j "$jobs" >/dev/null
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
export ORT_DYLIB_PATH="$prefix/lib/libonnxruntime.so"
target/cpp-examples/segment_series tests/fixtures/phantom/ct.nii.gz "$out" \
  --model tests/fixtures/bundle-tiny --threads 2
test -s "$out/mask.nii.gz" && test -s "$out/report.json" && test -s "$out/overlay.png"
# a real DICOM series (JPEG 2000, 20 slices), when the shared data is beside the repository
if [ -d ../shared/data/real-ct/dicom ]; then
  # with a DICOM Segmentation through the C API, checked by pydicom + highdicom; the series needs
  # its (anonymised-away) study and series UIDs for the segmentation to reference it
  python3 tests/scripts/fill_uids.py ../shared/data/real-ct/dicom "$out/dicom-uids"
  mkdir -p "$out/seg"
  target/cpp-examples/segment_series "$out/dicom-uids" "$out/seg" --model tests/fixtures/bundle-tiny --dicom-seg --rtstruct
  python3 tests/scripts/validate_dicom_seg.py "$out/seg/seg.dcm" "$out/dicom-uids" "$out/seg/mask.nii.gz"
  python3 tests/scripts/validate_rtstruct.py "$out/seg/rtstruct.dcm" "$out/dicom-uids" "$out/seg/mask.nii.gz"
  # the same instances handed over from memory (pancseg_image_load_dicom_memory): the same mask,
  # and its SEG and RTSTRUCT still reference the series
  mkdir -p "$out/mem"
  target/cpp-examples/segment_series "$out/dicom-uids" "$out/mem" --model tests/fixtures/bundle-tiny \
    --dicom-seg --rtstruct --from-memory
  python3 tests/scripts/check_nifti_equal.py "$out/seg/mask.nii.gz" "$out/mem/mask.nii.gz"
  python3 tests/scripts/validate_dicom_seg.py "$out/mem/seg.dcm" "$out/dicom-uids" "$out/mem/mask.nii.gz"
  python3 tests/scripts/validate_rtstruct.py "$out/mem/rtstruct.dcm" "$out/dicom-uids" "$out/mem/mask.nii.gz"
fi
target/cpp-examples/plugin_host tests/fixtures/phantom/ct.nii.gz --model tests/fixtures/bundle-tiny
status=0
target/cpp-examples/plugin_host tests/fixtures/phantom/ct.nii.gz --model tests/fixtures/bundle-tiny --cancel-at 0.5 || status=$?
test "$status" -eq 3 || { echo "plugin_host --cancel-at 0.5 exited $status, expected 3 (cancelled)"; exit 1; }
echo "ffi: ctest and examples passed"
