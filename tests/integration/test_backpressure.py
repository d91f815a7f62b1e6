#!/usr/bin/python3
"""Backpressure: with a dispatch queue bounded at 10 items and one slow-ish worker
(credit 1), 600 new items spill to the store instead of memory, fetching pauses
while they wait, every item is still delivered exactly once, and a daemon killed
while items wait in the store delivers them after its restart."""

import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import tgtest  # noqa: E402


check = tgtest.check  # each check() that does not hold prints FAIL and exits with status 1


def main():
    tmp = tgtest.tempdir()
    server = tgtest.FeedServer()
    server.set("/b.xml", tgtest.rss_items("b", 0, 0))
    d = tgtest.Daemon(tmp, [{"url": server.url("/b.xml"), "interval": 1, "name": "b"}], workers=1,
                      extra={"max_queue": 10, "worker_credit": 1})
    sub = tgtest.Subscriber(d.publish)
    try:
        d.start()
        time.sleep(1.2)
        server.set("/b.xml", tgtest.rss_items("b", 0, 300))
        # Kill the daemon as soon as it has started spilling.
        deadline = time.time() + 20
        while time.time() < deadline and "queue full" not in d.log_text():
            sub.poll(0.05)
        check("queue full" in d.log_text(), "the bounded queue spilled to the store")
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait(timeout=10)
        d.logf.close()
        time.sleep(0.3)
        server.set("/b.xml", tgtest.rss_items("b", 0, 600))
        d.start()
        sub.wait_for(600, 60)
        sub.poll(1.0)
        ids = [a["item"]["id"] for a in sub.alerts]
        print("figures: items=600 received=%d distinct=%d" % (len(ids), len(set(ids))))
        check(set(ids) == {"b-%d" % i for i in range(600)}, "every item delivered across the kill")
        log = d.log_text()
        check("caught up" in log, "the queue drained and spilling ended")
        fetches_while_full = log.count("queue full")
        check(fetches_while_full >= 2, "spilling happened in both runs")
        check(d.stop() == 0, "clean stop")
    finally:
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
        sub.close()
        server.close()
        if os.environ.get("TG_KEEP_TMP") is None:
            shutil.rmtree(tmp, ignore_errors=True)
    print("backpressure: all checks passed")


if __name__ == "__main__":
    main()
