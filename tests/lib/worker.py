"""The real retrace-worker beside an rtest.Server, and tasks driven through
the HTTP API as a client drives them: shared by tests/integration/
test-retrace.py and the hostile corpus of tests/hostile/.

    srv = Server("x", settings=...)
    w = Worker(srv, jobs=2)
    w.start()
    t = submit(srv, "label", core_bytes, "selfcrash-1.0-1.fc40", "/usr/bin/selfcrash")
    wait_all([t], 60)           # polls /<id>, then fetches log, backtrace, exploitable
    w.stop()
"""

import os
import shlex
import signal
import subprocess
import time

from rtest import ok, make_tar, CONTENT_TYPES, TOP_BUILDDIR

WORKER = os.path.join(TOP_BUILDDIR, "retrace-worker", "retrace-worker")
F40 = "Fedora release 40 (Forty)\n"


class Worker:
    """The real retrace-worker as httpd's user (the spool's owner), in a
    session of its own so that a test can kill it with its task processes.
    env: extra environment (TMPDIR, say)."""

    def __init__(self, srv, jobs=2, env=None):
        self.srv = srv
        self.jobs = jobs
        self.env = env
        self.proc = None
        self.log = None
        self.exit_status = None
        self.logfile = os.path.join(srv.state, "log", "worker.log")

    def wrapper(self):
        """RETRACE_WORKER_WRAPPER: a command the worker runs under
        (valgrind, tests/valgrind/run); [] when unset."""
        return shlex.split(os.environ.get("RETRACE_WORKER_WRAPPER", ""))

    def start(self, check=True):
        cmd = self.wrapper() + [WORKER, "-c", os.path.join(self.srv.etc, "retrace-server.conf"),
                                "-v", "-j", str(self.jobs)]
        if self.srv.user:
            cmd = ["setpriv", f"--reuid={self.srv.user}", f"--regid={self.srv.group}",
                   "--clear-groups"] + cmd
        env = None
        if self.env:
            env = dict(os.environ)
            env.update(self.env)
        self.log = open(self.logfile, "ab")
        # Where this start's lines begin: "watching" of an earlier start
        # must not count.
        self.log_start = self.log.tell()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log, start_new_session=True, env=env)
        deadline = time.time() + (120 if self.wrapper() else 10)
        while "watching" not in self.text(self.log_start) and time.time() < deadline:
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        up = self.proc.poll() is None and "watching" in self.text(self.log_start)
        if check:
            ok(up, "the worker starts and watches the queue", self.text()[-2000:])
        return up

    def text(self, offset=0):
        try:
            with open(self.logfile, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def children(self):
        return children_of(self.proc.pid) if self.proc else []

    def kill(self, group):
        """SIGKILL: the daemon alone, or its whole session (a service
        manager stopping it hard, or a machine going down)."""
        if group:
            os.killpg(self.proc.pid, signal.SIGKILL)
        else:
            self.proc.kill()
        self.proc.wait()
        self.log.close()
        self.proc = None

    def stop(self):
        """SIGTERM; the exit status is then in self.exit_status."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(180 if self.wrapper() else 30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc:
            self.exit_status = self.proc.returncode
            self.log.close()
        self.proc = None


# --- tasks ----------------------------------------------------------------------


class Task:
    # Every password any task was handed (rotation gives a new one for
    # each request): what must never be found on disk or in a log.
    seen_passwords = set()

    def __init__(self, srv, name, task_id, password):
        self.srv = srv
        self.name = name
        self.id = task_id
        self.pw = password
        Task.seen_passwords.add(password)
        self.status = None
        self.backtrace = self.log = self.exploitable = ""
        self.progress_seen = []

    def get(self, sub=""):
        r = self.srv.request("GET", f"/{self.id}{sub}", headers={"X-Task-Password": self.pw})
        if r.header("x-task-password"):
            self.pw = r.header("x-task-password")     # PasswordRotation on
            Task.seen_passwords.add(self.pw)
        return r

    def poll(self):
        r = self.get()
        if r.status == 200:
            self.status = r.header("x-task-status")
            p = r.header("x-task-progress")
            if p and (not self.progress_seen or self.progress_seen[-1] != p):
                self.progress_seen.append(p)
        return self.status

    def finished(self):
        return self.status in ("FINISHED_SUCCESS", "FINISHED_FAILURE")

    def fetch(self):
        self.fetched = {}
        for attr, sub in (("backtrace", "/backtrace"), ("log", "/log"),
                          ("exploitable", "/exploitable")):
            r = self.get(sub)
            self.fetched[sub] = r
            setattr(self, attr, r.text if r.status == 200 else "")


def submit(srv, name, core, package, executable, os_release=F40, core_member="coredump",
           compression="xz", extra=(), check=True):
    """Uploads a crash (the members ABRT sends) and returns its Task, or
    None when /create did not answer 201. package, executable and
    os_release: str (a newline is added to the first two) or bytes (sent
    as they are)."""
    def b(v, nl):
        return v if isinstance(v, bytes) else v.encode() + (b"\n" if nl else b"")
    members = [(core_member, core), ("executable", b(executable, True)),
               ("package", b(package, True))]
    if os_release is not None:
        members.append(("os_release", b(os_release, False)))
    members += list(extra)
    archive = make_tar(members, compression)
    r = srv.create(archive, CONTENT_TYPES[compression])
    if check and not ok(r.status == 201, f"{name}: upload accepted (201)", r):
        return None
    if r.status != 201:
        return None
    return Task(srv, name, r.header("x-task-id"), r.header("x-task-password"))


def wait_all(tasks, timeout):
    deadline = time.time() + timeout
    pending = [t for t in tasks if t]
    while pending and time.time() < deadline:
        for t in pending:
            t.poll()
        pending = [t for t in pending if not t.finished()]
        time.sleep(0.1)
    for t in tasks:
        if t:
            t.fetch()
    return not pending


def show(t):
    bad = {k: (r.status, r.body[:200]) for k, r in getattr(t, "fetched", {}).items()
           if r.status != 200}
    return f"status {t.status}{' (fetch: ' + repr(bad) + ')' if bad else ''}\n--- log\n{t.log[-3000:]}\n--- backtrace\n{t.backtrace[:6000]}"


# --- processes ------------------------------------------------------------------


def children_of(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)],
                             stdout=subprocess.PIPE).stdout.decode()
        return [int(x) for x in out.split()]


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def descendants(pid):
    out = []
    todo = children_of(pid)
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children_of(p)
    return out


def task_processes(worker):
    """The worker daemon's children: its task processes."""
    return children_of(worker.proc.pid)


def catch_in_gdb(worker, timeout=60):
    """Waits until a task process of the worker runs gdb in its sandbox:
    the task is at "Generating backtrace". Returns the task process's pid.
    Not at bwrap's start already: bwrap 0.8 sets its child's parent-death
    signal without checking that the parent still lives, so a kill while
    bwrap is setting up can leave the sandbox's init behind (for good when
    the daemon, its subreaper, is killed too)."""
    pid, _ = catch_gdb_process(worker, timeout)
    return pid


def catch_gdb_process(worker, timeout=60):
    """As catch_in_gdb(); returns (task process pid, gdb's pid) or
    (None, None)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for pid in task_processes(worker):
            for c in descendants(pid):
                if comm(c) == "gdb":
                    return pid, c
        time.sleep(0.001)
    return None, None
