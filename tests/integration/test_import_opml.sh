#!/usr/bin/env bash
# `tigris import-opml`: feeds of an OPML list are added to a config (names made
# unique, duplicates skipped), the result validates, --write replaces the file
# atomically, a broken OPML or a result that would be invalid writes nothing.
set -u
top=${TG_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${TG_BIN_DIR:-$top/build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

cat >"$tmp/tigris.json" <<'JSON'
{
  "feeds": [ { "url": "https://existing.example.org/rss", "name": "existing" } ],
  "workers": 1
}
JSON
cp "$tmp/tigris.json" "$tmp/orig.json"

out=$("$bin/tigris" import-opml "$top/tests/data/opml/subscriptions.opml" --config "$tmp/tigris.json" 2>"$tmp/err")
[ $? -eq 0 ] && ok "import prints the merged config" || bad "import failed: $(cat "$tmp/err")"
cmp -s "$tmp/tigris.json" "$tmp/orig.json" && ok "without --write the config is untouched" || bad "config changed"
grep -q "4 feed(s) added, 1 already there" "$tmp/err" && ok "4 added, 1 skipped" || bad "counts: $(cat "$tmp/err")"
names=$(printf '%s' "$out" | /usr/bin/python3 -c 'import json,sys; print(" ".join(f["name"] for f in json.load(sys.stdin)["feeds"]))')
[ "$names" = "existing regional-wire gulf-desk regional-wire-2 n-code-co" ] && \
	ok "names derived and made unique ($names)" || bad "names: $names"

"$bin/tigris" import-opml "$top/tests/data/opml/subscriptions.opml" --config "$tmp/tigris.json" \
	--interval 600 --write 2>"$tmp/err" && ok "--write succeeds" || bad "--write failed"
"$bin/tigrisd" --check --config "$tmp/tigris.json" >/dev/null && ok "written config validates" || bad "invalid"
n=$(/usr/bin/python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(sum(1 for f in c["feeds"] if f.get("interval")==600))' "$tmp/tigris.json")
[ "$n" = 4 ] && ok "--interval applied to the 4 new feeds" || bad "interval on $n feeds"
"$bin/tigris" import-opml "$top/tests/data/opml/subscriptions.opml" --config "$tmp/tigris.json" --write 2>"$tmp/err"
grep -q "0 feed(s) added, 5 already there" "$tmp/err" && ok "importing again adds nothing" || bad "$(cat "$tmp/err")"
ls "$tmp" | grep -q '\.tmp\.' && bad "temporary file left behind" || ok "no temporary file left"

printf '<html><body>not opml</body></html>' >"$tmp/bad.opml"
cp "$tmp/tigris.json" "$tmp/before.json"
if "$bin/tigris" import-opml "$tmp/bad.opml" --config "$tmp/tigris.json" --write 2>"$tmp/err"; then
	bad "a non-OPML file was accepted"
else
	grep -q "not an OPML file" "$tmp/err" && ok "a non-OPML file is refused with a reason" || bad "$(cat "$tmp/err")"
fi
cat >"$tmp/ftp.opml" <<'OPML'
<opml version="2.0"><body><outline text="x" xmlUrl="ftp://files.example.org/feed"/></body></opml>
OPML
if "$bin/tigris" import-opml "$tmp/ftp.opml" --config "$tmp/tigris.json" --write 2>"$tmp/err"; then
	bad "a feed URL the config refuses was written"
else
	grep -q "nothing written" "$tmp/err" && ok "an invalid result is refused and nothing is written" || bad "$(cat "$tmp/err")"
fi
cmp -s "$tmp/tigris.json" "$tmp/before.json" && ok "config unchanged after the refusals" || bad "config changed"
[ $fail -eq 0 ] && echo "import-opml: all checks passed"
exit $fail
