#!/bin/sh
# Benchmark driver, run by `make bench` after the optimised build: installs the
# Debian packages of the side-by-side contenders if they are missing (as root, or
# through sudo without a password), then runs bench/bench.py, which prints the
# table and writes bench/results.json. See docs/benchmarks.md.
#
# usage: bench/run.sh [BUILD_DIR] [bench.py options...]   (BUILD_DIR: build-bench)
# env:   BENCH_IDLE_SECS=60 for the full idle minute, BENCH_ONLY=parse,classify,...
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build-bench}
[ $# -gt 0 ] && shift
case $build in
/*) ;;
*) build=$top/$build ;;
esac

# Contenders and tools: package, then a file it installs.
need="python3:/usr/bin/python3 python3-feedparser:/usr/lib/python3/dist-packages/feedparser
newsboat:/usr/bin/newsboat"
missing=
for entry in $need; do
	pkg=${entry%%:*}
	file=${entry#*:}
	[ -e "$file" ] || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -eq 0 ]; then
		sudo=
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo="sudo -n"
	else
		sudo=none
	fi
	if [ "$sudo" = none ]; then
		echo "bench: cannot install$missing (not root, no sudo); those comparisons are skipped" >&2
	else
		echo "bench: installing$missing" >&2
		if ! { $sudo apt-get update -qq &&
			DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing; } >&2; then
			echo "bench: installing$missing failed; those comparisons are skipped" >&2
		fi
	fi
fi

for prog in tigrisd tigris-worker bench/bench_parse bench/bench_classify bench/bench_hs bench/bench_httpd \
	bench/bench_sub; do
	if [ ! -x "$build/$prog" ]; then
		echo "bench: $build/$prog is missing; run \`make bench\`" >&2
		exit 1
	fi
done

exec /usr/bin/python3 "$top/bench/bench.py" --bindir "$build" "$@"
