#!/usr/bin/env bash
# Runs every test of the project: formatting, clippy, the Rust test suites of the workspace, and
# the check that the committed C header is what cbindgen generates.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-onnxruntime.sh >/dev/null
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace 2>&1
git diff --exit-code -- include/pancseg.h || { echo "include/pancseg.h is stale: commit the regenerated header"; exit 1; }
