"""Faults survived by the real httpd with mod_retrace and the real
retrace-worker: the worker killed with SIGKILL during an extraction and
during gdb, then restarted; a graceful restart of httpd during an upload;
the spool's file system full during an upload and during the worker's
writes; the cache's file system full; a half-extracted package in the
cache; retrace-reposync importing in a loop while tasks read the index;
200 status requests a second while 5 tasks run.

Each fault ends with the checks of tests/lib/hostile.py (httpd answers,
the spool holds only finished tasks and no temporaries, nothing named
with the run's marker outside, no process left) and, where the cache was
involved, a check that the cache is valid: every package tree has its
.complete marker and every regular file of the RPM's payload at its size,
no temporary is left.

The full disks are tmpfs mounts (root only: run as root, as CI does;
otherwise the script fails saying so). tests/hostile/README has the
table (RETRACE_UPDATE_README=1 rewrites its observed column).
"""

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rtest import ok, eq, diag, bail, run_tests, Server, make_tar, TOP_BUILDDIR  # noqa: E402
from worker import (Worker, Task, submit, wait_all, show, catch_gdb_process,  # noqa: E402
                    F40)
from hostile import Cases, Env, MIB  # noqa: E402
import hostile_fixtures  # noqa: E402

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "README")
ALSO = [
    (r"^F-kill-gdb", "test-retrace.py check_kills (three kinds of kill; no cache check)"),
    (r"^F-graceful", "test-upload.py test_graceful_restart (without the worker)"),
    (r"^F-spool-full-precheck", "test-create.py test_storage (MinStorageLeft)"),
    (r"^F-", "-"),
]
cases = Cases("test-faults", README, ALSO)
case = cases.case
REPOSYNC = os.path.join(TOP_BUILDDIR, "retrace-reposync", "retrace-reposync")
F41 = "Fedora release 41 (Forty One)\n"

# --- helpers -----------------------------------------------------------------------


def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        bail(f"cannot mount a tmpfs on {path}: {r.stdout.decode(errors='replace')}")


def umount(path):
    subprocess.run(["umount", "-l", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def chown_user(srv, *paths):
    if srv.user:
        subprocess.run(["chown", "-R", f"{srv.user}:{srv.group}", *paths], check=True)


def rpm_files(rpm):
    """{path without the leading /: size} of the payload's regular files."""
    out = subprocess.run(["rpm", "-qp", "--qf", r"[%{FILENAMES}\t%{FILESIZES}\t%{FILEMODES:perms}\n]",
                          rpm], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode()
    files = {}
    for line in out.splitlines():
        name, size, perms = line.split("\t")
        if perms.startswith("-"):
            files[name.lstrip("/")] = int(size)
    return files


def rpm_nevra(rpm):
    return subprocess.run(["rpm", "-qp", "--qf", "%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}", rpm],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode()


def cache_problems(srv, rpms):
    """What makes the cache invalid: temporaries, a tree without its
    .complete (or the other way round), a regular file of the payload
    missing or of the wrong size."""
    pk = os.path.join(srv.state, "cache", "packages")
    bad = []
    if not os.path.isdir(pk):
        return bad
    names = set(os.listdir(pk))
    for n in sorted(names):
        p = os.path.join(pk, n)
        if n.startswith("."):
            bad.append(f"{n}: a temporary left")
        elif os.path.isdir(p) and n + ".complete" not in names:
            bad.append(f"{n}: a tree without its .complete marker")
        elif n.endswith(".complete") and not os.path.isdir(p[:-len(".complete")]):
            bad.append(f"{n}: a marker without its tree")
    # The worker keys the cache by "<nevra>@<release>".
    by_nevra = {rpm_nevra(r): r for r in rpms}
    for n in sorted(names):
        if not n.endswith(".complete") or n[:-9].split("@")[0] not in by_nevra:
            continue
        tree = os.path.join(pk, n[:-9])
        for f, size in rpm_files(by_nevra[n[:-9].split("@")[0]]).items():
            p = os.path.join(tree, f)
            if not os.path.isfile(p):
                bad.append(f"{n[:-9]}: {f} missing")
            elif os.path.getsize(p) != size:
                bad.append(f"{n[:-9]}: {f} is {os.path.getsize(p)} bytes, not {size}")
    return bad


def check_cache(env, label):
    bad = cache_problems(env.srv, env.rpms)
    ok(not bad, f"{label}: the cache is valid (markers, no temporaries, every file whole)",
       "\n".join(bad[:30]))
    return not bad


def run_task(env, what, want="FINISHED_SUCCESS", log_re=r"INFO gdb ran .*", core=None,
             os_release=F40, timeout=120, **kw):
    t = submit(env.srv, what, env.fx.core if core is None else core, "selfcrash-1.0-1.fc40",
               "/usr/bin/selfcrash", os_release=os_release, **kw)
    if t is None:
        return None
    env.tasks.add(t.id)
    env.passwords.add(t.pw)
    ok(wait_all([t], timeout), f"{what}: the task finished within {timeout} s", show(t))
    ok(t.status == want, f"{what}: {want}", show(t))
    ok(re.search(log_re, t.log), f"{what}: the task log says /{log_re}/", t.log[-3000:])
    return t


def first(pattern, text):
    m = re.search(pattern, text)
    return m.group(0).strip() if m else "?"


def short(s, n=100):
    s = s.strip().replace("\n", "\\n")
    return s if len(s) <= n else s[:n] + "..."


# --- servers ---------------------------------------------------------------------

SETTINGS = {"limits": {"MaxParallelTasks": "100", "MaxPackedSize": "64", "MaxUnpackedSize": "256",
                       "MinStorageLeft": "0"},
            "worker": {"Jobs": "2", "ScanInterval": "1", "GdbTimeout": "60"}}


def make_env(name, fx, work, spool_size=None, cache_size=None, jobs=2):
    """A server and its worker; spool_size/cache_size: that directory is a
    tmpfs of that size. The worker is not started."""
    srv = Server(name, settings=SETTINGS, start=False)
    mounts = []
    if spool_size:
        mount_tmpfs(srv.spool, spool_size)
        mounts.append(srv.spool)
    if cache_size:
        mount_tmpfs(os.path.join(srv.state, "cache"), cache_size)
        mounts.append(os.path.join(srv.state, "cache"))
    tmp = os.path.join(srv.state, "tmp")
    os.makedirs(tmp)
    chown_user(srv, srv.spool, os.path.join(srv.state, "cache"), tmp)
    libc = [fx.glibc["glibc"], fx.glibc["glibc-debuginfo"]]
    rpms = libc + list(fx.selfcrash.values())
    srv.add_release("fedora-40-x86_64", rpms)
    srv.add_release("fedora-41-x86_64", libc + [fx.selfcrash["selfcrash"], fx.hostile_debuginfo])
    srv.start()
    env = Env(srv, Worker(srv, jobs=jobs, env={"TMPDIR": tmp}))
    env.fx = fx
    env.work = work
    env.mounts = mounts
    env.rpms = rpms + [fx.hostile_debuginfo]
    srv.expect_log(r"RT00018|cannot write task|No space left")
    srv.expect_log(r"RT00011: refused an upload")     # the 507 of F-spool-full-precheck
    return env


def finish_env(env):
    env.worker.stop()
    env.srv.finish()
    for m in env.mounts:
        umount(m)


class Runner:
    """Runs a group of fault cases on one Env (cases.run on a subset)."""

    def __init__(self, env):
        self.env = env


# --- the worker killed --------------------------------------------------------------

@case("F-kill-extract", "the worker and its task processes killed with SIGKILL while it extracts "
      "hostile-debuginfo (1 GiB sparse file) into the cache, then restarted",
      "the task runs again and succeeds (log: interrupted, queued again, attempt 2 of 3); the "
      "half extraction is removed; the cache is valid")
def _(env):
    t = submit(env.srv, "killed during extraction", env.fx.core, "selfcrash-1.0-1.fc40",
               "/usr/bin/selfcrash", os_release=F41)
    if not t:
        return "upload refused"
    env.tasks.add(t.id)
    pk = os.path.join(env.srv.state, "cache", "packages")
    key = "hostile-debuginfo-1-1.fc41.x86_64@fedora-41-x86_64"
    prefix = f".{key}.tmp."
    deadline = time.time() + 60
    caught = None
    while time.time() < deadline and caught is None:
        try:
            caught = next((n for n in os.listdir(pk) if n.startswith(prefix)), None)
        except OSError:
            pass
        if caught is None:
            time.sleep(0.001)
    ok(caught, "killed during extraction: caught the extraction in progress (its .tmp tree)")
    env.worker.kill(group=True)
    ok(caught is None or os.path.isdir(os.path.join(pk, caught)),
       "killed during extraction: the half-extracted tree is there after the kill")
    ok(not os.path.exists(os.path.join(pk, f"{key}.complete")),
       "killed during extraction: the package is not marked complete")
    env.worker.start()
    ok(wait_all([t], 120), "killed during extraction: the task finishes after the restart", show(t))
    ok(t.status == "FINISHED_SUCCESS", "killed during extraction: the task succeeded", show(t))
    line = first(r"WARN The worker handling this task was interrupted.*", t.log)
    ok(line != "?", "killed during extraction: its log says it was interrupted and ran again", t.log)
    check_cache(env, "killed during extraction")
    sparse = os.path.join(pk, key, "usr/lib/debug/hostile/sparse")
    eq(os.path.getsize(sparse) if os.path.exists(sparse) else None,
       hostile_fixtures.SPARSE_SIZE, "killed during extraction: the sparse file is whole")
    return f"{t.status}; log: {short(line)}; cache valid"


@case("F-kill-gdb", "the worker and its task processes killed with SIGKILL while gdb runs, "
      "then restarted", "the task runs again and succeeds; no gdb or bwrap left; the cache is "
      "valid")
def _(env):
    t = submit(env.srv, "killed during gdb", env.fx.core, "selfcrash-1.0-1.fc40", "/usr/bin/selfcrash")
    if not t:
        return "upload refused"
    env.tasks.add(t.id)
    pid, gdb = catch_gdb_process(env.worker, 60)
    ok(gdb, "killed during gdb: caught gdb running")
    env.worker.kill(group=True)
    time.sleep(0.5)
    left = [p for p in (gdb,) if p and os.path.exists(f"/proc/{p}")]
    ok(not left, "killed during gdb: gdb died with the worker (die-with-parent)", left)
    env.worker.start()
    ok(wait_all([t], 120), "killed during gdb: the task finishes after the restart", show(t))
    ok(t.status == "FINISHED_SUCCESS", "killed during gdb: the task succeeded", show(t))
    line = first(r"WARN The worker handling this task was interrupted.*", t.log)
    ok(line != "?", "killed during gdb: its log says it was interrupted and ran again", t.log)
    check_cache(env, "killed during gdb")
    return f"{t.status}; log: {short(line)}; cache valid"


def processes_running(argv):
    """The pids of live (not zombie) processes whose command line is argv."""
    want = "\0".join(argv) + "\0"
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline") as f:
                if f.read() != want:
                    continue
            with open(f"/proc/{d}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
        except (OSError, IndexError):
            continue
        out.append(int(d))
    return out


@case("F-kill-task-orphan", "a task process killed with SIGKILL while gdb runs, leaving a "
      "descendant behind (a bwrap wrapper on the worker's PATH starts a `sleep` before it execs "
      "the real bwrap, as bubblewrap 0.8's sandbox outlives a task process killed while bwrap "
      "starts it)", "the task fails: log 'died of signal 9'; the worker daemon, as child "
      "subreaper, kills the process left behind within 5 s; no gdb or bwrap left")
def _(env):
    bindir = os.path.join(env.srv.state, "orphan-bin")
    os.makedirs(bindir, exist_ok=True)
    os.chmod(bindir, 0o755)
    sleeper = ["sleep", f"600.{random.randrange(10 ** 6):06d}"]
    wrapper = os.path.join(bindir, "bwrap")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\n"
                f"{' '.join(sleeper)} </dev/null >/dev/null 2>&1 &\n"
                f"exec {shutil.which('bwrap')} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    usual = env.worker
    usual.stop()
    env.worker = Worker(env.srv, jobs=2,
                        env=dict(usual.env or {}, PATH=f"{bindir}:{os.environ['PATH']}"))
    try:
        env.worker.start()
        t = submit(env.srv, "task process killed", env.fx.core, "selfcrash-1.0-1.fc40",
                   "/usr/bin/selfcrash")
        if not t:
            return "upload refused"
        env.tasks.add(t.id)
        pid, gdb = catch_gdb_process(env.worker, 60)
        ok(gdb, "task process killed: caught gdb running")
        left = processes_running(sleeper)
        ok(left, "task process killed: the wrapper's process runs beside gdb")
        if pid:
            os.kill(pid, signal.SIGKILL)
        deadline = time.time() + 5
        while processes_running(sleeper) and time.time() < deadline:
            time.sleep(0.05)
        took = 5 - max(0, deadline - time.time())
        ok(left and not processes_running(sleeper),
           "task process killed: the worker killed the process it left behind",
           env.worker.text()[-2000:])
        ok(re.search(r"killing process \d+, left behind by a task process that died",
                     env.worker.text()),
           "task process killed: the worker's log says it killed a process left behind",
           env.worker.text()[-2000:])
        ok(wait_all([t], 60), "task process killed: the task finishes", show(t))
        eq(t.status, "FINISHED_FAILURE", "task process killed: the task failed")
        line = first(r"ERROR The worker process handling this task died of signal 9.*", t.log)
        ok(line != "?", "task process killed: its log says its process died of signal 9", t.log)
    finally:
        for p in processes_running(sleeper):
            os.kill(p, signal.SIGKILL)
        env.worker.stop()
        env.worker = usual
        usual.start()
        shutil.rmtree(bindir, ignore_errors=True)
    return f"{t.status}; log: {short(line)}; the process left behind killed after {took:.1f} s"


@case("F-graceful-upload", "httpd gracefully restarted (SIGUSR1) during a slow upload of a real "
      "crash", "201; the worker runs the task to success")
def _(env):
    body = make_tar([("coredump", env.fx.core), ("executable", b"/usr/bin/selfcrash\n"),
                     ("package", b"selfcrash-1.0-1.fc40\n"), ("os_release", F40.encode())], None)
    result = {}

    def slow():
        s = socket.create_connection(("127.0.0.1", env.srv.port), timeout=30)
        s.sendall((f"POST /create HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-tar\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode())
        for i in range(0, len(body), 32 * 1024):
            s.sendall(body[i:i + 32 * 1024])
            time.sleep(0.05)
        reply = b""
        while b"\r\n\r\n" not in reply:
            c = s.recv(4096)
            if not c:
                break
            reply += c
        s.close()
        result["reply"] = reply.decode("latin-1")
    th = threading.Thread(target=slow)
    th.start()
    time.sleep(0.2)
    env.srv.graceful()
    th.join(60)
    reply = result.get("reply", "")
    m = re.match(r"HTTP/1\.1 (\d+)", reply)
    eq(m and m.group(1), "201", "graceful restart: the upload completes (201)")
    tid = re.search(r"X-Task-Id: (\d+)", reply)
    pw = re.search(r"X-Task-Password: (\S+)", reply)
    if not (tid and pw):
        return f"{m.group(1) if m else None}"
    t = Task(env.srv, "graceful", tid.group(1), pw.group(1))
    env.tasks.add(t.id)
    ok(wait_all([t], 120) and t.status == "FINISHED_SUCCESS",
       "graceful restart: the worker runs the task to success", show(t))
    return f"201; {t.status}"


# --- full disks -----------------------------------------------------------------------

def repeated_random(n):
    """n bytes that compress well but are no zeros (no holes)."""
    block = os.urandom(64 * 1024)
    return (block * (n // len(block) + 1))[:n]


@case("F-spool-full-precheck", "spool on an 8 MiB tmpfs: a plain 12 MiB upload",
      "507 before the body is read (free space minus Content-Length); nothing left")
def _(env):
    body = make_tar([("coredump", os.urandom(12 * MIB)), ("executable", b"/usr/bin/x\n"),
                     ("package", b"x-1-1.fc40\n")], None)
    before = env.srv.spool_entries()
    r = env.srv.create(body, "application/x-tar")
    eq(r.status, 507, "spool full (precheck): 507")
    eq(env.srv.spool_entries(), before, "spool full (precheck): nothing left in the spool")
    return f"{r.status}: {short(r.text, 60)}"


@case("F-spool-full-upload", "spool on an 8 MiB tmpfs: an xz upload (80 KiB) whose coredump "
      "unpacks to 12 MiB", "507 once the disk fills; error log: cannot write task N (No space "
      "left on device); the task directory removed")
def _(env):
    body = make_tar([("coredump", repeated_random(12 * MIB)), ("executable", b"/usr/bin/x\n"),
                     ("package", b"x-1-1.fc40\n")], "xz")
    before = env.srv.spool_entries()
    r = env.srv.create(body, "application/x-xz-compressed-tar")
    eq(r.status, 507, f"spool full (upload, {len(body) // 1024} KiB): 507")
    line = first(r"No space left on device.*cannot write task \d+", env.new_log())
    ok(line != "?", "spool full (upload): the error log says why", env.new_log()[-1500:])
    deadline = time.time() + 5        # removed when the request's pool goes
    while env.srv.spool_entries() != before and time.time() < deadline:
        time.sleep(0.05)
    eq(env.srv.spool_entries(), before, "spool full (upload): nothing left in the spool")
    st = os.statvfs(env.srv.spool)
    ok(st.f_bavail * st.f_frsize > 7 * MIB, "spool full (upload): the space is free again")
    r = env.srv.create(make_tar([("coredump", env.fx.core), ("executable", b"/usr/bin/selfcrash\n"),
                                 ("package", b"selfcrash-1.0-1.fc40\n"),
                                 ("os_release", F40.encode())], "xz"),
                       "application/x-xz-compressed-tar")
    env.note_response(r)
    eq(r.status, 201, "spool full (upload): the next upload is accepted")
    if r.status == 201:
        t = Task(env.srv, "after the full spool", r.header("x-task-id"), r.header("x-task-password"))
        ok(wait_all([t], 120) and t.status == "FINISHED_SUCCESS",
           "spool full (upload): ... and retraced", show(t))
    return f"507; error log: {short(line)}; the next upload 201"


@case("F-spool-full-core", "spool on an 8 MiB tmpfs: coredump.zst (small) that the worker "
      "decompresses to 12 MiB into the spool", "the task fails: log 'cannot write the core: No "
      "space left on device'; no partial core left")
def _(env):
    core = subprocess.run(["zstd", "-q", "-c"], input=repeated_random(12 * MIB),
                          stdout=subprocess.PIPE, check=True).stdout
    t = run_task(env, "spool full (worker, core)", "FINISHED_FAILURE",
                 r"ERROR cannot write the core.*No space left on device.*", core=core,
                 core_member="coredump.zst", compression=None)
    if not t:
        return "upload refused"
    return f"{t.status}; log: {short(first(r'ERROR .*', t.log))}"


def fill(path, leave=0):
    """Fills the file system of path up to `leave` bytes free; returns
    the filler's path."""
    filler = os.path.join(path, ".filler")
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize - leave
    with open(filler, "wb") as f:
        chunk = b"\1" * MIB
        try:
            while free > 0:
                n = f.write(chunk[:min(len(chunk), free)])
                free -= n
            f.flush()
            os.fsync(f.fileno())
        except OSError:
            pass
    # whatever is left, a block at a time
    fd = os.open(filler, os.O_WRONLY | os.O_APPEND)
    try:
        while True:
            os.write(fd, b"\1" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


@case("F-spool-full-output", "spool on an 8 MiB tmpfs filled to the last byte while gdb runs "
      "(gdb stopped, the disk filled, gdb continued) and kept full for 3 s (whatever the worker "
      "frees is taken again), then emptied",
      "the task does not stay PENDING: its final status cannot be written, so the claim stays and "
      "the worker runs it again once there is room (log: queued again, attempt 2 of 3); it "
      "succeeds; no partial backtrace")
def _(env):
    t = submit(env.srv, "spool full (worker, output)", env.fx.core, "selfcrash-1.0-1.fc40",
               "/usr/bin/selfcrash")
    if not t:
        return "upload refused"
    env.tasks.add(t.id)
    pid, gdb = catch_gdb_process(env.worker, 60)
    ok(gdb, "spool full (output): caught gdb running")
    if gdb:
        os.kill(gdb, signal.SIGSTOP)
        filler = fill(env.srv.spool)
        st = os.statvfs(env.srv.spool)
        diag(f"spool full (output): {st.f_bavail * st.f_frsize} bytes free")
        os.kill(gdb, signal.SIGCONT)
        # Keep it full: take back whatever the worker frees (the partial
        # backtrace, the core it removes when the task ends).
        end = time.time() + 3
        fd = os.open(filler, os.O_WRONLY | os.O_APPEND)
        try:
            while time.time() < end:
                try:
                    os.write(fd, b"\1" * 4096)
                except OSError:
                    time.sleep(0.005)
        finally:
            os.close(fd)
            os.unlink(filler)
    ok(wait_all([t], 120), "spool full (output): the task does not stay PENDING", show(t))
    ok(t.status == "FINISHED_SUCCESS", "spool full (output): it ran again once there was room, "
       "and succeeded", show(t))
    line = first(r"WARN The worker handling this task was interrupted.*", t.log)
    ok(line != "?", "spool full (output): its log says it was queued again", t.log)
    return f"{t.status}; log: {short(line)}"


@case("F-cache-full", "CacheDir on a 4 MiB tmpfs (glibc and its debuginfo need about 8 MiB), "
      "then the tmpfs grown to 512 MiB", "the task fails: log names the package and 'No space "
      "left on device'; no partial tree; after growing, the next task succeeds; the cache is valid")
def _(env):
    t = run_task(env, "cache full", "FINISHED_FAILURE", r"ERROR .*No space left on device.*")
    if not t:
        return "upload refused"
    line = first(r"ERROR .*", t.log)
    check_cache(env, "cache full")
    subprocess.run(["mount", "-o", "remount,size=512m", os.path.join(env.srv.state, "cache")],
                   check=True)
    t2 = run_task(env, "cache grown")
    check_cache(env, "cache grown")
    return f"{t.status}; log: {short(line)}; after growing: {t2.status if t2 else None}"


# --- the cache ------------------------------------------------------------------------

@case("F-half-extracted", "in the cache: a selfcrash tree with its program cut to 100 bytes and "
      "no .complete, a glibc extraction's .tmp left by pid 99999, a .complete marker of "
      "selfcrash-debuginfo without its tree",
      "the task extracts all three again and succeeds; the cache is valid")
def _(env):
    env.worker.stop()
    pk = os.path.join(env.srv.state, "cache", "packages")
    fx = env.fx
    # Cache keys are "<nevra>@<release>"; the task runs against fedora-40.
    names = {k: rpm_nevra(fx.selfcrash[k]) + "@fedora-40-x86_64"
             for k in ("selfcrash", "selfcrash-debuginfo")}
    glibc = rpm_nevra(fx.glibc["glibc"]) + "@fedora-40-x86_64"
    for n in (names["selfcrash"], names["selfcrash-debuginfo"], glibc):
        subprocess.run(["rm", "-rf", os.path.join(pk, n), os.path.join(pk, n + ".complete")])
    tree = os.path.join(pk, names["selfcrash"])
    os.makedirs(os.path.join(tree, "usr/bin"))
    with open(os.path.join(tree, "usr/bin/selfcrash"), "wb") as f:
        f.write(b"\x7fELF" + b"\0" * 96)
    tmp = os.path.join(pk, f".{glibc}.tmp.99999")
    os.makedirs(os.path.join(tmp, "usr/lib64"))
    with open(os.path.join(tmp, "usr/lib64/libc.so.6"), "wb") as f:
        f.write(b"\x7fELF")
    with open(os.path.join(pk, names["selfcrash-debuginfo"] + ".complete"), "w") as f:
        f.write("retrace-cache 1\n")
    chown_user(env.srv, pk)
    env.worker.start()
    t = run_task(env, "half-extracted cache")
    if not t:
        return "upload refused"
    again = [n for n in (names["selfcrash"], glibc, names["selfcrash-debuginfo"])
             if f"Extracted {n.split('@')[0]}" in t.log]
    ok(len(again) == 3, "half-extracted cache: the three packages were extracted again", t.log)
    check_cache(env, "half-extracted cache")
    return f"{t.status}; extracted again: {len(again)} of 3; cache valid"


# --- load ------------------------------------------------------------------------------

@case("F-reposync-loop", "retrace-reposync --import in a loop (each round adds or removes a "
      "package, so the index is published anew) while 6 tasks retrace against that release",
      "every task succeeds; every import exits 0")
def _(env):
    extra_dir = os.path.join(env.work, "import-extra")
    empty_dir = os.path.join(env.work, "import-empty")
    os.makedirs(extra_dir, exist_ok=True)
    os.makedirs(empty_dir, exist_ok=True)
    extra = env.fx.threads["threads"]
    link = os.path.join(extra_dir, os.path.basename(extra))
    if not os.path.exists(link):
        os.symlink(extra, link)
    conf = os.path.join(env.srv.etc, "retrace-server.conf")
    pkgs = os.path.join(env.srv.repo, "fedora-40-x86_64", "Packages")
    stop = threading.Event()
    runs = []

    def loop():
        i = 0
        while not stop.is_set():
            if i % 2 == 0:
                src = extra_dir
            else:
                try:
                    os.unlink(os.path.join(pkgs, os.path.basename(extra)))
                except OSError:
                    pass
                src = empty_dir
            r = subprocess.run([REPOSYNC, "-c", conf, "-q", "--release", "fedora-40-x86_64",
                                "--import", src], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            runs.append((r.returncode, r.stdout.decode(errors="replace")[-300:]))
            i += 1
    th = threading.Thread(target=loop)
    th.start()
    try:
        tasks = []
        for k in range(6):
            t = submit(env.srv, f"task {k} during reposync", env.fx.core, "selfcrash-1.0-1.fc40",
                       "/usr/bin/selfcrash")
            if t:
                env.tasks.add(t.id)
                tasks.append(t)
            time.sleep(0.3)
        ok(wait_all(tasks, 180), "reposync loop: every task finished",
           "\n".join(f"{t.id} {t.status}" for t in tasks))
    finally:
        stop.set()
        th.join(120)
    good = [t for t in tasks if t.status == "FINISHED_SUCCESS"]
    eq(len(good), 6, "reposync loop: the 6 tasks succeeded",)
    for t in tasks:
        if t.status != "FINISHED_SUCCESS":
            diag(show(t))
    codes = [c for c, _ in runs]
    ok(len(runs) >= 4, f"reposync loop: {len(runs)} imports ran during the tasks")
    ok(all(c == 0 for c in codes), "reposync loop: every import exited 0",
       "\n".join(f"{c}: {o}" for c, o in runs if c != 0))
    # Leave the release as it was.
    try:
        os.unlink(os.path.join(pkgs, os.path.basename(extra)))
    except OSError:
        pass
    subprocess.run([REPOSYNC, "-c", conf, "-q", "--release", "fedora-40-x86_64", "--import",
                    empty_dir])
    return f"{len(good)}/6 tasks succeeded during {len(runs)} imports (exit codes {sorted(set(codes))})"


@case("F-status-flood", "200 status requests a second (5 threads, one per task, each 40 a "
      "second with its rotating password) for 10 s while 5 tasks run",
      "every answer 200; the 5 tasks succeed")
def _(env):
    tasks = []
    for k in range(5):
        t = submit(env.srv, f"flooded task {k}", env.fx.core, "selfcrash-1.0-1.fc40",
                   "/usr/bin/selfcrash")
        if t:
            env.tasks.add(t.id)
            tasks.append(t)
    codes = {}
    lock = threading.Lock()
    t_end = time.monotonic() + 10

    def flood(t):
        n = 0
        start = time.monotonic()
        while time.monotonic() < t_end:
            try:
                r = t.get()
                code = r.status
            except OSError as e:
                code = repr(e)
            with lock:
                codes[code] = codes.get(code, 0) + 1
            n += 1
            wait = start + n / 40.0 - time.monotonic()
            if wait > 0:
                time.sleep(wait)
    t0 = time.monotonic()
    ths = [threading.Thread(target=flood, args=(t,)) for t in tasks]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    took = time.monotonic() - t0
    total = sum(codes.values())
    rate = total / took
    eq({k: v for k, v in codes.items() if k != 200}, {}, f"status flood: all {total} answers 200")
    ok(rate >= 180, f"status flood: {rate:.0f} requests a second (at least 180)")
    ok(wait_all(tasks, 120), "status flood: the tasks finished")
    eq(sum(t.status == "FINISHED_SUCCESS" for t in tasks), 5, "status flood: the 5 tasks succeeded")
    return f"{total} requests in {took:.1f} s ({rate:.0f}/s), all 200; " \
           f"{sum(t.status == 'FINISHED_SUCCESS' for t in tasks)}/5 tasks succeeded"


# --- the run -----------------------------------------------------------------------------

GROUPS = [
    # (server name, spool tmpfs, cache tmpfs, the cases)
    ("faults", None, None, ["F-kill-extract", "F-kill-gdb", "F-kill-task-orphan", "F-graceful-upload",
                            "F-half-extracted", "F-reposync-loop", "F-status-flood"]),
    ("spoolfull", "8m", None, ["F-spool-full-precheck", "F-spool-full-upload", "F-spool-full-core",
                               "F-spool-full-output"]),
    ("cachefull", None, "4m", ["F-cache-full"]),
]


def main():
    if os.geteuid() != 0:
        bail("test-faults needs root: it mounts tmpfs file systems for the full spool and "
             "cache (CI runs as root); run it as root")
    t0 = time.time()
    work = hostile_fixtures.scratch()
    try:
        fx = hostile_fixtures.build(work)
        only = re.compile(os.environ.get("RETRACE_HOSTILE_ONLY") or ".")
        for name, spool, cache, ids in GROUPS:
            if not any(only.search(i) for i in ids):
                continue
            env = make_env(name, fx, work, spool_size=spool, cache_size=cache)
            try:
                env.worker.start()
                sub = [c for c in cases.list if c.id in ids]
                keep = cases.list
                cases.list = sub
                try:
                    cases.run(env)
                finally:
                    cases.list = keep
            finally:
                finish_env(env)
        cases.summary()
        cases.check_readme()
    finally:
        if not os.environ.get("RETRACE_KEEP_STATE"):
            subprocess.run(["rm", "-rf", work])
    diag(f"test-faults took {time.time() - t0:.1f} s")


run_tests(main)
