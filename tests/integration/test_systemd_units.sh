#!/usr/bin/env bash
# Checks the systemd units in systemd/: `systemd-analyze verify` must accept every
# unit without printing a word, the options each ExecStart= passes must be known
# to the real binaries, and `systemd-analyze security --offline` must rate every
# service at an exposure of 2.0 or less. Needs no running systemd (works in a
# container); needs systemd-analyze from the Debian package "systemd".
set -u

top=${TG_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bindir=${TG_BIN_DIR:-$top/build}
max_exposure=2.0
units_dir=$top/systemd
failed=0

fail() {
	echo "FAIL: $*"
	failed=1
}

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "FAIL: systemd-analyze not found (install the Debian package \"systemd\")"
	exit 1
fi
case $bindir in
*[[:space:]\|\&\\]*)
	echo "FAIL: TG_BIN_DIR \"$bindir\" contains a character this test cannot put in a unit"
	exit 1
	;;
esac
for b in tigrisd tigris-worker; do
	if [ ! -x "$bindir/$b" ]; then
		echo "FAIL: $bindir/$b is missing: build it first (make all)"
		exit 1
	fi
done

units=()
for u in "$units_dir"/*.service "$units_dir"/*.target; do
	[ -e "$u" ] && units+=("$(basename "$u")")
done
if [ "${#units[@]}" -lt 3 ]; then
	echo "FAIL: expected tigrisd.service, tigris-worker@.service and tigris.target in $units_dir"
	exit 1
fi

# systemd-analyze verify insists that ExecStart= binaries exist, so check copies of
# the units whose /usr/local/bin paths point at the binaries just built.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SYSTEMD_COLORS=0 SYSTEMD_PAGER=cat LC_ALL=C.UTF-8

for u in "${units[@]}"; do
	sed "s|/usr/local/bin/|$bindir/|g" "$units_dir/$u" >"$tmp/$u"
done
for u in "${units[@]}"; do
	case $u in
	*.service)
		if ! grep -q "^ExecStart=$bindir/" "$tmp/$u"; then
			fail "$u: ExecStart= does not start a program from /usr/local/bin"
		fi
		;;
	esac
done

echo "== systemd-analyze verify"
for u in "${units[@]}"; do
	out=$(cd "$tmp" && systemd-analyze verify "./$u" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
		fail "$u: systemd-analyze verify (exit $rc):"
		printf '%s\n' "$out" | sed 's/^/    /'
	else
		echo "ok   $u"
	fi
done

# Every long option an ExecStart= passes must appear in the program's --help, so
# the units cannot drift from the command lines the binaries accept.
echo "== ExecStart= options"
for u in "${units[@]}"; do
	case $u in *.service) ;; *) continue ;; esac
	line=$(sed -n 's/^ExecStart=//p' "$tmp/$u")
	prog=${line%% *}
	help=$("$prog" --help 2>&1)
	for opt in $(printf '%s\n' "$line" | grep -oE -- '--[a-z][a-z-]*'); do
		if printf '%s\n' "$help" | grep -qE -- "(^|[^a-z-])$opt([^a-z-]|\$)"; then
			echo "ok   $u: $(basename "$prog") $opt"
		else
			fail "$u: $(basename "$prog") --help does not mention $opt"
		fi
	done
done

# Type=notify and WatchdogSec= only work if the program sends READY=1 and
# WATCHDOG=1; without them systemd kills it after TimeoutStartSec= or WatchdogSec=.
echo "== sd_notify messages"
for u in "${units[@]}"; do
	case $u in *.service) ;; *) continue ;; esac
	line=$(sed -n 's/^ExecStart=//p' "$tmp/$u")
	prog=${line%% *}
	need=()
	grep -q '^Type=notify' "$tmp/$u" && need+=("READY=1")
	grep -q '^WatchdogSec=' "$tmp/$u" && need+=("WATCHDOG=1")
	for msg in "${need[@]}"; do
		if grep -aq "$msg" "$prog"; then
			echo "ok   $u: $(basename "$prog") sends $msg"
		else
			fail "$u: $(basename "$prog") never sends $msg (the unit needs it)"
		fi
	done
done

echo "== systemd-analyze security --offline=true (fails above $max_exposure)"
for u in "${units[@]}"; do
	case $u in *.service) ;; *) continue ;; esac
	out=$(cd "$tmp" && systemd-analyze security --offline=true "./$u" 2>&1)
	level=$(printf '%s\n' "$out" |
	    sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p')
	if [ -z "$level" ]; then
		fail "$u: no exposure level in the output of systemd-analyze security:"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/    /'
		continue
	fi
	if awk -v l="$level" -v m="$max_exposure" 'BEGIN { exit !(l + 0 > m + 0) }'; then
		fail "$u: exposure $level is above $max_exposure; what counts against it:"
		printf '%s\n' "$out" | grep '✗' | sed 's/^/    /'
	else
		echo "ok   $u: exposure $level"
	fi
done

if [ "$failed" -ne 0 ]; then
	echo "systemd units: FAILED"
	exit 1
fi
echo "systemd units: all checks passed"
