#!/usr/bin/python3
"""CURVE on the real tigrisd: `tigris keygen` makes the key pairs, the daemon
requires CURVE on its publish, replay and worker sockets (over TCP), and on each
of the three a plaintext client and a client with an unknown key are refused
while a client with an allowed key works. The worker socket is tested with real
tigris-worker processes, publish and replay with pyzmq and `tigris tail`. Then
the workers tigrisd starts itself get in with the daemon's own key, and a config
with CURVE on but no client keys is refused at start."""

import json
import re
import urllib.request
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

import zmq

sys.path.insert(0, os.path.dirname(__file__))
import tgtest  # noqa: E402

TIGRIS = os.path.join(tgtest.BIN, "tigris")
TIGRISD = os.path.join(tgtest.BIN, "tigrisd")
WORKER = os.path.join(tgtest.BIN, "tigris-worker")
REFUSE_WAIT = 3.0  # seconds a refused client is given to get anything through


check = tgtest.check  # each check() that does not hold prints FAIL and exits with status 1


def keygen(tmp, name):
    """Run `tigris keygen`; returns {"public-key": ..., "secret-key": ...}."""
    base = os.path.join(tmp, name)
    out = subprocess.run([TIGRIS, "keygen", base], capture_output=True, text=True)
    check(out.returncode == 0, "tigris keygen %s (%s)" % (name, out.stderr.strip()))
    return read_keyfile(base + ".key")


def read_keyfile(path):
    keys = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                k, v = line.split("=", 1)
                keys[k.strip()] = v.strip()
    return keys


def curve(sock, server_pub, pair):
    """Make a pyzmq socket a CURVE client; pair None: stays plaintext."""
    if pair is None:
        return
    sock.curve_serverkey = server_pub.encode()
    sock.curve_publickey = pair["public-key"].encode()
    sock.curve_secretkey = pair["secret-key"].encode()


def subscriber(ctx, endpoint, server_pub, pair):
    s = ctx.socket(zmq.SUB)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RECONNECT_IVL, 50)
    curve(s, server_pub, pair)
    s.setsockopt(zmq.SUBSCRIBE, b"all.")
    s.setsockopt(zmq.SUBSCRIBE, b"hb.")
    s.connect(endpoint)
    return s


def drain(sock, seconds):
    """Every two-frame message on sock for up to `seconds`: [(topic, body)]."""
    got = []
    deadline = time.time() + seconds
    while True:
        left = deadline - time.time()
        if left <= 0 or sock.poll(int(left * 1000)) == 0:
            break
        got.append(tuple(sock.recv_multipart()))
    return got


def replay_client(ctx, endpoint, server_pub, pair):
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RECONNECT_IVL, 50)
    curve(s, server_pub, pair)
    s.connect(endpoint)
    req = {"v": 1, "type": "replay", "from_seq": 1, "to_seq": 0, "limit": 100}
    s.send(json.dumps(req).encode(), zmq.NOBLOCK)
    return s


def start_worker(tmp, endpoint, name, args):
    log = open(os.path.join(tmp, "worker-%s.log" % name), "w")
    return subprocess.Popen([WORKER, "--connect", endpoint, "--taxonomy", tgtest.TAXONOMY,
                             "--log-level", "debug"] + args, stdout=log, stderr=subprocess.STDOUT)


def tail(args, timeout):
    """Run `tigris tail` for at most timeout seconds; (returncode or None, stdout, stderr)."""
    p = subprocess.Popen([TIGRIS, "tail", "--json"] + args, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out, err
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=5)
        return None, out, err


def items_feed(prefix, n):
    return tgtest.rss_items(prefix, 0, n)


def refused_at_start(tmp, server_key, feeds):
    """CURVE on with an empty curve_clients: tigrisd --check and tigrisd refuse it."""
    where = os.path.join(tmp, "empty")
    os.makedirs(where)
    d = tgtest.Daemon(where, feeds, workers=0, extra={"curve_secret_key": server_key, "curve_clients": []})
    out = subprocess.run([TIGRISD, "--config", d.config, "--check"], capture_output=True, text=True)
    check(out.returncode != 0 and "curve_clients: empty while curve_secret_key is set" in out.stderr,
          "tigrisd --check refuses CURVE on with no client keys (%s)" % out.stderr.strip())
    out = subprocess.run([TIGRISD, "--config", d.config], capture_output=True, text=True, timeout=10)
    check(out.returncode != 0 and "curve_clients" in out.stderr,
          "tigrisd refuses to start with CURVE on and no client keys")


def main():
    tmp = tgtest.tempdir()
    server = tgtest.FeedServer()
    ctx = zmq.Context()
    procs = []
    socks = []
    d = None
    try:
        # Key pairs, and what keygen promises about them.
        srv = keygen(tmp, "server")
        allowed = keygen(tmp, "allowed")
        unknown = keygen(tmp, "unknown")
        check(stat.S_IMODE(os.stat(os.path.join(tmp, "allowed.key")).st_mode) == 0o600,
              "NAME.key is written with mode 0600")
        check(read_keyfile(os.path.join(tmp, "allowed.pub")) == {"public-key": allowed["public-key"]},
              "NAME.pub holds the public key only")
        check(len(srv["public-key"]) == 40 and len(srv["secret-key"]) == 40, "keys are 40 Z85 characters")
        before = open(os.path.join(tmp, "allowed.key")).read()
        out = subprocess.run([TIGRIS, "keygen", os.path.join(tmp, "allowed")], capture_output=True, text=True)
        check(out.returncode != 0 and "not overwritten" in out.stderr and
              open(os.path.join(tmp, "allowed.key")).read() == before,
              "keygen refuses to overwrite an existing key")
        server_key = os.path.join(tmp, "server.key")
        server_pub_file = os.path.join(tmp, "server.pub")
        spub = srv["public-key"]

        n_items = 6
        server.set("/wire.xml", items_feed("wire", n_items))
        feeds = [{"url": server.url("/wire.xml"), "interval": 1, "name": "wire"}]
        refused_at_start(tmp, server_key, feeds)

        pub_port, workers_port, replay_port, http_port = tgtest.free_ports(4)
        publish = "tcp://127.0.0.1:%d" % pub_port
        workers_ep = "tcp://127.0.0.1:%d" % workers_port
        replay = "tcp://127.0.0.1:%d" % replay_port
        d = tgtest.Daemon(tmp, feeds, workers=0, extra={
            "publish": publish, "worker_endpoint": workers_ep, "replay": replay,
            "http_listen": "127.0.0.1:%d" % http_port,
            "curve_secret_key": "server.key",  # relative to the config file
            "curve_clients": [allowed["public-key"]],
        })
        d.start()
        deadline = time.time() + 10
        while time.time() < deadline and "curve: CURVE required" not in d.log_text():
            time.sleep(0.05)
        check("curve: CURVE required" in d.log_text() and spub in d.log_text(),
              "tigrisd starts with CURVE on and logs its public key")

        # Publish: plaintext, unknown key, allowed key.
        sub_plain = subscriber(ctx, publish, spub, None)
        sub_unknown = subscriber(ctx, publish, spub, unknown)
        sub_allowed = subscriber(ctx, publish, spub, allowed)
        # Replay: the same three.
        rep_plain = replay_client(ctx, replay, spub, None)
        rep_unknown = replay_client(ctx, replay, spub, unknown)
        rep_allowed = replay_client(ctx, replay, spub, allowed)
        socks += [sub_plain, sub_unknown, sub_allowed, rep_plain, rep_unknown, rep_allowed]
        # Workers: plaintext and unknown key (real tigris-worker processes).
        w_plain = start_worker(tmp, workers_ep, "plain", [])
        w_unknown = start_worker(tmp, workers_ep, "unknown",
                                 ["--curve-server-key", server_pub_file,
                                  "--curve-key", os.path.join(tmp, "unknown.key")])
        procs += [w_plain, w_unknown]

        got_allowed = drain(sub_allowed, REFUSE_WAIT)
        check(any(t == b"hb." for t, *_ in got_allowed), "publish: allowed key receives heartbeats")
        check(not any(t == b"all." for t, *_ in got_allowed),
              "no alert published while only refused workers are connected")
        check(drain(sub_plain, 0.2) == [], "publish: plaintext subscriber refused (nothing received)")
        check(drain(sub_unknown, 0.2) == [], "publish: unknown key refused (nothing received)")

        ans = drain(rep_allowed, 0.5)
        check(len(ans) == 1 and json.loads(ans[0][0])["type"] == "replay",
              "replay: allowed key gets an answer")
        check(drain(rep_plain, 0.2) == [], "replay: plaintext client refused (no answer)")
        check(drain(rep_unknown, 0.2) == [], "replay: unknown key refused (no answer)")

        log = d.log_text()
        check("joined" not in log, "worker socket: plaintext and unknown-key workers refused (none joined)")
        check(w_plain.poll() is None and w_unknown.poll() is None, "refused workers are still trying")
        check(("refused client key %s" % unknown["public-key"]) in log,
              "the refused key is logged in Z85")
        check(all(("refused a client on %s" % ep) in log for ep in (publish, replay, workers_ep)),
              "plaintext clients are logged on each of the three sockets")
        check(log.count("refused client key %s" % unknown["public-key"]) <= 3,
              "repeated refusals of one key are not logged each time")
        check(allowed["public-key"] not in log.replace("admitted client key " + allowed["public-key"], ""),
              "the allowed key is never refused")

        # Worker: the allowed key, key files given as files (server key as .pub).
        w_allowed = start_worker(tmp, workers_ep, "allowed",
                                 ["--curve-server-key", spub,
                                  "--curve-key", os.path.join(tmp, "allowed.key")])
        procs.append(w_allowed)
        alerts = []
        deadline = time.time() + 20
        while len(alerts) < n_items and time.time() < deadline:
            alerts += [m for m in drain(sub_allowed, 0.3) if m[0] == b"all."]
        check(len(alerts) == n_items, "worker socket: allowed worker classifies, all %d alerts published"
              % n_items)
        log = d.log_text()
        check("worker pid %d joined" % w_allowed.pid in log and
              "worker pid %d joined" % w_plain.pid not in log and
              "worker pid %d joined" % w_unknown.pid not in log,
              "only the allowed worker joined")
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % http_port, timeout=5).read().decode()
        counts = dict(re.findall(r'^tigris_curve_clients_total\{result="(\w+)"\} (\d+)$', text, re.M))
        check(int(counts.get("admitted", 0)) >= 2 and int(counts.get("refused", 0)) >= 3 and
              int(counts.get("handshake_failed", 0)) >= 3,
              "/metrics counts admitted, refused and failed CURVE clients (%s)" % counts)
        check(not any(m[0] == b"all." for m in drain(sub_plain, 0.3) + drain(sub_unknown, 0.3)),
              "refused subscribers got none of the alerts")

        # tigris tail: allowed key gets every alert (history through replay).
        args = ["--connect", publish, "--replay", replay, "--from-seq", "1", "--count", str(n_items)]
        rc, out, err = tail(args + ["--curve-server-key", server_pub_file,
                                    "--curve-key", os.path.join(tmp, "allowed.key")], 15)
        ids = sorted(json.loads(line)["item"]["id"] for line in out.splitlines())
        check(rc == 0 and ids == sorted("wire-%d" % i for i in range(n_items)),
              "tigris tail with the allowed key prints all %d alerts (rc %s)" % (n_items, rc))
        rc, out, err = tail(args + ["--curve-server-key", server_pub_file,
                                    "--curve-key", os.path.join(tmp, "unknown.key")], 5)
        check(out == "" and "unavailable" in err, "tigris tail with an unknown key gets nothing")
        rc, out, err = tail(args, 5)
        check(out == "" and "unavailable" in err, "plaintext tigris tail gets nothing")
        rc, out, err = tail(args + ["--curve-key", os.path.join(tmp, "allowed.key")], 5)
        check(rc not in (0, None) and "needs both" in err, "tail --curve-key without a server key is refused")
        rc, out, err = tail(args + ["--curve-server-key", spub,
                                    "--curve-key", os.path.join(tmp, "allowed.pub")], 5)
        check(rc not in (0, None) and "secret-key" in err, "tail with a .pub as its key file is refused")

        check(d.stop() == 0, "tigrisd stops cleanly with CURVE on")
        for p in procs:
            p.terminate()
            p.wait(timeout=5)
        procs = []

        # The workers tigrisd starts itself use the daemon's own key.
        tmp2 = os.path.join(tmp, "local")
        os.makedirs(tmp2)
        server.set("/local.xml", items_feed("local", 4))
        ports = tgtest.free_ports(3)
        d = tgtest.Daemon(tmp2, [{"url": server.url("/local.xml"), "interval": 1, "name": "local"}],
                          workers=1, extra={
                              "publish": "tcp://127.0.0.1:%d" % ports[0],
                              "worker_endpoint": "tcp://127.0.0.1:%d" % ports[1],
                              "replay": "tcp://127.0.0.1:%d" % ports[2],
                              "curve_secret_key": server_key,
                              "curve_clients": [allowed["public-key"]]})
        d.start()
        cfg = json.load(open(d.config))
        deadline = time.time() + 15
        out = ""
        while time.time() < deadline:
            rc, out, err = tail(["--connect", cfg["publish"], "--replay", cfg["replay"], "--from-seq", "1",
                                 "--count", "4", "--curve-server-key", spub,
                                 "--curve-key", os.path.join(tmp, "allowed.key")], 4)
            if rc == 0:
                break
        check(len(out.splitlines()) == 4, "local workers of a CURVE daemon classify (4 alerts)")
        check("refused client key" not in d.log_text(), "local workers are never refused")
        check(d.stop() == 0, "tigrisd with local workers stops cleanly")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        if d and d.proc and d.proc.poll() is None:
            d.proc.kill()
        for s in socks:
            s.close(0)
        ctx.term()
        server.close()
        if os.environ.get("TG_KEEP_TMP") is None:
            shutil.rmtree(tmp, ignore_errors=True)
    print("curve: all checks passed")


if __name__ == "__main__":
    main()
