#!/bin/sh
# Builds ffi-tests/link_program.c the two ways pkg-config offers and runs both on the fixtures:
# - `pkg-config --cflags --libs pancseg`: must need libpancseg.so.ABI (the SONAME) at run time;
# - `pkg-config --static --cflags --libs pancseg-static`: must need no libpancseg at all.
# Usage: pkg_config_link.sh PREFIX ABI_MAJOR SOURCE CT BUNDLE WORK_DIR
set -eu
prefix="$1"
abi="$2"
src="$3"
ct="$4"
bundle="$5"
work="$6"
mkdir -p "$work"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
export ORT_DYLIB_PATH="$prefix/lib/libonnxruntime.so"
cc="${CC:-cc}"
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p' | tr '\n' ' '; }

# shellcheck disable=SC2046
"$cc" -std=c99 -Wall -Wextra -Werror "$src" -o "$work/link_shared" $(pkg-config --cflags --libs pancseg)
n="$(needed "$work/link_shared")"
echo "shared (pkg-config pancseg): needs $n"
case " $n " in *" libpancseg.so.$abi "*) ;; *) echo "expected NEEDED libpancseg.so.$abi"; exit 1 ;; esac
"$work/link_shared" "$ct" "$bundle"

# shellcheck disable=SC2046
"$cc" -std=c99 -Wall -Wextra -Werror "$src" -o "$work/link_static" $(pkg-config --static --cflags --libs pancseg-static)
n="$(needed "$work/link_static")"
echo "static (pkg-config --static pancseg-static): needs $n"
case " $n " in *libpancseg*) echo "a static link must not need libpancseg"; exit 1 ;; esac
"$work/link_static" "$ct" "$bundle"
