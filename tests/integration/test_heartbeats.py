#!/usr/bin/python3
"""Heartbeats both ways, with real processes and real signals:
- a worker that hangs (SIGSTOP) holding items is dropped by the daemon within
  three heartbeat intervals, and its items are classified by another worker;
- a worker whose daemon goes silent (SIGSTOP on tigrisd) notices, reconnects,
  and carries on working when the daemon comes back."""

import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import tgtest  # noqa: E402


check = tgtest.check  # each check() that does not hold prints FAIL and exits with status 1


def main():
    tmp = tgtest.tempdir()
    server = tgtest.FeedServer()
    server.set("/h.xml", tgtest.rss_items("h", 0, 0))
    d = tgtest.Daemon(tmp, [{"url": server.url("/h.xml"), "interval": 1, "name": "h"}], workers=0)
    sub = tgtest.Subscriber(d.publish)
    wlog = [open(os.path.join(tmp, "w%d.log" % i), "w") for i in range(2)]
    workers = []
    try:
        d.start()
        # One worker first: it will hold the items when it hangs.
        workers.append(subprocess.Popen([os.path.join(tgtest.BIN, "tigris-worker"), "--connect", d.worker_endpoint,
                                         "--taxonomy", tgtest.TAXONOMY, "--credit", "64"],
                                        stdout=wlog[0], stderr=subprocess.STDOUT))
        # Compiling the taxonomy takes seconds under the sanitizers: wait for the
        # worker to say it is connected, then for its HELLO to reach the daemon.
        deadline = time.time() + 60
        while time.time() < deadline and "connected to" not in open(os.path.join(tmp, "w0.log")).read():
            time.sleep(0.05)
        check("connected to" in open(os.path.join(tmp, "w0.log")).read(), "the first worker connected")
        time.sleep(1.0)
        workers[0].send_signal(signal.SIGSTOP)
        server.set("/h.xml", tgtest.rss_items("h", 0, 20))
        t_hang = time.time()
        deadline = time.time() + 10
        while time.time() < deadline and "silent" not in d.log_text():
            time.sleep(0.05)
        detected = time.time() - t_hang
        check("silent" in d.log_text() and "queued again" in d.log_text(),
              "the hung worker was dropped and its items queued again (%.1f s)" % detected)
        workers.append(subprocess.Popen([os.path.join(tgtest.BIN, "tigris-worker"), "--connect", d.worker_endpoint,
                                         "--taxonomy", tgtest.TAXONOMY], stdout=wlog[1], stderr=subprocess.STDOUT))
        check(sub.wait_for(20, 15), "all 20 items classified by the other worker")
        workers[0].send_signal(signal.SIGCONT)

        # The daemon goes silent: the workers notice and reconnect.
        d.proc.send_signal(signal.SIGSTOP)
        time.sleep(5)
        d.proc.send_signal(signal.SIGCONT)
        time.sleep(0.5)
        wtext = open(os.path.join(tmp, "w1.log")).read()
        check("silent" in wtext and "reconnecting" in wtext, "the worker noticed the silent daemon and reconnected")
        server.set("/h.xml", tgtest.rss_items("h", 0, 30))
        check(sub.wait_for(30, 15), "after the daemon came back, new items are classified again")
        ids = [a["item"]["id"] for a in sub.alerts]
        check(len(ids) == len(set(ids)) == 30, "every item exactly once")
        check(d.stop() == 0, "clean stop")
    finally:
        for w in workers:
            w.kill()
        for f in wlog:
            f.close()
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
        sub.close()
        server.close()
        if os.environ.get("TG_KEEP_TMP") is None:
            shutil.rmtree(tmp, ignore_errors=True)
    print("heartbeats: all checks passed")


if __name__ == "__main__":
    main()
