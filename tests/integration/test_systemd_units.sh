#!/usr/bin/env bash
# Checks the systemd units in systemd/: `systemd-analyze verify` must accept every
# unit without printing a word; the options each ExecStart= passes must be known to
# the real binaries; the real tigrisd and tigris-worker must run under the seccomp
# filter the units describe and keep the sd_notify contract (READY=1, watchdog,
# SIGHUP reload, STOPPING=1); and `systemd-analyze security --offline` must rate
# every service at an exposure of 2.0 or less. Needs no running systemd (works in
# a container): systemd-analyze (Debian package "systemd"), cc, python3-zmq.
set -u

top=${TG_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bindir=${TG_BIN_DIR:-$top/build}
max_exposure=2.0
units_dir=$top/systemd
failed=0

fail() {
	echo "FAIL: $*"
	failed=1
}

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "FAIL: systemd-analyze not found (install the Debian package \"systemd\")"
	exit 1
fi
case $bindir in
*[[:space:]\|\&\\]*)
	echo "FAIL: TG_BIN_DIR \"$bindir\" contains a character this test cannot put in a unit"
	exit 1
	;;
esac
for b in tigrisd tigris-worker; do
	if [ ! -x "$bindir/$b" ]; then
		echo "FAIL: $bindir/$b is missing: build it first (make all)"
		exit 1
	fi
done
bindir=$(cd "$bindir" && pwd)

units=()
for u in "$units_dir"/*.service "$units_dir"/*.target; do
	[ -e "$u" ] && units+=("$(basename "$u")")
done
if [ "${#units[@]}" -lt 3 ]; then
	echo "FAIL: expected tigrisd.service, tigris-worker@.service and tigris.target in $units_dir"
	exit 1
fi

# systemd-analyze verify insists that ExecStart= binaries exist, so check copies of
# the units whose /usr/local/bin paths point at the binaries just built.
# Short path: the test puts AF_UNIX sockets (at most 107 bytes) in it.
tmp=$(mktemp -d /tmp/tg-units.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export SYSTEMD_COLORS=0 SYSTEMD_PAGER=cat LC_ALL=C.UTF-8

for u in "${units[@]}"; do
	sed "s|/usr/local/bin/|$bindir/|g" "$units_dir/$u" >"$tmp/$u"
done
for u in "${units[@]}"; do
	case $u in
	*.service)
		if ! grep -q "^ExecStart=$bindir/" "$tmp/$u"; then
			fail "$u: ExecStart= does not start a program from /usr/local/bin"
		fi
		;;
	esac
done

echo "== systemd-analyze verify"
for u in "${units[@]}"; do
	out=$(cd "$tmp" && systemd-analyze verify "./$u" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
		fail "$u: systemd-analyze verify (exit $rc):"
		printf '%s\n' "$out" | sed 's/^/    /'
	else
		echo "ok   $u"
	fi
done

# Every long option an ExecStart= passes must appear in the program's --help, so
# the units cannot drift from the command lines the binaries accept.
echo "== ExecStart= options"
for u in "${units[@]}"; do
	case $u in *.service) ;; *) continue ;; esac
	line=$(sed -n 's/^ExecStart=//p' "$tmp/$u")
	prog=${line%% *}
	help=$("$prog" --help 2>&1)
	for opt in $(printf '%s\n' "$line" | grep -oE -- '--[a-z][a-z-]*'); do
		if printf '%s\n' "$help" | grep -qE -- "(^|[^a-z-])$opt([^a-z-]|\$)"; then
			echo "ok   $u: $(basename "$prog") $opt"
		else
			fail "$u: $(basename "$prog") --help does not mention $opt"
		fi
	done
done

# The units promise more than systemd-analyze can see: that the programs survive
# their sandbox and keep the notify contract. Play systemd's part without it: a
# small launcher per service installs the seccomp filter the unit describes
# (SystemCallFilter= expanded with systemd-analyze, SystemCallArchitectures=native,
# RestrictAddressFamilies=, MemoryDenyWriteExecute=, SystemCallErrorNumber=) and
# execs the real program. tigrisd runs with NOTIFY_SOCKET and WATCHDOG_USEC and
# "workers": 0, one tigris-worker connects as tigris-worker@.service would, and
# the test checks READY=1 from the main pid, the watchdog pings, that alerts come
# out, that SIGHUP (ExecReload=) leaves the daemon running, and that SIGTERM gives
# STOPPING=1 and exit status 0 for both.
echo "== sandboxed run (seccomp from the units, notify protocol, real binaries)"
python=/usr/bin/python3
if [ ! -x "$python" ]; then
	fail "$python is missing (Debian packages python3 and python3-zmq)"
elif ! command -v cc >/dev/null 2>&1; then
	fail "cc is missing (Debian package build-essential)"
elif [ ! -r "$top/deploy/taxonomy.tgt" ]; then
	fail "$top/deploy/taxonomy.tgt is missing"
elif ! "$python" - "$bindir" "$tmp" "$top" <<'PY'
import os, signal, socket, struct, subprocess, sys, time

import zmq

bindir, tmp, top = sys.argv[1:4]
run = os.path.join(tmp, "run")
os.makedirs(os.path.join(run, "state"))
groups = {}


def expand(name):
    """The system calls a SystemCallFilter= word stands for."""
    if not name.startswith("@"):
        return {name}
    if name not in groups:
        out = subprocess.run(["systemd-analyze", "syscall-filter", name], check=True,
                             capture_output=True, text=True).stdout
        names = set()
        for line in out.splitlines()[1:]:
            line = line.strip()
            if line and not line.startswith("#"):
                names |= expand(line)
        groups[name] = names
    return groups[name]


def launcher(unit):
    """Compile a program that applies unit's seccomp settings, then execs argv[1]."""
    allow, fams, mdwe, errno_name, native = None, None, False, "EPERM", False
    for line in open(os.path.join(tmp, unit)):
        key, _, val = line.strip().partition("=")
        if key == "SystemCallFilter":
            deny = val.startswith("~")
            names = set().union(*[expand(w) for w in val.lstrip("~").split()])
            if allow is None:
                if deny:
                    raise SystemExit("FAIL: %s: this test needs an allow list first" % unit)
                allow = set()
            allow = allow - names if deny else allow | names
        elif key == "RestrictAddressFamilies":
            fams = val.split()
        elif key == "MemoryDenyWriteExecute":
            mdwe = val == "yes"
        elif key == "SystemCallErrorNumber":
            errno_name = val
        elif key == "SystemCallArchitectures":
            native = val == "native"
    if allow is None or not native or fams is None:
        raise SystemExit("FAIL: %s: no SystemCallFilter=, SystemCallArchitectures=native "
                         "or RestrictAddressFamilies=" % unit)
    c = ["#include <errno.h>", "#include <linux/audit.h>", "#include <linux/filter.h>",
         "#include <linux/seccomp.h>", "#include <stddef.h>", "#include <stdio.h>",
         "#include <sys/mman.h>", "#include <sys/prctl.h>", "#include <sys/socket.h>",
         "#include <sys/syscall.h>", "#include <unistd.h>",
         "static struct sock_filter f[4096];", "static unsigned short n;",
         "#define S(c, k) (f[n++] = (struct sock_filter)BPF_STMT(c, k))",
         "#define J(c, k, t, e) (f[n++] = (struct sock_filter)BPF_JUMP(c, k, t, e))",
         "#define NR S(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))",
         "#define ARG(i) S(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[i]))",
         "#define EQ(k, t, e) J(BPF_JMP | BPF_JEQ | BPF_K, k, t, e)",
         "#define RET(k) S(BPF_RET | BPF_K, k)",
         "#define DENY(e) RET(SECCOMP_RET_ERRNO | (e))",
         "int main(int argc, char **argv) {",
         "\t(void)argc;",
         "\tS(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));",
         "\tEQ(AUDIT_ARCH_X86_64, 1, 0);",
         "\tRET(SECCOMP_RET_KILL_PROCESS);",
         "\tNR;",
         "\tJ(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1);",
         "\tDENY(%s);" % errno_name]
    c += ["\tEQ(__NR_socket, 0, %d);" % (2 + 2 * len(fams)), "\tARG(0);"]
    for fam in fams:
        c += ["\tEQ(%s, 0, 1);" % fam, "\tRET(SECCOMP_RET_ALLOW);"]
    c += ["\tDENY(EAFNOSUPPORT);"]
    if mdwe:
        c += ["\tEQ(__NR_mmap, 0, 5);", "\tARG(2);",
              "\tS(BPF_ALU | BPF_AND | BPF_K, PROT_WRITE | PROT_EXEC);",
              "\tEQ(PROT_WRITE | PROT_EXEC, 0, 1);", "\tDENY(EPERM);",
              "\tRET(SECCOMP_RET_ALLOW);"]
        for call in ("mprotect", "pkey_mprotect"):
            c += ["\tEQ(__NR_%s, 0, 4);" % call, "\tARG(2);",
                  "\tJ(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1);", "\tDENY(EPERM);",
                  "\tRET(SECCOMP_RET_ALLOW);"]
        c += ["\tNR;"]
    for name in sorted(allow):
        c += ["#ifdef __NR_%s" % name, "\tEQ(__NR_%s, 0, 1);" % name,
              "\tRET(SECCOMP_RET_ALLOW);", "#endif"]
    c += ["\tDENY(%s);" % errno_name,
          "\tstruct sock_fprog prog = { n, f };",
          "\tif (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||",
          "\t    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {",
          "\t\tperror(\"seccomp\");", "\t\treturn 127;", "\t}",
          "\texecv(argv[1], argv + 1);", "\tperror(argv[1]);", "\treturn 127;", "}"]
    base = os.path.join(tmp, "sandbox-" + unit.split(".")[0].rstrip("@"))
    with open(base + ".c", "w") as out:
        out.write("\n".join(c) + "\n")
    subprocess.run(["cc", "-std=gnu11", "-O1", "-o", base, base + ".c"], check=True)
    return base


bad = []
procs = []
try:
    daemon_box = launcher("tigrisd.service")
    worker_box = launcher("tigris-worker@.service")
    # Publish on tcp:// as the default config does (libzmq needs more of the sandbox
    # for it), on a port that is free now.
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    cfg = os.path.join(run, "tigris.json")
    with open(cfg, "w") as out:
        out.write("""{
  "feeds": [ { "url": "file:%s/deploy/demo/feeds/regional.xml", "name": "regional" },
             { "url": "file:%s/deploy/demo/feeds/world.xml", "name": "world" } ],
  "allow_file_urls": true,
  "state_dir": "%s/state",
  "taxonomy": "%s/deploy/taxonomy.tgt",
  "workers": 0,
  "publish": "tcp://127.0.0.1:%d",
  "worker_endpoint": "ipc://%s/workers.sock",
  "replay": "ipc://%s/replay.sock",
  "log_level": "info"
}
""" % (top, top, run, top, port, run, run))

    zctx = zmq.Context()
    sub = zctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.setsockopt(zmq.LINGER, 0)
    sub.connect("tcp://127.0.0.1:%d" % port)

    nsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    nsock.bind(os.path.join(run, "notify.sock"))
    nsock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    # LeakSanitizer needs ptrace, which the filter denies: leaks are checked by
    # the other tests, outside the sandbox.
    asan = os.environ.get("ASAN_OPTIONS")
    base_env = dict(os.environ, ASAN_OPTIONS=(asan + ":" if asan else "") + "detect_leaks=0")
    env = dict(base_env, NOTIFY_SOCKET=os.path.join(run, "notify.sock"),
               WATCHDOG_USEC="1000000")
    env.pop("WATCHDOG_PID", None)
    daemon = subprocess.Popen([daemon_box, os.path.join(bindir, "tigrisd"), "--config", cfg],
                              env=env, stdout=open(os.path.join(run, "tigrisd.log"), "w"),
                              stderr=subprocess.STDOUT)
    procs.append(daemon)

    def receive(until):
        """Notify messages (sender pid, text) that arrive before monotonic time until."""
        got = []
        while time.monotonic() < until:
            nsock.settimeout(max(0.01, until - time.monotonic()))
            try:
                data, anc, _, _ = nsock.recvmsg(4096, socket.CMSG_SPACE(12))
            except socket.timeout:
                break
            pid = None
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", payload[:12])[0]
            for line in data.decode(errors="replace").split("\n"):
                if line:
                    if pid != daemon.pid:
                        bad.append("%r came from pid %s, not the main pid %d (NotifyAccess=main)"
                                   % (line, pid, daemon.pid))
                    got.append(line)
        return got

    def wait_for(text, seconds):
        end, seen = time.monotonic() + seconds, []
        while time.monotonic() < end and text not in seen and daemon.poll() is None:
            seen += receive(min(end, time.monotonic() + 0.2))
        return seen

    def died(p, what):
        if p.poll() is None:
            return False
        how = "signal %d" % -p.returncode if p.returncode < 0 else "status %d" % p.returncode
        bad.append("%s exited (%s)" % (what, how))
        return True

    if "READY=1" not in wait_for("READY=1", 20):
        died(daemon, "tigrisd in its sandbox") or bad.append("tigrisd: no READY=1 within 20 s")
        raise SystemExit
    print("ok   tigrisd.service: READY=1 from the main process")
    worker = subprocess.Popen([worker_box, os.path.join(bindir, "tigris-worker"),
                               "--connect", "ipc://%s/workers.sock" % run,
                               "--taxonomy", os.path.join(top, "deploy", "taxonomy.tgt")],
                              env=base_env,
                              stdout=open(os.path.join(run, "tigris-worker.log"), "w"),
                              stderr=subprocess.STDOUT)
    procs.append(worker)
    pings = receive(time.monotonic() + 3).count("WATCHDOG=1")
    if pings < 3:
        bad.append("tigrisd: %d WATCHDOG=1 in 3 s with WATCHDOG_USEC=1s (want 3 or more)" % pings)
    else:
        print("ok   tigrisd.service: %d WATCHDOG=1 in 3 s (watchdog 1 s)" % pings)
    # The worker compiles its taxonomy first: a few seconds, far more under ASan.
    alerts = 0
    end = time.monotonic() + 90
    while time.monotonic() < end and daemon.poll() is None and worker.poll() is None:
        if sub.poll(500):
            sub.recv_multipart()
            alerts += 1
        elif alerts:
            break
        receive(time.monotonic())
    if died(daemon, "tigrisd in its sandbox") | died(worker, "tigris-worker in its sandbox"):
        raise SystemExit
    if alerts == 0:
        bad.append("no alert published within 90 s of the worker starting")
    else:
        print("ok   tigris-worker@.service: items classified, %d alert(s) published" % alerts)
    daemon.send_signal(signal.SIGHUP)
    msgs = receive(time.monotonic() + 2)
    if died(daemon, "tigrisd after SIGHUP (ExecReload=)"):
        raise SystemExit
    if "WATCHDOG=1" not in msgs:
        bad.append("tigrisd: no WATCHDOG=1 in the 2 s after SIGHUP")
    else:
        print("ok   tigrisd.service: SIGHUP leaves it running and feeding the watchdog")
    worker.send_signal(signal.SIGTERM)
    try:
        if worker.wait(15) != 0:
            died(worker, "tigris-worker on SIGTERM")
    except subprocess.TimeoutExpired:
        bad.append("tigris-worker still running 15 s after SIGTERM")
    daemon.send_signal(signal.SIGTERM)
    msgs = wait_for("STOPPING=1", 10)
    try:
        if daemon.wait(15) != 0:
            died(daemon, "tigrisd on SIGTERM")
    except subprocess.TimeoutExpired:
        bad.append("tigrisd still running 15 s after SIGTERM")
    if "STOPPING=1" not in msgs:
        bad.append("tigrisd: no STOPPING=1 after SIGTERM")
    if not bad:
        print("ok   SIGTERM: STOPPING=1, both exit with status 0")
except SystemExit as e:
    if e.code not in (None, 0):
        bad.append(str(e.code))
except (OSError, subprocess.CalledProcessError) as e:
    bad.append("cannot run the sandboxed programs: %s" % e)
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
for b in bad:
    print("FAIL: " + b)
if bad:
    for name in ("tigrisd.log", "tigris-worker.log"):
        path = os.path.join(run, name)
        if os.path.exists(path):
            print("    %s (last 15 lines):" % name)
            for line in open(path).read().splitlines()[-15:]:
                print("    " + line)
sys.exit(1 if bad else 0)
PY
then
	failed=1
fi

echo "== systemd-analyze security --offline=true (fails above $max_exposure)"
for u in "${units[@]}"; do
	case $u in *.service) ;; *) continue ;; esac
	out=$(cd "$tmp" && systemd-analyze security --offline=true "./$u" 2>&1)
	level=$(printf '%s\n' "$out" |
	    sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p')
	if [ -z "$level" ]; then
		fail "$u: no exposure level in the output of systemd-analyze security:"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/    /'
		continue
	fi
	if awk -v l="$level" -v m="$max_exposure" 'BEGIN { exit !(l + 0 > m + 0) }'; then
		fail "$u: exposure $level is above $max_exposure; what counts against it:"
		printf '%s\n' "$out" | grep '✗' | sed 's/^/    /'
	else
		echo "ok   $u: exposure $level"
	fi
done

if [ "$failed" -ne 0 ]; then
	echo "systemd units: FAILED"
	exit 1
fi
echo "systemd units: all checks passed"
