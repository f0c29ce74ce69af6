#!/usr/bin/env bash
# Installs the C library the way a vendor consumes it:
#   PREFIX/lib/libpancseg.so, libpancseg.a, libonnxruntime.so (the runtime pancseg loads),
#   PREFIX/include/pancseg.h and pancseg.hpp (the C++ RAII wrapper),
#   PREFIX/lib/pkgconfig/pancseg.pc, PREFIX/lib/cmake/pancseg/pancsegConfig.cmake (+ Version),
#   PREFIX/share/pancseg/models/default (when the default bundle exists).
# Then `find_package(pancseg CONFIG)` (with CMAKE_PREFIX_PATH=PREFIX) or
# `pkg-config --cflags --libs pancseg` work. Usage: scripts/install.sh PREFIX
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
install -d "$prefix/lib/pkgconfig" "$prefix/lib/cmake/pancseg" "$prefix/include" "$prefix/share/pancseg/models"
install -m 644 $dir/libpancseg.a "$prefix/lib/"
install -m 755 $dir/libpancseg.so "$prefix/lib/"
install -m 755 .ort/libonnxruntime.so "$prefix/lib/"
install -m 644 include/pancseg.h include/pancseg.hpp "$prefix/include/"
sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" packaging/pancseg.pc.in > "$prefix/lib/pkgconfig/pancseg.pc"
install -m 644 packaging/pancsegConfig.cmake "$prefix/lib/cmake/pancseg/"
sed -e "s|@VERSION@|$version|g" packaging/pancsegConfigVersion.cmake.in > "$prefix/lib/cmake/pancseg/pancsegConfigVersion.cmake"
if [ -f models/default/manifest.json ]; then
  rm -rf "$prefix/share/pancseg/models/default"
  cp -r models/default "$prefix/share/pancseg/models/default"
fi
echo "installed pancseg $version into $prefix"
