#!/usr/bin/python3
"""Server-side request forgery: tigrisd must not connect to loopback, private,
link-local, unique-local, multicast or unspecified addresses unless
allow_networks opens them, whether the address comes from the feed URL, a DNS
name, or a redirect. Every refusal is logged with its rule, at once, and the
servers listening on the refused loopback addresses see no connection at all.
Only loopback traffic is ever sent: the non-loopback addresses are refused
before any socket is opened."""

import os
import shutil
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import tgtest  # noqa: E402
from fetchserver import Server, check, keep_tmp, redirect, rss, static, wait_log  # noqa: E402

HINT = " with allow_networks"


class Listener:
    """Counts TCP connections accepted on (host, port 0)."""

    def __init__(self, family, host):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.count += 1
            c.close()

    def close(self):
        self.sock.close()


def refusal_times(d, expect, timeout):
    """Wait until every (name, text) in expect is in the log; returns name -> time seen."""
    seen = {}
    deadline = time.time() + timeout
    while time.time() < deadline and len(seen) < len(expect):
        log = d.log_text()
        for name, text in expect:
            if name not in seen and any(("feed %s:" % name) in line and text in line and
                                        HINT in line for line in log.splitlines()):
                seen[name] = time.time()
        time.sleep(0.05)
    return seen


def part_default_deny(tmp):
    """No allowlist: every inward address is refused, directly or by name."""
    lo = Listener(socket.AF_INET, "127.0.0.1")
    lo6 = Listener(socket.AF_INET6, "::1")
    p, p6 = lo.port, lo6.port
    cases = [
        ("priv", "http://10.255.255.1:9/feed.xml", "refused 10.255.255.1: private network 10.0.0.0/8"),
        ("meta", "http://169.254.169.254/latest/meta-data/",
         "refused 169.254.169.254: link-local network (cloud metadata) 169.254.0.0/16"),
        ("lo", "http://127.0.0.1:%d/feed.xml" % p, "refused 127.0.0.1: loopback network 127.0.0.0/8"),
        ("name", "http://localhost:%d/feed.xml" % p, "refused 127.0.0.1: loopback network 127.0.0.0/8"),
        ("short", "http://127.1:%d/feed.xml" % p, "refused 127.0.0.1: loopback network 127.0.0.0/8"),
        ("zero", "http://0.0.0.0:%d/feed.xml" % p, "refused 0.0.0.0: unspecified network 0.0.0.0/8"),
        ("mapped", "http://[::ffff:127.0.0.1]:%d/feed.xml" % p,
         "refused ::ffff:127.0.0.1: loopback network 127.0.0.0/8"),
        ("v6", "http://[::1]:%d/feed.xml" % p6, "refused ::1: loopback address ::1/128"),
        ("ula", "http://[fd00::1]:9/feed.xml", "refused fd00::1: unique-local network fc00::/7"),
        ("mcast", "http://224.0.0.1:9/feed.xml", "refused 224.0.0.1: multicast network 224.0.0.0/4"),
    ]
    feeds = [{"url": url, "interval": 1, "name": name} for name, url, _ in cases]
    d = tgtest.Daemon(tmp, feeds, workers=1, extra={"allow_networks": [], "connect_timeout": 5})
    try:
        t0 = time.time()
        d.start()
        seen = refusal_times(d, [(n, text) for n, _, text in cases], 6)
        for name, url, text in cases:
            check(name in seen, "%s: %s" % (url, text))
        log = d.log_text()
        check("feed priv: refused 10.255.255.1: private network 10.0.0.0/8; allow it with "
              "allow_networks (failure 1" in log, "the refusal is the fetch error, with the fix")
        check(max(seen.values()) - t0 < 2.5,
              "every refusal within %.1f s of the start: no connection attempted"
              % (max(seen.values()) - t0))
        time.sleep(1.5)  # a retry or two more
        check(lo.count == 0, "the server on 127.0.0.1 saw no connection (%d)" % lo.count)
        check(lo6.count == 0, "the server on ::1 saw no connection (%d)" % lo6.count)
        check(d.stop() == 0, "tigrisd stops cleanly")
    finally:
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
        lo.close()
        lo6.close()


def part_redirects(tmp):
    """127.0.0.1/32 allowed: its server works, and its redirects to every other
    inward address are refused at the connection."""
    s1 = Server("127.0.0.1")
    s2 = Server("127.0.0.2")
    lo6 = Listener(socket.AF_INET6, "::1")
    s2.route("/feed.xml", static(rss("forbidden", 2)))
    s1.route("/ok.xml", static(rss("ok", 2)))
    s1.route("/ok2.xml", static(rss("ok2", 1)))
    s1.route("/r-ok", redirect(302, "/ok2.xml"))
    target = s2.url("/feed.xml")
    cases = [
        ("r-lo2", "/r-lo2", redirect(302, target), "refused 127.0.0.2: loopback network 127.0.0.0/8"),
        ("r-301", "/r-301", redirect(301, target), "refused 127.0.0.2: loopback network 127.0.0.0/8"),
        ("r-mapped", "/r-mapped", redirect(307, "http://[::ffff:127.0.0.2]:%d/feed.xml" % s2.port),
         "refused ::ffff:127.0.0.2: loopback network 127.0.0.0/8"),
        ("r-v6", "/r-v6", redirect(302, "http://[::1]:%d/feed.xml" % lo6.port),
         "refused ::1: loopback address ::1/128"),
        ("r-zero", "/r-zero", redirect(302, "http://0.0.0.0:%d/ok.xml" % s1.port),
         "refused 0.0.0.0: unspecified network 0.0.0.0/8"),
        ("r-meta", "/r-meta", redirect(302, "http://169.254.169.254/latest/meta-data/iam/"),
         "refused 169.254.169.254: link-local network (cloud metadata) 169.254.0.0/16"),
        ("r-priv", "/r-priv", redirect(308, "http://10.255.255.1:9/"),
         "refused 10.255.255.1: private network 10.0.0.0/8"),
        ("r-site", "/r-site", redirect(302, "http://192.168.1.1/"),
         "refused 192.168.1.1: private network 192.168.0.0/16"),
    ]
    for _, path, fn, _ in cases:
        s1.route(path, fn)
    feeds = [{"url": s1.url("/ok.xml"), "interval": 1, "name": "ok"},
             {"url": s1.url("/r-ok"), "interval": 1, "name": "r-ok"},
             {"url": target, "interval": 1, "name": "direct-lo2"}]
    feeds += [{"url": s1.url(path), "interval": 1, "name": name} for name, path, _, _ in cases]
    d = tgtest.Daemon(tmp, feeds, workers=1, extra={"allow_networks": ["127.0.0.1/32"]})
    sub = tgtest.Subscriber(d.publish)
    try:
        t0 = time.time()
        d.start()
        check(sub.wait_for(3, 10), "the allowed server's feeds published (ok, and ok2 through "
              "a redirect)")
        expect = [(n, text) for n, _, _, text in cases]
        expect.append(("direct-lo2", "refused 127.0.0.2: loopback network 127.0.0.0/8"))
        seen = refusal_times(d, expect, 6)
        for name, path, _, text in cases:
            check(name in seen and s1.requests(path),
                  "redirect %s -> refused at the connection: %s" % (path, text))
        check("direct-lo2" in seen, "127.0.0.2 outside the 127.0.0.1/32 allowance refused")
        check(max(seen.values()) - t0 < 3, "all refused at once")
        time.sleep(1.5)
        check(s2.connections == 0, "the server on 127.0.0.2 saw no connection (%d)" % s2.connections)
        check(lo6.count == 0, "the server on ::1 saw no connection (%d)" % lo6.count)
        ids = sorted(a["item"]["id"] for a in sub.alerts)
        check(ids == ["ok-0", "ok-1", "ok2-0"], "only the allowed items published (%s)" % ids)
        check("moved permanently" not in wait_log_text(d, "r-301"),
              "a refused permanent redirect does not move the feed")
        check(d.stop() == 0, "tigrisd stops cleanly")
    finally:
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
        sub.close()
        s1.close()
        s2.close()
        lo6.close()


def wait_log_text(d, name):
    return "\n".join(line for line in d.log_text().splitlines() if ("feed %s:" % name) in line)


def main():
    tmp_a, tmp_b = tgtest.tempdir(), tgtest.tempdir()
    try:
        part_default_deny(tmp_a)
        part_redirects(tmp_b)
    finally:
        if not keep_tmp():
            shutil.rmtree(tmp_a, ignore_errors=True)
            shutil.rmtree(tmp_b, ignore_errors=True)
    print("fetch ssrf: all checks passed")


if __name__ == "__main__":
    main()
