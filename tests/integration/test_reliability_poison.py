#!/usr/bin/python3
"""Misbehaving workers, written in Python from docs/protocol.md (fakeworker.py):
- a worker that crashes on one particular item: that item reaches the
  dead-letter table after max_attempts tries and every other item is delivered;
- the same across a daemon crash: once the poison item has taken down a worker,
  tigrisd is SIGKILLed and restarted, and the item is dead-lettered after
  max_attempts failures in total, not max_attempts more;
- a worker that answers with a frame over the size limit: only that worker is
  dropped, and its item is classified by another worker and delivered."""

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request

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


def store_rows(db_path, sql, args=()):
    db = sqlite3.connect(db_path)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def noticed(d, pid, seconds):
    """Wait until the daemon has dropped the dead worker pid (and so counted
    what it held); True when it did. It notices either way: the worker falls
    silent (no heartbeat), or a send to it fails first (its peer is gone)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        log = d.log_text()
        if "worker pid %d silent" % pid in log or "cannot send to worker pid %d " % pid in log:
            time.sleep(0.3)  # the store write follows the log line in the same callback
            return True
        time.sleep(0.1)
    return False


def poison_restart_case(tmp):
    """One poison worker at a time, and a crashed one is replaced only once the
    daemon has noticed the crash: when tigrisd is killed, the poison item is
    queued, not at a worker, so every crash is seen by exactly one daemon run."""
    server = tgtest.FeedServer()
    server.set("/r.xml", tgtest.rss_items("r", 0, 0))
    d = tgtest.Daemon(tmp, [{"url": server.url("/r.xml"), "interval": 1, "name": "r"}], workers=0,
                      extra={"max_attempts": 3, "http_listen": "127.0.0.1:0"})
    db_path = os.path.join(tmp, "state", "tigris.db")
    sub = tgtest.Subscriber(d.publish)
    w = None
    crashes = [0, 0]  # workers the poison item took down in run 1, in run 2
    failures_at_kill = 0
    try:
        # Run 1: until the store holds a failure for the poison item.
        d.start()
        w = fake(d.worker_endpoint, "poison")
        time.sleep(1.5)
        server.set("/r.xml", tgtest.rss_items("r", 0, 30, {12: "POISON item that kills workers"}))
        deadline = time.time() + 40
        while time.time() < deadline:
            sub.poll(0.2)
            if w.poll() is None:
                continue
            crashes[0] += 1
            check(noticed(d, w.pid, 10), "run 1: the daemon noticed crash %d" % crashes[0])
            rows = store_rows(db_path, "SELECT failures FROM items WHERE item_id = 'r-12' AND state = 0")
            if rows and rows[0][0] >= 1:
                failures_at_kill = rows[0][0]
                break
            w = fake(d.worker_endpoint, "poison")
        check(failures_at_kill == 1, "run 1: the store holds the poison item's failure (%d)" % failures_at_kill)
        check(crashes[0] <= 2, "run 1: one crash alone, at most one shared before it (%d)" % crashes[0])
        check(store_rows(db_path, "SELECT COUNT(*) FROM dead_letters")[0][0] == 0, "run 1: nothing dead-lettered yet")
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait(timeout=10)
        d.logf.close()

        # Run 2: the same store; workers as before.
        d.start()
        time.sleep(1.0)  # the subscriber reconnects first
        w = fake(d.worker_endpoint, "poison")
        deadline = time.time() + 40
        dead = []
        while time.time() < deadline:
            sub.poll(0.2)
            dead = store_rows(db_path, "SELECT item_id, attempts, reason FROM dead_letters")
            if dead and len({a["item"]["id"] for a in sub.alerts}) >= 29:
                break
            if w.poll() is None:
                continue
            crashes[1] += 1
            check(noticed(d, w.pid, 10), "run 2: the daemon noticed crash %d" % crashes[1])
            w = fake(d.worker_endpoint, "poison")
        sub.poll(1.0)
        got = {a["item"]["id"] for a in sub.alerts}
        stored = store_rows(db_path, "SELECT item_id FROM alerts")
        pending = store_rows(db_path, "SELECT COUNT(*) FROM items WHERE state = 0")[0][0]
        print("figures: items=30 crashes=%d+%d failures_at_kill=%d dead=%s delivered=%d stored_alerts=%d"
              % (crashes[0], crashes[1], failures_at_kill, dead, len(got), len(stored)))
        log2 = open(d.logs[1]).read()
        check("r-12 of feed r took down 1 worker(s) before" in log2,
              "run 2: the poison item starts as a suspect with the stored count")
        check(dead == [("r-12", 3, "took down 3 worker(s)")],
              "the poison item is dead-lettered after 3 failures in total")
        check(crashes[1] == 3 - failures_at_kill,
              "run 2: it took down only %d more worker(s) (%d)" % (3 - failures_at_kill, crashes[1]))
        check("r-12 of feed r took down 3 worker(s); dead-lettered" in log2, "the dead letter is logged")
        port = re.search(r"\(port (\d+)\)", log2)
        with urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port.group(1), timeout=5) as r:
            metrics = r.read().decode()
        check(re.search(r"^tigris_dead_letters_total 1$", metrics, re.M) is not None,
              "run 2: /metrics counts the dead letter")
        others = {"r-%d" % i for i in range(30)} - {"r-12"}
        check(got == others, "every other item delivered")
        check(sorted(r[0] for r in stored) == sorted(others), "every other item stored as published exactly once")
        check(pending == 0, "nothing left pending")
        check(d.stop() == 0, "clean stop")
    finally:
        if w:
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
    tmps = [tgtest.tempdir() for _ in range(3)]
    try:
        poison_case(tmps[0])
        poison_restart_case(tmps[1])
        oversize_case(tmps[2])
    finally:
        if os.environ.get("TG_KEEP_TMP") is None:
            for t in tmps:
                shutil.rmtree(t, ignore_errors=True)
    print("reliability (poison, poison across a restart, oversize): all checks passed")


if __name__ == "__main__":
    main()
