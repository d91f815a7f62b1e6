#!/usr/bin/python3
"""Lose nothing when the daemon dies: tigrisd is killed with SIGKILL mid-stream 10
times and restarted each time while its feeds keep growing. After each round the
store passes PRAGMA integrity_check; at the end every item has exactly one alert,
the sequence has no hole, and `tigris tail --from-seq 1` (a real subscriber using
the replay endpoint) receives every item once, in order."""

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import tgtest  # noqa: E402

FEEDS = 4
PER_FEED = 600
RATE = 40  # items per feed per second: about 15 s of growth


check = tgtest.check  # each check() that does not hold prints FAIL and exits with status 1


def integrity(db_path):
    db = sqlite3.connect(db_path)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def main():
    tmp = tgtest.tempdir()
    server = tgtest.FeedServer()
    feeds = tgtest.GrowingFeeds(server, ["k%d" % i for i in range(FEEDS)], RATE, PER_FEED)
    d = tgtest.Daemon(tmp, feeds.configs(), workers=2)
    db_path = os.path.join(tmp, "state", "tigris.db")
    rng = random.Random(11)
    try:
        feeds.start()
        for rnd in range(10):
            d.start()
            time.sleep(rng.uniform(0.6, 1.4))
            d.proc.send_signal(signal.SIGKILL)
            d.proc.wait(timeout=10)
            d.logf.close()
            time.sleep(0.2)  # the workers die with the daemon (PR_SET_PDEATHSIG)
            check(integrity(db_path) == "ok", "round %d: PRAGMA integrity_check ok" % (rnd + 1))
        d.start()
        want = feeds.ids()
        deadline = time.time() + 60
        count = 0
        while time.time() < deadline:
            db = sqlite3.connect(db_path)
            count = db.execute("SELECT COUNT(*) FROM alerts").fetchone()[0]
            db.close()
            if count >= len(want) and feeds.count() >= PER_FEED:
                break
            time.sleep(0.5)
        db = sqlite3.connect(db_path)
        rows = db.execute("SELECT seq, item_id FROM alerts ORDER BY seq").fetchall()
        pending = db.execute("SELECT COUNT(*) FROM items WHERE state = 0").fetchone()[0]
        db.close()
        seqs = [r[0] for r in rows]
        items = [r[1] for r in rows]
        print("figures: items=%d kills=10 alerts=%d distinct_items=%d pending=%d"
              % (len(want), len(rows), len(set(items)), pending))
        check(set(items) == want, "0 items lost: every item has an alert")
        check(len(items) == len(set(items)), "0 items published twice")
        check(seqs == list(range(1, len(seqs) + 1)), "sequence 1..%d without a hole" % len(seqs))
        check(pending == 0, "nothing left pending")

        tail = subprocess.run([os.path.join(tgtest.BIN, "tigris"), "tail", "--json", "--connect", d.publish,
                               "--replay", d.replay, "--from-seq", "1", "--count", str(len(want))],
                              capture_output=True, text=True, timeout=60)
        got = [json.loads(line) for line in tail.stdout.splitlines()]
        check(tail.returncode == 0, "tail --from-seq 1 exits 0")
        check([a["seq"] for a in got] == seqs, "tail delivers every alert once, in order")
        check({a["item"]["id"] for a in got} == want, "0 alerts lost for the subscriber")
        check(d.stop() == 0, "clean stop")
        check(integrity(db_path) == "ok", "integrity_check ok at the end")
    finally:
        feeds.stop_flag = True
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
        server.close()
        if os.environ.get("TG_KEEP_TMP") is None:
            shutil.rmtree(tmp, ignore_errors=True)
    print("reliability (daemon kills): all checks passed")


if __name__ == "__main__":
    main()
