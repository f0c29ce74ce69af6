#!/usr/bin/env bash
# Runs every test of the project: formatting, clippy, the Rust test suites of the workspace, and
# the check that the committed C header is what cbindgen generates. Ends with one summary line
# "tests: N passed, N failed" over all cargo test binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-onnxruntime.sh >/dev/null
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace 2>&1 | tee "$log" || status=$?
git diff --exit-code -- include/pancseg.h || { echo "include/pancseg.h is stale: commit the regenerated header"; status=1; }
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit $status
