#!/usr/bin/python3
"""Misbehaving workers, written in Python from docs/protocol.md (fakeworker.py):
- a worker that crashes on one particular item: that item reaches the
  dead-letter table after max_attempts tries and every other item is delivered;
- a worker that answers with a frame over the size limit: only that worker is
  dropped, and its item is classified by another worker and delivered."""

import os
import shutil
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import tgtest  # noqa: E402

FAKE = os.path.join(os.path.dirname(__file__), "fakeworker.py")


check = tgtest.check  # each check() that does not hold prints FAIL and exits with status 1


def fake(endpoint, mode):
    return subprocess.Popen(["/usr/bin/python3", FAKE, endpoint, mode])


def poison_case(tmp):
    server = tgtest.FeedServer()
    server.set("/p.xml", tgtest.rss_items("p", 0, 0))
    d = tgtest.Daemon(tmp, [{"url": server.url("/p.xml"), "interval": 1, "name": "p"}], workers=0,
                      extra={"max_attempts": 3})
    sub = tgtest.Subscriber(d.publish)
    workers = []
    crashes = 0
    try:
        d.start()
        workers = [fake(d.worker_endpoint, "poison") for _ in range(2)]
        time.sleep(1.5)
        server.set("/p.xml", tgtest.rss_items("p", 0, 40, {17: "POISON item that kills workers"}))
        deadline = time.time() + 40
        db_path = os.path.join(tmp, "state", "tigris.db")
        dead = []
        while time.time() < deadline:
            for i, w in enumerate(workers):
                if w.poll() is not None:  # crashed: start another, as systemd would
                    crashes += 1
                    workers[i] = fake(d.worker_endpoint, "poison")
            sub.poll(0.2)
            db = sqlite3.connect(db_path)
            dead = db.execute("SELECT item_id, attempts FROM dead_letters").fetchall()
            db.close()
            if dead and len({a["item"]["id"] for a in sub.alerts}) >= 39:
                break
        sub.poll(1.0)
        got = {a["item"]["id"] for a in sub.alerts}
        print("figures: items=40 crashes=%d dead=%s delivered=%d" % (crashes, dead, len(got)))
        check(dead == [("p-17", 3)], "the poison item is dead-lettered after 3 tries")
        check(got == {"p-%d" % i for i in range(40)} - {"p-17"}, "every other item delivered")
        check("dead-lettered" in d.log_text(), "the dead letter is reported in the log")
        check(crashes <= 4, "at most one crash beyond the 3 tries (%d)" % crashes)
        check(d.stop() == 0, "clean stop")
    finally:
        for w in workers:
            w.kill()
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
        sub.close()
        server.close()


def oversize_case(tmp):
    server = tgtest.FeedServer()
    server.set("/o.xml", tgtest.rss_items("o", 0, 0))
    d = tgtest.Daemon(tmp, [{"url": server.url("/o.xml"), "interval": 1, "name": "o"}], workers=0)
    sub = tgtest.Subscriber(d.publish)
    bad = real = None
    try:
        d.start()
        bad = fake(d.worker_endpoint, "oversize")
        time.sleep(1.5)
        server.set("/o.xml", tgtest.rss_items("o", 0, 5, {2: "BIG answer expected"}))
        deadline = time.time() + 15
        while time.time() < deadline and "dropping it" not in d.log_text():
            sub.poll(0.2)
        check("sent a bad message" in d.log_text() and "dropping it" in d.log_text(),
              "the worker that sent an oversized frame is dropped, with the reason logged")
        real = subprocess.Popen([os.path.join(tgtest.BIN, "tigris-worker"), "--connect", d.worker_endpoint,
                                 "--taxonomy", tgtest.TAXONOMY])
        check(sub.wait_for(5, 20), "all 5 items delivered")
        big = [a for a in sub.alerts if a["item"]["id"] == "o-2"]
        check(len(big) == 1 and big[0]["taxonomy"] != "fake-1", "the item was retried and classified by another worker")
        check(bad.poll() is None, "the misbehaving worker process itself was not harmed (only dropped)")
        check(d.stop() == 0, "clean stop")
    finally:
        for p in (bad, real):
            if p:
                p.kill()
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
        sub.close()
        server.close()


def main():
    tmp1, tmp2 = tgtest.tempdir(), tgtest.tempdir()
    try:
        poison_case(tmp1)
        oversize_case(tmp2)
    finally:
        if os.environ.get("TG_KEEP_TMP") is None:
            shutil.rmtree(tmp1, ignore_errors=True)
            shutil.rmtree(tmp2, ignore_errors=True)
    print("reliability (poison, oversize): all checks passed")


if __name__ == "__main__":
    main()
