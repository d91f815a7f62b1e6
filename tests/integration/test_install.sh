#!/usr/bin/env bash
# Checks `make install` and `make uninstall` into a DESTDIR staging tree: the
# programs, man pages (which must format without a warning), docs, systemd units
# (with their paths following PREFIX, under $(PREFIX)/lib/systemd/system), and the
# config and taxonomy in /etc/tigris, which are never overwritten and are kept by
# uninstall when changed. Uninstall must leave no file behind. Uses the binaries
# already built in TG_BIN_DIR (INSTALL_NOBUILD=1), so it never compiles.
set -u

top=${TG_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bindir=${TG_BIN_DIR:-$top/build}
build=$(basename "$bindir")
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Run make afresh, not as part of the make that may be running the tests.
unset MAKEFLAGS MFLAGS MAKELEVEL
export LC_ALL=C.UTF-8

fail() {
	echo "FAIL: $*"
	failed=1
}

ok() {
	echo "ok: $*"
}

mk() {
	make -s -C "$top" BUILD="$build" INSTALL_NOBUILD=1 "$@"
}

for b in tigrisd tigris-worker tigris; do
	if [ ! -x "$bindir/$b" ]; then
		echo "FAIL: $bindir/$b is missing: build it first (make all)"
		exit 1
	fi
done
if [ "$(dirname "$bindir")" != "$top" ]; then
	echo "FAIL: TG_BIN_DIR ($bindir) must be a directory in $top"
	exit 1
fi

expect_file() { # path mode
	if [ ! -f "$1" ]; then
		fail "$1 is missing"
		return
	fi
	local mode
	mode=$(stat -c %a "$1")
	[ "$mode" = "$2" ] || fail "$1 has mode $mode, expected $2"
}

# 1. PREFIX=/usr/local (the default)
dest=$tmp/a
if ! mk install DESTDIR="$dest" >"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log"
	fail "make install failed"
	exit 1
fi
for b in tigrisd tigris-worker tigris; do
	expect_file "$dest/usr/local/bin/$b" 755
	cmp -s "$bindir/$b" "$dest/usr/local/bin/$b" || fail "$b differs from the build"
done
for u in tigrisd.service tigris-worker@.service tigris.target; do
	expect_file "$dest/usr/local/lib/systemd/system/$u" 644
done
grep -q '^ExecStart=/usr/local/bin/tigrisd ' "$dest/usr/local/lib/systemd/system/tigrisd.service" ||
	fail "tigrisd.service does not start /usr/local/bin/tigrisd"
for m in man1/tigris.1 man5/tigris.conf.5 man8/tigrisd.8 man8/tigris-worker.8; do
	expect_file "$dest/usr/local/share/man/$m" 644
done
expect_file "$dest/usr/local/share/doc/tigris/README.md" 644
expect_file "$dest/usr/local/share/doc/tigris/operations.md" 644
expect_file "$dest/etc/tigris/tigris.json" 644
expect_file "$dest/etc/tigris/taxonomy.tgt" 644
cmp -s "$top/deploy/taxonomy.tgt" "$dest/etc/tigris/taxonomy.tgt" || fail "taxonomy.tgt differs"
[ -z "$(find "$dest" -path '*/var/*')" ] || fail "install wrote under /var (the state dir is the daemon's)"
ok "install tree under PREFIX=/usr/local"

# The installed programs run, and the installed config is valid.
"$dest/usr/local/bin/tigrisd" --check --config "$dest/etc/tigris/tigris.json" >"$tmp/check.log" 2>&1 ||
	{ cat "$tmp/check.log"; fail "tigrisd --check rejects the installed config"; }
"$dest/usr/local/bin/tigris" --help | grep -q '^  feeds ' || fail "tigris --help lacks the feeds command"
"$dest/usr/local/bin/tigris-worker" --help >/dev/null || fail "tigris-worker --help fails"
ok "installed programs run and the installed config checks"

# Man pages format without warnings, each with a NAME line that man-db can index.
if ! command -v groff >/dev/null; then
	fail "groff not found (Debian package groff-base)"
else
	for m in "$dest"/usr/local/share/man/man*/*; do
		warn=$(groff -man -Tutf8 -ww -z "$m" 2>&1)
		[ -z "$warn" ] || fail "$m: groff warns: $warn"
		text=$(groff -man -Tutf8 "$m" 2>/dev/null | col -b 2>/dev/null || true)
		name=$(basename "$m")
		name=${name%.*}
		echo "$text" | grep -q "^NAME" || fail "$m has no NAME section"
		echo "$text" | grep -q "$name" || fail "$m never names $name"
		if command -v lexgrog >/dev/null; then
			lexgrog "$m" >/dev/null 2>&1 || fail "$m: lexgrog cannot read its NAME line"
		fi
	done
	ok "man pages format cleanly"
fi

# tigris.conf(5) describes every key the daemon knows (as a ".B key" tag line).
keys=$("$bindir/tigrisd" --help | sed -n 's/^  \([a-z_]*\) (.*/\1/p')
[ -n "$keys" ] || fail "tigrisd --help lists no config keys"
for k in $keys; do
	grep -qx "\.B $k" "$top/docs/man/tigris.conf.5" || fail "tigris.conf.5 does not describe \"$k\""
done
ok "tigris.conf.5 describes all $(echo $keys | wc -w) config keys"

# 2. A reinstall keeps an edited config; uninstall keeps it too, removes the rest.
echo '{"feeds": []}' >"$dest/etc/tigris/tigris.json"
mk install DESTDIR="$dest" >"$tmp/install2.log" 2>&1 || fail "second make install failed"
grep -q '"feeds": \[\]' "$dest/etc/tigris/tigris.json" || fail "install overwrote an existing config"
grep -q "keeping .*tigris.json" "$tmp/install2.log" || fail "install does not say it kept the config"
mk uninstall DESTDIR="$dest" >"$tmp/uninstall.log" 2>&1 || fail "make uninstall failed"
[ -f "$dest/etc/tigris/tigris.json" ] || fail "uninstall removed an edited config"
[ ! -e "$dest/etc/tigris/taxonomy.tgt" ] || fail "uninstall left the unchanged taxonomy"
left=$(find "$dest" -type f ! -path "$dest/etc/tigris/tigris.json")
[ -z "$left" ] || fail "uninstall left files behind: $left"
rm -f "$dest/etc/tigris/tigris.json"
mk uninstall DESTDIR="$dest" >/dev/null 2>&1 || fail "a second make uninstall failed"
[ ! -e "$dest/etc/tigris" ] || fail "uninstall left an empty /etc/tigris"
ok "reinstall keeps an edited config; uninstall removes everything else"

# 3. PREFIX=/usr: units in /usr/lib/systemd/system with /usr paths.
dest=$tmp/b
mk install DESTDIR="$dest" PREFIX=/usr >"$tmp/install3.log" 2>&1 ||
	{ cat "$tmp/install3.log"; fail "make install PREFIX=/usr failed"; }
expect_file "$dest/usr/bin/tigrisd" 755
unit=$dest/usr/lib/systemd/system/tigrisd.service
expect_file "$unit" 644
grep -q '^ExecStart=/usr/bin/tigrisd ' "$unit" || fail "PREFIX=/usr: ExecStart is not /usr/bin/tigrisd"
! grep -v '^#' "$unit" | grep -q '/usr/local' || fail "PREFIX=/usr: the unit still names /usr/local"
grep -q '^ExecStart=/usr/bin/tigris-worker ' "$dest/usr/lib/systemd/system/tigris-worker@.service" ||
	fail "PREFIX=/usr: the worker unit does not start /usr/bin/tigris-worker"
expect_file "$dest/usr/share/man/man8/tigrisd.8" 644
expect_file "$dest/etc/tigris/tigris.json" 644
mk uninstall DESTDIR="$dest" PREFIX=/usr >/dev/null 2>&1 || fail "make uninstall PREFIX=/usr failed"
left=$(find "$dest" -type f)
[ -z "$left" ] || fail "PREFIX=/usr: uninstall left files behind: $left"
ok "PREFIX=/usr install and uninstall"

if [ "$failed" -ne 0 ]; then
	echo "test_install: FAILED"
	exit 1
fi
echo "test_install: all ok"
