#!/usr/bin/python3
"""The fetcher against hostile and ordinary HTTP servers on loopback, through the
real tigrisd: conditional GET answered 304; gzip, deflate and brotli bodies; a
temporary redirect, a redirect loop (stops after 5), redirects to file: and
ftp: (refused); a body past the cap; a gzip bomb (200 KB that inflates to 200 MiB:
stops at the cap, memory stays low); 64 MiB with no Content-Length; a server that
stalls at 1 byte per second (the low-speed limit ends it while the other feeds
keep their schedule); one that drips fast enough for the low-speed limit but
never ends (the total timeout ends it); one that never accepts (the connect
timeout ends it)."""

import os
import shutil
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import tgtest  # noqa: E402
from fetchserver import (Server, brotli_bytes, brotli_decode, check, deflate_bytes,  # noqa: E402
                         full_backlog_listener, gzip_bomb, gzip_bytes, keep_tmp, redirect,
                         reply, rss, static, vm_hwm_kib, wait_log)

CAP = 1 << 20  # max_body_bytes for this test


def conditional(body, etag='"v1"'):
    def fn(h, req):
        if req.headers.get("if-none-match") == etag:
            h.send_response(304)
            h.send_header("ETag", etag)
            h.end_headers()
            return
        reply(h, req, 200, body, headers={"ETag": etag})
    return fn


def encoded(data, encoding):
    def fn(h, req):
        reply(h, req, 200, data, headers={"Content-Encoding": encoding})
    return fn


def stream(total, chunk, every):
    """Send total bytes (no Content-Length) chunk at a time, every seconds."""
    def fn(h, req):
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.end_headers()
        piece = b"<" + b"x" * (chunk - 1)
        while req.sent < total:
            h.wfile.write(piece)
            h.wfile.flush()
            req.sent += len(piece)
            if every:
                time.sleep(every)
    return fn


def feed_lines(log, name):
    return [line for line in log.splitlines() if ("feed %s:" % name) in line]


def main():
    tmp = tgtest.tempdir()
    s1 = Server("127.0.0.1")
    s3 = Server("127.0.0.3")  # stalls
    s4 = Server("127.0.0.4")  # drips
    backlog, bport, _clients = full_backlog_listener("127.0.0.5")

    plain = rss("br", 2)
    check(brotli_decode(brotli_bytes(plain)) == plain, "brotli fixture round-trips through libbrotli")
    bomb = gzip_bomb(200 << 20)
    check(len(bomb) < 400 * 1024, "gzip bomb is %d KB for 200 MiB" % (len(bomb) // 1024))

    s1.route("/cond.xml", conditional(rss("cond", 3)))
    s1.route("/gzip.xml", encoded(gzip_bytes(rss("gz", 2)), "gzip"))
    s1.route("/deflate.xml", encoded(deflate_bytes(rss("defl", 2)), "deflate"))
    s1.route("/br.xml", encoded(brotli_bytes(plain), "br"))
    s1.route("/temp", redirect(302, "/temp-target.xml"))
    s1.route("/temp-target.xml", static(rss("temp", 2)))
    s1.route("/loop", redirect(302, "/loop"))
    s1.route("/tofile", redirect(302, "file:///etc/hostname"))
    s1.route("/toftp", redirect(302, "ftp://127.0.0.1:21/feed.xml"))
    s1.route("/big.xml", static(b"<rss>" + b" " * (2 * CAP) + b"</rss>"))
    s1.route("/bomb.xml", encoded(bomb, "gzip"))
    s1.route("/nolen.xml", stream(64 << 20, 64 * 1024, 0))
    s3.route("/slow.xml", stream(60, 1, 1.0))
    s4.route("/drip.xml", stream(1 << 20, 50, 0.2))

    feeds = [
        {"url": s1.url("/cond.xml"), "interval": 1, "name": "cond"},
        {"url": s1.url("/gzip.xml"), "interval": 1, "name": "gzip"},
        {"url": s1.url("/deflate.xml"), "interval": 1, "name": "deflate"},
        {"url": s1.url("/br.xml"), "interval": 1, "name": "brotli"},
        {"url": s1.url("/temp"), "interval": 1, "name": "temp"},
        {"url": s1.url("/loop"), "interval": 1, "name": "loop"},
        {"url": s1.url("/tofile"), "interval": 1, "name": "tofile"},
        {"url": s1.url("/toftp"), "interval": 1, "name": "toftp"},
        {"url": s1.url("/big.xml"), "interval": 1, "name": "big"},
        {"url": s1.url("/bomb.xml"), "interval": 1, "name": "bomb"},
        {"url": s1.url("/nolen.xml"), "interval": 1, "name": "nolen"},
        {"url": s3.url("/slow.xml"), "interval": 1, "name": "slow"},
        {"url": s4.url("/drip.xml"), "interval": 1, "name": "drip"},
        {"url": "http://127.0.0.5:%d/feed.xml" % bport, "interval": 1, "name": "noaccept"},
    ]
    d = tgtest.Daemon(tmp, feeds, workers=1, extra={
        "max_body_bytes": CAP, "fetch_timeout": 4, "connect_timeout": 1,
        "low_speed_limit": 100, "low_speed_time": 2, "backoff_cap": 3,
        "host_max_concurrent": 8, "host_min_gap_ms": 0})
    sub = tgtest.Subscriber(d.publish)
    want = {"cond-0", "cond-1", "cond-2", "gz-0", "gz-1", "defl-0", "defl-1", "br-0", "br-1",
            "temp-0", "temp-1"}
    try:
        t0 = time.time()
        d.start()
        check(sub.wait_for(len(want), 15), "items of the readable feeds published")
        slow_end = wait_log(d, "feed slow:", 10)
        check(slow_end is not None, "stalled feed ended")
        drip_end = wait_log(d, "feed drip:", 10)
        check(drip_end is not None, "endless feed ended")
        # Let the feeds run a little past the stall.
        time.sleep(max(0, 9 - (time.time() - t0)))
        hwm = vm_hwm_kib(d.proc.pid)
        log = d.log_text()
        ids = sorted(a["item"]["id"] for a in sub.alerts)
        check(sorted(set(ids)) == sorted(want) and len(ids) == len(want),
              "exactly the items of the readable feeds, once each (%s)" % ids)

        # Conditional GET.
        cond = s1.requests("/cond.xml")
        check(len(cond) >= 5, "cond fetched every second (%d times)" % len(cond))
        check("if-none-match" not in cond[0].headers, "first request unconditional")
        check(all(r.headers.get("if-none-match") == '"v1"' for r in cond[1:]),
              "later requests send If-None-Match with the stored ETag")

        # Content codings: asked for and decoded.
        ae = s1.requests("/gzip.xml")[0].headers.get("accept-encoding", "")
        check(all(c in ae for c in ("gzip", "deflate", "br")),
              "Accept-Encoding offers gzip, deflate and br (%s)" % ae)
        for name in ("gzip", "deflate", "brotli"):
            check(not feed_lines(log, name) or not any("failure" in line for line in feed_lines(log, name)),
                  "%s body decoded without failures" % name)

        # Redirects.
        check(len(s1.requests("/temp")) >= 3 and
              len(s1.requests("/temp")) == len(s1.requests("/temp-target.xml")),
              "temporary redirect followed each time, from the configured URL")
        loops = s1.requests("/loop")
        fails = [line for line in feed_lines(log, "loop") if "failure" in line]
        check(fails and "Maximum (5) redirects followed" in fails[0],
              "redirect loop stops after 5 redirects: %s" % (fails[:1],))
        check(len(loops) == 6 * len(fails) or len(loops) == 6 * len(fails) + 6,
              "each fetch of the loop made exactly 6 requests (%d requests, %d failures)"
              % (len(loops), len(fails)))
        for name in ("tofile", "toftp"):
            lines = [line for line in feed_lines(log, name) if "failure" in line]
            check(lines and "not supported" in lines[0],
                  "redirect to another scheme refused: %s" % (lines[:1],))

        # Size caps.
        lines = [line for line in feed_lines(log, "big") if "failure" in line]
        check(lines and "body larger than the cap of %d bytes" % CAP in lines[0],
              "body past the cap refused: %s" % (lines[:1],))
        lines = [line for line in feed_lines(log, "bomb") if "failure" in line]
        check(lines and "body larger than the cap of %d bytes" % CAP in lines[0],
              "gzip bomb stops at the cap: %s" % (lines[:1],))
        check(0 < hwm < 64 * 1024, "tigrisd peak memory stays low (%d KiB)" % hwm)
        lines = [line for line in feed_lines(log, "nolen") if "failure" in line]
        check(lines and "body larger than the cap" in lines[0],
              "64 MiB without Content-Length stops at the cap: %s" % (lines[:1],))
        sent = [r.sent for r in s1.requests("/nolen.xml") if r.end]
        check(sent and max(sent) < 16 << 20,
              "the server could send only %d KiB of the 64 MiB" % (max(sent or [0]) // 1024))

        # Slow servers and timeouts.
        slow = s3.requests("/slow.xml")[0]
        lines = [line for line in feed_lines(log, "slow") if "failure" in line]
        check(lines and "Operation too slow" in lines[0], "stall ended by the low-speed limit: %s"
              % (lines[:1],))
        check(1.5 <= slow_end - slow.start <= 3.5,
              "low-speed limit of 2 s hit after %.1f s" % (slow_end - slow.start))
        during = [r.start for r in cond if slow.start <= r.start <= slow_end]
        check(len(during) >= max(1, int(slow_end - slow.start) - 1),
              "cond fetched %d times during the %.1f s stall" % (len(during), slow_end - slow.start))
        gaps = [b.start - a.start for a, b in zip(cond, cond[1:])]
        check(max(gaps) < 1.8, "cond kept its 1 s schedule (largest gap %.2f s)" % max(gaps))
        drip = s4.requests("/drip.xml")[0]
        lines = [line for line in feed_lines(log, "drip") if "failure" in line]
        check(lines and "Operation timed out after 4" in lines[0],
              "endless drip ended by the 4 s total timeout: %s" % (lines[:1],))
        check(3.8 <= drip_end - drip.start <= 5.0,
              "total timeout hit after %.1f s" % (drip_end - drip.start))
        lines = [line for line in feed_lines(log, "noaccept") if "failure" in line]
        check(lines and "127.0.0.5" in lines[0] and "Timeout was reached" in lines[0],
              "a server that never accepts: connect timeout: %s" % (lines[:1],))

        check(d.stop() == 0, "tigrisd stops cleanly with transfers under way")
    finally:
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
        sub.close()
        for s in (s1, s3, s4):
            threading.Thread(target=s.close, daemon=True).start()
        backlog.close()
        if not keep_tmp():
            shutil.rmtree(tmp, ignore_errors=True)
    print("fetch http: all checks passed")


if __name__ == "__main__":
    main()
