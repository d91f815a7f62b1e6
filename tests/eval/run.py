#!/usr/bin/python3
# Scores the classifier against the labelled evaluation set: feeds every item to
# `tigris classify`, prints per-tag precision/recall/F1, averages, the exact-match
# rate and the misclassified items, and fails when a tag regresses against the
# recorded baseline. Several --data files are scored as one set; without
# --baseline the figures are only printed (the held-out sets). --check-data
# validates the data files instead. Stdlib only.
#
#   tests/eval/run.py --tigris build/tigris --taxonomy deploy/taxonomy.tgt \
#       --sets tuning --baseline tests/data/eval-baseline.json   # every tuning set as one
#   tests/eval/run.py --tigris ... --taxonomy ... --data tests/data/eval/holdout.jsonl
#   tests/eval/run.py --list held-out          # the held-out files, one per line
#   tests/eval/run.py --check-data [--data FILE ...]
#
# The sets are found by name in tests/data/eval (items.jsonl and dev<N>.jsonl are
# tuning sets, holdout.jsonl and holdout<N>.jsonl held out), so adding a set needs
# no list edited anywhere.
#
# Exit status: 0 ok, 1 regression or classify failure or bad data, 2 usage.

import argparse
import json
import os
import re
import signal
import subprocess
import sys

ACTORS = ["iraq", "us", "iran"]
DYADS = {"iraq-us": ("iraq", "us"), "us-iran": ("us", "iran"), "iraq-iran": ("iraq", "iran")}
TOPICS = ["strike", "troops", "militia", "sanctions", "diplomacy", "nuclear", "terrorism"]
TAGS = ACTORS + list(DYADS) + TOPICS
ROWS = TAGS + ["relevant"]
TOLERANCE = 0.02
MAX_LISTED = 40

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EVAL_DIR = os.path.join(TOP, "tests/data/eval")


def eval_sets(kind):
	"""The data files of one kind, found in tests/data/eval so that a new set needs
	no list edited: "tuning" is items.jsonl and dev<N>.jsonl, "held-out" is
	holdout.jsonl and holdout<N>.jsonl, each in numeric order."""
	prefix = {"tuning": "dev", "held-out": "holdout"}[kind]
	found = []
	for name in os.listdir(EVAL_DIR):
		m = re.fullmatch(r"%s(\d*)\.jsonl" % prefix, name)
		if m:
			found.append((int(m.group(1) or 1), name))
	names = [n for _, n in sorted(found)]
	if kind == "tuning" and os.path.exists(os.path.join(EVAL_DIR, "items.jsonl")):
		names.insert(0, "items.jsonl")
	return [os.path.join(EVAL_DIR, n) for n in names]


def gold_relevant(tags):
	"""The relevance rule: iraq or iran present (us needs one of them anyway)."""
	return "iraq" in tags or "iran" in tags


def check_item(obj, where):
	"""Problems with one data line, as a list of strings."""
	errs = []
	if not isinstance(obj, dict):
		return ["%s: not a JSON object" % where]
	allowed = {"id", "title", "body", "labels", "note"}
	for k in obj:
		if k not in allowed:
			errs.append("%s: unknown key %r" % (where, k))
	for k in ("id", "title"):
		if not isinstance(obj.get(k), str) or not obj.get(k).strip():
			errs.append("%s: %r missing or not a non-empty string" % (where, k))
	# A headline-only item (as many feeds send) has an empty body.
	if not isinstance(obj.get("body"), str):
		errs.append("%s: 'body' missing or not a string" % where)
	if "note" in obj and not isinstance(obj["note"], str):
		errs.append("%s: note is not a string" % where)
	lab = obj.get("labels")
	if not isinstance(lab, dict) or set(lab) != {"tags", "relevant"}:
		return errs + ["%s: labels must be {\"tags\": [...], \"relevant\": bool}" % where]
	tags, rel = lab["tags"], lab["relevant"]
	if not isinstance(rel, bool):
		errs.append("%s: relevant is not a boolean" % where)
	if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
		return errs + ["%s: tags is not a list of strings" % where]
	for t in tags:
		if t not in TAGS:
			errs.append("%s: tag %r not in the vocabulary" % (where, t))
	if len(set(tags)) != len(tags):
		errs.append("%s: duplicate tags" % where)
	if tags != sorted(tags):
		errs.append("%s: tags not sorted" % where)
	s = set(tags)
	for d, (a, b) in DYADS.items():
		if (d in s) != (a in s and b in s):
			errs.append("%s: dyad %s inconsistent with actors" % (where, d))
	if isinstance(rel, bool) and rel != gold_relevant(s):
		errs.append("%s: relevant=%s contradicts the rule (iraq or iran)" % (where, rel))
	return errs


def load_items(path):
	"""(items, problems) from a JSON-lines file."""
	items, errs = [], []
	try:
		f = open(path, encoding="utf-8")
	except OSError as e:
		return [], ["%s: %s" % (path, e.strerror)]
	with f:
		for n, line in enumerate(f, 1):
			if not line.strip():
				continue
			where = "%s:%d" % (path, n)
			try:
				obj = json.loads(line)
			except ValueError as e:
				errs.append("%s: bad JSON: %s" % (where, e))
				continue
			errs.extend(check_item(obj, where))
			items.append(obj)
	if not items:
		errs.append("%s: no items" % path)
	return items, errs


def check_data(paths, baseline):
	"""Validate data files (ids unique across all of them) and the baseline."""
	errs, seen, titles = [], {}, {}
	for p in paths:
		items, e = load_items(p)
		errs.extend(e)
		for it in items:
			i = it.get("id") if isinstance(it, dict) else None
			if not isinstance(i, str):
				continue
			if i in seen:
				errs.append("%s: duplicate id %s (also in %s)" % (p, i, seen[i]))
			seen[i] = p
			t = it.get("title")
			if isinstance(t, str):
				if t in titles:
					errs.append("%s: %s repeats the title of %s" % (p, i, titles[t]))
				titles[t] = i
		print("%s: %d items" % (p, len(items)))
	if baseline and os.path.exists(baseline):
		try:
			with open(baseline, encoding="utf-8") as f:
				b = json.load(f)
			per = b["per_tag_f1"]
			for r in ROWS:
				if not isinstance(per.get(r), (int, float)):
					errs.append("%s: per_tag_f1.%s missing" % (baseline, r))
			for k in ("micro_f1", "exact_match"):
				if not isinstance(b.get(k), (int, float)):
					errs.append("%s: %s missing" % (baseline, k))
		except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
			errs.append("%s: unreadable baseline: %s" % (baseline, e))
	for e in errs:
		print(e, file=sys.stderr)
	print("check-data: %d problem(s)" % len(errs))
	return 1 if errs else 0


def pred_tags(obj):
	"""Tag names from a classify output line: a list of names or of {"tag": name}."""
	out = []
	for t in obj.get("tags") or []:
		if isinstance(t, str):
			out.append(t)
		elif isinstance(t, dict):
			n = t.get("tag", t.get("name"))
			if isinstance(n, str):
				out.append(n)
	return out


def classify(tigris, taxonomy, items, timeout):
	"""Run `tigris classify`; returns ({id: (tags set, relevant)}, error or None)."""
	cmd = [tigris, "classify", "--taxonomy", taxonomy]
	feed = "".join(json.dumps({"id": it["id"], "title": it["title"], "body": it["body"]},
	    ensure_ascii=False) + "\n" for it in items)
	try:
		p = subprocess.run(cmd, input=feed.encode("utf-8"), stdout=subprocess.PIPE,
		    stderr=subprocess.PIPE, timeout=timeout)
	except (OSError, subprocess.TimeoutExpired) as e:
		return None, "%s: %s" % (" ".join(cmd), e)
	if p.returncode != 0:
		tail = p.stderr.decode("utf-8", "replace").strip().splitlines()[-10:]
		return None, "%s exited with %d\n%s" % (" ".join(cmd), p.returncode, "\n".join(tail))
	preds, unknown = {}, set()
	for n, line in enumerate(p.stdout.decode("utf-8", "replace").splitlines(), 1):
		if not line.strip():
			continue
		try:
			obj = json.loads(line)
		except ValueError as e:
			return None, "classify output line %d: bad JSON: %s" % (n, e)
		if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
			return None, "classify output line %d: no id" % n
		tags = set(pred_tags(obj))
		unknown |= tags - set(TAGS)
		preds[obj["id"]] = (tags & set(TAGS), bool(obj.get("relevant")))
	missing = [it["id"] for it in items if it["id"] not in preds]
	if missing:
		return None, "classify gave no result for %d item(s): %s" % (len(missing),
		    " ".join(missing[:10]))
	if unknown:
		print("warning: classify emitted unknown tags: %s" % " ".join(sorted(unknown)),
		    file=sys.stderr)
	return preds, None


def prf(tp, fp, fn):
	"""Precision, recall, F1; a row with nothing to find and nothing found scores 1."""
	if tp + fp + fn == 0:
		return 1.0, 1.0, 1.0
	p = tp / (tp + fp) if tp + fp else 0.0
	r = tp / (tp + fn) if tp + fn else 0.0
	f = 2 * p * r / (p + r) if p + r else 0.0
	return p, r, f


def score(items, preds):
	"""All figures as a dict (see --json)."""
	counts = {r: [0, 0, 0] for r in ROWS}
	wrong, exact = [], 0
	for it in items:
		gt, gr = set(it["labels"]["tags"]), it["labels"]["relevant"]
		pt, pr = preds[it["id"]]
		for t in TAGS:
			g, p = t in gt, t in pt
			if g and p:
				counts[t][0] += 1
			elif p:
				counts[t][1] += 1
			elif g:
				counts[t][2] += 1
		c = counts["relevant"]
		if gr and pr:
			c[0] += 1
		elif pr:
			c[1] += 1
		elif gr:
			c[2] += 1
		if gt == pt and gr == pr:
			exact += 1
		else:
			wrong.append({"id": it["id"], "title": it["title"],
			    "gold": sorted(gt), "gold_relevant": gr,
			    "pred": sorted(pt), "pred_relevant": pr})
	rows = {}
	for r in ROWS:
		tp, fp, fn = counts[r]
		p, rc, f = prf(tp, fp, fn)
		rows[r] = {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": rc,
		    "f1": f, "support": tp + fn}
	stp = sum(counts[t][0] for t in TAGS)
	sfp = sum(counts[t][1] for t in TAGS)
	sfn = sum(counts[t][2] for t in TAGS)
	mp, mr, mf = prf(stp, sfp, sfn)
	macro = [sum(rows[t][k] for t in TAGS) / len(TAGS) for k in ("precision", "recall", "f1")]
	return {"items": len(items), "rows": rows,
	    "micro": {"precision": mp, "recall": mr, "f1": mf},
	    "macro": {"precision": macro[0], "recall": macro[1], "f1": macro[2]},
	    "exact_match": exact / len(items) if items else 0.0,
	    "misclassified": wrong}


def fmt_tags(tags, rel):
	return "[%s]%s" % (",".join(tags) or "-", " R" if rel else "")


def report(res, data):
	"""Print the table and the misclassified items."""
	print("eval: %s, %d items" % (data, res["items"]))
	print("%-10s %5s %5s %5s %6s %6s %6s %7s" % ("tag", "TP", "FP", "FN", "prec", "rec",
	    "F1", "support"))
	for r in ROWS:
		if r == "relevant":
			print("-" * 55)
		x = res["rows"][r]
		print("%-10s %5d %5d %5d %6.3f %6.3f %6.3f %7d" % (r, x["tp"], x["fp"], x["fn"],
		    x["precision"], x["recall"], x["f1"], x["support"]))
	print("-" * 55)
	for k in ("micro", "macro"):
		x = res[k]
		print("%-10s %17s %6.3f %6.3f %6.3f   (13 tags)" % (k, "", x["precision"],
		    x["recall"], x["f1"]))
	print("exact match %.3f (%d/%d)" % (res["exact_match"],
	    res["items"] - len(res["misclassified"]), res["items"]))
	wrong = res["misclassified"]
	if wrong:
		print("\nmisclassified (%d, showing %d; R = relevant):" % (len(wrong),
		    min(len(wrong), MAX_LISTED)))
		for w in wrong[:MAX_LISTED]:
			print("  %s  gold %s  pred %s  | %s" % (w["id"],
			    fmt_tags(w["gold"], w["gold_relevant"]),
			    fmt_tags(w["pred"], w["pred_relevant"]), w["title"][:60]))


def figures(res):
	return {"per_tag_f1": {r: round(res["rows"][r]["f1"], 4) for r in ROWS},
	    "micro_f1": round(res["micro"]["f1"], 4),
	    "exact_match": round(res["exact_match"], 4)}


def compare(res, path):
	"""Regressions against the baseline, as a list of strings (empty: none)."""
	try:
		with open(path, encoding="utf-8") as f:
			base = json.load(f)
		per = base["per_tag_f1"]
	except (OSError, ValueError, KeyError, TypeError) as e:
		return ["cannot read baseline %s: %s" % (path, e)]
	bad = []
	for r in ROWS:
		b = per.get(r, 0.0)
		now = res["rows"][r]["f1"]
		if now < b - TOLERANCE:
			bad.append("%s F1 %.3f is below baseline %.3f" % (r, now, b))
	b = base.get("micro_f1", 0.0)
	if res["micro"]["f1"] < b - TOLERANCE:
		bad.append("micro F1 %.3f is below baseline %.3f" % (res["micro"]["f1"], b))
	b = base.get("exact_match", 0.0)
	if res["exact_match"] < b - TOLERANCE:
		print("note: exact match %.3f is below baseline %.3f" % (res["exact_match"], b))
	return bad


def main():
	ap = argparse.ArgumentParser(description="Score `tigris classify` on the eval set.")
	ap.add_argument("--tigris", help="path of the tigris binary")
	ap.add_argument("--taxonomy", help="taxonomy file passed to classify")
	ap.add_argument("--data", action="append",
	    help="JSON-lines data file (repeatable: the files are scored as one set)")
	ap.add_argument("--sets", choices=("tuning", "held-out"),
	    help="add every tuning or every held-out file of tests/data/eval to --data")
	ap.add_argument("--list", choices=("tuning", "held-out"),
	    help="print the tuning or held-out files of tests/data/eval, one per line, and exit")
	ap.add_argument("--baseline", help="baseline JSON with per_tag_f1, micro_f1, exact_match")
	ap.add_argument("--write-baseline", action="store_true",
	    help="write the current figures to --baseline instead of comparing")
	ap.add_argument("--json", metavar="OUT", help="also write the full report as JSON")
	ap.add_argument("--timeout", type=float, default=600, help="classify timeout, seconds")
	ap.add_argument("--check-data", action="store_true",
	    help="validate the data files (default: every file of tests/data/eval) and exit")
	a = ap.parse_args()

	if a.list:
		print("\n".join(eval_sets(a.list)))
		return 0
	if a.sets:
		a.data = (a.data or []) + eval_sets(a.sets)
	if a.check_data:
		return check_data(a.data or eval_sets("tuning") + eval_sets("held-out"), a.baseline)
	if not (a.tigris and a.taxonomy and a.data):
		ap.error("--tigris, --taxonomy and --data are required")
	if a.write_baseline and not a.baseline:
		ap.error("--write-baseline needs --baseline")
	names = [os.path.basename(d)[:-len(".jsonl")] if d.endswith(".jsonl") else d for d in a.data]
	data = " + ".join(names) if len(names) <= 4 else "%s, %s ... %s (%d files)" % (
	    names[0], names[1], names[-1], len(names))
	items, errs, seen = [], [], set()
	for path in a.data:
		more, e = load_items(path)
		errs += e
		for it in more:
			if it["id"] in seen:
				errs.append("%s: id %s is also in another --data file" % (path, it["id"]))
			seen.add(it["id"])
		items += more
	if errs:
		for e in errs:
			print(e, file=sys.stderr)
		return 1
	preds, err = classify(a.tigris, a.taxonomy, items, a.timeout)
	if err:
		print("eval: classify failed: %s" % err, file=sys.stderr)
		return 1
	res = score(items, preds)
	report(res, data)
	if a.json:
		out = dict(res)
		out.update(figures(res))
		with open(a.json, "w", encoding="utf-8") as f:
			json.dump(out, f, indent=1, ensure_ascii=False)
			f.write("\n")
	if a.write_baseline:
		with open(a.baseline, "w", encoding="utf-8") as f:
			json.dump(figures(res), f, indent=1)
			f.write("\n")
		print("wrote baseline %s" % a.baseline)
		return 0
	if not a.baseline:
		return 0
	bad = compare(res, a.baseline)
	for b in bad:
		print("REGRESSION: %s" % b)
	if bad:
		return 1
	print("eval: no regression against %s" % a.baseline)
	return 0


if __name__ == "__main__":
	signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet when piped to head
	sys.exit(main())
