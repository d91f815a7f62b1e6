#!/usr/bin/env bash
# Runs the unit tests (cmocka binaries) and/or the integration tests (scripts in
# tests/integration) against the binaries in BUILD, and prints one closing line
# "N passed, N failed". Exits non-zero if anything failed.
set -u
what=${1:-all}
build=${2:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
export TG_BIN_DIR="$top/$build"
export TG_TOP="$top"
passed=0
failed=0
failures=()

run_one() {
	local name=$1; shift
	local log="$top/$build/logs/$name.log"
	mkdir -p "$(dirname "$log")"
	if "$@" >"$log" 2>&1; then
		passed=$((passed + 1))
		echo "PASS $name"
	else
		failed=$((failed + 1))
		failures+=("$name")
		echo "FAIL $name (log: $log)"
		tail -n 40 "$log" | sed 's/^/    /'
	fi
}

if [ "$what" = unit ] || [ "$what" = all ]; then
	for t in "$top/$build"/tests/test_*; do
		[ -x "$t" ] || continue
		run_one "unit/$(basename "$t")" "$t"
	done
fi
if [ "$what" = integration ] || [ "$what" = all ]; then
	for t in "$top"/tests/integration/test_*; do
		[ -x "$t" ] || continue
		run_one "integration/$(basename "$t")" "$t"
	done
fi
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
