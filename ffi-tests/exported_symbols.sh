#!/bin/sh
# Compares the pancseg_* functions the shared library exports (nm -D) with the ABI list
# (tests/fixtures/abi/pancseg-0.1.txt): a missing or an extra one fails.
# Usage: exported_symbols.sh LIBRARY ABI_LIST
set -eu
lib="$1"
list="$2"
expected="$(sed -n 's/^fn //p' "$list" | sort)"
actual="$(nm -D --defined-only "$lib" | awk '$2 == "T" && $3 ~ /^pancseg_/ { print $3 }' | sort)"
if [ "$expected" != "$actual" ]; then
  echo "exported pancseg_* functions of $lib differ from $list:"
  printf '%s\n' "$expected" > /tmp/pancseg-abi-expected.$$
  printf '%s\n' "$actual" | diff /tmp/pancseg-abi-expected.$$ - || true
  rm -f /tmp/pancseg-abi-expected.$$
  exit 1
fi
echo "$(printf '%s\n' "$actual" | wc -l) pancseg_* functions exported, as listed"
