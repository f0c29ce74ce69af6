#!/usr/bin/env bash
# Runs the fuzz targets with cargo-fuzz (libFuzzer + AddressSanitizer, nightly toolchain):
#   scripts/fuzz.sh SECONDS [TARGET...]     (default: every target, 60 s each)
# Targets: nifti, dicom_series, manifest, forest, ffi_volume (bodies in src/fuzz_harness.rs).
# The working corpus is fuzz/corpus/<target> (seeded from fuzz/seeds/<target>, not committed);
# crashes land in fuzz/artifacts/<target>: fix them and copy the input to
# tests/fixtures/fuzz-regressions/<target>/ so `cargo test` replays it (tests/fuzz_replay.rs).
# Installs cargo-fuzz when missing. Prints libFuzzer's final statistics per target.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(nifti dicom_series manifest forest ffi_volume)
fi
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
cargo +nightly fuzz build -O
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  echo "== $t: ${secs} s"
  rc=0
  cargo +nightly fuzz run -O "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
    -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 >"$log" 2>&1 || rc=$?
  grep -E "^(stat::|SUMMARY|Done )|panicked|ERROR|deadly signal" "$log" || true
  if [ "$rc" -ne 0 ]; then
    tail -40 "$log"
    echo "$t: cargo fuzz exited $rc"
    status=1
  fi
  if ls "fuzz/artifacts/$t"/crash-* "fuzz/artifacts/$t"/timeout-* "fuzz/artifacts/$t"/oom-* >/dev/null 2>&1; then
    echo "$t: findings in fuzz/artifacts/$t"
    status=1
  fi
done
exit $status
