#!/usr/bin/python3
"""The replay endpoint, spoken to as docs/protocol.md describes it, from REQ and
DEALER sockets: ranges, limits with "more", tag filters, and every kind of bad
request answered with an error while the daemon carries on."""

import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import tgtest  # noqa: E402

import zmq  # noqa: E402


check = tgtest.check  # each check() that does not hold prints FAIL and exits with status 1


def ask(sock, req, raw=False):
    sock.send(req if raw else json.dumps(req).encode())
    if sock.poll(5000) == 0:
        return None, []
    header, *alerts = sock.recv_multipart()
    return json.loads(header), [json.loads(a) for a in alerts]


def main():
    tmp = tgtest.tempdir()
    server = tgtest.FeedServer()
    server.set("/r.xml", tgtest.rss_items("r", 0, 30))
    d = tgtest.Daemon(tmp, [{"url": server.url("/r.xml"), "interval": 1, "name": "r"}], workers=1)
    ctx = zmq.Context.instance()
    req = ctx.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    try:
        d.start()
        req.connect(d.replay)
        dealer.connect(d.replay)
        h = None
        for _ in range(50):
            h, alerts = ask(req, {"v": 1, "type": "replay", "from_seq": 1})
            if h and h.get("count") == 30:
                break
            time.sleep(0.2)
        check(h["type"] == "replay" and h["count"] == 30 and [a["seq"] for a in alerts] == list(range(1, 31)),
              "REQ: all 30 alerts from seq 1, in order")
        check(h["newest_seq"] == 30 and h["oldest_seq"] == 1 and h["more"] is False and h["last_seq"] == 30,
              "header says newest, oldest, last and no more")
        h, alerts = ask(dealer, {"from_seq": 5, "to_seq": 20, "limit": 10})
        check(h["count"] == 10 and alerts[0]["seq"] == 5 and h["last_seq"] == 14 and h["more"] is True,
              "DEALER: a limit cuts the answer and says more")
        h, alerts = ask(dealer, {"from_seq": 15, "to_seq": 20, "limit": 10})
        check(h["count"] == 6 and h["more"] is False, "the rest of the range")
        h, alerts = ask(req, {"from_seq": 1, "tag": "iran"})
        check(h["count"] > 0 and all("iran" in a["tags"] for a in alerts), "by tag: only alerts with that tag")
        h, alerts = ask(req, {"from_seq": 1000})
        check(h["count"] == 0 and alerts == [] and "last_seq" not in h, "beyond the newest: nothing")
        for bad, why in [({"from_seq": -1}, "from_seq"), ({"from_seq": 1, "x": 1}, "unknown key"),
                         ({"to_seq": 3}, "from_seq"), ({"from_seq": 1, "limit": 5000}, "limit"),
                         ({"from_seq": 1, "tag": "no.dots"}, "tag"), ({"v": 2, "from_seq": 1}, "v"),
                         ({"from_seq": 1, "type": "other"}, "type")]:
            h, alerts = ask(req, bad)
            check(h["type"] == "error" and why in h["error"] and alerts == [],
                  "refused %s: %s" % (json.dumps(bad), h["error"]))
        h, _ = ask(req, b"not json", raw=True)
        check(h["type"] == "error", "garbage refused")
        h, _ = ask(req, b"{" * 5000, raw=True)
        check(h["type"] == "error" and "larger" in h["error"], "an oversized request refused")
        dealer.send_multipart([b"one", b"two"])
        check(dealer.poll(5000) and json.loads(dealer.recv_multipart()[0])["type"] == "error",
              "two frames refused")
        h, alerts = ask(req, {"from_seq": 30})
        check(h["count"] == 1, "still serving after the bad requests")
        check(d.proc.poll() is None and d.stop() == 0, "the daemon carried on and stops cleanly")
    finally:
        req.close()
        dealer.close()
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
        server.close()
        if os.environ.get("TG_KEEP_TMP") is None:
            shutil.rmtree(tmp, ignore_errors=True)
    print("replay: all checks passed")


if __name__ == "__main__":
    main()
