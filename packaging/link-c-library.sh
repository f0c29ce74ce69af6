#!/usr/bin/env bash
# Makes the C library a vendor links, from the static library cargo builds (IN/libpancseg.a):
#   OUT/libpancseg.a            one relocatable object (`ld -r` of every member) in which only
#                               the pancseg_* functions of the ABI list stay global; everything
#                               else (Rust std and crates, the OpenJPEG port's opj_* functions,
#                               CharLS, ...) is made local, so that a host's own copies of those
#                               libraries neither clash with nor take over pancseg's.
#   OUT/libpancseg.so.A.B.C     the shared library linked from that object, with the SONAME
#                               libpancseg.so.ABI and the symbol version PANCSEG_<ABI> on every
#                               function (packaging/pancseg.map.in); it exports nothing else.
#   OUT/libpancseg.so.ABI, OUT/libpancseg.so   the usual symlinks.
# Why not cargo's cdylib: rustc exports every #[no_mangle] function of every dependency from a
# cdylib (the OpenJPEG port has 51) through its own anonymous version script, which a second
# script cannot narrow; linking the shared object here gives exactly the header's functions.
# The system libraries both need are packaging/static-libs.txt (rustc --print native-static-libs).
# Usage: packaging/link-c-library.sh IN_DIR OUT_DIR VERSION ABI_MAJOR ABI_LIST
set -euo pipefail
in="${1:?usage: link-c-library.sh IN_DIR OUT_DIR VERSION ABI_MAJOR ABI_LIST}"
out="${2:?}"
version="${3:?}"
abi="${4:?}"
list="${5:?}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
sed -n 's/^fn //p' "$list" | sort > "$work/exports.txt"
[ -s "$work/exports.txt" ] || { echo "link-c-library: no functions in $list" >&2; exit 1; }
# 1. every archive member in one object; only the ABI's functions global
ld -r --whole-archive "$in/libpancseg.a" -o "$work/pancseg.o"
# and without the LLVM bitcode rustc embeds (.llvmbc/.llvmcmd): the host toolchain's LTO plugin
# (binutils loads LLVMgold from bfd-plugins) reads it, and an older LLVM aborts on it
objcopy --keep-global-symbols="$work/exports.txt" --remove-section=.llvmbc \
  --remove-section=.llvmcmd "$work/pancseg.o"
rm -f "$out/libpancseg.a"
ar rcsD "$out/libpancseg.a" "$work/pancseg.o"
# 2. the shared library from the same object
sed "s/@ABI@/$abi/g" "$here/pancseg.map.in" > "$work/pancseg.map"
# shellcheck disable=SC2046
cc -shared -o "$out/libpancseg.so.$version" "$work/pancseg.o" \
  -Wl,-soname,"libpancseg.so.$abi" -Wl,--version-script="$work/pancseg.map" \
  -Wl,--gc-sections -Wl,-z,relro,-z,now -Wl,-z,noexecstack -Wl,--as-needed \
  $(sed 's/^/-l/' "$here/static-libs.txt")
ln -sf "libpancseg.so.$version" "$out/libpancseg.so.$abi"
ln -sf "libpancseg.so.$abi" "$out/libpancseg.so"
