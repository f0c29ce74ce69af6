#!/bin/sh
# What the installed libraries show a host linker, against the ABI list
# (tests/fixtures/abi/pancseg-0.1.txt):
# - the shared library's SONAME is libpancseg.so.ABI_MAJOR;
# - it defines exactly the list's pancseg_* functions as dynamic symbols, nothing else (no
#   opj_*, no Rust symbols), each with the symbol version PANCSEG_<ABI_MAJOR>;
# - the static archive's global definitions are exactly the same functions.
# Prints every foreign symbol found. Usage: exported_symbols.sh SHARED_LIB ARCHIVE ABI_LIST ABI_MAJOR
set -eu
lib="$1"
archive="$2"
list="$3"
abi="$4"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail=0
sed -n 's/^fn //p' "$list" | sort > "$tmp/expected"

soname="$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')"
if [ "$soname" != "libpancseg.so.$abi" ]; then
  echo "$lib: SONAME is '$soname', expected libpancseg.so.$abi"
  fail=1
fi

# every defined dynamic symbol, with its version (readelf prints name@@VERSION), less the
# version definition's own symbol (PANCSEG_<ABI>, absolute)
readelf --dyn-syms -W "$lib" \
  | awk -v node="PANCSEG_$abi" '$1 ~ /^[0-9]+:$/ && $7 != "UND" && $5 != "LOCAL" && $8 != "" {
      name = $8; sub(/@.*/, "", name); if (name != node) print $8 }' | sort > "$tmp/dynamic"
sed 's/@.*//' "$tmp/dynamic" | sort > "$tmp/names"
if ! cmp -s "$tmp/expected" "$tmp/names"; then
  echo "dynamic symbols of $lib differ from $list (- missing, + extra):"
  diff "$tmp/expected" "$tmp/names" | sed -n 's/^</-/p; s/^>/+/p' | head -100
  fail=1
fi
unversioned="$(grep -v "@@PANCSEG_$abi\$" "$tmp/dynamic" || true)"
if [ -n "$unversioned" ]; then
  echo "symbols of $lib without the version PANCSEG_$abi:"
  printf '%s\n' "$unversioned" | head -20
  fail=1
fi

nm -g --defined-only "$archive" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort > "$tmp/archive"
if ! cmp -s "$tmp/expected" "$tmp/archive"; then
  echo "global definitions of $archive differ from $list (- missing, + extra; first 100):"
  diff "$tmp/expected" "$tmp/archive" | sed -n 's/^</-/p; s/^>/+/p' | head -100
  echo "($(wc -l < "$tmp/archive") global definitions in all)"
  fail=1
fi
[ "$fail" = 0 ] || exit 1
echo "$lib: SONAME $soname; $(wc -l < "$tmp/names") symbols exported, all pancseg_* of the ABI list, version PANCSEG_$abi"
echo "$archive: $(wc -l < "$tmp/archive") global definitions, the same functions"
