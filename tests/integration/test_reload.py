#!/usr/bin/python3
"""SIGHUP reload with the real tigrisd: new feeds start, removed feeds stop,
changed intervals apply; a config or taxonomy with errors is rejected with the
errors logged while the running one carries on; items in flight during reloads
all arrive, exactly once."""

import json
import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import tgtest  # noqa: E402


check = tgtest.check  # each check() that does not hold prints FAIL and exits with status 1


def rss(prefix, n):
    items = "".join(
        "<item><guid>%s-%d</guid><title>%s item %d about Baghdad talks</title>"
        "<description>Iraqi and US officials met in Baghdad, item %d.</description></item>"
        % (prefix, i, prefix, i, i) for i in range(n))
    return ('<?xml version="1.0"?><rss version="2.0"><channel><title>%s</title>'
            '<link>https://x.example/</link><description>d</description>%s</channel></rss>'
            % (prefix, items))


def write_config(d, feeds, **extra):
    with open(d.config) as f:
        cfg = json.load(f)
    cfg["feeds"] = feeds
    cfg.update(extra)
    with open(d.config, "w") as f:
        json.dump(cfg, f)


def main():
    tmp = tgtest.tempdir()
    taxonomy = os.path.join(tmp, "taxonomy.tgt")
    shutil.copy(tgtest.TAXONOMY, taxonomy)
    server = tgtest.FeedServer()
    server.set("/a.xml", rss("a", 3))
    server.set("/b.xml", rss("b", 3))
    server.set("/c.xml", rss("c", 200))
    server.set("/d.xml", rss("d", 5))
    fa = {"url": server.url("/a.xml"), "interval": 1, "name": "a"}
    fb = {"url": server.url("/b.xml"), "interval": 1, "name": "b"}
    fc = {"url": server.url("/c.xml"), "interval": 1, "name": "c"}
    fd = {"url": server.url("/d.xml"), "interval": 1, "name": "d"}
    d = tgtest.Daemon(tmp, [fa, fb], workers=2, extra={"taxonomy": taxonomy})
    sub = tgtest.Subscriber(d.publish)
    try:
        d.start()
        check(sub.wait_for(6, 15), "feeds a and b published")

        # Remove b, add c (200 items), slow a down; reload twice while c's items
        # are in flight.
        write_config(d, [dict(fa, interval=3), fc])
        d.proc.send_signal(signal.SIGHUP)
        t_reload = time.time()
        time.sleep(0.3)
        d.proc.send_signal(signal.SIGHUP)
        check(sub.wait_for(206, 20), "new feed c started and all its 200 items arrived")
        time.sleep(4)
        sub.poll(0.5)
        ids = [a["item"]["id"] for a in sub.alerts]
        check(len(ids) == len(set(ids)) == 206, "every item exactly once across two reloads (%d)" % len(ids))
        b_after = [r for r in server.requests("/b.xml") if r[2] > t_reload + 0.5]
        check(len(b_after) == 0, "removed feed b is no longer fetched")
        a_window = [r for r in server.requests("/a.xml") if r[2] > t_reload + 0.5]
        check(1 <= len(a_window) <= 3, "feed a fetched at its new 3 s interval (%d in ~4 s)" % len(a_window))
        log = d.log_text()
        check("reload: done" in log and "1 added, 1 removed, 1 changed" in log, "reload summary logged")

        # A config with errors: rejected, errors logged, the old config runs on.
        with open(d.config) as f:
            good = f.read()
        write_config(d, [fa, fc, fd], workerz=3)
        d.proc.send_signal(signal.SIGHUP)
        time.sleep(1)
        log = d.log_text()
        check("config rejected" in log and "workerz" in log, "bad config rejected with the key named")
        n_a = len(server.requests("/a.xml"))
        time.sleep(3.5)
        check(len(server.requests("/a.xml")) > n_a, "old config keeps running")
        check(len(server.requests("/d.xml")) == 0, "feed from the rejected config not started")
        check(d.proc.poll() is None, "daemon alive")

        # A taxonomy with errors: rejected, nothing changes.
        with open(d.config, "w") as f:
            f.write(good)
        with open(taxonomy, "a") as f:
            f.write("\nthis is not a rule\n")
        write_config(d, [fa, fc, fd])
        d.proc.send_signal(signal.SIGHUP)
        time.sleep(1)
        check("taxonomy" in d.log_text() and "rejected" in d.log_text(), "bad taxonomy rejected and logged")
        check(len(server.requests("/d.xml")) == 0, "config with a bad taxonomy not applied")

        # Fixed: the reload applies and the workers still classify.
        shutil.copy(tgtest.TAXONOMY, taxonomy)
        d.proc.send_signal(signal.SIGHUP)
        check(sub.wait_for(211, 30), "after a good reload feed d's items arrive")
        check(all(a["tags"] for a in sub.alerts[206:]), "items are still classified after the workers reloaded")
        check(d.stop() == 0, "clean stop")
    finally:
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
        sub.close()
        server.close()
        if os.environ.get("TG_KEEP_TMP") is None:
            shutil.rmtree(tmp, ignore_errors=True)
    print("reload: all checks passed")


if __name__ == "__main__":
    main()
