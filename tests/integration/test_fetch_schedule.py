#!/usr/bin/python3
"""When tigrisd fetches, through the real daemon and loopback servers that record
the time of every request: Retry-After on 429 and 503 (seconds and HTTP date)
honoured, a hostile one capped; Cache-Control max-age and Expires respected;
a permanent redirect moves the feed (temporary ones and chains that start with
one do not); a feed that fails 20 times in a row is retried at the backoff cap
and recovers, its items published; adaptive polling slows a quiet feed and
speeds up a busy one within their bounds; per-host politeness keeps at most
host_max_concurrent fetches at once to a host, host_min_gap_ms apart; and a
reload applies new fetch options (allow_networks) to the running fetcher."""

import email.utils
import json
import os
import shutil
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import tgtest  # noqa: E402
from fetchserver import Server, check, keep_tmp, redirect, reply, rss, static  # noqa: E402

FLAKY_FAILURES = 20


def first_then(first, then):
    """Answer the first request with first, every later one with then."""
    state = {"n": 0}

    def fn(h, req):
        state["n"] += 1
        (first if state["n"] == 1 else then)(h, req)
    return fn


def status(code, headers=None):
    def fn(h, req):
        reply(h, req, code, b"busy\n", "text/plain", headers)
    return fn


def retry_after_date(seconds):
    def fn(h, req):
        when = email.utils.formatdate(time.time() + seconds, usegmt=True)
        reply(h, req, 503, b"maintenance\n", "text/plain", {"Retry-After": when})
    return fn


def flaky(failures, body):
    state = {"n": 0}

    def fn(h, req):
        state["n"] += 1
        if state["n"] <= failures:
            reply(h, req, 500, b"oops\n", "text/plain")
        else:
            reply(h, req, 200, body)
    return fn


def growing(per_request):
    """A busy feed: every request brings per_request new items."""
    state = {"n": 0}

    def fn(h, req):
        state["n"] += 1
        items = "".join("<item><guid>busy-%d</guid><title>Busy item %d</title></item>" % (i, i)
                        for i in range(state["n"] * per_request))
        reply(h, req, 200, ('<?xml version="1.0"?><rss version="2.0"><channel><title>busy</title>'
                            '<link>https://x.example/</link><description>d</description>%s'
                            '</channel></rss>' % items).encode())
    return fn


def expires_in(seconds, body):
    def fn(h, req):
        now = time.time()
        reply(h, req, 200, body, headers={
            "Date": email.utils.formatdate(now, usegmt=True),
            "Expires": email.utils.formatdate(now + seconds, usegmt=True)})
    return fn


def slow(delay, body):
    def fn(h, req):
        time.sleep(delay)
        reply(h, req, 200, body)
    return fn


def starts(server, path):
    return [r.start for r in server.requests(path)]


def gaps(times):
    return [b - a for a, b in zip(times, times[1:])]


def main():
    tmp = tgtest.tempdir()
    s1 = Server("127.0.0.1")  # retry hints and failures
    s6 = Server("127.0.0.6")  # politeness
    s7 = Server("127.0.0.7")  # redirects
    s8 = Server("127.0.0.8")  # caching hints and adaptive polling
    s9 = Server("127.0.0.9")  # outside allow_networks until a reload
    s1.route("/429.xml", first_then(status(429, {"Retry-After": "3"}), static(rss("ra429", 1))))
    s1.route("/503.xml", first_then(retry_after_date(4), static(rss("ra503", 1))))
    s1.route("/429-forever.xml", status(429, {"Retry-After": "999999"}))
    s1.route("/flaky.xml", flaky(FLAKY_FAILURES, rss("flaky", 2)))
    s7.route("/moved", redirect(301, "/new.xml"))
    s7.route("/new.xml", static(rss("moved", 2)))
    s7.route("/p1", redirect(301, "/t1"))
    s7.route("/t1", redirect(302, "/final.xml"))
    s7.route("/final.xml", static(rss("chain", 1)))
    s7.route("/t2", redirect(302, "/p2"))
    s7.route("/p2", redirect(301, "/final2.xml"))
    s7.route("/final2.xml", static(rss("tempfirst", 1)))
    s8.route("/cached.xml", static(rss("cached", 1), headers={"Cache-Control": "max-age=3"}))
    s8.route("/expires.xml", expires_in(2, rss("expires", 1)))
    s8.route("/quiet.xml", static(rss("quiet", 1)))
    s8.route("/busy.xml", growing(3))
    s9.route("/late.xml", static(rss("late", 1)))
    for i in range(4):
        s6.route("/p%d.xml" % i, slow(0.4, rss("polite%d" % i, 1)))

    feeds = [
        {"url": s1.url("/429.xml"), "interval": 1, "max_interval": 10, "name": "ra429"},
        {"url": s1.url("/503.xml"), "interval": 1, "max_interval": 10, "name": "ra503"},
        {"url": s1.url("/429-forever.xml"), "interval": 1, "name": "hostile"},
        {"url": s1.url("/flaky.xml"), "interval": 1, "name": "flaky"},
        {"url": s7.url("/moved"), "interval": 1, "name": "moved"},
        {"url": s7.url("/p1"), "interval": 1, "name": "chain"},
        {"url": s7.url("/t2"), "interval": 1, "name": "tempfirst"},
        {"url": s8.url("/cached.xml"), "interval": 1, "max_interval": 5, "name": "cached"},
        {"url": s8.url("/expires.xml"), "interval": 1, "max_interval": 5, "name": "expires"},
        {"url": s8.url("/quiet.xml"), "interval": 1, "max_interval": 4, "name": "quiet"},
        {"url": s8.url("/busy.xml"), "interval": 4, "min_interval": 1, "name": "busy"},
        {"url": s9.url("/late.xml"), "interval": 1, "name": "late"},
    ] + [{"url": s6.url("/p%d.xml" % i), "interval": 1, "name": "polite%d" % i} for i in range(4)]
    allow = ["127.0.0.1/32", "127.0.0.6/31", "127.0.0.8/32"]
    d = tgtest.Daemon(tmp, feeds, workers=1, extra={
        "backoff_cap": 1, "host_max_concurrent": 2, "host_min_gap_ms": 100,
        "allow_networks": allow})
    sub = tgtest.Subscriber(d.publish)
    try:
        d.start()
        t_start = time.time()
        deadline = t_start + 40
        while time.time() < deadline:
            sub.poll(0.5)
            ids = {a["item"]["id"] for a in sub.alerts}
            if {"flaky-0", "flaky-1"} <= ids and time.time() - t_start > 14:
                break
        sub.poll(0.5)
        log = d.log_text()
        ids = [a["item"]["id"] for a in sub.alerts]

        # Retry-After.
        t = starts(s1, "/429.xml")
        check(len(t) >= 2 and 2.9 <= t[1] - t[0] <= 4.5,
              "429 with Retry-After: 3 -> next request %.1f s later" % (t[1] - t[0] if len(t) > 1 else -1))
        check("ra429-0" in ids, "the feed answered 429 is fetched and published afterwards")
        t = starts(s1, "/503.xml")
        check(len(t) >= 2 and 2.9 <= t[1] - t[0] <= 5.5,
              "503 with a Retry-After date 4 s ahead -> next request %.1f s later"
              % (t[1] - t[0] if len(t) > 1 else -1))
        t = starts(s1, "/429-forever.xml")
        check(len(t) >= 5 and max(gaps(t)) < 2.0,
              "Retry-After: 999999 capped at the backoff cap: %d requests, largest gap %.1f s"
              % (len(t), max(gaps(t) or [0])))

        # Backoff and recovery.
        t = starts(s1, "/flaky.xml")
        check(len(t) >= FLAKY_FAILURES + 1, "failing feed retried (%d requests)" % len(t))
        check("feed flaky: HTTP status 500 (failure %d, next try in 1 s)" % FLAKY_FAILURES in log,
              "20 failures in a row, each retried at the 1 s cap")
        check(max(gaps(t[:FLAKY_FAILURES + 1])) < 1.6,
              "retries at the cap, never dropped (largest gap %.2f s)" % max(gaps(t[:FLAKY_FAILURES + 1])))
        check(ids.count("flaky-0") == 1 and ids.count("flaky-1") == 1,
              "after 20 failures the feed recovers and its items are published once")

        # Permanent redirects move the feed; temporary ones do not.
        check(len(s7.requests("/moved")) == 1 and len(s7.requests("/new.xml")) >= 3,
              "301: the old URL fetched once (%d), the new one from then on (%d)"
              % (len(s7.requests("/moved")), len(s7.requests("/new.xml"))))
        check("feed moved: moved permanently to %s" % s7.url("/new.xml") in log,
              "the move is logged with the new URL")
        check(len(s7.requests("/p1")) == 1 and len(s7.requests("/t1")) >= 3,
              "301 then 302: the feed moves to the 301's target only (%d, %d)"
              % (len(s7.requests("/p1")), len(s7.requests("/t1"))))
        # Every fetch goes /t2 then /p2 (a feed moved to /p2 would skip /t2);
        # the daemon is still running, so a fetch may be between its two hops
        # when they are counted: one apart at most.
        t2, p2 = len(s7.requests("/t2")), len(s7.requests("/p2"))
        check(t2 >= 3 and abs(t2 - p2) <= 1,
              "302 then 301: the feed stays at its configured URL (%d, %d)" % (t2, p2))
        check(ids.count("moved-0") == 1 and ids.count("chain-0") == 1 and ids.count("tempfirst-0") == 1,
              "items of redirected feeds published once")

        # Caching hints.
        t = starts(s8, "/cached.xml")
        check(len(t) >= 2 and 2.9 <= t[1] - t[0] <= 4.0,
              "max-age=3: next fetch %.1f s later (interval 1 s)" % (t[1] - t[0] if len(t) > 1 else -1))
        t = starts(s8, "/expires.xml")
        check(len(t) >= 2 and 1.9 <= t[1] - t[0] <= 3.5,
              "Expires 2 s after Date: next fetch %.1f s later" % (t[1] - t[0] if len(t) > 1 else -1))

        # Adaptive polling.
        g = gaps(starts(s8, "/quiet.xml"))
        check(len(g) >= 4 and g[0] < 1.3 and max(g[-2:]) > 3.0 and max(g) < 4.6,
              "a quiet feed slows from 1 s towards its 4 s max_interval (%s)"
              % ", ".join("%.1f" % x for x in g))
        g = gaps(starts(s8, "/busy.xml"))
        check(len(g) >= 4 and g[0] > 3.5 and min(g[-2:]) < 1.6 and min(g) > 0.9,
              "a busy feed speeds up from 4 s towards its 1 s min_interval (%s)"
              % ", ".join("%.1f" % x for x in g))

        # Politeness on 127.0.0.6: 4 feeds of slow answers, at most 2 at once, 100 ms apart.
        t = sorted(r.start for r in s6.requests())
        check(s6.max_active == 2, "at most 2 fetches at once to one host, and the limit was "
              "reached (%d)" % s6.max_active)
        check(min(gaps(t)) >= 0.08, "starts to one host at least 100 ms apart (smallest %.3f s)"
              % min(gaps(t)))
        counts = [len(s6.requests("/p%d.xml" % i)) for i in range(4)]
        check(min(counts) >= 6, "every queued feed still fetched regularly (%s)" % counts)

        # Reload: a wider allow_networks applies to the running fetcher.
        check("feed late: refused 127.0.0.9: loopback network 127.0.0.0/8" in log and
              s9.connections == 0 and "late-0" not in ids, "127.0.0.9 refused before the reload")
        with open(d.config) as f:
            cfg = json.load(f)
        cfg["allow_networks"] = allow + ["127.0.0.9/32"]
        with open(d.config, "w") as f:
            json.dump(cfg, f)
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 8
        while time.time() < deadline and "late-0" not in [a["item"]["id"] for a in sub.alerts]:
            sub.poll(0.2)
        check("late-0" in [a["item"]["id"] for a in sub.alerts],
              "after the reload the feed on 127.0.0.9 is fetched and published")
        check(d.stop() == 0, "tigrisd stops cleanly")

        # The move outlives a restart: the old URL is not asked again.
        moved_before = len(s7.requests("/moved"))
        new_before = len(s7.requests("/new.xml"))
        d.start()
        deadline = time.time() + 6
        while time.time() < deadline and len(s7.requests("/new.xml")) < new_before + 2:
            time.sleep(0.1)
        check(len(s7.requests("/moved")) == moved_before and len(s7.requests("/new.xml")) >= new_before + 2,
              "after a restart the moved feed is fetched at its new URL only")
        check(d.stop() == 0, "tigrisd stops cleanly again")
    finally:
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
        sub.close()
        for s in (s1, s6, s7, s8, s9):
            threading.Thread(target=s.close, daemon=True).start()
        if not keep_tmp():
            shutil.rmtree(tmp, ignore_errors=True)
    print("fetch schedule: all checks passed")


if __name__ == "__main__":
    main()
