"""A scriptable loopback HTTP server for the fetch tests (test_fetch_*.py): each
path is answered by a small function, every connection and request is recorded
with its time and headers, and helpers encode bodies (gzip, deflate, brotli) and
build feeds. Binds loopback addresses only (127.0.0.0/8)."""

import ctypes
import ctypes.util
import gzip
import http.server
import os
import socket
import threading
import time
import zlib

import tgtest


class Request:
    def __init__(self, path, headers, start):
        self.path = path
        self.headers = headers
        self.start = start
        self.end = None
        self.sent = 0
        self.done = lambda: None  # the server sets it: this request no longer counts as active


class Server:
    """HTTP/1.0 (one request per connection) on host:0. route(path, fn) makes
    fn(handler, req) answer GETs of path; unknown paths get 404."""

    def __init__(self, host="127.0.0.1"):
        assert host.startswith("127."), "fetch tests stay on loopback"
        self.routes = {}
        self.log = []
        self.connections = 0
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                req = Request(self.path, dict((k.lower(), v) for k, v in self.headers.items()),
                              time.time())
                finished = []

                def done():
                    # Once, when the answer starts: the client cannot finish (and
                    # start its next request) before that, while this thread may be
                    # descheduled for a while after its last write.
                    with server.lock:
                        if not finished:
                            finished.append(True)
                            server.active -= 1

                req.done = done
                with server.lock:
                    server.log.append(req)
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                    fn = server.routes.get(self.path.split("?")[0])
                try:
                    if fn is None:
                        reply(self, req, 404, b"not here\n", "text/plain")
                    else:
                        fn(self, req)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    req.end = time.time()
                    done()

            def log_message(self, *args):
                pass

        class HTTPServer(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request, client_address):
                with server.lock:
                    server.connections += 1
                return True

        self.httpd = HTTPServer((host, 0), Handler)
        self.host = host
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def route(self, path, fn):
        with self.lock:
            self.routes[path] = fn

    def url(self, path):
        return "http://%s:%d%s" % (self.host, self.port, path)

    def requests(self, path=None):
        with self.lock:
            return [r for r in self.log if path is None or r.path == path]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def reply(h, req, status, body=b"", ctype="application/rss+xml", headers=None, length=True):
    """Send a whole answer; length=False leaves Content-Length out (the body then
    ends when the connection closes)."""
    req.done()
    h.send_response(status)
    h.send_header("Content-Type", ctype)
    if length:
        h.send_header("Content-Length", str(len(body)))
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.end_headers()
    if body:
        h.wfile.write(body)
        req.sent += len(body)


def redirect(status, location):
    def fn(h, req):
        reply(h, req, status, b"", "text/plain", {"Location": location})
    return fn


def static(body, status=200, ctype="application/rss+xml", headers=None):
    def fn(h, req):
        reply(h, req, status, body, ctype, headers)
    return fn


def rss(prefix, n, title="%s item %d"):
    """An RSS 2.0 feed of n items with guids prefix-0 .. prefix-(n-1)."""
    items = "".join(
        "<item><guid isPermaLink=\"false\">%s-%d</guid><title>%s</title>"
        "<link>https://x.example/%s/%d</link><description>Item %d of %s.</description></item>"
        % (prefix, i, title % (prefix, i), prefix, i, i, prefix) for i in range(n))
    return ('<?xml version="1.0"?><rss version="2.0"><channel><title>%s</title>'
            '<link>https://x.example/</link><description>d</description>%s</channel></rss>'
            % (prefix, items)).encode()


def gzip_bytes(data):
    return gzip.compress(data)


def deflate_bytes(data):
    return zlib.compress(data)  # HTTP "deflate" is the zlib format


def gzip_bomb(size, chunk=1 << 20):
    """gzip of size zero bytes (about 1/1000 of size)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * chunk
    out = []
    for _ in range(size // chunk):
        out.append(c.compress(zeros))
    out.append(c.flush())
    return b"".join(out)


def _brotli_lib(name):
    path = ctypes.util.find_library(name)
    for cand in ([path] if path else []) + ["lib%s.so.1" % name]:
        try:
            return ctypes.CDLL(cand)
        except OSError:
            continue
    raise RuntimeError("lib%s (Debian package libbrotli1, a dependency of libcurl4) not found" % name)


def brotli_bytes(data):
    """Brotli through libbrotlienc (installed with libcurl): Python's standard
    library has no encoder."""
    enc = _brotli_lib("brotlienc")
    enc.BrotliEncoderMaxCompressedSize.restype = ctypes.c_size_t
    enc.BrotliEncoderMaxCompressedSize.argtypes = [ctypes.c_size_t]
    enc.BrotliEncoderCompress.restype = ctypes.c_int
    enc.BrotliEncoderCompress.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_size_t,
                                          ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t),
                                          ctypes.c_char_p]
    cap = enc.BrotliEncoderMaxCompressedSize(len(data)) or len(data) + 1024
    out = ctypes.create_string_buffer(cap)
    outlen = ctypes.c_size_t(cap)
    if not enc.BrotliEncoderCompress(11, 22, 0, len(data), data, ctypes.byref(outlen), out):
        raise RuntimeError("BrotliEncoderCompress failed")
    return out.raw[:outlen.value]


def brotli_decode(data, max_out=1 << 24):
    dec = _brotli_lib("brotlidec")
    dec.BrotliDecoderDecompress.restype = ctypes.c_int
    dec.BrotliDecoderDecompress.argtypes = [ctypes.c_size_t, ctypes.c_char_p,
                                            ctypes.POINTER(ctypes.c_size_t), ctypes.c_char_p]
    out = ctypes.create_string_buffer(max_out)
    outlen = ctypes.c_size_t(max_out)
    if dec.BrotliDecoderDecompress(len(data), data, ctypes.byref(outlen), out) != 1:
        raise RuntimeError("BrotliDecoderDecompress failed")
    return out.raw[:outlen.value]


def wait_log(daemon, text, timeout):
    """Poll the daemon's log until text appears; returns the time it was seen or None."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in daemon.log_text():
            return time.time()
        time.sleep(0.05)
    return None


def vm_hwm_kib(pid):
    """Peak resident memory of a process in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def full_backlog_listener(host):
    """A TCP listener on host whose accept queue is full, so that further
    connection attempts hang (SYNs dropped) until the client gives up. Returns
    (listener, port, clients) to keep alive."""
    s = socket.socket()
    s.bind((host, 0))
    s.listen(0)
    port = s.getsockname()[1]
    clients = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect((host, port))
        except BlockingIOError:
            pass
        clients.append(c)
    time.sleep(0.1)
    return s, port, clients


# The assertion of every fetch test: a check() that does not hold prints FAIL and
# exits with status 1 (the one definition, shared with the other integration tests).
check = tgtest.check


def keep_tmp():
    return os.environ.get("TG_KEEP_TMP") is not None
