#!/usr/bin/env bash
# Formatting and clippy (warnings are errors) over the whole workspace, every target. Run before
# each commit; CI's test command (scripts/test.sh) checks formatting only, to stay within CI's
# time budget (clippy's check build of the dependency graph costs several minutes there).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
# with the GPU training backend, as the tests build it (its code is behind the `gpu` feature)
cargo clippy --workspace --all-targets --features pancseg-train/gpu --quiet -- -D warnings
echo "lint: clean"
