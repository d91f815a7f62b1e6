#!/usr/bin/env bash
# Runs every fuzz target in BUILD/fuzz for SECONDS seconds each from a seed corpus
# made in BUILD/corpus (tests/data, deploy/, and a sample of the shared feedparser
# conformance corpus when it is there). Fails on any crash, leak or timeout.
# Usage: fuzz/run.sh BUILD SECONDS [target...]
# FUZZ_RUNS=N in the environment also stops each target after N executions;
# TG_FUZZ_PARSE_ONLY=1 makes fuzz_taxonomy run the parser alone (no Hyperscan).
# fuzz_classify loads deploy/taxonomy.tgt (under $TG_TOP when set) once.
set -u
build=${1:-build-fuzz}
secs=${2:-60}
shift 2 2>/dev/null || shift $#
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(feed proto config taxonomy classify)
corpus=$build/corpus
art=$build/artifacts
mkdir -p "$art"

seed_feed() {
	local d=$corpus/feed shared=$top/../shared/conformance/feedparser
	mkdir -p "$d"
	cp tests/data/feeds/*.xml tests/data/feeds/*.json tests/data/feeds/*.html "$d"/ 2>/dev/null
	cp deploy/demo/feeds/* "$d"/ 2>/dev/null
	if [ -d "$shared" ]; then
		# Every 8th file of the corpus, by name: a spread of formats and edge cases.
		find "$shared" -type f \( -name '*.xml' -o -name '*.json' -o -name '*.rdf' \) |
			sort | awk 'NR % 8 == 1' | while read -r f; do
			cp "$f" "$d/shared-$(echo "$f" | cksum | cut -d' ' -f1)"
		done
	fi
}

seed_proto() {
	local d=$corpus/proto
	mkdir -p "$d"
	/usr/bin/python3 - "$d" <<'PY'
import struct, sys, os, json
d = sys.argv[1]
def frames(sel, fs):
    return bytes([sel]) + b"".join(struct.pack(">H", len(f)) + f for f in fs)
hdr = lambda t: b"TG" + t + b"\x01"
seeds = {
    "item": frames(0, [hdr(b"I"), struct.pack(">Q", 7), b"id-1", b"feed", b"US strikes", b"summary text", b"World\nPolitics"]),
    "item-routed": frames(8, [b"\x00\x01route", hdr(b"I"), struct.pack(">Q", 1), b"x", b"", b"", b"", b""]),
    "result": frames(2, [hdr(b"R"), struct.pack(">Q", 7), b"0123456789abcdef", b"\x01",
        struct.pack(">B", 1) + b"\x04iran" + struct.pack(">ffB", 0.9, 0.5, 1) + b"\x00" + struct.pack(">II", 0, 4) + b"\x04iran"]),
    "hello": frames(4, [hdr(b"H"), struct.pack(">I", 8), struct.pack(">I", 1234)]),
    "heartbeat": frames(5, [hdr(b"B")]),
}
alert = {"v": 1, "type": "alert", "alert_id": "0" * 32, "epoch": "e1", "seq": 3,
         "published_ms": 1700000000000, "relevant": True, "taxonomy": "0123456789abcdef",
         "tags": ["iran"], "item": {"id": "a", "feed": "f", "title": "t", "authors": [], "categories": []},
         "evidence": [{"tag": "iran", "score": 0.9, "threshold": 0.5,
                       "evidence": [{"field": "title", "start": 0, "end": 4, "rule": "iran"}]}]}
seeds["alert"] = bytes([7]) + json.dumps(alert).encode()
for k, v in seeds.items():
    open(os.path.join(d, k), "wb").write(v)
PY
}

seed_classify() {
	local d=$corpus/classify
	mkdir -p "$d"
	# Items of the eval sets: two bytes that put the title's end where it is,
	# then title and body (the target splits the rest into title, summary and
	# categories).
	/usr/bin/python3 - "$d" tests/data/eval/*.jsonl <<'PY'
import json, os, sys
n = 0
for path in sys.argv[2:]:
    for line in open(path, encoding="utf-8"):
        if n >= 400:
            break
        o = json.loads(line)
        t, b = o.get("title", "").encode(), o.get("body", "").encode()
        data = t + b
        a = len(t) % 256
        open(os.path.join(sys.argv[1], "item-%03d" % n), "wb").write(bytes([a, 0]) + data)
        n += 1
PY
}

seed_config() {
	local d=$corpus/config
	mkdir -p "$d"
	cp deploy/*.json "$d"/
}

seed_taxonomy() {
	local d=$corpus/taxonomy
	mkdir -p "$d"
	cp deploy/taxonomy.tgt "$d"/
	# Small valid pieces of the real taxonomy, each under 4 KiB: its header (tags,
	# dyads, relevant), then about 1500 bytes of statements (a long term is cut
	# into several, each under its own term line), after a one-alias stub of
	# every term their rules and vetoes use from elsewhere. Every line of the
	# file is in some piece; the whole file stays as one more seed (cut to
	# -max_len when read).
	/usr/bin/python3 - deploy/taxonomy.tgt "$d" <<'PY'
import os, re, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
stmt = lambda l: l[:1] not in ("", " ", "\t", "#")
size = lambda ls: sum(len(l) + 1 for l in ls)
first = next(i for i, l in enumerate(lines) if l.startswith("term "))
header = [l for l in lines[:first] if stmt(l)]
blocks = []
for l in lines[first:]:
    if stmt(l) or not blocks:
        blocks.append([])
    blocks[-1].append(l)
stubs = {}
for b in blocks:
    w = b[0].split()
    if w and w[0] == "term":
        alias = next((l for l in b[1:] if l.strip() and not l.lstrip().startswith("#")), None)
        if alias is not None:
            stubs[w[1]] = [b[0], alias]
order = list(stubs)
# Pieces of at most about 1500 bytes: a long term is cut into several, each
# under its own term line (and then alone in its seed).
chunks, cur = [], []
for b in blocks:
    if size(b) > 1500:
        piece = []
        for l in b[1:]:
            if piece and size(piece) + len(l) > 1500:
                chunks.append([[b[0]] + piece])
                piece = []
            piece.append(l)
        chunks.append([[b[0]] + piece])
        continue
    if cur and sum(map(size, cur)) + size(b) > 1500:
        chunks.append(cur)
        cur = []
    cur.append(b)
chunks.append(cur)
def write(name, body):
    with open(os.path.join(sys.argv[2], name), "w", encoding="utf-8") as f:
        f.write("\n".join(body) + "\n")
write("header", header)
for n, c in enumerate(chunks):
    defined = {b[0].split()[1] for b in c if b[0].startswith("term ")}
    used = set()
    for b in c:
        if b[0].startswith(("rule ", "veto ")):
            used.update(re.split(r"[\s|]+", b[0]))
    body = list(header)
    for t in order:
        if t in used and t not in defined:
            body += stubs[t]
    for b in c:
        body += b
    write("part-%03d" % n, body)
PY
	# Words of the format, for the mutator.
	cat >"$corpus/taxonomy.dict" <<'DICT'
"taxonomy "
"field "
"title"
"summary"
"category"
" after "
"repeat "
"tag "
" actor "
" topic "
"dyad "
"relevant "
"term "
"rule "
"veto "
" = "
" AND "
" NOT "
" NEAR/"
" IN "
"|"
"*"
"    "
"    ="
"/"
"'s"
"'"
"&amp;"
"#"
DICT
}

status=0
for t in "${targets[@]}"; do
	bin=$build/fuzz/fuzz_$t
	[ -x "$bin" ] || { echo "missing $bin (make fuzz builds it)"; status=1; continue; }
	"seed_$t"
	opts=(-max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
		-artifact_prefix="$art/$t-")
	[ -z "${FUZZ_RUNS:-}" ] || opts+=(-runs="$FUZZ_RUNS")
	case $t in
	feed) opts+=(-dict=fuzz/feed.dict -max_len=65536) ;;
	# Taxonomy inputs stay small: the parser's cost grows with the input, and
	# 4 KiB holds every construct of the format many times over.
	taxonomy) opts+=(-dict="$corpus/taxonomy.dict" -max_len=4096) ;;
	*) opts+=(-max_len=8192) ;;
	esac
	echo "== fuzz_$t for ${secs}s"
	if ! "$bin" "${opts[@]}" "$corpus/$t" >"$build/fuzz-$t.log" 2>&1; then
		echo "FAIL fuzz_$t (log: $build/fuzz-$t.log)"
		grep -E 'ERROR|SUMMARY|Test unit written' "$build/fuzz-$t.log" | head -20
		status=1
	fi
	grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|cov: ' \
		"$build/fuzz-$t.log" | tail -4
done
exit $status
