#!/usr/bin/env bash
# The classifier's regression gate (`make eval`) inside `make test`: tigris classify
# over the tuning sets (items, dev2 to dev45 as one) must not drop any tag's F1 more
# than 0.02 below tests/data/eval-baseline.json. Also validates the data files.
set -euo pipefail
# run.py exits 1 (and set -e fails this test) on any regression or bad data.
top=${TG_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${TG_BIN_DIR:-$top/build}
cd "$top"
/usr/bin/python3 tests/eval/run.py --check-data
/usr/bin/python3 tests/eval/run.py --tigris "$bin/tigris" --taxonomy deploy/taxonomy.tgt \
	--data tests/data/eval/items.jsonl --data tests/data/eval/dev2.jsonl \
	--data tests/data/eval/dev3.jsonl --data tests/data/eval/dev4.jsonl \
	--data tests/data/eval/dev5.jsonl --data tests/data/eval/dev6.jsonl \
	--data tests/data/eval/dev7.jsonl --data tests/data/eval/dev8.jsonl \
	--data tests/data/eval/dev9.jsonl --data tests/data/eval/dev10.jsonl \
	--data tests/data/eval/dev11.jsonl --data tests/data/eval/dev12.jsonl \
	--data tests/data/eval/dev13.jsonl --data tests/data/eval/dev14.jsonl \
	--data tests/data/eval/dev15.jsonl --data tests/data/eval/dev16.jsonl \
	--data tests/data/eval/dev17.jsonl --data tests/data/eval/dev18.jsonl \
	--data tests/data/eval/dev19.jsonl --data tests/data/eval/dev20.jsonl \
	--data tests/data/eval/dev21.jsonl --data tests/data/eval/dev22.jsonl \
	--data tests/data/eval/dev23.jsonl --data tests/data/eval/dev24.jsonl \
	--data tests/data/eval/dev25.jsonl --data tests/data/eval/dev26.jsonl \
	--data tests/data/eval/dev27.jsonl --data tests/data/eval/dev28.jsonl \
	--data tests/data/eval/dev29.jsonl --data tests/data/eval/dev30.jsonl \
	--data tests/data/eval/dev31.jsonl --data tests/data/eval/dev32.jsonl \
	--data tests/data/eval/dev33.jsonl --data tests/data/eval/dev34.jsonl \
	--data tests/data/eval/dev35.jsonl --data tests/data/eval/dev36.jsonl \
	--data tests/data/eval/dev37.jsonl --data tests/data/eval/dev38.jsonl \
	--data tests/data/eval/dev39.jsonl --data tests/data/eval/dev40.jsonl \
	--data tests/data/eval/dev41.jsonl --data tests/data/eval/dev42.jsonl \
	--data tests/data/eval/dev43.jsonl --data tests/data/eval/dev44.jsonl \
	--data tests/data/eval/dev45.jsonl \
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
