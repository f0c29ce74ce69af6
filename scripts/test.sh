#!/usr/bin/env bash
# Runs every test of the project: formatting, the Rust test suites of the workspace (with the
# GPU training backend, checked against the CPU on a Vulkan device), the
# check that the committed C header is what cbindgen generates, the Rust API docs (cargo doc,
# warnings as errors), and the C ABI suite (ctest in C99
# and C++17 against the installed shared and static library, with an AddressSanitizer label) plus
# the C++ examples (scripts/ffi-test.sh). Ends with one summary line "tests: N passed, N failed"
# over all cargo test binaries and ctest tests. Clippy runs in scripts/lint.sh (before commits).
set -euo pipefail
cd "$(dirname "$0")/.."
# what a bare machine lacks (cmake, compilers, ONNX Runtime, the Python readers)
scripts/install-deps.sh test
cargo fmt --all -- --check
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
# with the GPU training backend (burn's wgpu); PANCSEG_REQUIRE_GPU makes its tests fail instead of
# skipping when no Vulkan device opens (install-deps gives the software one, lavapipe)
PANCSEG_REQUIRE_GPU=1 cargo test --workspace --features pancseg-train/gpu 2>&1 | tee "$log" || status=$?
git diff --exit-code -- include/pancseg.h || { echo "include/pancseg.h is stale: commit the regenerated header"; status=1; }
# the Rust API reference builds without a warning (broken links, bad code blocks)
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p pancseg --quiet || { echo "cargo doc: warnings in the Rust API docs"; status=1; }
scripts/ffi-test.sh 2>&1 | tee -a "$log" || status=$?
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     /tests passed, [0-9]+ tests? failed out of/ { nf = 0; for (i = 1; i <= NF; i++) { if ($i == "failed" && $(i-2) ~ /^[0-9]+$/) nf = $(i-2); if ($i == "of") t = $(i+1) } f += nf; p += t - nf }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit $status
