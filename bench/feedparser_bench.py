#!/usr/bin/python3
"""python3-feedparser on the same feed files bench_parse reads (the first
--limit .xml files of a directory, sorted by name): warm-up passes, then timed
passes; prints one JSON line with the median MB/s and items/s from CPU time."""

import argparse
import json
import os
import statistics
import time

import feedparser


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("dir")
    args = ap.parse_args()
    names = sorted(n for n in os.listdir(args.dir) if n.endswith(".xml"))
    if args.limit:
        names = names[:args.limit]
    data = []
    for n in names:
        with open(os.path.join(args.dir, n), "rb") as f:
            data.append(f.read())
    nbytes = sum(len(d) for d in data)
    mbs, ips, items = [], [], 0
    for r in range(args.warmup + args.runs):
        c0 = time.process_time()
        got = 0
        for d in data:
            got += len(feedparser.parse(d, response_headers={"content-location":
                                                              "https://bench.example/feed"}).entries)
        cpu = time.process_time() - c0
        items = got
        if r >= args.warmup:
            mbs.append(nbytes / 1e6 / cpu)
            ips.append(got / cpu)
    print(json.dumps({"files": len(data), "bytes": nbytes, "items": items, "runs": args.runs,
                      "warmup": args.warmup, "version": feedparser.__version__,
                      "mb_s": round(statistics.median(mbs), 3),
                      "items_s": round(statistics.median(ips)),
                      "items_s_runs": [round(x) for x in ips]}))


if __name__ == "__main__":
    main()
