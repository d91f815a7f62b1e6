"""Helpers shared by the integration tests: a loopback HTTP feed server, a
temporary tigris config, and the real tigrisd started and stopped with signals."""

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import zmq

BIN = os.environ.get("TG_BIN_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "build")
TOP = os.environ.get("TG_TOP") or os.path.join(os.path.dirname(__file__), "..", "..")
TAXONOMY = os.path.join(TOP, "deploy", "taxonomy.tgt")


# Log files of the daemons this test started, so that a failing check can show
# what they said last.
DAEMON_LOGS = []


def check(cond, what):
    """One assertion of an integration test: print it, and stop with status 1 when
    it does not hold (after the last lines of every daemon log, for the reader)."""
    if not cond:
        print("FAIL:", what)
        for path in DAEMON_LOGS:
            try:
                with open(path, errors="replace") as f:
                    tail = f.read().splitlines()[-40:]
            except OSError:
                continue
            print("--- last lines of %s" % path)
            for line in tail:
                print("    " + line)
        sys.exit(1)
    print("ok:", what)


class FeedServer:
    """Serves feeds from a dict path -> body on 127.0.0.1 with ETag and
    Last-Modified, answering 304 to matching conditional requests. Records every
    request as (path, status)."""

    def __init__(self):
        self.feeds = {}
        self.log = []
        self.honour_conditional = True
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with server.lock:
                    entry = server.feeds.get(self.path)
                if entry is None:
                    self.send_response(404)
                    self.end_headers()
                    server.record(self.path, 404)
                    return
                body, ctype = entry
                etag = '"%x"' % (hash(body) & 0xFFFFFFFF)
                lastmod = "Sat, 28 Nov 2026 10:00:00 GMT"
                if server.honour_conditional and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    server.record(self.path, 304)
                    return
                data = body.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", lastmod)
                self.end_headers()
                self.wfile.write(data)
                server.record(self.path, 200)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def record(self, path, status):
        with self.lock:
            self.log.append((path, status, time.time()))

    def set(self, path, body, ctype="application/rss+xml"):
        with self.lock:
            self.feeds[path] = (body, ctype)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def requests(self, path=None, status=None):
        with self.lock:
            return [r for r in self.log if (path is None or r[0] == path) and (status is None or r[1] == status)]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Daemon:
    """The real tigrisd with a config written to a temp dir."""

    def __init__(self, tmp, feeds, workers=2, extra=None):
        self.tmp = tmp
        self.publish = "ipc://%s/pub.sock" % tmp
        self.worker_endpoint = "ipc://%s/workers.sock" % tmp
        self.replay = "ipc://%s/replay.sock" % tmp
        cfg = {
            "feeds": feeds,
            "state_dir": os.path.join(tmp, "state"),
            "taxonomy": TAXONOMY,
            "workers": workers,
            "publish": self.publish,
            "worker_endpoint": self.worker_endpoint,
            "replay": self.replay,
            "http_listen": "",
            "jitter_pct": 0,
            "allow_networks": ["127.0.0.0/8"],
            "log_level": "debug",
        }
        cfg.update(extra or {})
        self.config = os.path.join(tmp, "tigris.json")
        with open(self.config, "w") as f:
            json.dump(cfg, f, indent=2)
        self.proc = None
        self.logs = []

    def start(self):
        logpath = os.path.join(self.tmp, "tigrisd.%d.log" % len(self.logs))
        self.logs.append(logpath)
        DAEMON_LOGS.append(logpath)
        self.logf = open(logpath, "w")
        self.proc = subprocess.Popen([os.path.join(BIN, "tigrisd"), "--config", self.config],
                                     stdout=self.logf, stderr=subprocess.STDOUT)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=timeout)
        self.logf.close()
        return rc

    def log_text(self):
        text = ""
        for p in self.logs:
            with open(p) as f:
                text += f.read()
        return text


class Subscriber:
    """A real ZeroMQ SUB socket on the daemon's publish endpoint."""

    def __init__(self, endpoint, topics=("all.",)):
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.SUB)
        self.sock.setsockopt(zmq.RECONNECT_IVL, 20)
        for t in topics:
            self.sock.setsockopt(zmq.SUBSCRIBE, t.encode())
        self.sock.connect(endpoint)
        self.alerts = []

    def poll(self, seconds):
        """Collect alerts for up to `seconds`; returns the new ones."""
        new = []
        deadline = time.time() + seconds
        while True:
            left = deadline - time.time()
            if left <= 0:
                break
            if self.sock.poll(int(left * 1000)) == 0:
                break
            topic, body = self.sock.recv_multipart()
            alert = json.loads(body)
            alert["_topic"] = topic.decode()
            new.append(alert)
        self.alerts.extend(new)
        return new

    def wait_for(self, count, seconds):
        deadline = time.time() + seconds
        while len(self.alerts) < count and time.time() < deadline:
            self.poll(min(0.2, max(0.01, deadline - time.time())))
        return len(self.alerts) >= count

    def close(self):
        self.sock.close(0)


def classify_offline(items):
    """Tags from `tigris classify` for [{"id","title","body"}]: id -> (tags, relevant)."""
    text = "".join(json.dumps(i) + "\n" for i in items)
    out = subprocess.run([os.path.join(BIN, "tigris"), "classify", "--taxonomy", TAXONOMY],
                         input=text, capture_output=True, text=True, check=True).stdout
    res = {}
    for line in out.splitlines():
        obj = json.loads(line)
        res[obj["id"]] = (sorted(obj["tags"]), obj["relevant"])
    return res


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1. All n sockets are bound at once,
    so two calls in a row cannot hand out the same port (closing one socket
    before binding the next can); another process may still take one before
    the caller binds it, as with any such helper."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port():
    """One free TCP port on 127.0.0.1 (see free_ports)."""
    return free_ports(1)[0]


def tempdir():
    return tempfile.mkdtemp(prefix="tigris-test-")


def rss_items(prefix, start, end, extra=None):
    """An RSS 2.0 document with items prefix-start .. prefix-(end-1)."""
    topics = ["Iraqi officials meet a US envoy in Baghdad", "Iran expands uranium enrichment at Natanz",
              "Storm closes schools across the region", "Markets rise on strong earnings",
              "US Treasury sanctions Iranian oil traders", "Militia rocket attack on Ain al-Asad base"]
    parts = ['<?xml version="1.0"?><rss version="2.0"><channel><title>%s</title>'
             '<link>https://load.example/</link><description>d</description>' % prefix]
    for i in range(start, end):
        title = (extra or {}).get(i) or "%s %d: %s" % (prefix, i, topics[i % len(topics)])
        parts.append("<item><guid>%s-%d</guid><title>%s</title><description>Report number %d on %s."
                     "</description></item>" % (prefix, i, title, i, topics[(i * 7) % len(topics)]))
    parts.append("</channel></rss>")
    return "".join(parts)


class GrowingFeeds:
    """Feeds on a FeedServer that gain `per_second` items each, until `total` each."""

    def __init__(self, server, names, per_second, total, extra=None):
        self.server, self.names = server, names
        self.per_second, self.total, self.extra = per_second, total, extra or {}
        self.start_time = None
        self.stop_flag = False
        for n in names:
            server.set("/%s.xml" % n, rss_items(n, 0, 0))

    def start(self):
        self.start_time = time.time()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def count(self):
        if self.start_time is None:
            return 0
        return min(self.total, int((time.time() - self.start_time) * self.per_second))

    def run(self):
        while not self.stop_flag:
            n = self.count()
            for name in self.names:
                self.server.set("/%s.xml" % name, rss_items(name, max(0, n - 2000), n, self.extra.get(name)))
            if n >= self.total:
                break
            time.sleep(0.25)

    def ids(self):
        return {"%s-%d" % (n, i) for n in self.names for i in range(self.total)}

    def configs(self, interval=1):
        return [{"url": self.server.url("/%s.xml" % n), "interval": interval, "name": n} for n in self.names]


def worker_pids(daemon_pid):
    """Pids of the tigris-worker children of a daemon."""
    out = []
    try:
        with open("/proc/%d/task/%d/children" % (daemon_pid, daemon_pid)) as f:
            kids = [int(x) for x in f.read().split()]
    except OSError:
        return out
    for k in kids:
        try:
            with open("/proc/%d/comm" % k) as f:
                if f.read().strip() == "tigris-worker":
                    out.append(k)
        except OSError:
            pass
    return out
