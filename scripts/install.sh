#!/usr/bin/env bash
# Installs the C library the way a vendor consumes it:
#   PREFIX/lib/libpancseg.so.VERSION with the SONAME libpancseg.so.ABI and the symlinks
#   libpancseg.so.ABI and libpancseg.so; libpancseg.a; both export only the pancseg_* functions
#   (packaging/link-c-library.sh); libonnxruntime.so (the runtime pancseg loads),
#   PREFIX/include/pancseg.h and pancseg.hpp (the C++ RAII wrapper),
#   PREFIX/lib/pkgconfig/pancseg.pc (shared) and pancseg-static.pc (static),
#   PREFIX/lib/cmake/pancseg/pancsegConfig.cmake (+ Version),
#   PREFIX/share/pancseg/models/default (when the default bundle exists).
# Then `find_package(pancseg CONFIG)` (with CMAKE_PREFIX_PATH=PREFIX), `pkg-config --cflags
# --libs pancseg` or `pkg-config --static --cflags --libs pancseg-static` work.
# Usage: scripts/install.sh PREFIX
# PANCSEG_PROFILE=dev installs the dev-profile build (what `cargo test --workspace` already built;
# the tests use it to avoid a second, release build). It is made by the same selection of
# targets as the tests, so that cargo finds it fresh: `cargo build --lib` alone resolves the
# dependencies' features without the workspace's dev-dependencies and would rebuild clap and
# pancseg.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${1:?usage: scripts/install.sh PREFIX}"
mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"
scripts/fetch-onnxruntime.sh >/dev/null
profile="${PANCSEG_PROFILE:-release}"
case "$profile" in
  release) cargo build --release --quiet --lib; dir=target/release ;;
  dev)
    cargo test --workspace --no-run --quiet 2>/dev/null || cargo test --workspace --no-run
    # `cargo test` leaves the static and shared library in target/debug/deps; naming the lib
    # target (with the tests, so that the features match) copies them up, without a rebuild.
    cargo build --workspace --lib --tests --quiet
    dir=target/debug ;;
  *) echo "PANCSEG_PROFILE must be release or dev" >&2; exit 2 ;;
esac
version="$(sed -n 's/^#define PANCSEG_VERSION_STRING "\(.*\)"/\1/p' include/pancseg.h)"
abi="$(sed -n 's/^#define PANCSEG_ABI_MAJOR \([0-9]*\)$/\1/p' include/pancseg.h)"
[ -n "$version" ] && [ -n "$abi" ] || { echo "install: no version or ABI major in include/pancseg.h" >&2; exit 1; }
install -d "$prefix/lib/pkgconfig" "$prefix/lib/cmake/pancseg" "$prefix/include" "$prefix/share/pancseg/models"
rm -f "$prefix"/lib/libpancseg.so*
packaging/link-c-library.sh "$dir" "$prefix/lib" "$version" "$abi" tests/fixtures/abi/pancseg-0.1.txt
install -m 755 .ort/libonnxruntime.so "$prefix/lib/"
install -m 644 include/pancseg.h include/pancseg.hpp "$prefix/include/"
libs="$(sed 's/^/-l/' packaging/static-libs.txt | tr '\n' ' ' | sed 's/ $//')"
libs_cmake="$(tr '\n' ';' < packaging/static-libs.txt | sed 's/;$//')"
for pc in pancseg pancseg-static; do
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" -e "s|@ABI@|$abi|g" -e "s|@STATIC_LIBS@|$libs|g" \
    "packaging/$pc.pc.in" > "$prefix/lib/pkgconfig/$pc.pc"
done
sed -e "s|@VERSION@|$version|g" -e "s|@ABI@|$abi|g" -e "s|@STATIC_LIBS_CMAKE@|$libs_cmake|g" \
  packaging/pancsegConfig.cmake.in > "$prefix/lib/cmake/pancseg/pancsegConfig.cmake"
sed -e "s|@VERSION@|$version|g" packaging/pancsegConfigVersion.cmake.in > "$prefix/lib/cmake/pancseg/pancsegConfigVersion.cmake"
if [ -f models/default/manifest.json ]; then
  rm -rf "$prefix/share/pancseg/models/default"
  cp -r models/default "$prefix/share/pancseg/models/default"
fi
echo "installed pancseg $version into $prefix"
