#!/usr/bin/python3
"""Lose nothing when workers die: 10,000 items flow through the real tigrisd and 4
workers while one worker is killed with SIGKILL every 2 seconds. A real SUB
socket must receive every item; duplicates are counted and must carry an alert
id seen before. Prints the figures (items, kills, lost, duplicates, longest
stall after a kill)."""

import os
import random
import shutil
import signal
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import tgtest  # noqa: E402

import zmq  # noqa: E402

FEEDS = 8
PER_FEED = 1250  # 10,000 items
RATE = 125       # items per feed per second: 1,000 items/s for 10 s


check = tgtest.check  # each check() that does not hold prints FAIL and exits with status 1


def main():
    tmp = tgtest.tempdir()
    server = tgtest.FeedServer()
    feeds = tgtest.GrowingFeeds(server, ["w%d" % i for i in range(FEEDS)], RATE, PER_FEED)
    d = tgtest.Daemon(tmp, feeds.configs(), workers=4, extra={"max_items_per_feed": 5000})
    sub = tgtest.Subscriber(d.publish)
    sub.sock.setsockopt(zmq.RCVHWM, 0)
    rng = random.Random(7)
    kills = []
    try:
        d.start()
        time.sleep(1.0)
        feeds.start()
        want = feeds.ids()
        seen_items = {}
        seen_alert_ids = set()
        duplicates = 0
        dup_with_known_id = 0
        arrivals = []
        next_kill = time.time() + 2
        deadline = time.time() + 90
        while len(seen_items) < len(want) and time.time() < deadline:
            if time.time() >= next_kill and feeds.count() < PER_FEED:
                pids = tgtest.worker_pids(d.proc.pid)
                if pids:
                    victim = rng.choice(pids)
                    os.kill(victim, signal.SIGKILL)
                    kills.append(time.time())
                next_kill = time.time() + 2
            for a in sub.poll(0.05):
                arrivals.append(time.time())
                iid = a["item"]["id"]
                if iid in seen_items:
                    duplicates += 1
                    if a["alert_id"] in seen_alert_ids and seen_items[iid] == a["alert_id"]:
                        dup_with_known_id += 1
                else:
                    seen_items[iid] = a["alert_id"]
                seen_alert_ids.add(a["alert_id"])
        sub.poll(1.0)
        lost = len(want - set(seen_items))
        stall = 0.0
        for k in kills:
            after = [t for t in arrivals if t > k]
            if after:
                stall = max(stall, after[0] - k)
        print("figures: items=%d kills=%d received=%d lost=%d duplicates=%d longest_stall_after_kill_ms=%d"
              % (len(want), len(kills), len(seen_items), lost, duplicates, stall * 1000))
        check(len(kills) >= 4, "a worker was killed every 2 s (%d kills)" % len(kills))
        check(lost == 0, "0 items lost of %d" % len(want))
        check(set(seen_items) == want, "exactly the items served")
        check(dup_with_known_id == duplicates, "every duplicate carries an alert id seen before")
        check("killed by signal 9" in d.log_text(), "the daemon saw the workers die")
        check(d.stop() == 0, "clean stop")
        db = sqlite3.connect(os.path.join(tmp, "state", "tigris.db"))
        check(db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0] == 0,
              "no innocent item dead-lettered")
        check(db.execute("SELECT COUNT(*) FROM items WHERE state = 0").fetchone()[0] == 0,
              "no item left pending")
        db.close()
    finally:
        feeds.stop_flag = True
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
        sub.close()
        server.close()
        if os.environ.get("TG_KEEP_TMP") is None:
            shutil.rmtree(tmp, ignore_errors=True)
    print("reliability (workers): all checks passed")


if __name__ == "__main__":
    main()
