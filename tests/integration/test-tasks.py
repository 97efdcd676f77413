"""The task endpoints: /<id>, /<id>/, /<id>/log, /<id>/backtrace,
/<id>/exploitable and /<id>/delete, checked against shared/spec/http-api.md:
status and progress for every stage, results served byte for byte, delete,
both password policies (rotation on and off, including races), ids that are
malformed or unknown, RetraceRequireHTTPS over plain HTTP and over a real
mod_ssl virtual host, and passwords kept out of the logs and off the disk.

The worker is simulated with tests/tools/spool-tool (Server.worker)."""

import os
import random
import re
import string
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rtest import Server, ok, eq, diag, run_tests, crash_archive, Response  # noqa: E402

# (status-file word, X-Task-Status, X-Task-Progress), from the contract.
STAGES = [
    ("QUEUED", "PENDING", "Queued"),
    ("ANALYZING", "PENDING", "Analyzing crash data"),
    ("PREPARING", "PENDING", "Preparing environment for backtrace generation"),
    ("RETRACING", "PENDING", "Generating backtrace"),
    ("CLEANING", "PENDING", "Cleaning environment after backtrace generation"),
    ("FINISHED_SUCCESS", "FINISHED_SUCCESS", "Retrace job finished successfully"),
    ("FINISHED_FAILURE", "FINISHED_FAILURE", "Retrace job failed"),
]
PENDING_STAGES = [s[0] for s in STAGES if s[1] == "PENDING"]
TEXT_PLAIN = "text/plain; charset=utf-8"
PW_RE = re.compile(r"[0-9A-Za-z]{32}\Z")
HASH_RE = re.compile(rb"sha256\$[0-9a-f]{32}\$[0-9a-f]{64}\n?\Z")
ENDPOINTS = ["", "/", "/log", "/backtrace", "/exploitable", "/delete"]

ALL_PASSWORDS = set()       # every task password any server handed out
NO_LENGTH = []              # responses without a correct Content-Length


def random_password():
    return "".join(random.choice(string.ascii_letters + string.digits) for _ in range(32))


def note(desc, r, method="GET"):
    """Records what every response must satisfy: an explicit, correct
    Content-Length; collects the passwords handed out."""
    if isinstance(r, Response):
        cl = r.header("content-length")
        want = None if method == "HEAD" else str(len(r.body))
        if cl is None or (want is not None and cl != want):
            NO_LENGTH.append(f"{desc}: {r.status} Content-Length {cl!r}, body {len(r.body)} bytes")
        if r.header("x-task-password"):
            ALL_PASSWORDS.add(r.header("x-task-password"))
    return r


def req(srv, method, path, pw=None, tls=False, body=None, headers=None):
    h = dict(headers or {})
    if pw is not None:
        h["X-Task-Password"] = pw
    r = srv.request(method, path, body=body, headers=h, tls=tls)
    return note(f"{method} {path}{' (https)' if tls else ''}", r, method)


def check_lengths(name):
    ok(not NO_LENGTH, f"{name}: every response carried a correct Content-Length", "\n".join(NO_LENGTH))
    NO_LENGTH.clear()


CURRENT = object()


class Task:
    """A task created through /create; tracks the password the client
    must use next, as a client would."""

    def __init__(self, srv, tls=False, check=True):
        self.srv = srv
        self.tls = tls
        r = req(srv, "POST", "/create", body=crash_archive(), tls=tls,
                headers={"Content-Type": "application/x-xz-compressed-tar"})
        if r.status != 201:
            raise AssertionError(f"/create failed: {r}")
        self.id = r.header("x-task-id")
        self.pw = r.header("x-task-password")
        if check:
            ok(self.id and re.fullmatch(r"[1-9][0-9]{8}", self.id) and
               self.pw and PW_RE.match(self.pw), "/create returns a 9-digit id and a 32-char password",
               r.headers)

    def call(self, sub="", method="GET", pw=CURRENT, tls=None):
        use = self.pw if pw is CURRENT else pw
        r = req(self.srv, method, f"/{self.id}{sub}", pw=use,
                tls=self.tls if tls is None else tls)
        if r.header("x-task-password"):
            self.pw = r.header("x-task-password")
        return r

    def worker(self, *args, data=b""):
        self.srv.worker(args[0], self.id, *args[1:], data=data)

    def stage(self, word):
        self.worker("stage", word)

    def put(self, name, data):
        self.worker("put", name, data=data)

    def path(self, *parts):
        return self.srv.task_path(self.id, *parts)


def check_logs_clean_of_passwords(srv):
    """Passwords never reach httpd's error log or access log."""
    leaks = []
    for name, data in srv.log_files().items():
        for pw in ALL_PASSWORDS:
            if pw.encode() in data:
                leaks.append(f"{name}: {pw}")
    ok(not leaks, f"{srv.name}: no task password appears in {sorted(srv.log_files())}", "\n".join(leaks))


def check_passwords_hashed(srv):
    """tasks/<id>/password holds a salted hash, never a password."""
    bad = []
    for tid in srv.task_dirs():
        p = srv.task_path(tid, "password")
        if not os.path.exists(p):
            continue
        data = open(p, "rb").read()
        if not HASH_RE.match(data):
            bad.append(f"{tid}: not sha256$salt$hash: {data[:80]!r}")
        for pw in ALL_PASSWORDS:
            if pw.encode() in data:
                bad.append(f"{tid}: contains the password {pw}")
    ok(not bad and srv.task_dirs(), f"{srv.name}: task passwords are stored only as hashes", "\n".join(bad))


# --------------------------------------------------------------------------

def test_status(srv):
    t = Task(srv)
    r = t.call()
    eq((r.status, r.header("x-task-status"), r.header("x-task-progress"), r.body),
       (200, "PENDING", "Queued", b"PENDING"), "a new task is PENDING, Queued, before the worker touches it")
    eq(r.header("content-type"), TEXT_PLAIN, "status is text/plain; charset=utf-8")
    for word, status, progress in STAGES:
        t.stage(word)
        for sub in ("", "/"):
            r = t.call(sub)
            eq((r.status, r.header("x-task-status"), r.header("x-task-progress"), r.body),
               (200, status, progress, status.encode()),
               f"GET /<id>{sub} at stage {word}: 200, X-Task-Status {status}, progress '{progress}'")
    # The worker claims and finishes a task: status follows the file.
    t2 = Task(srv, check=False)
    t2.worker("claim")
    t2.stage("RETRACING")
    r = t2.call()
    eq((r.status, r.header("x-task-status"), r.header("x-task-progress")),
       (200, "PENDING", "Generating backtrace"), "a claimed task (running/<id>) reports its stage")
    t2.stage("FINISHED_SUCCESS")
    t2.worker("release")
    r = t2.call()
    eq((r.status, r.body), (200, b"FINISHED_SUCCESS"), "a released task reports FINISHED_SUCCESS")


def test_results(srv):
    t = Task(srv)
    # Log.
    r = t.call("/log")
    eq(r.status, 404, "/log is 404 while no log exists")
    log = ("[2024-05-01 12:00:00] INFO Task 1 created\n"
           "[2024-05-01 12:00:01] WARNING caf\u00e9 \u2014 unicode survives\n"
           "[2024-05-01 12:00:02] ERROR no trailing newline").encode()
    t.put("retrace_log", log)
    r = t.call("/log")
    eq((r.status, r.body), (200, log), "/log is 200 with the log's exact bytes once it exists")
    eq(r.header("content-type"), TEXT_PLAIN, "/log is text/plain; charset=utf-8")
    eq(r.header("content-length"), str(len(log)), "/log's Content-Length is the file size")
    t.put("retrace_log", b"")
    r = t.call("/log")
    eq((r.status, r.body, r.header("content-length")), (200, b"", "0"), "an empty log is 200, Content-Length 0")

    # Backtrace: only when FINISHED_SUCCESS, even if the file exists.
    bt = b"Core was generated by `/usr/bin/sleep 100'.\nProgram terminated with signal SIGSEGV.\n#0  0x0 in main ()\n"
    r = t.call("/backtrace")
    eq(r.status, 404, "/backtrace is 404 while queued and no backtrace exists")
    t.put("retrace_backtrace", bt)
    for word in PENDING_STAGES:
        t.stage(word)
        r = t.call("/backtrace")
        eq(r.status, 404, f"/backtrace is 404 at stage {word} although the file exists")
        ok(bt not in r.body, f"... and the 404 at {word} does not leak the backtrace")
    t.stage("FINISHED_FAILURE")
    r = t.call("/backtrace")
    eq(r.status, 404, "/backtrace is 404 after FINISHED_FAILURE although the file exists")
    ok(bt not in r.body, "... and does not leak it")
    t.stage("FINISHED_SUCCESS")
    r = t.call("/backtrace")
    eq((r.status, r.body), (200, bt), "/backtrace is 200 with the exact bytes after FINISHED_SUCCESS")
    eq(r.header("content-type"), TEXT_PLAIN, "/backtrace is text/plain; charset=utf-8")

    # A large backtrace.
    rnd = random.Random(7)
    line = bytes(rnd.choice(b"0123456789abcdef #:()x") for _ in range(1023)) + b"\n"
    big = bytearray()
    while len(big) < 5 * 1024 * 1024:
        big += b"#%d " % (len(big) // 1024) + line
    big = bytes(big[:5 * 1024 * 1024])
    t.put("retrace_backtrace", big)
    r = t.call("/backtrace")
    eq((r.status, r.header("content-length"), len(r.body)), (200, str(len(big)), len(big)),
       "a 5 MiB backtrace: 200 with Content-Length 5242880")
    ok(r.body == big, "... served intact, byte for byte")

    # Exploitable.
    t2 = Task(srv, check=False)
    r = t2.call("/exploitable")
    eq(r.status, 404, "/exploitable is 404 when there is none")
    t2.stage("FINISHED_SUCCESS")
    r = t2.call("/exploitable")
    eq(r.status, 404, "/exploitable is 404 for a finished task without one")
    ex = b"Likely crash reason: Jump to an invalid address\nExploitable rating (0-9 scale): 6\n"
    t2.put("exploitable", ex)
    r = t2.call("/exploitable")
    eq((r.status, r.body), (200, ex), "/exploitable is 200 with the exact text when present")
    eq(r.header("content-type"), TEXT_PLAIN, "/exploitable is text/plain; charset=utf-8")


def test_rotation(srv):
    t = Task(srv, check=False)
    seen = [t.pw]
    for i in range(12):
        sub = ENDPOINTS[i % 5]          # every endpoint but delete
        old = t.pw
        r = t.call(sub)
        new = r.header("x-task-password")
        ok(new is not None and PW_RE.match(new), f"GET /<id>{sub} ({r.status}) returns a fresh "
           "X-Task-Password of 32 [0-9A-Za-z]", r.headers)
        ok(new not in seen, "... different from every earlier password", new)
        seen.append(new)
        if i < 5:
            r2 = req(srv, "GET", f"/{t.id}", pw=old)
            eq(r2.status, 403, f"the password consumed by /<id>{sub} is refused the second time")
            ok(r2.header("x-task-password") is None, "... and that 403 hands out no password", r2.headers)
            r3 = t.call()
            eq(r3.status, 200, "... while the new one works")
            seen.append(t.pw)

    # Rejected for another reason than the password: still rotates.
    for sub, why in (("/log", "missing log"), ("/backtrace", "backtrace while pending"),
                     ("/exploitable", "missing exploitability rating")):
        old = t.pw
        r = t.call(sub)
        eq(r.status, 404, f"{why}: 404")
        new = r.header("x-task-password")
        ok(new and PW_RE.match(new) and new != old, f"{why}: the 404 still carries a new password", r.headers)
        eq(req(srv, "GET", f"/{t.id}", pw=old).status, 403, f"{why}: the old password was consumed")
        eq(t.call().status, 200, f"{why}: the new password works")

    # A wrong password does not consume the right one.
    r = t.call(pw=random_password())
    eq(r.status, 403, "a wrong password is 403")
    ok(r.header("x-task-password") is None, "... and hands out no password", r.headers)
    eq(t.call().status, 200, "... and the current password still works afterwards")


def test_bad_passwords(srv):
    t = Task(srv, check=False)
    lower = t.pw.lower() if t.pw.lower() != t.pw else t.pw.swapcase()
    cases = [
        ("missing", None),
        ("wrong", random_password()),
        ("lower-cased", lower),
        ("one character changed", t.pw[:-1] + ("0" if t.pw[-1] != "0" else "1")),
        ("truncated", t.pw[:31]),
        ("right password plus one char", t.pw + "a"),
        ("empty", ""),
        ("overlong, 10 KB", "A" * 10240),
        ("overlong, right password repeated", t.pw * 300),
        ("non-ASCII", "\u00e9" * 16),
    ]
    bodies = {}
    for name, pw in cases:
        h = {}
        if pw is not None:
            h["X-Task-Password"] = pw.encode("utf-8").decode("latin-1")
        r = note(f"GET /<id> {name}", srv.request("GET", f"/{t.id}", headers=h))
        eq(r.status, 403, f"{name} password: 403")
        ok(r.header("x-task-password") is None, f"{name} password: no X-Task-Password in the answer", r.headers)
        ok(r.header("x-task-status") is None, f"{name} password: no X-Task-Status in the answer", r.headers)
        bodies[name] = r.body
    eq(len(set(bodies.values())), 1, "missing, wrong, overlong and lower-cased passwords get the same body")
    ok(bodies["missing"].strip(), "... a non-empty human sentence", bodies["missing"])
    eq(t.call().status, 200, "none of the refused attempts consumed the real password")

    # Wrong password on every endpoint: 403, and never 404 (a 404 for a
    # missing log would tell a stranger about the task).
    for sub in ENDPOINTS:
        for method in (("GET", "POST", "DELETE") if sub == "/delete" else ("GET",)):
            r = req(srv, method, f"/{t.id}{sub}", pw=random_password())
            eq(r.status, 403, f"{method} /<id>{sub} with a wrong password: 403")
            r = req(srv, method, f"/{t.id}{sub}")
            eq(r.status, 403, f"{method} /<id>{sub} without a password: 403")
    ok(os.path.isdir(t.path()), "the task still exists")
    eq(t.call().status, 200, "... and its password still works")


def test_race(srv):
    t = Task(srv, check=False)
    for sub, want in (("", 200), ("/log", 404)):
        pw = t.pw
        res = srv.parallel(50, "GET", f"/{t.id}{sub}", headers={"X-Task-Password": pw})
        errors = [x for x in res if not isinstance(x, Response)]
        ok(not errors, f"50 parallel GET /<id>{sub}: every request got an answer", errors[:3])
        rs = [x for x in res if isinstance(x, Response)]
        for r in rs:
            note(f"parallel GET /<id>{sub}", r)
        codes = sorted(r.status for r in rs)
        eq((codes.count(want), codes.count(403)), (1, 49),
           f"50 parallel GET /<id>{sub} with one password: exactly one {want}, 49 403")
        winners = [r for r in rs if r.status != 403]
        losers = [r for r in rs if r.status == 403]
        ok(all(r.header("x-task-password") is None for r in losers), "... the 403s hand out no password")
        if len(winners) == 1 and winners[0].header("x-task-password"):
            t.pw = winners[0].header("x-task-password")
            r = t.call()
            eq(r.status, 200, "... and the winner's new password works afterwards")
        else:
            ok(False, "... one winner with a new password", [r.headers for r in winners][:3])
    eq(req(srv, "GET", f"/{t.id}", pw=pw).status, 403, "the raced password stays consumed")


def test_cross_task(srv):
    a = Task(srv, check=False)
    b = Task(srv, check=False)
    # Give b everything, so that a bypass would show as a 200.
    b.put("retrace_log", b"[2024-05-01 12:00:00] INFO b's log\n")
    b.put("retrace_backtrace", b"b's backtrace\n")
    b.put("exploitable", b"Exploitable rating (0-9 scale): 1\n")
    b.stage("FINISHED_SUCCESS")
    for sub in ENDPOINTS:
        for method in (("POST", "DELETE", "GET") if sub == "/delete" else ("GET",)):
            r = req(srv, method, f"/{b.id}{sub}", pw=a.pw)
            eq(r.status, 403, f"{method} /<b>{sub} with task a's password: 403")
            ok(r.header("x-task-password") is None and b"b's" not in r.body,
               "... no password and nothing of b's in the answer", r)
    ok(os.path.isdir(b.path()), "task b survived the attempts with a's password")
    eq(a.call().status, 200, "a's password still works on a (not consumed by the attempts on b)")
    eq(b.call().status, 200, "b's password still works on b")


def test_ids(srv):
    t = Task(srv, check=False)
    existing = set(srv.task_dirs())
    unknown = next(str(i) for i in range(987654321, 100000000, -1) if str(i) not in existing)
    for sub in ENDPOINTS:
        for name, pw in (("no password", None), ("a wrong password", random_password()),
                         ("another task's valid password", t.pw)):
            r = req(srv, "GET", f"/{unknown}{sub}", pw=pw)
            eq(r.status, 404, f"GET /<unknown id>{sub} with {name}: 404")
            ok(r.header("x-task-password") is None, "... no password handed out", r.headers)
    eq(t.call().status, 200, "a valid password offered to an unknown id was not consumed")
    r = req(srv, "GET", f"/{t.id}")
    eq(r.status, 403, "an existing task without a password: 403, not 404")

    bad_ids = {
        "non-numeric": "abcdefghi",
        "digits and a letter": t.id[:8] + "x",
        "8 digits": t.id[:8],
        "10 digits (the id and one more)": t.id + "0",
        "10 digits with a leading zero": "0" + t.id,
        "leading zero": "0" + t.id[1:],
        "all zeros": "000000000",
        "sign": "+" + t.id[1:],
        "hex": "0x" + t.id[2:],
        "space": t.id[:4] + "%20" + t.id[5:],
        "trailing NUL": t.id + "%00",
    }
    for name, tid in bad_ids.items():
        for sub in ("", "/", "/log", "/backtrace", "/exploitable", "/delete"):
            r = req(srv, "GET", f"/{tid}{sub}", pw=t.pw)
            ok(r.status == 404 or (r.status == 400 and "%" in tid),
               f"GET /{tid}{sub} ({name}) with a password: 404", r)
            ok(r.header("x-task-password") is None, "... no password handed out", r.headers)
    # (Not /<id>//log: httpd's MergeSlashes makes that /<id>/log.)
    for path in (f"/{t.id}/nothing", f"/{t.id}/log/", f"/{t.id}/backtrace/x",
                 f"/{t.id}/LOG", f"/{t.id}/delete/", f"/{t.id}/log.txt"):
        r = req(srv, "GET", path, pw=t.pw)
        eq(r.status, 404, f"GET {path}: 404")
    eq(t.call().status, 200, "none of the malformed requests consumed the task's password")

    # A task directory without a status file is being created: invisible.
    status = t.path("status")
    os.rename(status, t.path(".status-hidden"))
    try:
        r = t.call()
        eq(r.status, 404, "a task without a status file (still being created) is 404")
        r = t.call("/log")
        eq(r.status, 404, "... for /log too")
    finally:
        os.rename(t.path(".status-hidden"), status)
    eq(t.call().status, 200, "once it has a status file it answers, with the password it had")


def test_delete_refused(srv):
    t = Task(srv, check=False)
    for method in ("POST", "DELETE", "GET"):
        r = t.call("/delete", method)
        eq(r.status, 403, f"{method} /<id>/delete with the right password: 403 without RetraceAllowDelete")
        ok(os.path.isdir(t.path()), "... and the task is still there")
    eq(t.call().status, 200, "the task still answers")
    r = t.call("/delete", "PUT")
    eq(r.status, 405, "PUT /<id>/delete: 405")


# --------------------------------------------------------------------------

def test_delete(srv):
    def gone(t, marker_dirs=("queue", "running")):
        left = [p for p in [t.path()] + [os.path.join(srv.spool, d, t.id) for d in marker_dirs]
                if os.path.lexists(p)]
        ok(not left, "... the task directory and its queue/running markers are gone", left)

    # POST on a queued task.
    t = Task(srv, check=False)
    t.put("retrace_log", b"[2024-05-01 12:00:00] INFO x\n")
    ok(os.path.exists(os.path.join(srv.spool, "queue", t.id)), "a new task has its queue marker")
    pw0 = t.pw
    r = t.call("/delete", "POST")
    eq(r.status, 200, "POST /<id>/delete of a queued task: 200")
    ok(r.body.strip(), "... with a sentence", r.body)
    gone(t)
    for sub in ("", "/log"):
        r = t.call(sub)
        eq(r.status, 404, f"GET /<deleted id>{sub} with the latest password: 404")
        r = req(srv, "GET", f"/{t.id}{sub}", pw=pw0)
        eq(r.status, 404, f"GET /<deleted id>{sub} with the original password: 404")
    r = t.call("/delete", "POST")
    eq(r.status, 404, "deleting it again: 404")

    # DELETE on a claimed (running) task.
    t = Task(srv, check=False)
    t.worker("claim")
    t.stage("RETRACING")
    ok(os.path.exists(os.path.join(srv.spool, "running", t.id)), "a claimed task has its running marker")
    r = t.call("/delete", "DELETE")
    eq(r.status, 200, "DELETE /<id>/delete of a running task: 200")
    gone(t)
    eq(t.call().status, 404, "... the id then answers 404")

    # GET on a finished task with results.
    t = Task(srv, check=False)
    t.worker("claim")
    for name in ("retrace_log", "retrace_backtrace", "exploitable"):
        t.put(name, b"data\n")
    t.stage("FINISHED_SUCCESS")
    t.worker("release")
    r = t.call("/delete", "GET")
    eq(r.status, 200, "GET /<id>/delete of a finished task: 200")
    gone(t)
    eq(t.call("/backtrace").status, 404, "... its backtrace then answers 404")

    # Spec: /<id>/delete is an authenticated request that consumes the
    # password; the response carries a fresh X-Task-Password.
    t = Task(srv, check=False)
    r = t.call("/delete", "POST")
    eq(r.status, 200, "POST /<id>/delete: 200")
    ok(r.header("x-task-password") is not None and PW_RE.match(r.header("x-task-password") or ""),
       "under rotation, the delete response carries a fresh X-Task-Password (spec: every "
       "authenticated request including /<id>/delete)", r.headers)

    # Other methods.
    t = Task(srv, check=False)
    for method in ("PUT", "PATCH"):
        r = t.call("/delete", method)
        eq(r.status, 405, f"{method} /<id>/delete: 405")
        ok("POST" in (r.header("allow") or ""), "... with an Allow header naming POST", r.headers)
        ok(os.path.isdir(t.path()), "... and the task is still there")
    r = t.call("/delete", pw=random_password())
    eq(r.status, 403, "GET /<id>/delete with a wrong password: 403")
    ok(os.path.isdir(t.path()), "... and the task is still there")
    eq(t.call().status, 200, "the task answers after the refused deletes")

    # Racing deletes with one password: the password is consumed once, so
    # exactly one succeeds; the others get 403 (password consumed) or 404
    # (task already gone), never a second 200 and never a 500.
    t = Task(srv, check=False)
    res = srv.parallel(20, "DELETE", f"/{t.id}/delete", headers={"X-Task-Password": t.pw})
    rs = [x for x in res if isinstance(x, Response)]
    for r in rs:
        note("parallel DELETE", r, "DELETE")
    codes = sorted(r.status for r in rs)
    eq(len(rs), 20, "20 parallel deletes with one password: all answered")
    eq(codes.count(200), 1, f"... exactly one 200 (got {codes})")
    ok(all(c in (200, 403, 404) for c in codes), "... the others 403 or 404, no 500", codes)
    gone(t)


def test_no_rotation(srv, label):
    t = Task(srv, check=False)
    pw = t.pw
    codes, hdrs = [], []
    t.put("exploitable", b"Exploitable rating (0-9 scale): 2\n")
    for i in range(24):
        sub = ENDPOINTS[i % 5]
        r = req(srv, "GET", f"/{t.id}{sub}", pw=pw)
        codes.append((sub, r.status))
        if r.header("x-task-password"):
            hdrs.append((sub, r.header("x-task-password")))
    want = [(ENDPOINTS[i % 5], {"": 200, "/": 200, "/log": 404, "/backtrace": 404, "/exploitable": 200}
             [ENDPOINTS[i % 5]]) for i in range(24)]
    eq(codes, want, f"{label}: the password from /create keeps working across 24 requests")
    ok(not hdrs, f"{label}: no X-Task-Password on later responses", hdrs[:3])
    t.put("retrace_log", b"log\n")
    eq(req(srv, "GET", f"/{t.id}/log", pw=pw).body, b"log\n", f"{label}: /log with the same password")
    res = srv.parallel(50, "GET", f"/{t.id}", headers={"X-Task-Password": pw})
    rs = [x for x in res if isinstance(x, Response)]
    for r in rs:
        note("parallel GET", r)
    eq(sorted(r.status for r in rs), [200] * 50, f"{label}: 50 parallel requests with the password all succeed")
    ok(all(r.header("x-task-password") is None for r in rs), f"{label}: ... none hands out a password")
    eq(req(srv, "GET", f"/{t.id}", pw=random_password()).status, 403, f"{label}: a wrong password is still 403")
    eq(req(srv, "GET", f"/{t.id}", pw=pw.lower()).status, 403, f"{label}: a lower-cased password is still 403")
    u = Task(srv, check=False)
    eq(req(srv, "GET", f"/{u.id}", pw=pw).status, 403, f"{label}: another task's password is still 403")
    eq(req(srv, "GET", f"/{t.id}", pw=pw).status, 200, f"{label}: and the password still works at the end")


# --------------------------------------------------------------------------

def test_https(srv, label):
    r = req(srv, "POST", "/create", body=crash_archive(),
            headers={"Content-Type": "application/x-xz-compressed-tar"})
    eq(r.status, 403, f"{label}: POST /create over plain HTTP: 403")
    eq(srv.task_dirs(), [], f"{label}: ... and no task was made")
    r = req(srv, "GET", "/settings", tls=True)
    eq(r.status, 200, f"{label}: GET /settings over HTTPS: 200 (the vhost serves the handler)")
    t = Task(srv, tls=True, check=False)
    ok(t.id in srv.task_dirs(), f"{label}: POST /create over HTTPS: 201, the task in the main server's "
       "spool (the vhost inherited RetraceConfigFile)")
    r = t.call()
    eq((r.status, r.body), (200, b"PENDING"), f"{label}: GET /<id> over HTTPS: 200 PENDING")
    t.put("retrace_log", b"[2024-05-01 12:00:00] INFO over TLS\n")
    t.put("retrace_backtrace", b"bt\n")
    t.put("exploitable", b"Exploitable rating (0-9 scale): 0\n")
    t.stage("FINISHED_SUCCESS")
    for sub in ENDPOINTS[:5]:
        r = t.call(sub, tls=False)
        eq(r.status, 403, f"{label}: GET /<id>{sub} over plain HTTP with the right password: 403")
        ok(b"over TLS" not in r.body and b"bt\n" != r.body, "... and no task data", r)
        r = t.call(sub)
        eq(r.status, 200, f"{label}: GET /<id>{sub} over HTTPS: 200")
    for method in ("POST", "DELETE", "GET"):
        r = t.call("/delete", method, tls=False)
        eq(r.status, 403, f"{label}: {method} /<id>/delete over plain HTTP: 403")
    ok(os.path.isdir(t.path()), f"{label}: the task survived")
    eq(t.call().status, 200, f"{label}: and still answers over HTTPS")


# --------------------------------------------------------------------------

def settings(**http):
    """Room for every task a section makes, plus [http] keys."""
    s = {"limits": {"MaxParallelTasks": "100"}}
    if http:
        s["http"] = http
    return s


def main():
    # Rotation on (the default), delete off (the default). Long password
    # headers reach the module rather than core's 8 KB field limit; the
    # module logs at its most verbose level so that the password check
    # covers every line it can write.
    srv = Server("tasks", settings=settings(), local_conf="LimitRequestFieldSize 16380\nLogLevel warn retrace:trace8")
    test_status(srv)
    test_results(srv)
    test_rotation(srv)
    test_bad_passwords(srv)
    test_race(srv)
    test_cross_task(srv)
    test_ids(srv)
    test_delete_refused(srv)
    check_passwords_hashed(srv)
    check_lengths(srv.name)
    srv.finish()
    check_logs_clean_of_passwords(srv)

    # Without the larger field limit, core refuses a 10 KB header itself.
    srv = Server("fieldlimit", settings=settings())
    t = Task(srv, check=False)
    r = note("10 KB password", srv.request("GET", f"/{t.id}", headers={"X-Task-Password": "A" * 10240}))
    ok(r.status in (400, 403), "10 KB password under httpd's default LimitRequestFieldSize: refused "
       "(core's 400 or the module's 403)", r)
    eq(t.call().status, 200, "... and the real password still works")
    srv.expect_log(r"AH00561|Size of a request header field exceeds server limit")
    srv.finish()

    srv = Server("delete", settings=settings(AllowDelete="on"))
    test_delete(srv)
    test_cross_task(srv)  # with delete on, a bypass would remove b
    check_lengths(srv.name)
    srv.finish()
    check_logs_clean_of_passwords(srv)

    srv = Server("norotate", settings=settings(PasswordRotation="off"))
    test_no_rotation(srv, "PasswordRotation = off")
    check_lengths(srv.name)
    srv.finish()
    check_logs_clean_of_passwords(srv)

    srv = Server("norotate-directive", settings=settings(), local_conf="RetracePasswordRotation Off")
    test_no_rotation(srv, "RetracePasswordRotation Off")
    check_lengths(srv.name)
    srv.finish()
    check_logs_clean_of_passwords(srv)

    # The directive wins over the file the other way round too.
    srv = Server("rotate-directive", settings=settings(PasswordRotation="off"),
                 local_conf="RetracePasswordRotation On")
    t = Task(srv, check=False)
    pw = t.pw
    r = t.call()
    ok(r.status == 200 and r.header("x-task-password") not in (None, pw),
       "RetracePasswordRotation On over PasswordRotation = off: rotates", r)
    eq(req(srv, "GET", f"/{t.id}", pw=pw).status, 403, "... the first password is consumed")
    srv.finish()

    # RequireHTTPS from the file, inherited by an SSL vhost that sets
    # nothing of mod_retrace's.
    srv = Server("https", settings=settings(RequireHTTPS="on"), https=True)
    test_https(srv, "RequireHTTPS = on")
    check_lengths(srv.name)
    srv.finish()
    check_logs_clean_of_passwords(srv)

    # RequireHTTPS as a main-server directive over a file that says off.
    srv = Server("https-directive", settings=settings(), local_conf="RetraceRequireHTTPS On", https=True)
    test_https(srv, "RetraceRequireHTTPS On")
    srv.finish()
    check_logs_clean_of_passwords(srv)
    diag(f"{len(ALL_PASSWORDS)} distinct task passwords handed out")


run_tests(main)
