#!/usr/bin/env bash
# The classifier's regression gate (`make eval`) inside `make test`: tigris classify
# over the tuning sets (items.jsonl and every dev<N>.jsonl, as one) must not drop any
# tag's F1 more than 0.02 below tests/data/eval-baseline.json. Also validates the data.
set -euo pipefail
# run.py exits 1 (and set -e fails this test) on any regression or bad data.
top=${TG_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${TG_BIN_DIR:-$top/build}
cd "$top"
/usr/bin/python3 tests/eval/run.py --check-data
/usr/bin/python3 tests/eval/run.py --tigris "$bin/tigris" --taxonomy deploy/taxonomy.tgt \
	--sets tuning \
	--baseline tests/data/eval-baseline.json
echo "eval: regression gate passed"

# The gate can fail: a taxonomy whose topic thresholds are out of reach tags no
# topic, and run.py must report the regression and exit 1.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed 's/^\(tag [a-z-]* topic\) 3$/\1 99/' deploy/taxonomy.tgt >"$tmp/broken.tgt"
grep -q '^tag strike topic 99$' "$tmp/broken.tgt" || { echo "FAIL: could not break the taxonomy"; exit 1; }
set +e
/usr/bin/python3 tests/eval/run.py --tigris "$bin/tigris" --taxonomy "$tmp/broken.tgt" \
	--data tests/data/eval/items.jsonl --baseline tests/data/eval-baseline.json >"$tmp/out" 2>&1
rc=$?
set -e
if [ "$rc" -ne 1 ] || ! grep -q '^REGRESSION: strike F1' "$tmp/out"; then
	echo "FAIL: a taxonomy that tags no topic passed the gate (rc $rc)"
	cat "$tmp/out"
	exit 1
fi
echo "eval: a broken taxonomy is caught as a regression"
