#!/usr/bin/python3
"""Operations endpoints of the real tigrisd: with http_listen on a free loopback
port, /metrics is valid Prometheus text whose counters move as items flow,
/healthz answers 200 "ok" with workers and 503 with a reason without, /feeds
lists every feed with its health (ok, degraded after 1-2 failures in a row,
failing after 3), and `tigris feeds` prints the same as a table."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import tgtest  # noqa: E402

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? '
                    r'(-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$')


check = tgtest.check  # each check() that does not hold prints FAIL and exits with status 1


def get(port, path, timeout=5):
    """(status, content type, body) of GET http://127.0.0.1:port/path."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def wait_http(port, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            return get(port, "/healthz", timeout=1)
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            time.sleep(0.05)
    return None


def listening_ports(pid):
    """TCP ports process pid listens on (from /proc: its socket inodes in LISTEN state)."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if cols[3] == "0A" and cols[9] in inodes:
                        ports.add(int(cols[1].rsplit(":", 1)[1], 16))
        except FileNotFoundError:
            pass
    return ports


def answers_http(port):
    try:
        get(port, "/healthz", timeout=1)
        return True
    except Exception:
        return False


def parse_metrics(text):
    """{(name, labels-string): value}, checking that every line is valid."""
    values = {}
    types = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            check_line(kind in ("counter", "gauge", "histogram"), line)
            types[name] = kind
            continue
        m = SAMPLE.match(line)
        check_line(m is not None, line)
        values[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return values, types


def check_line(cond, line):
    if not cond:
        print("FAIL: invalid exposition line: %r" % line)
        sys.exit(1)


def metric(values, name, labels=""):
    return values.get((name, labels), None)


RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>http://x/</link>
<description>d</description>%s</channel></rss>"""
ITEM = "<item><guid>%s</guid><title>%s</title><description>%s</description></item>"


def rss(items):
    return RSS % "".join(ITEM % i for i in items)


def extra(port):
    # The feed server is on loopback, which tigrisd refuses unless allowed.
    return {"http_listen": "127.0.0.1:%d" % port if port is not None else "",
            "allow_networks": ["127.0.0.0/8"]}


def main():
    tmp = tgtest.tempdir()
    server = tgtest.FeedServer()
    server.set("/wire.xml", rss([
        ("w1", "US strike on militia in Iraq", "The Pentagon said US troops struck a militia base near Baghdad."),
        ("w2", "Iran nuclear talks resume", "Iranian and US diplomats met in Oman on the nuclear programme."),
        ("w3", "Bakery wins award", "A bakery in Vermont won a prize for bread."),
    ]))
    feeds = [
        {"url": server.url("/wire.xml"), "interval": 1, "name": "wire"},
        {"url": server.url("/missing.xml"), "interval": 1, "name": "missing"},
    ]
    port = tgtest.free_port()
    d = tgtest.Daemon(tmp, feeds, workers=2, extra=extra(port))
    sub = tgtest.Subscriber(d.publish)
    try:
        d.start()
        check(wait_http(port, 10) is not None, "the HTTP server answers on 127.0.0.1:%d" % port)
        check(port in listening_ports(d.proc.pid), "tigrisd itself listens on that port")

        # Root and unknown paths.
        status, _, body = get(port, "/nope")
        check(status == 404, "unknown path is 404")

        check(sub.wait_for(3, 20), "the three items are published")
        # Let a couple more rounds run: the missing feed fails every second.
        deadline = time.time() + 15
        while time.time() < deadline:
            status, _, body = get(port, "/feeds")
            feeds_now = {f["name"]: f for f in json.loads(body)}
            if feeds_now["missing"]["error_count"] >= 3:
                break
            time.sleep(0.3)

        # /metrics
        status, ctype, text = get(port, "/metrics")
        check(status == 200, "/metrics is 200")
        check(ctype.startswith("text/plain") and "version=0.0.4" in ctype,
              "/metrics content type is the Prometheus text format (%s)" % ctype)
        values, types = parse_metrics(text)
        check(len(values) > 20, "every /metrics line parses (%d samples)" % len(values))
        for name in ("tigris_fetches_total", "tigris_fetch_bytes_total", "tigris_items_total",
                     "tigris_parse_errors_total", "tigris_alerts_total", "tigris_alert_tags_total"):
            check(types.get(name) == "counter", "%s is a counter" % name)
        for name in ("tigris_queue_depth", "tigris_inflight", "tigris_workers", "tigris_feeds"):
            check(types.get(name) == "gauge", "%s is a gauge" % name)
        for name in ("tigris_fetch_duration_seconds", "tigris_fetch_to_publish_seconds"):
            check(types.get(name) == "histogram", "%s is a histogram" % name)
        check(metric(values, "tigris_fetches_total", '{result="ok"}') >= 1, "ok fetches counted")
        check(metric(values, "tigris_fetches_total", '{result="not_modified"}') >= 1,
              "304 fetches counted")
        check(metric(values, "tigris_fetches_total", '{result="error"}') >= 3,
              "failed fetches counted (the 404 feed)")
        check(metric(values, "tigris_fetch_bytes_total") > 100, "bytes counted")
        check(metric(values, "tigris_items_total", '{kind="new"}') == 3, "3 new items")
        check(metric(values, "tigris_alerts_total") == 3, "3 alerts")
        check(metric(values, "tigris_workers") == 2, "2 workers connected")
        check(metric(values, "tigris_queue_depth") == 0 and metric(values, "tigris_inflight") == 0,
              "nothing queued or in flight once all is published")
        check(metric(values, "tigris_fetch_to_publish_seconds_count") == 3,
              "fetch-to-publish latency observed for each alert")
        check(metric(values, "tigris_fetch_to_publish_seconds_bucket", '{le="+Inf"}') == 3,
              "the +Inf bucket holds every observation")
        check(metric(values, "tigris_fetch_duration_seconds_count") >=
              metric(values, "tigris_fetches_total", '{result="ok"}'),
              "fetch durations observed")
        tags = {k[1]: v for k, v in values.items() if k[0] == "tigris_alert_tags_total"}
        check(sum(tags.values()) >= 2, "alerts counted per tag (%s)" % tags)
        check(metric(values, "tigris_feeds", '{health="ok"}') == 1, "one feed ok")
        check(metric(values, "tigris_feeds", '{health="failing"}') == 1, "one feed failing")
        ok_before = metric(values, "tigris_fetches_total", '{result="not_modified"}')

        # /feeds
        status, ctype, body = get(port, "/feeds")
        check(status == 200 and ctype.startswith("application/json"), "/feeds is JSON")
        arr = json.loads(body)
        check(isinstance(arr, list) and len(arr) == 2, "/feeds lists both feeds")
        by = {f["name"]: f for f in arr}
        for f in arr:
            check(set(f) == {"name", "url", "health", "last_success", "last_error", "next_fetch",
                             "error_count"}, "feed %s has every field" % f["name"])
        check(by["wire"]["health"] == "ok" and by["wire"]["error_count"] == 0 and
              by["wire"]["last_error"] is None and by["wire"]["last_success"] is not None,
              "wire is ok with a last success")
        check(by["wire"]["url"] == server.url("/wire.xml"), "url as configured")
        check(by["missing"]["health"] == "failing" and by["missing"]["error_count"] >= 3 and
              "404" in (by["missing"]["last_error"] or "") and by["missing"]["last_success"] is None,
              "missing is failing with its last error (%s)" % by["missing"])

        # tigris feeds
        out = subprocess.run([os.path.join(tgtest.BIN, "tigris"), "feeds", "--url",
                              "http://127.0.0.1:%d" % port], capture_output=True, text=True, timeout=10)
        check(out.returncode == 0, "tigris feeds exits 0")
        check("wire" in out.stdout and "missing" in out.stdout and "failing" in out.stdout and
              "404" in out.stdout, "tigris feeds prints the table:\n" + out.stdout)
        out = subprocess.run([os.path.join(tgtest.BIN, "tigris"), "feeds", "--json", "--url",
                              "http://127.0.0.1:%d" % port], capture_output=True, text=True, timeout=10)
        check(out.returncode == 0 and len(json.loads(out.stdout)) == 2, "tigris feeds --json")

        # /healthz with workers
        status, _, body = get(port, "/healthz")
        check(status == 200 and body == "ok\n", "/healthz is 200 ok with workers connected")

        # Counters move: a new item shows up in the metrics.
        server.set("/wire.xml", rss([("w4", "Iraq parliament votes on US troops", "Lawmakers in Baghdad voted.")]))
        check(sub.wait_for(4, 15), "a fourth item is published")
        time.sleep(0.2)
        values, _ = parse_metrics(get(port, "/metrics")[2])
        check(metric(values, "tigris_items_total", '{kind="new"}') == 4, "new items went to 4")
        check(metric(values, "tigris_alerts_total") == 4, "alerts went to 4")
        check(metric(values, "tigris_fetches_total", '{result="not_modified"}') >= ok_before,
              "counters never go down")
        rc = d.stop()
        check(rc == 0, "tigrisd stops cleanly")
    finally:
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()

    # No workers: /healthz is 503 with the reason.
    tmp2 = tgtest.tempdir()
    port2 = tgtest.free_port()
    d2 = tgtest.Daemon(tmp2, [{"url": server.url("/wire.xml"), "interval": 60, "name": "wire"}],
                       workers=0, extra=extra(port2))
    try:
        d2.start()
        r = wait_http(port2, 10)
        check(r is not None, "the second daemon answers")
        status, _, body = r
        check(status == 503 and "no workers connected" in body,
              "/healthz is 503 \"no workers connected\" with workers=0 (got %s %r)" % (status, body))
        check(d2.stop() == 0, "second tigrisd stops cleanly")
    finally:
        if d2.proc and d2.proc.poll() is None:
            d2.proc.kill()
            d2.proc.wait()

    # A port already in use is a start-up failure with a clear message.
    tmp3 = tgtest.tempdir()
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    d3 = tgtest.Daemon(tmp3, [], workers=0,
                       extra=extra(busy.getsockname()[1]))
    d3.start()
    try:
        rc = d3.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        d3.proc.kill()
        rc = None
    d3.logf.close()
    busy.close()
    check(rc not in (0, None), "tigrisd exits non-zero when http_listen cannot be bound")
    check("http_listen" in d3.log_text(), "and says http_listen in its message")

    # http_listen "" turns the server off.
    tmp4 = tgtest.tempdir()
    d4 = tgtest.Daemon(tmp4, [], workers=0, extra=extra(None))
    try:
        d4.start()
        time.sleep(1.0)
        check(d4.proc.poll() is None, "tigrisd runs with http_listen \"\"")
        answering = [p for p in listening_ports(d4.proc.pid) if answers_http(p)]
        check(answering == [], "and no port of it answers HTTP (%s)" % answering)
        check(d4.stop() == 0, "fourth tigrisd stops cleanly")
    finally:
        if d4.proc and d4.proc.poll() is None:
            d4.proc.kill()
            d4.proc.wait()
    sub.close()
    server.close()
    for t in (tmp, tmp2, tmp3, tmp4):
        shutil.rmtree(t, ignore_errors=True)
    print("all ok")


if __name__ == "__main__":
    main()
