#!/usr/bin/env python3
"""The Retrace Server's benchmarks (issue 7). Run by bench/run; not a test.

    bench.py --build BUILD_DIR --json OUT.json [--rounds N] [--slow-rounds N]
             [--only NAME,...]

Every comparison runs both sides in this one invocation, alternating
(A B A B ...) so that drift hits both, on the same core and the same
packages; each side's runs are kept and summarized as median, min and max.
NAME: retrace (comparisons 1-4), concurrency, upload, polling, index.

Everything listens on 127.0.0.1 (bench/run starts this in a network
namespace of its own when it can, so loopback is all there is). The
fixtures are the tests' own (tests/lib/crashes.py: RPM families built with
rpmbuild, the host's glibc as Fedora's glibc and glibc-debuginfo, real
cores made by running the packaged programs) plus bench/manylibs.py (a
program linking 32 libraries, each its own package). The server is
tests/lib/rtest.Server (scripts/write-config, a private httpd with the
module), the worker the built retrace-worker, run as httpd's user.

The gdb floor uses exactly what the worker runs: a first pass records the
worker's bwrap command line and gdb command files (a bwrap wrapper first in
the worker's PATH, used for that pass only), with debug tasks (X-Task-Type
1) so that the worker keeps the root it assembled. The floor is that
command line again on that root.
"""

import argparse
import http.client
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
RELEASE = "fedora-40-x86_64"
F40 = "Fedora release 40 (Forty)\n"
POLL = 0.05     # seconds between status requests while waiting; the finish
                # time is the status file's mtime (when the worker wrote
                # FINISHED_SUCCESS), so the interval only adds load, not error

T0 = time.monotonic()


def say(msg):
    print(f"[{time.monotonic() - T0:6.1f} s] {msg}", file=sys.stderr, flush=True)


def summary(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs),
            "runs": [round(x, 4) for x in xs]}


def alternate(rounds, sides, unit="s"):
    """sides: [(name, fn)]; fn() returns seconds (or another unit). Runs
    A B C A B C ... Returns {name: summary}."""
    times = {name: [] for name, _ in sides}
    for r in range(rounds):
        for name, fn in sides:
            times[name].append(fn())
        say("  round %d: %s" % (r + 1, ", ".join(f"{n} {times[n][-1]:.3f} {unit}"
                                                  for n, _ in sides)))
    return {n: summary(t) for n, t in times.items()}


def run(cmd, **kw):
    kw.setdefault("check", True)
    return subprocess.run(cmd, **kw)


def timed(cmd, **kw):
    t = time.perf_counter()
    run(cmd, **kw)
    return time.perf_counter() - t


# --- gdb output --------------------------------------------------------------
#
# The same reading as retrace-worker/gdb.c (read_output): frames are the
# "#N " lines of the threads section; with source when the line ends in
# " at FILE:LINE".

THREADS_MARK = "[retrace: threads]"


def frame_facts(text):
    frames = with_source = 0
    in_threads = False
    for line in text.splitlines():
        if line.startswith("[retrace: "):
            in_threads = line.strip() == THREADS_MARK
            continue
        if in_threads and re.match(r"#\d+ ", line):
            frames += 1
            if re.search(r" at [^ ]+:\d+$", line):
                with_source += 1
    return {"frames": frames, "with_source": with_source}


# --- the bench ---------------------------------------------------------------


class Bench:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        self.work = tempfile.mkdtemp(prefix="retrace-bench-", dir="/var/tmp")
        os.chmod(self.work, 0o755)
        self.results = {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "comparisons": {},
                        "commands": {}, "notes": []}
        self.srv = None
        self.worker = None
        self.debuginfod = None
        self.jobs = args.jobs or os.cpu_count() or 1
        self.user = self.group = None
        if os.getuid() == 0:
            import grp
            import pwd
            self.user = "nobody"
            self.group = grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
        self.as_user = (["setpriv", f"--reuid={self.user}", f"--regid={self.group}",
                         "--clear-groups"] if self.user else [])

    def path(self, *parts):
        return os.path.join(self.work, *parts)

    def scratch(self, name):
        """A directory httpd's user (and so the worker) may write."""
        d = self.path(name)
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o777)
        return d

    def cleanup(self):
        if self.worker:
            self.worker.stop()
        if self.debuginfod:
            self.debuginfod.stop()
        if self.srv:
            self.srv.stop()
        if not os.environ.get("RETRACE_KEEP_STATE"):
            shutil.rmtree(self.work, ignore_errors=True)


# --- fixtures ----------------------------------------------------------------


class Crash:
    """A core with what to upload, and what each side learned about it."""

    def __init__(self, name, core, executable, package, rpms):
        self.name = name
        self.core = core
        self.executable = executable
        self.package = package
        self.rpms = rpms            # the RPMs its packages come from (the release has more)
        self.archive = None
        self.capture = None         # the worker's recorded bwrap argv and gdb files
        self.needed = []            # RPM paths the worker used
        self.debug_task = None


def fixtures(b):
    import crashes
    import manylibs
    t = time.monotonic()
    glibc = crashes.host_glibc()
    libc = [glibc["glibc"], glibc["glibc-debuginfo"]]
    threads = crashes.program_family("threads", "1.0", "1.fc40", payload="zstd")
    many = manylibs.build(32)
    say(f"fixture RPMs ready in {time.monotonic() - t:.1f} s")
    t = time.monotonic()
    cores = b.path("cores")
    os.makedirs(cores)

    def core(name, binaries, argv):
        made = crashes.crash_core(binaries, argv, b.path("crash-" + name))
        dst = os.path.join(cores, name + ".core")
        shutil.copy(made, dst)
        os.chmod(dst, 0o644)
        return dst
    many_bins = [fam[n] for n, fam in many.items()]
    crash_threads = Crash("threads", core("threads", [threads["threads"], glibc["glibc"]],
                                          ["/usr/bin/threads"]),
                          "/usr/bin/threads", "threads-1.0-1.fc40",
                          libc + list(threads.values()))
    crash_many = Crash("manylibs", core("manylibs", many_bins + [glibc["glibc"]],
                                        ["/usr/bin/manylibs"]),
                       "/usr/bin/manylibs", "manylibs-1.0-1.fc40",
                       libc + [p for fam in many.values() for p in fam.values()])
    say(f"cores made in {time.monotonic() - t:.1f} s")
    all_rpms = sorted(set(crash_threads.rpms) | set(crash_many.rpms))
    return [crash_threads, crash_many], all_rpms


# --- server, worker, tasks -------------------------------------------------------


class Worker:
    """retrace-worker -v -j N as httpd's user."""

    def __init__(self, b, path_prefix=None):
        self.b = b
        self.logfile = os.path.join(b.srv.state, "log", "worker.log")
        cmd = b.as_user + [os.path.join(b.build, "retrace-worker", "retrace-worker"), "-c",
                           os.path.join(b.srv.etc, "retrace-server.conf"), "-v",
                           "-j", str(b.jobs)]
        env = dict(os.environ)
        if path_prefix:
            env["PATH"] = path_prefix + ":" + env.get("PATH", "/usr/bin:/bin")
        self.log = open(self.logfile, "ab")
        self.start_offset = self.log.tell()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log, env=env, start_new_session=True)
        deadline = time.time() + 10
        while "watching" not in self.text() and time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the worker exited at start:\n" + self.text())
            time.sleep(0.02)

    def text(self):
        with open(self.logfile, errors="replace") as f:
            f.seek(self.start_offset)
            return f.read()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        self.log.close()


def request(port, method, path, body=None, headers=None, timeout=120):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def upload(b, crash, task_type=None):
    h = {"Content-Type": "application/x-xz-compressed-tar"}
    if task_type is not None:
        h["X-Task-Type"] = str(task_type)
    status, hdrs, body = request(b.srv.port, "POST", "/create", crash.archive, h)
    if status != 201:
        raise RuntimeError(f"upload of {crash.name}: {status} {body[:300]!r}")
    return hdrs["x-task-id"], hdrs["x-task-password"]


def status(b, task):
    s, hdrs, _ = request(b.srv.port, "GET", f"/{task[0]}", headers={"X-Task-Password": task[1]})
    return hdrs.get("x-task-status") if s == 200 else None


def wait_tasks(b, tasks, timeout=900):
    """Polls each task every POLL s until all are finished. Returns
    {task id: (status, finished)}: finished is when the worker wrote the
    final status (its file's mtime, time.time() seconds); a client sees it
    at its next status request."""
    done = {}
    deadline = time.time() + timeout
    while len(done) < len(tasks):
        if time.time() > deadline:
            raise RuntimeError(f"tasks not finished after {timeout} s: "
                               f"{[t[0] for t in tasks if t[0] not in done]}")
        for t in tasks:
            if t[0] in done:
                continue
            st = status(b, t)
            if st in ("FINISHED_SUCCESS", "FINISHED_FAILURE"):
                mtime = os.stat(os.path.join(b.srv.spool, "tasks", t[0], "status")).st_mtime_ns
                done[t[0]] = (st, mtime / 1e9, time.time())
        time.sleep(POLL)
    return done


def task_file(b, task, name):
    s, _, body = request(b.srv.port, "GET", f"/{task[0]}/{name}",
                         headers={"X-Task-Password": task[1]})
    return body.decode("utf-8", "replace") if s == 200 else ""


STAGE_RES = {
    "analysis": r"Analysis took ([\d.]+) s",
    "preparation": r"Preparation took ([\d.]+) s",
    "assembly": r"Root assembled from \d+ packages \(\d+ from the cache\) in ([\d.]+) s",
    "gdb": r"gdb ran ([\d.]+) s",
    "retrace_stage": r"Retrace took ([\d.]+) s",
    "task": r"The task took ([\d.]+) s",
}


def retrace_once(b, crash, want_cold=None, keep=None):
    """Upload to FINISHED_SUCCESS, in seconds. want_cold: check the log
    says every package came from the cache (False) or none did (True)."""
    t0 = time.time()
    task = upload(b, crash)
    t_up = time.time() - t0
    st, t1, seen = wait_tasks(b, [task])[task[0]]
    elapsed = t1 - t0
    log = task_file(b, task, "log")
    if st != "FINISHED_SUCCESS":
        raise RuntimeError(f"{crash.name}: the retrace failed:\n{log}")
    m = re.search(r"Root assembled from (\d+) packages \((\d+) from the cache\)", log)
    if want_cold is not None and m:
        n, hits = int(m.group(1)), int(m.group(2))
        if (want_cold and hits) or (not want_cold and hits != n):
            raise RuntimeError(f"{crash.name}: expected a {'cold' if want_cold else 'warm'} "
                               f"cache, the log says {m.group(0)}")
    stages = {"upload": t_up, "total": elapsed, "client_seen": seen - t0}
    for k, rx in STAGE_RES.items():
        mm = re.search(rx, log)
        if mm:
            stages[k] = float(mm.group(1))
    if all(k in stages for k in ("task", "analysis", "preparation", "retrace_stage")):
        # What the task spent after gdb's stage: removing the root and the
        # core, the last status writes.
        stages["cleanup"] = stages["task"] - stages["analysis"] - stages["preparation"] - \
            stages["retrace_stage"]
        # Outside the task process: the worker's pick-up, the final status.
        stages["rest"] = elapsed - t_up - stages["task"]
    if keep is not None:
        keep.append({"task": task, "stages": stages, "log": log})
    return elapsed


def empty_cache(b):
    """The package cache emptied (its directory stays: the worker holds it)."""
    pk = os.path.join(b.srv.state, "cache", "packages")
    for n in os.listdir(pk):
        p = os.path.join(pk, n)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p)
        else:
            os.unlink(p)


def start_server(b, all_rpms):
    import rtest
    srv = rtest.Server("bench", start=False, settings={
        "limits": {"MaxParallelTasks": "100", "MaxPackedSize": "200", "MinStorageLeft": "0"},
        "worker": {"Jobs": str(b.jobs), "ScanInterval": "5", "GdbTimeout": "300"},
        "http": {"PasswordRotation": "off", "AllowDebugTasks": "on"}})
    b.srv = srv
    # A static file of the size of a status answer's body, served by the
    # same httpd (core's default handler) for the polling comparison.
    htdocs = os.path.join(srv.state, "htdocs", "static")
    os.makedirs(htdocs)
    with open(os.path.join(htdocs, "status"), "w") as f:
        f.write("FINISHED_SUCCESS")
    srv.set_local_conf(f"""# bench: a static file beside the module
DocumentRoot "{srv.state}/htdocs"
<Directory "{srv.state}/htdocs">
    Require all granted
</Directory>
<Location /static/>
    SetHandler none
</Location>""")
    srv.start()
    if srv.user:
        run(["chown", "-R", f"{srv.user}:{srv.group}", os.path.join(srv.state, "cache")])
    t = time.perf_counter()
    srv.add_release(RELEASE, all_rpms)
    b.results["index_ours"] = {"seconds": time.perf_counter() - t, "rpms": len(all_rpms)}
    b.results["commands"]["index_ours"] = (
        f"tests/tools/spool-tool index REPO {RELEASE}   (repoindex_update(): what "
        f"retrace-reposync does after a sync; {len(all_rpms)} RPMs)")
    say(f"server on 127.0.0.1:{srv.port}, {len(all_rpms)} RPMs indexed in "
        f"{b.results['index_ours']['seconds']:.2f} s")


def make_archives(crashes_):
    import rtest
    for c in crashes_:
        with open(c.core, "rb") as f:
            core = f.read()
        c.archive = rtest.make_tar([("coredump", core),
                                    ("executable", c.executable.encode() + b"\n"),
                                    ("package", c.package.encode() + b"\n"),
                                    ("os_release", F40.encode())], "xz")


# --- capturing what the worker runs ------------------------------------------------

SHIM = r"""#!/bin/bash
# bench: records the worker's bwrap command line and its gdb command files,
# then runs the real bwrap. Used for one pass only.
d=@CAPTURE@/$$
mkdir -p "$d"
printf '%s\0' "$@" >"$d/argv"
prev=
for a in "$@"; do
        [ "$a" = /retrace/cmd ] && [ -n "$prev" ] && cp -r "$prev" "$d/cmd"
        prev=$a
done
exec @BWRAP@ "$@"
"""


def capture(b, crashes_):
    """One debug task per crash through a recording bwrap: the argv and
    command files, the root the worker assembled (kept: task type 1) and
    the packages it used."""
    shim_dir = b.path("shim")
    os.makedirs(shim_dir)
    cap = b.scratch("capture")
    with open(os.path.join(shim_dir, "bwrap"), "w") as f:
        f.write(SHIM.replace("@CAPTURE@", cap).replace("@BWRAP@", shutil.which("bwrap")))
    os.chmod(os.path.join(shim_dir, "bwrap"), 0o755)
    os.chmod(shim_dir, 0o755)
    b.worker = Worker(b, path_prefix=shim_dir)
    try:
        for c in crashes_:
            before = set(os.listdir(cap))
            t0 = time.time()
            task = upload(b, c, task_type=1)
            st, t1, _ = wait_tasks(b, [task])[task[0]]
            log = task_file(b, task, "log")
            if st != "FINISHED_SUCCESS":
                raise RuntimeError(f"{c.name}: the first retrace failed:\n{log}")
            new = sorted(set(os.listdir(cap)) - before)
            if len(new) != 1:
                raise RuntimeError(f"{c.name}: expected one sandbox run, saw {new}")
            d = os.path.join(cap, new[0])
            with open(os.path.join(d, "argv"), "rb") as f:
                argv = [shutil.which("bwrap")] + [a.decode() for a in f.read().split(b"\0")[:-1]]
            c.capture = {"argv": argv, "cmd": os.path.join(d, "cmd")}
            c.debug_task = task
            c.first_seconds = t1 - t0
            c.first_log = log
            c.worker_backtrace = task_file(b, task, "backtrace")
            names = re.findall(r"INFO (?:Extracted|Cached) (\S+)", log)
            pk = os.path.join(b.srv.repo, RELEASE, "Packages")
            c.needed = [os.path.realpath(os.path.join(pk, n + ".rpm")) for n in names]
            missing = [p for p in c.needed if not os.path.exists(p)]
            if missing:
                raise RuntimeError(f"{c.name}: no RPM file for {missing}")
            c.root = argv[argv.index("/retrace/root") - 1]
            c.spool_core = argv[argv.index("/retrace/core") - 1]
            say(f"{c.name}: first (cold) retrace {c.first_seconds:.2f} s, {len(names)} packages, "
                f"{frame_facts(c.worker_backtrace)}")
    finally:
        b.worker.stop()
        b.worker = None


def sandbox_argv(c, root=None):
    """The worker's recorded command line, with the recorded gdb files and
    (optionally) another root."""
    argv = list(c.capture["argv"])
    i = argv.index("/retrace/cmd")
    argv[i - 1] = c.capture["cmd"]
    if root:
        argv[argv.index("/retrace/root") - 1] = root
    return argv


def gdb_commands(c):
    """gdb's own argv from the recorded one (after bwrap's "--")."""
    argv = c.capture["argv"]
    return argv[argv.index("--") + 1:]


def plain_gdb_files(b, c):
    """The recorded command files rewritten for gdb without the sandbox:
    the root and core at their real paths."""
    d = b.path(f"plain-{c.name}")
    shutil.copytree(c.capture["cmd"], d)
    load = os.path.join(d, "0-load.gdb")
    text = open(load).read().replace("/retrace/root", c.root).replace("/retrace/core",
                                                                       c.spool_core)
    with open(load, "w") as f:
        f.write(text)
    os.chmod(d, 0o755)
    return [a.replace("/retrace/cmd", d) for a in gdb_commands(c)]


def debuginfod_gdb_files(b, c):
    """The recorded command files with the load step made a debuginfod
    client's: debuginfod on, no sysroot, no local debug files, no `file`
    (gdb fetches the executable by the core's build-id), the real core."""
    d = b.path(f"debuginfod-{c.name}")
    shutil.copytree(c.capture["cmd"], d)
    empty = b.path("empty")
    os.makedirs(empty, exist_ok=True)
    load = os.path.join(d, "0-load.gdb")
    out = []
    for line in open(load).read().splitlines():
        if line.startswith("set debuginfod enabled"):
            line = "set debuginfod enabled on"
        elif line.startswith("set sysroot") or line.startswith("set substitute-path") or \
                line.startswith("file "):
            continue
        elif line.startswith("set debug-file-directory"):
            line = f"set debug-file-directory {empty}"
        elif line.startswith("core-file"):
            line = f"core-file {c.core}"
        out.append(line)
    with open(load, "w") as f:
        f.write("\n".join(out) + "\n")
    os.chmod(d, 0o755)
    return [a.replace("/retrace/cmd", d) for a in gdb_commands(c)]


# --- debuginfod ----------------------------------------------------------------


class Debuginfod:
    def __init__(self, b, pkgdir):
        import rtest
        self.b = b
        self.pkgdir = pkgdir
        self.dir = b.scratch("debuginfod")
        self.db = os.path.join(self.dir, "index.sqlite")
        self.port = rtest.free_port()
        self.proc = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.cmd = ["debuginfod", "-R", "-L", "-p", str(self.port), "-d", self.db,
                    "-t", "0", "-g", "0", pkgdir]

    def metrics(self):
        try:
            s, _, body = request(self.port, "GET", "/metrics", timeout=5)
        except OSError:
            return None
        return body.decode() if s == 200 else None

    def start(self, expect_rpms):
        """Starts it and waits until its scan has seen every RPM. Returns
        the seconds that took."""
        t = time.perf_counter()
        self.log = open(os.path.join(self.dir, "log"), "ab")
        self.proc = subprocess.Popen(self.b.as_user + self.cmd, stdout=self.log,
                                     stderr=self.log, stdin=subprocess.DEVNULL,
                                     cwd=self.dir, start_new_session=True)
        deadline = time.time() + 300
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("debuginfod exited: " +
                                   open(os.path.join(self.dir, "log")).read()[-2000:])
            m = self.metrics()
            if m:
                seen = sum(float(x) for x in re.findall(
                    r'^scanned_files_total\{source="\.rpm archive"\} (\S+)', m, re.M))
                known = sum(float(x) for x in re.findall(
                    r'^thread_work_total\{role="traverse"\} (\S+)', m, re.M))
                pending = sum(float(x) for x in re.findall(
                    r'^thread_work_pending\{role="scan"\} (\S+)', m, re.M))
                busy = sum(float(x) for x in re.findall(
                    r'^thread_busy\{role="scan"\} (\S+)', m, re.M))
                if (seen >= expect_rpms or (expect_rpms == 0 and known >= 1)) and \
                        pending == 0 and busy == 0:
                    return time.perf_counter() - t
            time.sleep(0.02)
        raise RuntimeError("debuginfod did not finish its scan in 300 s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


# --- comparisons 1-4 --------------------------------------------------------------

PROFILED = "syncfs,fsync,fdatasync,unlink,unlinkat,rmdir,link,linkat,rename,renameat2"


def strace_profile(b, fn):
    """strace -f -c -w on the worker while fn() runs: {syscall: [calls,
    seconds]} for the calls in PROFILED, and the elapsed time under strace."""
    out = b.path("strace.txt")
    st = subprocess.Popen(["strace", "-f", "-c", "-w", "-e", f"trace={PROFILED}", "-o", out,
                           "-p", str(b.worker.proc.pid)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    elapsed = fn()
    time.sleep(0.2)
    st.send_signal(signal.SIGINT)
    st.wait()
    calls = {}
    for line in open(out):
        f = line.split()
        if len(f) >= 5 and re.match(r"[\d.]+$", f[0]) and f[-1] not in ("total",):
            calls[f[-1]] = [int(f[3]), float(f[1])]
    return {"calls": calls, "elapsed": elapsed}




def compare_retrace(b, crashes_, all_rpms):
    """For each crash: warm retrace vs the gdb floor (and gdb without the
    sandbox), debuginfod warm; then cold retrace vs rpm2cpio | cpio + gdb
    vs debuginfod cold."""
    capture(b, crashes_)
    pkgdir = os.path.join(b.srv.repo, RELEASE, "Packages")
    dfd = Debuginfod(b, pkgdir)
    b.debuginfod = dfd
    t_index = dfd.start(len(all_rpms))
    b.results["index_debuginfod"] = {"seconds": t_index, "rpms": len(all_rpms)}
    b.results["commands"]["debuginfod"] = " ".join(shlex.quote(a) for a in dfd.cmd)
    say(f"debuginfod indexed {len(all_rpms)} RPMs in {t_index:.2f} s")

    b.worker = Worker(b)
    out_dir = b.scratch("out")
    scratch = b.scratch("extract")
    for c in crashes_:
        say(f"== {c.name}: warm ({b.args.rounds} rounds)")
        floor_argv = b.as_user + sandbox_argv(c)
        plain_argv = b.as_user + plain_gdb_files(b, c)
        dfd_argv = b.as_user + debuginfod_gdb_files(b, c)
        warm_cache = b.scratch(f"dcache-{c.name}-warm")
        outputs = {}

        def to_file(name, argv, env=None, cwd=None):
            def fn():
                path = os.path.join(out_dir, f"{c.name}-{name}.txt")
                with open(path, "wb") as f:
                    t = time.perf_counter()
                    subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=env, cwd=cwd, check=False)
                    el = time.perf_counter() - t
                outputs[name] = open(path, errors="replace").read()
                return el
            return fn

        dfd_env = {"PATH": "/usr/bin:/bin", "HOME": b.path("empty"), "LANG": "C.UTF-8",
                   "DEBUGINFOD_URLS": dfd.url}
        warm_env = dict(dfd_env, DEBUGINFOD_CACHE_PATH=warm_cache)
        run_floor = to_file("floor", floor_argv)
        run_plain = to_file("plain", plain_argv, cwd=c.root)
        run_dfd_warm = to_file("debuginfod-warm", dfd_argv, env=warm_env)
        sb = sandbox_argv(c)
        run_sandbox_only = to_file("sandbox", b.as_user + sb[:sb.index("--") + 1] + ["true"])
        kept_warm = []
        # Warm-up: the cache holds every package (the capture filled it),
        # debuginfod's client cache gets filled.
        retrace_once(b, c)
        run_dfd_warm()
        warm = alternate(b.args.rounds, [
            ("retrace_warm", lambda: retrace_once(b, c, want_cold=False, keep=kept_warm)),
            ("gdb_floor", run_floor),
            ("gdb_no_sandbox", run_plain),
            ("debuginfod_warm", run_dfd_warm),
            ("sandbox_start", run_sandbox_only),
        ])

        say(f"== {c.name}: cold ({b.args.slow_rounds} rounds)")
        kept_cold = []

        def cold():
            empty_cache(b)
            return retrace_once(b, c, want_cold=True, keep=kept_cold)

        root_holder = {}
        ex_script = ("set -e; d=$(mktemp -d {scratch}/root.XXXXXX); cd \"$d\"; "
                     "for r in {rpms}; do rpm2cpio \"$r\" | cpio -idm --quiet "
                     "--no-absolute-filenames; done; "
                     "ln -s usr/lib64 lib64; ln -s usr/lib lib; ln -s usr/bin bin; "
                     "ln -s usr/sbin sbin; echo \"[bench: extracted $(date +%s.%N)]\"; "
                     "exec {gdb}").format(
            scratch=scratch, rpms=" ".join(shlex.quote(p) for p in c.needed),
            gdb=" ".join(shlex.quote(a) for a in sandbox_argv(c, root="$ROOT")).replace(
                "'$ROOT'", '"$d"'))
        ex_argv = b.as_user + ["bash", "-c", ex_script]
        run_extract_gdb = to_file("rpm2cpio", ex_argv)

        extract_times = []

        def extract_gdb():
            t_wall = time.time()
            el = run_extract_gdb()
            m = re.search(r"\[bench: extracted ([\d.]+)\]", outputs.get("rpm2cpio", ""))
            if m:
                extract_times.append(float(m.group(1)) - t_wall)
            for n in os.listdir(scratch):
                shutil.rmtree(os.path.join(scratch, n), ignore_errors=True)
            return el

        run_dfd_cold_gdb = None

        def dfd_cold():
            # A fresh client cache and a freshly started server (its own
            # caches of extracted files empty), the index already built.
            nonlocal run_dfd_cold_gdb
            dfd.stop()
            dfd.start(0)
            d = b.scratch(f"dcache-{c.name}-cold")
            shutil.rmtree(d)
            d = b.scratch(f"dcache-{c.name}-cold")
            run_dfd_cold_gdb = to_file("debuginfod-cold", dfd_argv,
                                       env=dict(dfd_env, DEBUGINFOD_CACHE_PATH=d))
            return run_dfd_cold_gdb()

        coldres = alternate(b.args.slow_rounds, [
            ("retrace_cold", cold),
            ("rpm2cpio_gdb", extract_gdb),
            ("debuginfod_cold", dfd_cold),
        ])
        # Extraction alone: the worker's root assembly (from its task log)
        # against the rpm2cpio | cpio loop (until its marker line).
        if extract_times:
            coldres["rpm2cpio_extract"] = summary(extract_times)
        assembly = [e["stages"]["assembly"] for e in kept_cold if "assembly" in e["stages"]]
        if assembly:
            coldres["assembly"] = summary(assembly)

        # Where the worker waits on the disk: one more cold and one more warm
        # retrace with strace counting (wall-clock) the durability and
        # removal calls of the worker and its task process. Not in the
        # statistics above.
        profile = {}
        if shutil.which("strace"):
            empty_cache(b)
            profile["cold"] = strace_profile(b, lambda: retrace_once(b, c, want_cold=True))
            profile["warm"] = strace_profile(b, lambda: retrace_once(b, c, want_cold=False))

        facts = {"worker": frame_facts(task_file(b, kept_warm[-1]["task"], "backtrace"))}
        for k in ("floor", "plain", "debuginfod-warm", "debuginfod-cold", "rpm2cpio"):
            facts[k] = frame_facts(outputs.get(k, ""))
        stages = {}
        for label, kept in (("warm", kept_warm), ("cold", kept_cold)):
            keys = sorted({k for e in kept for k in e["stages"]})
            stages[label] = {k: statistics.median([e["stages"][k] for e in kept
                                                   if k in e["stages"]]) for k in keys}
        b.results["comparisons"][c.name] = {
            "warm": warm, "cold": coldres, "frames": facts, "stages": stages,
            "packages": len(c.needed), "core_bytes": os.path.getsize(c.core),
            "profile": profile,
            "modules": len(re.findall(r"^\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+(?:Yes|No)",
                                      outputs.get("floor", ""), re.M)),
        }
        say(f"{c.name}: frames with file:line {facts}")
        # The exact commands.
        q = lambda argv: " ".join(shlex.quote(a) for a in argv)  # noqa: E731
        b.results["commands"][c.name] = {
            "retrace": (f"POST /create (the {len(c.archive)}-byte xz tar of coredump, "
                        f"executable {c.executable}, package {c.package}, os_release), then "
                        f"GET /<id> every {POLL * 1000:.0f} ms until X-Task-Status is "
                        f"FINISHED_SUCCESS; the time from just before the POST to the mtime of "
                        f"the task's status file (when the worker wrote FINISHED_SUCCESS); "
                        f"retrace-worker -v -j {b.jobs} as httpd's user"),
            "retrace_cold": "the same, after removing everything in CacheDir/packages/",
            "gdb_floor": q(floor_argv),
            "gdb_no_sandbox": q(plain_argv) + f"   (in {c.root})",
            "rpm2cpio_gdb": q(ex_argv),
            "debuginfod_gdb": " ".join(f"{k}={v}" for k, v in dfd_env.items()) +
                              " DEBUGINFOD_CACHE_PATH=<fresh dir for cold, the same for warm> " +
                              q(dfd_argv),
            "gdb_files": {n: open(os.path.join(c.capture["cmd"], n)).read()
                          for n in sorted(os.listdir(c.capture["cmd"]))},
            "debuginfod_load": open(os.path.join(b.path(f"debuginfod-{c.name}"),
                                                 "0-load.gdb")).read(),
        }
    dfd.stop()
    b.debuginfod = None


# --- 5: concurrency ----------------------------------------------------------------


def compare_concurrency(b, crash, n=20):
    if not b.worker:
        b.worker = Worker(b)
    retrace_once(b, crash)          # the cache is warm

    diag = []
    alone = []

    def batch():
        barrier = threading.Barrier(n + 1)
        tasks = [None] * n

        def one(i):
            barrier.wait()
            tasks[i] = upload(b, crash)
        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        barrier.wait()
        t0 = time.time()
        for t in threads:
            t.join()
        uploaded = time.time() - t0
        done = wait_tasks(b, tasks)
        bad = [k for k, v in done.items() if v[0] != "FINISHED_SUCCESS"]
        if bad:
            raise RuntimeError(f"concurrency: tasks {bad} failed")
        makespan = max(v[1] for v in done.values()) - t0
        took = []
        for t in tasks:
            m = re.search(r"The task took ([\d.]+) s", task_file(b, t, "log"))
            if m:
                took.append(float(m.group(1)))
        # How busy the worker's slots were, and how long one task took
        # while others ran beside it.
        diag.append({"uploads_done": uploaded, "task_median": statistics.median(took),
                     "busy": sum(took) / (b.jobs * makespan)})
        return makespan

    def one():
        keep = []
        el = retrace_once(b, crash, want_cold=False, keep=keep)
        alone.append(keep[0]["stages"].get("task"))
        return el

    say(f"== concurrency: {n} tasks at once, -j {b.jobs} ({b.args.slow_rounds} rounds)")
    res = alternate(b.args.slow_rounds, [
        ("one_task", one),
        ("makespan", batch),
    ])
    res["tasks"] = n
    res["jobs"] = b.jobs
    res["ideal"] = n * res["one_task"]["median"] / b.jobs
    running = [int(m) for m in re.findall(r"started \(pid \d+, (\d+) running\)", b.worker.text())]
    res["max_running"] = max(running) if running else None
    res["uploads_done"] = statistics.median(d["uploads_done"] for d in diag)
    res["task_in_batch"] = statistics.median(d["task_median"] for d in diag)
    res["task_alone"] = statistics.median(x for x in alone if x is not None)
    res["busy"] = statistics.median(d["busy"] for d in diag)
    b.results["comparisons"]["concurrency"] = res
    b.results["commands"]["concurrency"] = (
        f"{n} threads each POST /create the {crash.name} crash at once (a barrier), then "
        f"GET /<id> of each every {POLL * 1000:.0f} ms; makespan: from the barrier to the "
        f"last status file written FINISHED_SUCCESS. retrace-worker -j {b.jobs}.")


# --- 7: polling ---------------------------------------------------------------------


def wrk(url, seconds, header=None):
    cmd = ["wrk", "-t", "2", "-c", "16", "-d", f"{seconds}s", "--latency"]
    if header:
        cmd += ["-H", header]
    out = run(cmd + [url], stdout=subprocess.PIPE).stdout.decode()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    if re.search(r"Non-2xx or 3xx responses", out):
        raise RuntimeError("wrk saw errors:\n" + out)
    return rps, cmd


def compare_polling(b, crash, seconds=4):
    if not b.worker:
        b.worker = Worker(b)
    task = upload(b, crash)
    wait_tasks(b, [task])
    base = f"http://127.0.0.1:{b.srv.port}"
    st, hdrs, body = request(b.srv.port, "GET", f"/{task[0]}", headers={"X-Task-Password": task[1]})
    st2, hdrs2, body2 = request(b.srv.port, "GET", "/static/status")
    if st != 200 or st2 != 200 or len(body) != len(body2):
        raise RuntimeError(f"polling: status {st} {body!r}, static {st2} {body2!r}")
    say(f"== polling: wrk {seconds} s each, {b.args.rounds} rounds")
    cmds = {}

    def status_side():
        rps, cmd = wrk(f"{base}/{task[0]}", seconds, f"X-Task-Password: {task[1]}")
        cmds["status"] = cmd + [f"{base}/{task[0]}"]
        return rps

    def static_side():
        rps, cmd = wrk(f"{base}/static/status", seconds)
        cmds["static"] = cmd + [f"{base}/static/status"]
        return rps
    res = alternate(b.args.rounds, [("status", status_side), ("static", static_side)],
                    unit="req/s")
    res["body_bytes"] = len(body)
    b.results["comparisons"]["polling"] = res
    b.results["commands"]["polling"] = {k: " ".join(shlex.quote(a) for a in v).replace(
        task[1], "<password>") for k, v in cmds.items()}


# --- 6: upload -------------------------------------------------------------------------


def compare_upload(b, rounds):
    say(f"== upload: bench/upload.sh, {rounds} rounds")
    p = run(["bash", os.path.join(HERE, "upload.sh"), b.build, str(rounds)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode()
    ups = [float(x) for x in re.findall(r"upload ([\d.]+) s", out)]
    cats = [float(x) for x in re.findall(r"cat ([\d.]+) s", out)]
    size = int(re.search(r"^(\d+) bytes:", out, re.M).group(1))
    growth = float(re.search(r"peak-RSS growth: ([\d.]+) MiB", out).group(1))
    b.results["comparisons"]["upload"] = {"upload": summary(ups), "cat": summary(cats),
                                          "bytes": size, "rss_growth_mib": growth}
    b.results["commands"]["upload"] = (
        f"bench/upload.sh BUILD {rounds}: curl -T upload.tar -X POST -H 'Content-Type: "
        f"application/x-tar' http://127.0.0.1:PORT/create (a tar of a 1 GiB random coredump) "
        f"vs cat upload.tar >SPOOL/cat-copy, alternating, sync before each")
    say(out.strip().splitlines()[-2])


# --- 8: index scale and resync ---------------------------------------------------------


def compare_index(b, packages=70000):
    say(f"== index: bench/index.sh, {packages} packages")
    p = run(["bash", os.path.join(HERE, "index.sh"), b.build, str(packages)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode()
    table = out[out.index("repository index benchmark"):]
    rows = {}
    for line in table.splitlines()[2:]:
        m = re.match(r"(.+?)\s{2,}([\d.]+) (\S+)$", line)
        if m:
            rows[m.group(1).strip()] = (float(m.group(2)), m.group(3))
    b.results["comparisons"]["index"] = {"packages": packages, "rows": rows,
                                         "header": table.splitlines()[0]}
    b.results["commands"]["index"] = f"bench/index.sh BUILD {packages}"


def primary_xml(names):
    """RPM-MD primary for the packages named by file name (N-V-R.A.rpm)."""
    empty_sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n'
             '<metadata xmlns="http://linux.duke.edu/metadata/common" '
             'xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="%d">\n' % len(names)]
    for fn in names:
        base = fn[:-4]
        nvr, arch = base.rsplit(".", 1)
        nv, rel = nvr.rsplit("-", 1)
        name, ver = nv.rsplit("-", 1)
        src = name.split("-")[0]
        parts.append(
            f'<package type="rpm"><name>{name}</name><arch>{arch}</arch>'
            f'<version epoch="0" ver="{ver}" rel="{rel}"/>'
            f'<checksum type="sha256" pkgid="YES">{empty_sha}</checksum>'
            f'<summary>A package made up for a benchmark</summary>'
            f'<description>This package contains a library and the programs that come with it. '
            f'It is one of many packages generated for a benchmark of retrace-reposync.'
            f'</description><packager>Fedora Project</packager>'
            f'<url>https://example.invalid/{src}</url>'
            f'<time file="1700000000" build="1700000000"/>'
            f'<size package="0" installed="0" archive="0"/>'
            f'<location href="Packages/{fn}"/>'
            f'<format><rpm:license>MIT</rpm:license><rpm:vendor>Fedora Project</rpm:vendor>'
            f'<rpm:group>Unspecified</rpm:group><rpm:buildhost>buildhw</rpm:buildhost>'
            f'<rpm:sourcerpm>{src}-{ver}-{rel}.src.rpm</rpm:sourcerpm>'
            f'<rpm:header-range start="4504" end="20000"/>'
            f'<rpm:provides><rpm:entry name="{name}" flags="EQ" epoch="0" ver="{ver}" '
            f'rel="{rel}"/><rpm:entry name="{name}(x86-64)" flags="EQ" epoch="0" '
            f'ver="{ver}" rel="{rel}"/><rpm:entry name="lib{src}.so.1()(64bit)"/>'
            f'</rpm:provides><rpm:requires><rpm:entry name="libc.so.6()(64bit)"/>'
            f'<rpm:entry name="libc.so.6(GLIBC_2.34)(64bit)"/>'
            f'<rpm:entry name="rtld(GNU_HASH)"/></rpm:requires>'
            f'<file>/usr/bin/{src}-tool0</file><file>/usr/bin/{src}-tool1</file>'
            f'</format></package>\n')
    parts.append("</metadata>\n")
    return "".join(parts).encode()


def compare_resync(b, packages=10000):
    """A no-change resync of a release of `packages` packages: unchanged
    repomd.xml (fetched alone), and a changed repomd.xml whose packages are
    all present (primary fetched and read, every file looked up), against
    fetching repomd.xml alone with curl."""
    import gzip
    import hashlib
    import repotools
    say(f"== resync: {packages} packages")
    site = b.path("resync")
    repo = os.path.join(site, "repo")
    upstream = os.path.join(site, "upstream")
    os.makedirs(os.path.join(upstream, "repodata"))
    lib = os.path.join(b.build, "common", ".libs", "libretrace-common.a")
    tool = os.path.join(site, "index-bench")
    flags = run(["pkg-config", "--cflags", "--libs", "libsolvext"],
                stdout=subprocess.PIPE).stdout.decode().split()
    run(["cc", "-O2", f"-I{TOP}/common", f"-I{b.build}", "-o", tool,
         os.path.join(HERE, "index-bench.c"), lib] + flags)
    # The local release: index-bench's synthetic packages (empty files,
    # with an index that knows them), then the index brought up to date.
    run([tool, "gen", repo, RELEASE, str(packages)], stdout=subprocess.DEVNULL)
    run([tool, "update", repo, RELEASE], stdout=subprocess.DEVNULL)
    names = sorted(os.listdir(os.path.join(repo, RELEASE, "Packages")))
    raw = primary_xml(names)
    gz = gzip.compress(raw, 6)
    sha = hashlib.sha256(gz).hexdigest()
    href = f"repodata/{sha}-primary.xml.gz"
    with open(os.path.join(upstream, href), "wb") as f:
        f.write(gz)
    repomd = (f'<?xml version="1.0" encoding="UTF-8"?>\n'
              f'<repomd xmlns="http://linux.duke.edu/metadata/repo" '
              f'xmlns:rpm="http://linux.duke.edu/metadata/rpm">\n'
              f'  <revision>1700000000</revision>\n'
              f'  <data type="primary">\n'
              f'    <checksum type="sha256">{sha}</checksum>\n'
              f'    <open-checksum type="sha256">{hashlib.sha256(raw).hexdigest()}'
              f'</open-checksum>\n'
              f'    <location href="{href}"/>\n'
              f'    <timestamp>1700000000</timestamp>\n'
              f'    <size>{len(gz)}</size>\n    <open-size>{len(raw)}</open-size>\n'
              f'  </data>\n</repomd>\n')
    with open(os.path.join(upstream, "repodata", "repomd.xml"), "w") as f:
        f.write(repomd)
    proc, port = repotools.start_http_server(upstream)
    try:
        etc = os.path.join(site, "etc")
        os.makedirs(os.path.join(etc, "repos.d"))
        conf = os.path.join(etc, "retrace-server.conf")
        with open(conf, "w") as f:
            f.write(f"[paths]\nRepoDir = {repo}\nRepoConfDir = {etc}/repos.d\n"
                    f"SpoolDir = {site}/spool\nCacheDir = {site}/cache\n")
        url = f"http://127.0.0.1:{port}/"
        with open(os.path.join(etc, "repos.d", "bench.repo"), "w") as f:
            f.write(f"[bench]\nname = bench\nbaseurl = {url}\nrelease = {RELEASE}\n")
        reposync = [os.path.join(b.build, "retrace-reposync", "retrace-reposync"), "-c", conf,
                    "--no-progress"]
        seen = os.path.join(repo, RELEASE, ".reposync", "bench", "repomd.xml")

        def sync(expect):
            t = time.perf_counter()
            p = run(reposync, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            el = time.perf_counter() - t
            err = p.stderr.decode()
            if expect not in err:
                raise RuntimeError(f"reposync: expected {expect!r}:\n{err}")
            return el

        def changed():
            if os.path.exists(seen):
                os.unlink(seen)     # as if upstream's repomd.xml had changed
            return sync(f"{packages} packages upstream, 0 to download")
        curl = ["curl", "-fsS", "-o", "/dev/null", url + "repodata/repomd.xml"]
        changed()                   # warm-up; leaves repomd.xml seen
        res = alternate(b.args.rounds, [
            ("unchanged", lambda: sync("bench: unchanged")),
            ("changed_all_present", changed),
            ("curl_repomd", lambda: timed(curl)),
        ])
        res["packages"] = packages
        res["primary_gz_bytes"] = len(gz)
        res["primary_bytes"] = len(raw)
        b.results["comparisons"]["resync"] = res
        b.results["commands"]["resync"] = {
            "unchanged": " ".join(reposync) + "   (repomd.xml as seen last time)",
            "changed_all_present": " ".join(reposync) +
                                   "   (the last seen repomd.xml removed first)",
            "curl_repomd": " ".join(curl),
            "upstream": f"python3 -m http.server (tests/lib/repotools.start_http_server) "
                        f"serving repomd.xml and a {len(gz)}-byte primary.xml.gz "
                        f"({len(raw)} bytes) of {packages} packages",
        }
    finally:
        proc.terminate()
        proc.wait()


# --- machine facts ------------------------------------------------------------------


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def machine_facts(b):
    def out(cmd):
        try:
            return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=20).stdout.decode(errors="replace").strip()
        except (OSError, subprocess.TimeoutExpired):
            return "?"
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(re.search(r"MemTotal:\s+(\d+)", open("/proc/meminfo").read()).group(1))
    facts = {
        "cpu": cpu, "cpus": os.cpu_count(), "memory_gib": round(mem / 1048576, 1),
        "kernel": platform.release(),
        "os": out(["sh", "-c", ". /etc/os-release; echo $PRETTY_NAME"]),
        "disk": out(["sh", "-c", f"df -T {b.work} | tail -1 | awk '{{print $1\" \"$2}}'"]),
        "gdb": out(["gdb", "--version"]).splitlines()[0],
        "httpd": out([shutil.which("apache2") or "httpd", "-v"]).splitlines()[0],
        "debuginfod": out(["debuginfod", "--version"]).splitlines()[0],
        "bwrap": out(["bwrap", "--version"]),
        "rpm": out(["rpm", "--version"]),
        "wrk": out(["sh", "-c", "wrk -v 2>&1 | head -1"]),
        "gnuplot": out(["gnuplot", "--version"]),
        "python": platform.python_version(),
        "commit": out(["git", "-C", TOP, "describe", "--always", "--dirty"]),
        "worker_jobs": b.jobs,
        "netns": os.environ.get("RETRACE_BENCH_NETNS", "no"),
        "load_before": load_average(),
    }
    return facts


# --- main ------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--slow-rounds", type=int, default=3)
    ap.add_argument("--upload-rounds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=0)
    ap.add_argument("--only", default="retrace,concurrency,polling,upload,index")
    args = ap.parse_args()
    os.environ["top_srcdir"] = TOP
    os.environ["top_builddir"] = os.path.abspath(args.build)
    os.environ.setdefault("TESTDATA", os.path.join(TOP, "..", "shared", "testdata"))
    os.environ.pop("RETRACE_SANITIZERS", None)
    sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
    sys.path.insert(0, HERE)
    only = set(args.only.split(","))

    b = Bench(args)
    try:
        b.results["machine"] = machine_facts(b)
        b.results["rounds"] = {"fast": args.rounds, "slow": args.slow_rounds,
                               "upload": args.upload_rounds}
        if only & {"retrace", "concurrency", "polling"}:
            crashes_, all_rpms = fixtures(b)
            make_archives(crashes_)
            start_server(b, all_rpms)
            if "retrace" in only:
                compare_retrace(b, crashes_, all_rpms)
            if "concurrency" in only:
                compare_concurrency(b, crashes_[0])
            if "polling" in only:
                compare_polling(b, crashes_[0])
            if b.worker:
                b.worker.stop()
                b.worker = None
            b.srv.stop()
            b.srv = None
        if "upload" in only:
            compare_upload(b, args.upload_rounds)
        if "index" in only:
            compare_index(b)
            compare_resync(b)
    finally:
        b.results["machine"]["load_after"] = load_average()
        b.results["seconds"] = time.monotonic() - T0
        with open(args.json, "w") as f:
            json.dump(b.results, f, indent=1)
        b.cleanup()
    say(f"done in {time.monotonic() - T0:.0f} s; results in {args.json}")


if __name__ == "__main__":
    main()
