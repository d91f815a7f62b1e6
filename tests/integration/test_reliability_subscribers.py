#!/usr/bin/python3
"""Subscribers recover every alert through replay: one that starts late, one that
is stopped (SIGSTOP) for a while and resumed, and a deliberately slow one (its
output is read slowly) that overflows its high-water mark (the daemon's
publish_hwm is set small) detect their gaps, fill them from the replay endpoint
and deliver every alert once, in order."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import tgtest  # noqa: E402

FEEDS = 4
PER_FEED = 500
RATE = 100  # 400 items/s for 5 s


check = tgtest.check  # each check() that does not hold prints FAIL and exits with status 1


def start_tail(d, total, extra=()):
    return subprocess.Popen([os.path.join(tgtest.BIN, "tigris"), "tail", "--json", "--connect", d.publish,
                             "--replay", d.replay, "--count", str(total)] + list(extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def main():
    tmp = tgtest.tempdir()
    server = tgtest.FeedServer()
    feeds = tgtest.GrowingFeeds(server, ["s%d" % i for i in range(FEEDS)], RATE, PER_FEED)
    d = tgtest.Daemon(tmp, feeds.configs(), workers=2, extra={"publish_hwm": 20})
    total = FEEDS * PER_FEED
    slow_lines = []
    try:
        d.start()
        time.sleep(0.5)
        paused = start_tail(d, total)
        slow = start_tail(d, total)
        time.sleep(0.5)  # both subscribed before anything is published
        feeds.start()

        def read_slowly():
            for line in slow.stdout:
                slow_lines.append(line)
                time.sleep(0.004)  # 250 alerts/s: slower than they come
        reader = threading.Thread(target=read_slowly, daemon=True)
        reader.start()

        time.sleep(0.7)
        paused.send_signal(signal.SIGSTOP)
        time.sleep(4)
        paused.send_signal(signal.SIGCONT)

        out, err = paused.communicate(timeout=60)
        got = [json.loads(x) for x in out.splitlines()]
        seqs = [a["seq"] for a in got]
        print("paused subscriber:", err.strip().splitlines()[-1])
        check(len(got) == total and seqs == list(range(seqs[0], seqs[0] + total)),
              "stopped-and-resumed subscriber got all %d alerts once, in order" % total)
        check(" 0 recovered" not in err, "... some of them through replay (it overflowed)")

        slow.wait(timeout=90)
        reader.join(timeout=10)
        got = [json.loads(x) for x in slow_lines]
        seqs = [a["seq"] for a in got]
        serr = slow.stderr.read()
        print("slow subscriber:", serr.strip().splitlines()[-1])
        check(len(got) == total and seqs == list(range(seqs[0], seqs[0] + total)),
              "slow subscriber got all %d alerts once, in order" % total)
        check(" 0 recovered" not in serr, "... after detecting the gaps its overflow made")

        late = start_tail(d, total, ["--from-seq", "1"])
        out, err = late.communicate(timeout=60)
        got = [json.loads(x) for x in out.splitlines()]
        check([a["seq"] for a in got] == list(range(1, total + 1)), "late subscriber got all alerts from history")
        check({a["item"]["id"] for a in got} == feeds.ids(), "... one per item")
        check(d.stop() == 0, "clean stop")
    finally:
        feeds.stop_flag = True
        for p in ("paused", "slow", "late"):
            proc = locals().get(p)
            if proc and proc.poll() is None:
                proc.kill()
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
        server.close()
        if os.environ.get("TG_KEEP_TMP") is None:
            shutil.rmtree(tmp, ignore_errors=True)
    print("reliability (subscribers): all checks passed")


if __name__ == "__main__":
    main()
