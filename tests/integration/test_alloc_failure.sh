#!/usr/bin/env bash
# Allocation-failure sweep of the feed parser, the proto decoders and `tigris classify
# --html` (docs/security.md, "Allocation failures"): builds tests/alloc/drive_*.c with the allocator
# wrappers of tests/alloc/failalloc.c against the library in TG_BIN_DIR (under the
# same sanitizers when that library has them) and runs them. Each fails allocation
# N for every N (then every allocation from N on) and checks: no crash, a clean
# error or the very same result, and no leaked block.
set -eu
top=${TG_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${TG_BIN_DIR:-$top/build}
lib=$bin/libtigris.a
out=$bin/alloc
[ -f "$lib" ] || { echo "no $lib: build first (make)"; exit 1; }
mkdir -p "$out"
cc=${CC:-cc}
pkgs="libzmq libcurl jansson libevent libxml-2.0 sqlite3 libhs libsystemd"
cflags="-std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
	-Wmissing-prototypes -Wno-unused-parameter $(pkg-config --cflags $pkgs)"
libs="$(pkg-config --libs $pkgs) -lm -lstdc++ -ldl -rdynamic"
san=
if nm "$lib" 2>/dev/null | grep -q '__asan_'; then
	san="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
	# LSan checks leaks at exit as well as the sweep block by block. Suppressed:
	# the one known libxml2 2.9 leak (docs/security.md), and ld.so's record of
	# libgcc_s, which backtrace() loads through the wrappers (a false positive).
	printf 'leak:xmlParseEntityValue\nleak:xmlStringLenDecodeEntities\nleak:_dl_map_object_deps\n' \
		>"$out/lsan.supp"
	export LSAN_OPTIONS="suppressions=$out/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
fi
for d in feed proto classify; do
	# shellcheck disable=SC2086
	$cc $cflags $san -o "$out/drive_$d" "$top/tests/alloc/drive_$d.c" \
		"$top/tests/alloc/failalloc.c" "$lib" $libs $san
done
inputs=()
for f in "$top"/tests/data/feeds/*; do
	case $f in *.expected.json) ;; *) inputs+=("$f") ;; esac
done
status=0
"$out/drive_feed" "${inputs[@]}" || status=1
"$out/drive_proto" || status=1
"$out/drive_classify" || status=1
exit $status
