#!/usr/bin/python3
"""The tigris benchmark driver (run by bench/run.sh): generates the corpus, runs
every phase against the optimised build, writes bench/results.json and prints a
table. Phases: parse, classify, feedparser, pipeline (1 and 2 workers), latency,
fetch (with and without connection reuse), idle + memory (+ churn), newsboat.
Everything talks to 127.0.0.1 only; every wait is bounded."""

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
TAXONOMY = os.path.join(TOP, "deploy", "taxonomy.tgt")
CLK_TCK = os.sysconf("SC_CLK_TCK")

TARGETS = {
    "parse_mb_s": 300.0,
    "parse_vs_feedparser": 200.0,
    "classify_items_s": 100000.0,
    "classify_mb_s": 1000.0,
    "pipeline_items_s_2w": 50000.0,
    "latency_p99_ms": 2.0,
    "fetch_gets_s": 5000.0,
    "rss_mb_10k": 64.0,
}


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def envint(name, default):
    v = os.environ.get(name)
    return int(v) if v else default


# ---------------------------------------------------------------- processes

def proc_cpu_s(pid):
    """utime + stime of a live process, in seconds (0 if it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def proc_cpu_ns(pid):
    """CPU time of every thread of a live process from /proc/<pid>/task/*/schedstat,
    in seconds with ns resolution (utime+stime count 10 ms ticks)."""
    total = 0
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    except OSError:
        pass
    return total / 1e9


def proc_status(pid, key):
    """A kB field of /proc/<pid>/status (VmHWM, VmRSS) in MB, or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        out = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open("/proc/%s/stat" % d) as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                            out.append(int(d))
                except (OSError, ValueError, IndexError):
                    pass
        return out


class HttpServer:
    """bench_httpd: static corpus feeds under /f/, generated feeds under /g/."""

    def __init__(self, bindir, work, hosts, feeds_dir=None, pool=None, window=3):
        os.makedirs(work, exist_ok=True)
        self.port_file = os.path.join(work, "httpd.port")
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        args = [os.path.join(bindir, "bench_httpd"), "--hosts", str(hosts), "--port-file",
                self.port_file, "--window", str(window)]
        if feeds_dir:
            args += ["--dir", feeds_dir]
        if pool:
            args += ["--pool", pool]
        self.logf = open(os.path.join(work, "httpd.log"), "a")
        self.proc = subprocess.Popen(args, stdout=self.logf, stderr=subprocess.STDOUT)
        self.hosts = hosts
        deadline = time.time() + 30
        while not os.path.exists(self.port_file) or os.path.getsize(self.port_file) == 0:
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("bench_httpd did not start")
            time.sleep(0.05)
        with open(self.port_file) as f:
            self.port = int(f.read())

    def url(self, path, i=0):
        return "http://127.0.0.%d:%d%s" % (1 + i % self.hosts, self.port, path)

    def get(self, path):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path), timeout=30) as r:
            return r.read()

    def ctl(self, **kw):
        self.get("/_ctl?" + "&".join("%s=%s" % kv for kv in kw.items()))

    def stats(self):
        return json.loads(self.get("/_stats"))

    def reset(self):
        self.get("/_reset")

    def cpu(self):
        return proc_cpu_s(self.proc.pid)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.logf.close()


class Daemon:
    """The real tigrisd (and the workers it starts) with a config in a temp dir."""

    def __init__(self, bindir, work, feeds, workers, **extra):
        self.bindir = bindir
        self.work = work
        self.publish = "ipc://%s/pub.sock" % work
        self.cfg = {
            "feeds": feeds,
            "state_dir": os.path.join(work, "state"),
            "taxonomy": TAXONOMY,
            "workers": workers,
            "publish": self.publish,
            "worker_endpoint": "ipc://%s/workers.sock" % work,
            "replay": "ipc://%s/replay.sock" % work,
            "http_listen": "",
            "allow_networks": ["127.0.0.0/8"],
            "host_min_gap_ms": 0,
            "log_level": "notice",
        }
        self.cfg.update(extra)
        self.path = os.path.join(work, "tigris.json")
        self.write()
        self.proc = None

    def write(self, **changes):
        self.cfg.update(changes)
        dropped = []
        for _ in range(20):
            with open(self.path, "w") as f:
                json.dump(self.cfg, f)
            r = subprocess.run([os.path.join(self.bindir, "tigrisd"), "--config", self.path,
                                "--check"], capture_output=True, text=True)
            if r.returncode == 0:
                break
            # Keys this build does not know (yet) are dropped, and said so.
            bad = [k for k in list(self.cfg) if k != "feeds" and
                   ('unknown key "%s"' % k) in (r.stdout + r.stderr)]
            if not bad:
                raise RuntimeError("config rejected: " + (r.stdout + r.stderr)[:2000])
            for k in bad:
                del self.cfg[k]
                dropped.append(k)
        if dropped:
            log("config keys unknown to this build, dropped: " + ", ".join(dropped))

    def start(self):
        self.logf = open(os.path.join(self.work, "tigrisd.log"), "a")
        self.proc = subprocess.Popen([os.path.join(self.bindir, "tigrisd"), "--config",
                                      self.path], stdout=self.logf, stderr=subprocess.STDOUT)

    def pids(self):
        return [self.proc.pid] + children(self.proc.pid)

    def cpu(self):
        """(daemon cpu s, workers cpu s)."""
        kids = children(self.proc.pid)
        return proc_cpu_s(self.proc.pid), sum(proc_cpu_s(p) for p in kids)

    def cpu_fine(self):
        """As cpu(), from schedstat (ns resolution, every thread)."""
        kids = children(self.proc.pid)
        return proc_cpu_ns(self.proc.pid), sum(proc_cpu_ns(p) for p in kids)

    def wait_workers(self, n, timeout=20):
        deadline = time.time() + timeout
        while len(children(self.proc.pid)) < n and time.time() < deadline:
            time.sleep(0.05)

    def reload(self, **changes):
        self.write(**changes)
        self.proc.send_signal(signal.SIGHUP)

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.logf.close()
        self.proc = None


class Sub:
    """bench_sub: counts alerts on "all." (and records them with out=)."""

    def __init__(self, bindir, work, endpoint, expect=0, timeout=300, idle=0, out=None):
        ready = os.path.join(work, "sub.ready")
        if os.path.exists(ready):
            os.unlink(ready)
        args = [os.path.join(bindir, "bench_sub"), "--connect", endpoint, "--expect",
                str(expect), "--timeout", str(timeout), "--idle", str(idle), "--ready", ready]
        if out:
            args += ["--out", out]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        deadline = time.time() + 10
        while not os.path.exists(ready) and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # the subscription reaches the PUB socket

    def result(self, timeout):
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGTERM)
            out, _ = self.proc.communicate(timeout=10)
        return json.loads(out.strip().splitlines()[-1])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.result(10)


def start_perf(work, pids):
    """With BENCH_PERF=1 (frame pointers) or BENCH_PERF=dwarf: perf record with call
    graphs of these processes into work/perf.data."""
    mode = os.environ.get("BENCH_PERF")
    if mode not in ("1", "dwarf") or shutil.which("perf") is None:
        return None
    data = os.path.join(work, "perf.data")
    cg = ["--call-graph", "dwarf,32768", "-F", "499"] if mode == "dwarf" else ["-g", "-F", "1999"]
    p = subprocess.Popen(["perf", "record", "-q"] + cg + ["-o", data, "-p",
                          ",".join(str(x) for x in pids)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return p, data


def stop_perf(perf):
    """Stop the recording and write a flat profile next to it (perf.txt)."""
    if perf is None:
        return
    p, data = perf
    p.send_signal(signal.SIGINT)
    p.wait(timeout=60)
    with open(data[:-len(".data")] + ".txt", "w") as f:
        subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                        "--sort", "comm,dso,symbol", "--percent-limit", "0.5", "-g", "none"],
                       stdout=f, stderr=subprocess.DEVNULL)
    log("perf profile: %s.txt" % data[:-len(".data")])


def wait_until(pred, timeout, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def wait_quiet(daemon, timeout, cpu_frac=0.03, window=1.0):
    """Wait until daemon + workers use less than cpu_frac of a core over window s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        a = sum(daemon.cpu())
        time.sleep(window)
        if sum(daemon.cpu()) - a < cpu_frac * window:
            return True
    return False


def pct(values, q):
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


# ------------------------------------------------------------------- phases

def phase_corpus(args, corpus):
    man = os.path.join(corpus, "manifest.json")
    want = {"seed": args.seed, "feeds": args.feeds, "items_per_feed": args.items}
    if os.path.exists(man):
        with open(man) as f:
            m = json.load(f)
        if all(m.get(k) == v for k, v in want.items()) and \
                os.path.exists(os.path.join(corpus, "news2k.jsonl")):
            log("corpus: reusing %s" % corpus)
            return m
    fresh(corpus)
    log("corpus: generating %d feeds x %d items (seed %d)" % (args.feeds, args.items, args.seed))
    subprocess.run(["/usr/bin/python3", os.path.join(TOP, "bench", "gen_corpus.py"), "--out",
                    corpus, "--seed", str(args.seed), "--feeds", str(args.feeds), "--items",
                    str(args.items)], check=True, stdout=subprocess.DEVNULL)
    with open(man) as f:
        return json.load(f)


def run_json(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (cmd[0], r.stderr[-2000:]))
    return json.loads(r.stdout.strip().splitlines()[-1])


def phase_parse(args, corpus):
    log("parse: tg_feed_parse over the corpus")
    full = run_json([os.path.join(args.benchdir, "bench_parse"), "--runs", "7", "--warmup", "2",
                     os.path.join(corpus, "feeds")])
    sub = run_json([os.path.join(args.benchdir, "bench_parse"), "--runs", "7", "--warmup", "2",
                    "--limit", str(args.fp_feeds), os.path.join(corpus, "feeds")])
    return {"corpus": full, "feedparser_subset": sub}


def phase_classify(args, corpus):
    log("classify: scan, wire and json modes on 2 KB items (synthetic, then news-like)")
    res = {}
    for name, f in (("synthetic", "items2k.jsonl"), ("news", "news2k.jsonl")):
        path = os.path.join(corpus, f)
        res[name] = run_json([os.path.join(args.benchdir, "bench_classify"), "--taxonomy",
                              TAXONOMY, "--runs", "5", "--warmup", "1", path])
        log("classify: Hyperscan alone on the %s items, by number of patterns" % name)
        res[name]["hyperscan"] = run_json([os.path.join(args.benchdir, "bench_hs"), "--taxonomy",
                                           TAXONOMY, "--runs", "3", path])
    return res


def phase_stages(args, work, corpus):
    log("stages: the daemon's per-item work, stage by stage, in one thread")
    fresh(work)
    return run_json([os.path.join(args.benchdir, "bench_stages"), "--taxonomy", TAXONOMY,
                     "--state", os.path.join(work, "state"), os.path.join(corpus, "feeds")])


def phase_feedparser(args, corpus):
    try:
        import feedparser  # noqa: F401
    except ImportError:
        log("feedparser: python3-feedparser is not installed, skipped")
        return {"skipped": "python3-feedparser not installed"}
    log("feedparser: the same %d feeds" % args.fp_feeds)
    return run_json(["/usr/bin/python3", os.path.join(TOP, "bench", "feedparser_bench.py"),
                     "--runs", "5", "--warmup", "1", "--limit", str(args.fp_feeds),
                     os.path.join(corpus, "feeds")])


def static_feeds(server, names, interval):
    return [{"url": server.url("/f/" + n, i), "name": "bench-%s" % n, "interval": interval}
            for i, n in enumerate(names)]


def pipeline_once(args, work, server, names, items, workers):
    """Every item of the feeds, fetched once, to alerts at a subscriber."""
    fresh(work)
    server.ctl(hold=1, close=0)
    d = Daemon(args.bindir, work, static_feeds(server, names, 1), workers, jitter_pct=0)
    sub = Sub(args.benchdir, work, d.publish, expect=items, timeout=180, idle=15)
    d.start()
    d.wait_workers(workers)
    wait_until(lambda: server.stats()["held"] >= len(names), 10)
    time.sleep(0.2)
    server.reset()
    perf = start_perf(work, d.pids())
    cpu0 = d.cpu()
    server.ctl(hold=0)
    t0 = time.time()
    while sub.proc.poll() is None and time.time() - t0 < 200:
        if time.time() - t0 > 20 and server.stats()["r200"] == 0:
            d.stop()
            sub.stop()
            raise RuntimeError("no feed was fetched in 20 s; see %s/tigrisd.log" % work)
        time.sleep(0.2)
    res = sub.result(10)
    cpu1 = d.cpu()
    stop_perf(perf)
    st = server.stats()
    hwm = proc_status(d.proc.pid, "VmHWM")
    d.stop()
    span = (res["last_us"] - st["first200_us"]) / 1e6 if res["alerts"] else 0
    return {
        "workers": workers, "feeds": len(names), "items": items, "alerts": res["alerts"],
        "bad_alerts": res["bad"], "seconds": round(span, 3),
        "items_s": round(res["alerts"] / span) if span > 0 else 0,
        "fetch_s": round((st["last200_us"] - st["first200_us"]) / 1e6, 3),
        "daemon_cpu_s": round(cpu1[0] - cpu0[0], 2), "workers_cpu_s": round(cpu1[1] - cpu0[1], 2),
        "daemon_vmhwm_mb": hwm,
    }


def phase_pipeline(args, work, corpus, manifest):
    names = manifest["files"]
    items = manifest["feed_items"]
    server = HttpServer(args.benchdir, work, args.hosts, feeds_dir=os.path.join(corpus, "feeds"))
    out = {}
    try:
        for w in (1, 2):
            runs = []
            for r in range(args.pipeline_runs):
                log("pipeline: %d worker(s), run %d: %d feeds, %d items" %
                    (w, r + 1, len(names), items))
                runs.append(pipeline_once(args, os.path.join(work, "p%d_%d" % (w, r)), server,
                                          names, items, w))
                log("pipeline: %s" % json.dumps(runs[-1]))
            ok = [x["items_s"] for x in runs if x["alerts"] == items]
            out["workers_%d" % w] = {"runs": runs,
                                     "items_s": statistics.median(ok) if ok else 0,
                                     "complete_runs": len(ok)}
    finally:
        server.stop()
    return out


def phase_latency(args, work, corpus):
    """Generated feeds gaining items at a steady total rate; per item, the time
    from the HTTP response that first carried it to its alert at the SUB."""
    nfeeds, rate, secs = args.lat_feeds, args.lat_rate, args.lat_secs
    per_feed = rate / nfeeds
    fresh(work)
    server = HttpServer(args.benchdir, work, args.hosts, pool=os.path.join(corpus, "pool.jsonl"),
                        window=max(10, int(per_feed * 4)))
    recs = os.path.join(work, "alerts.txt")
    seen = os.path.join(work, "first_served.txt")
    try:
        server.ctl(hold=1, rate=0)
        feeds = [{"url": server.url("/g/%d" % i, i), "name": "gen-%d" % i, "interval": 1}
                 for i in range(nfeeds)]
        d = Daemon(args.bindir, work, feeds, 2)
        sub = Sub(args.benchdir, work, d.publish, timeout=secs + 120, out=recs)
        d.start()
        d.wait_workers(2)
        wait_until(lambda: server.stats()["held"] >= nfeeds, 10)
        server.ctl(hold=0)
        # The initial items of every feed arrive as one burst: let it pass.
        wait_until(lambda: server.stats()["r200"] >= nfeeds, 20)
        wait_quiet(d, 20)
        server.reset()
        log("latency: %d feeds, %.0f new items/s in all, for %d s" % (nfeeds, rate, secs))
        cpu0 = d.cpu()
        t0 = time.time()
        server.ctl(rate=per_feed)
        time.sleep(secs)
        server.ctl(rate=0)
        t1 = time.time()
        cpu1 = d.cpu()
        time.sleep(3)
        server.get("/_dump?path=" + seen)
        st = server.stats()
        res = sub.stop()
        d.stop()
    finally:
        server.stop()
    served = {}
    with open(seen) as f:
        for line in f:
            k, us = line.split()
            served[k] = int(us)
    got = {}
    with open(recs) as f:
        for line in f:
            k, recv_us, pub_ms, fetched_ms = line.split()
            got[k] = (int(recv_us), int(pub_ms), int(fetched_ms))
    warm = (t0 + 2) * 1e6
    lat, internal, lost = [], [], 0
    for k, us in served.items():
        if us < warm:
            continue
        if k not in got:
            lost += 1
            continue
        recv_us, pub_ms, fetched_ms = got[k]
        lat.append((recv_us - us) / 1000.0)
        internal.append(pub_ms - fetched_ms)
    n = len(lat) + lost
    return {
        "feeds": nfeeds, "target_items_s": rate, "seconds": secs,
        "items_measured": len(lat), "lost": lost,
        "achieved_items_s": round(st["first_seen"] / (t1 - t0)),
        "http_to_sub_ms": {"p50": pct(lat, 0.5), "p99": pct(lat, 0.99), "max": max(lat)
                           if lat else None},
        "fetched_to_published_ms": {"p50": pct(internal, 0.5), "p99": pct(internal, 0.99),
                                    "max": max(internal) if internal else None},
        "daemon_cpu_pct": round(100 * (cpu1[0] - cpu0[0]) / (t1 - t0), 1),
        "workers_cpu_pct": round(100 * (cpu1[1] - cpu0[1]) / (t1 - t0), 1),
        "fetches_s": round(st["req"] / (t1 - t0 + 3)),
        "alerts": res["alerts"], "complete": n > 0 and lost == 0,
    }


def gen_feeds(server, n, interval, offset=0):
    return [{"url": server.url("/g/%d" % (i + offset), i + offset), "name": "g%d" % (i + offset),
             "interval": interval} for i in range(n)]


def measure_fetch(server, d, secs):
    s0, c0, h0, t0 = server.stats(), d.cpu(), server.cpu(), time.time()
    time.sleep(secs)
    s1, c1, h1, t1 = server.stats(), d.cpu(), server.cpu(), time.time()
    req = s1["req"] - s0["req"]
    dt = t1 - t0
    return {
        "gets_s": round(req / dt), "r304_share": round((s1["r304"] - s0["r304"]) / max(1, req), 3),
        "daemon_cpu_pct": round(100 * (c1[0] - c0[0]) / dt, 1),
        "daemon_cpu_us_per_get": round(1e6 * (c1[0] - c0[0]) / max(1, req), 1),
        "server_cpu_us_per_get": round(1e6 * (h1 - h0) / max(1, req), 1),
        "seconds": round(dt, 1),
    }


def phase_fetch(args, work, corpus):
    """10,000 feeds at a 1 s interval against a server answering 304."""
    fresh(work)
    n = args.many_feeds
    server = HttpServer(args.benchdir, work, args.hosts, pool=os.path.join(corpus, "pool.jsonl"),
                        window=3)
    out = {"feeds": n, "hosts": args.hosts, "interval_s": 1}
    try:
        server.ctl(rate=0, close=0)
        d = Daemon(args.bindir, work, gen_feeds(server, n, 1), 2, jitter_pct=10)
        d.start()
        log("fetch: %d feeds over %d loopback hosts, first fetch of all" % (n, args.hosts))
        wait_until(lambda: server.stats()["r200"] >= n, 90)
        time.sleep(3)
        log("fetch: measuring with connection reuse for %d s" % args.fetch_secs)
        out["reuse"] = measure_fetch(server, d, args.fetch_secs)
        server.ctl(close=1)
        time.sleep(2)
        log("fetch: measuring with Connection: close for %d s" % args.fetch_secs)
        out["no_reuse"] = measure_fetch(server, d, args.fetch_secs)
        d.stop()
    finally:
        server.stop()
    return out


def phase_idle_memory(args, work, corpus):
    """10,000 feeds at the default interval: RSS once all are fetched, CPU while
    nothing is new, then churn (new items everywhere, feeds replaced by reloads)."""
    fresh(work)
    n = args.many_feeds
    server = HttpServer(args.benchdir, work, args.hosts, pool=os.path.join(corpus, "pool.jsonl"),
                        window=3)
    out = {"feeds": n}
    try:
        server.ctl(rate=0, close=0)
        d = Daemon(args.bindir, work, gen_feeds(server, n, 300), 2)
        d.start()
        log("idle: %d feeds at 300 s, waiting for the first fetch of all" % n)
        wait_until(lambda: server.stats()["r200"] >= n, 90)
        wait_quiet(d, 60)
        pid = d.proc.pid
        out["after_start"] = {"vmhwm_mb": proc_status(pid, "VmHWM"),
                              "vmrss_mb": proc_status(pid, "VmRSS"),
                              "workers_vmrss_mb": [proc_status(p, "VmRSS")
                                                   for p in children(pid)]}
        log("idle: measuring CPU for %d s" % args.idle_secs)
        s0, c0, f0, t0 = server.stats(), d.cpu(), d.cpu_fine(), time.time()
        time.sleep(args.idle_secs)
        s1, c1, f1, t1 = server.stats(), d.cpu(), d.cpu_fine(), time.time()
        dt = t1 - t0
        out["idle"] = {"seconds": round(dt, 1),
                       "daemon_cpu_pct": round(100 * (f1[0] - f0[0]) / dt, 3),
                       "workers_cpu_pct": round(100 * (f1[1] - f0[1]) / dt, 3),
                       "cpu_s_per_min": round(60 * (sum(f1) - sum(f0)) / dt, 3),
                       "stat_ticks_cpu_s": round(sum(c1) - sum(c0), 2),
                       "fetches": s1["req"] - s0["req"]}
        # Churn: every feed gains an item every 10 s and is fetched every 10 s;
        # reloads replace a tenth of the feeds each time.
        log("churn: %d s of new items and reloads" % args.churn_secs)
        server.ctl(rate=0.1)
        base = gen_feeds(server, n, 10)
        d.reload(feeds=base)
        reloads = max(1, args.churn_secs // 5)
        step = n // 10
        for r in range(reloads):
            time.sleep(args.churn_secs / reloads)
            lo = (r % 10) * step
            feeds = base[:lo] + gen_feeds(server, step, 10, offset=n + r * step) + base[lo + step:]
            d.reload(feeds=feeds)
        time.sleep(2)
        server.ctl(rate=0)
        d.reload(feeds=gen_feeds(server, n, 300))
        wait_quiet(d, 60)
        st = server.stats()
        out["after_churn"] = {"vmhwm_mb": proc_status(pid, "VmHWM"),
                              "vmrss_mb": proc_status(pid, "VmRSS"),
                              "workers_vmrss_mb": [proc_status(p, "VmRSS")
                                                   for p in children(pid)],
                              "reloads": reloads + 2, "new_items_served": st["first_seen"],
                              "fetches": st["req"]}
        d.stop()
    finally:
        server.stop()
    return out


def phase_newsboat(args, work, corpus, manifest):
    nb = shutil.which("newsboat")
    if nb is None:
        log("newsboat: not installed, skipped")
        return {"skipped": "newsboat not installed"}
    fresh(work)
    names = manifest["files"][:args.nb_feeds]
    items = args.nb_feeds * manifest["items_per_feed"]
    server = HttpServer(args.benchdir, work, 1, feeds_dir=os.path.join(corpus, "feeds"))
    out = {"feeds": len(names), "items": items}
    try:
        urls = os.path.join(work, "urls")
        with open(urls, "w") as f:
            for n in names:
                f.write(server.url("/f/" + n) + "\n")
        conf = os.path.join(work, "config")
        with open(conf, "w") as f:
            f.write("reload-threads 2\n")
        env = dict(os.environ, HOME=work)

        def reload(cache):
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.time()
            subprocess.run([nb, "-u", urls, "-c", cache, "-C", conf, "-x", "reload"], env=env,
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t1 = time.time()
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            return t1 - t0, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)

        cold, warm = [], []
        for r in range(args.nb_runs + 1):
            cache = os.path.join(work, "cache%d.db" % r)
            c = reload(cache)
            w = reload(cache)
            if r > 0:  # the first round is a warm-up
                cold.append(c)
                warm.append(w)
        wall = statistics.median(x[0] for x in cold)
        out["cold"] = {"wall_s": round(wall, 3), "items_s": round(items / wall),
                       "cpu_s": round(statistics.median(x[1] for x in cold), 3)}
        wall = statistics.median(x[0] for x in warm)
        out["unchanged"] = {"wall_s": round(wall, 3), "feeds_s": round(len(names) / wall),
                            "cpu_s": round(statistics.median(x[1] for x in warm), 3)}
        # tigris on the same feeds from the same server, to alerts.
        runs = []
        for r in range(args.nb_runs):
            runs.append(pipeline_once(args, os.path.join(work, "t%d" % r), server, names,
                                      items, 2))
        ok = [x["items_s"] for x in runs if x["alerts"] == items]
        out["tigris"] = {"runs": runs, "items_s": statistics.median(ok) if ok else 0}
    finally:
        server.stop()
    return out


# -------------------------------------------------------------------- report

def machine(bindir):
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    rev = subprocess.run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", TOP, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip() != ""
    return {"nproc": os.cpu_count(), "cpu": cpu, "mem_gb": round(mem_kb / 1048576, 1),
            "kernel": platform.release(), "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "git": rev + ("+changes" if dirty else ""), "build": bindir}


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if isinstance(v, float) and v < 100:
        return "%.2f%s" % (v, unit)
    return "{:,}{}".format(int(round(v)), unit)


def table(res):
    rows = []
    verdicts = {}

    def good(name):
        v = res.get(name)
        return v if isinstance(v, dict) and "error" not in v and "skipped" not in v else None

    def row(name, value, target=None, ok=None):
        rows.append((name, value, target or "", "" if ok is None else ("met" if ok else "NOT met")))

    p = (good("parse") or {}).get("corpus")
    if p:
        ok = p["mb_s"] >= TARGETS["parse_mb_s"]
        verdicts["parse_mb_s"] = ok
        row("parse: MB/s per core", fmt(p["mb_s"]), ">= 300", ok)
        row("parse: items/s per core", fmt(p["items_s"]))
    fp = good("feedparser")
    sub = (good("parse") or {}).get("feedparser_subset")
    if fp and sub:
        ratio = sub["items_s"] / fp["items_s"]
        res["ratios"]["parse_vs_feedparser"] = round(ratio, 1)
        ok = ratio >= TARGETS["parse_vs_feedparser"]
        verdicts["parse_vs_feedparser"] = ok
        row("feedparser: items/s, MB/s", "%s, %s" % (fmt(fp["items_s"]), fmt(fp["mb_s"])))
        row("parse vs feedparser (items/s)", "%.0fx" % ratio, ">= 200x", ok)
    cl = good("classify")
    if cl:
        c, n = cl["synthetic"], cl["news"]
        ok = c["wire"]["items_s"] >= TARGETS["classify_items_s"]
        verdicts["classify_items_s"] = ok
        row("classify, worker path (ITEM decode + classify + RESULT encode): items/s per core",
            fmt(c["wire"]["items_s"]), ">= 100,000", ok)
        ok = c["scan"]["text_mb_s"] >= TARGETS["classify_mb_s"]
        verdicts["classify_mb_s"] = ok
        row("classify (tg_classify alone): items/s, text MB/s scanned",
            "%s, %s" % (fmt(c["scan"]["items_s"]), fmt(c["scan"]["text_mb_s"])), ">= 1,000 MB/s", ok)
        row("classify as `tigris classify` (JSON in/out): items/s",
            "%s (%s MB/s)" % (fmt(c["json"]["items_s"]), fmt(c["json"]["mb_s"])))
        row("classify on news-like 2 KB items: worker path / alone, items/s",
            "%s / %s (%s MB/s)" % (fmt(n["wire"]["items_s"]), fmt(n["scan"]["items_s"]),
                                   fmt(n["scan"]["text_mb_s"])))
        for name, r in (("synthetic", c), ("news-like", n)):
            steps = r["hyperscan"]["steps"]
            row("Hyperscan alone, %s text: MB/s at %s patterns" % (
                name, " / ".join(fmt(x["patterns"]) for x in steps)),
                " / ".join(fmt(x["mb_s"]) for x in steps))
        for name, r in (("synthetic", c), ("news-like", n)):
            sy = r["hyperscan"].get("symbols")
            if sy:
                row("matching in word symbols (the classifier's way), %s text: encode / "
                    "encode + scan MB/s, %s literals" % (name, fmt(sy["literals"])),
                    "%s / %s" % (fmt(sy["encode_mb_s"]), fmt(sy["mb_s"])))
    stg = good("stages")
    if stg:
        u = stg["us_per_item"]
        row("daemon stages, us/item: parse / store / alert encode / outbox",
            "%.1f / %.1f / %.1f / %.1f" % (u["parse"], u["store_items"], u["alert_encode"],
                                           u["store_outbox"]))
        row("daemon stages: one-thread ceiling, items/s", fmt(stg["daemon_ceiling_items_s"]))
    pl = good("pipeline")
    if pl:
        row("pipeline: items/s, 1 worker", fmt(pl["workers_1"]["items_s"]))
        ok = pl["workers_2"]["items_s"] >= TARGETS["pipeline_items_s_2w"]
        verdicts["pipeline_items_s_2w"] = ok
        row("pipeline: items/s, 2 workers", fmt(pl["workers_2"]["items_s"]), ">= 50,000", ok)
    la = good("latency")
    if la:
        h = la["http_to_sub_ms"]
        ok = h["p99"] is not None and h["p99"] <= TARGETS["latency_p99_ms"] and la["complete"]
        verdicts["latency_p99_ms"] = ok
        row("latency @%s items/s: HTTP response -> SUB, p50/p99/max ms" %
            fmt(la["achieved_items_s"]), "%s / %s / %s" % (fmt(h["p50"]), fmt(h["p99"]),
                                                            fmt(h["max"])), "p99 <= 2", ok)
        i = la["fetched_to_published_ms"]
        row("latency: fetched_ms -> published_ms, p50/p99/max ms",
            "%s / %s / %s" % (fmt(i["p50"]), fmt(i["p99"]), fmt(i["max"])))
    fe = good("fetch")
    if fe:
        ok = fe["reuse"]["gets_s"] >= TARGETS["fetch_gets_s"]
        verdicts["fetch_gets_s"] = ok
        row("fetch: conditional GETs/s (10k feeds, reuse)", fmt(fe["reuse"]["gets_s"]),
            ">= 5,000", ok)
        row("fetch: daemon CPU us per GET, reuse / no reuse",
            "%s / %s" % (fmt(fe["reuse"]["daemon_cpu_us_per_get"]),
                         fmt(fe["no_reuse"]["daemon_cpu_us_per_get"])))
        row("fetch: GETs/s without reuse", fmt(fe["no_reuse"]["gets_s"]))
        row("fetch: daemon CPU at that rate (reuse), % of a core",
            fmt(fe["reuse"]["daemon_cpu_pct"], "%"))
    im = good("idle_memory")
    if im:
        row("idle: CPU of tigrisd + workers (10k feeds, %d fetches), %% of a core" %
            im["idle"]["fetches"],
            fmt(im["idle"]["daemon_cpu_pct"] + im["idle"]["workers_cpu_pct"], "%"))
        if fe:
            poll = 100 * (im["feeds"] / 300.0) * fe["reuse"]["daemon_cpu_us_per_get"] / 1e6
            im["polling_300s_cpu_pct_derived"] = round(poll, 3)
            row("idle + polling 10k feeds every 300 s (derived), % of a core",
                fmt(im["idle"]["daemon_cpu_pct"] + im["idle"]["workers_cpu_pct"] + poll, "%"))
        ok = im["after_start"]["vmhwm_mb"] <= TARGETS["rss_mb_10k"]
        verdicts["rss_mb_10k"] = ok
        row("memory: tigrisd VmHWM with 10k feeds, MB", fmt(im["after_start"]["vmhwm_mb"]),
            "<= 64", ok)
        row("memory: tigrisd VmHWM / VmRSS after churn, MB",
            "%s / %s" % (fmt(im["after_churn"]["vmhwm_mb"]), fmt(im["after_churn"]["vmrss_mb"])))
    nb = good("newsboat")
    if nb:
        ratio = nb["tigris"]["items_s"] / nb["cold"]["items_s"] if nb["cold"]["items_s"] else 0
        res["ratios"]["pipeline_vs_newsboat"] = round(ratio, 1)
        row("newsboat reload (%d feeds): items/s" % nb["feeds"], fmt(nb["cold"]["items_s"]))
        row("tigris, same feeds to alerts: items/s (ratio)",
            "%s (%.1fx)" % (fmt(nb["tigris"]["items_s"]), ratio))
    res["verdicts"] = verdicts
    if not rows:
        return "(no results)"
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    w2 = max(len(r[2]) for r in rows)
    lines = ["| %s | %s | %s | %s |" % ("measure".ljust(w0), "result".ljust(w1),
                                         "target".ljust(w2), "verdict"),
             "|%s|%s|%s|%s|" % ("-" * (w0 + 2), "-" * (w1 + 2), "-" * (w2 + 2), "-" * 9)]
    for r in rows:
        lines.append("| %s | %s | %s | %s |" % (r[0].ljust(w0), r[1].ljust(w1), r[2].ljust(w2),
                                                r[3]))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bindir", required=True, help="dir with tigrisd, tigris-worker, bench/")
    ap.add_argument("--out", default=os.path.join(TOP, "bench", "results.json"))
    ap.add_argument("--work", default=None, help="scratch dir (default: a new temp dir)")
    ap.add_argument("--corpus", default=None, help="corpus dir (default: under --work)")
    ap.add_argument("--seed", type=int, default=envint("BENCH_SEED", 20260501))
    ap.add_argument("--feeds", type=int, default=envint("BENCH_FEEDS", 200))
    ap.add_argument("--items", type=int, default=envint("BENCH_ITEMS", 250))
    ap.add_argument("--hosts", type=int, default=envint("BENCH_HOSTS", 64))
    ap.add_argument("--fp-feeds", type=int, default=20)
    ap.add_argument("--nb-feeds", type=int, default=20)
    ap.add_argument("--nb-runs", type=int, default=3)
    ap.add_argument("--pipeline-runs", type=int, default=envint("BENCH_PIPELINE_RUNS", 3))
    ap.add_argument("--many-feeds", type=int, default=envint("BENCH_MANY_FEEDS", 10000))
    ap.add_argument("--lat-feeds", type=int, default=200)
    ap.add_argument("--lat-rate", type=float, default=1000.0)
    ap.add_argument("--lat-secs", type=int, default=envint("BENCH_LATENCY_SECS", 20))
    ap.add_argument("--fetch-secs", type=int, default=envint("BENCH_FETCH_SECS", 10))
    ap.add_argument("--idle-secs", type=int, default=envint("BENCH_IDLE_SECS", 20))
    ap.add_argument("--churn-secs", type=int, default=envint("BENCH_CHURN_SECS", 20))
    ap.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""),
                    help="comma-separated phases to run (default: all)")
    args = ap.parse_args()
    args.bindir = os.path.abspath(args.bindir)
    args.benchdir = os.path.join(args.bindir, "bench")
    work = args.work or tempfile.mkdtemp(prefix="tigris-bench-")
    corpus = args.corpus or os.path.join(work, "corpus")
    only = set(x for x in args.only.split(",") if x)

    def want(name):
        return not only or name in only

    res = {"machine": machine(args.bindir), "targets": TARGETS, "ratios": {}}
    log("machine: %s" % json.dumps(res["machine"]))
    t_start = time.time()
    manifest = phase_corpus(args, corpus)
    res["corpus"] = {k: v for k, v in manifest.items() if k != "files"}
    phases = [
        ("parse", lambda: phase_parse(args, corpus)),
        ("classify", lambda: phase_classify(args, corpus)),
        ("feedparser", lambda: phase_feedparser(args, corpus)),
        ("stages", lambda: phase_stages(args, os.path.join(work, "stages"), corpus)),
        ("pipeline", lambda: phase_pipeline(args, os.path.join(work, "pipeline"), corpus,
                                            manifest)),
        ("latency", lambda: phase_latency(args, os.path.join(work, "latency"), corpus)),
        ("fetch", lambda: phase_fetch(args, os.path.join(work, "fetch"), corpus)),
        ("idle_memory", lambda: phase_idle_memory(args, os.path.join(work, "idle"), corpus)),
        ("newsboat", lambda: phase_newsboat(args, os.path.join(work, "newsboat"), corpus,
                                            manifest)),
    ]
    failed = []
    for name, fn in phases:
        if not want(name):
            continue
        t0 = time.time()
        try:
            res[name] = fn()
        except Exception as e:  # report the phase as failed and go on with the others
            log("%s: FAILED: %s" % (name, e))
            res[name] = {"error": str(e)}
            failed.append(name)
        res.setdefault("phase_seconds", {})[name] = round(time.time() - t0, 1)
    res["total_seconds"] = round(time.time() - t_start, 1)
    try:
        text = table(res)
    except (KeyError, TypeError, ZeroDivisionError) as e:
        text = "(table incomplete: %s)" % e
    res["table"] = text
    with open(args.out, "w") as f:
        json.dump(res, f, indent=1)
    m = res["machine"]
    print("\ntigris benchmarks — %s, %d cores (%s), git %s, %s\n" %
          (m["date"], m["nproc"], m["cpu"], m["git"], m["build"]))
    print(text)
    print("\nraw results: %s (work dir %s, %.0f s)" % (args.out, work, res["total_seconds"]))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
