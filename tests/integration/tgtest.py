"""Helpers shared by the integration tests: a loopback HTTP feed server, a
temporary tigris config, and the real tigrisd started and stopped with signals."""

import http.server
import json
import os
import signal
import subprocess
import tempfile
import threading
import time

import zmq

BIN = os.environ.get("TG_BIN_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "build")
TOP = os.environ.get("TG_TOP") or os.path.join(os.path.dirname(__file__), "..", "..")
TAXONOMY = os.path.join(TOP, "deploy", "taxonomy.tgt")


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
        cfg = {
            "feeds": feeds,
            "state_dir": os.path.join(tmp, "state"),
            "taxonomy": TAXONOMY,
            "workers": workers,
            "publish": self.publish,
            "worker_endpoint": self.worker_endpoint,
            "jitter_pct": 0,
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


def tempdir():
    return tempfile.mkdtemp(prefix="tigris-test-")
