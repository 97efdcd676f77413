"""/metrics as Prometheus scrapes it, with everything real behind it:
httpd with mod_retrace, the real retrace-worker retracing a real core,
and a release imported by the real retrace-reposync.

The text is parsed with a real Prometheus parser, prometheus_client's
text_string_to_metric_families (Debian's python3-prometheus-client), also
with `promtool check metrics` where the prometheus package is installed,
and checked line by line against the exposition format (HELP and TYPE before
the samples, counters named _total, histogram buckets cumulative up to
+Inf = _count, label values escaped). Then:
- each family has its type and its labels: tasks by state, finished tasks
  by result, stage histograms (analyze, resolve, assemble, gdb), cache
  hits, misses and size, spool free bytes, last successful sync per
  release, uploads accepted and refused by reason;
- every refusal of /create that a client can cause (https, busy, method,
  type, length, too_large, storage, bad_archive, bad_member,
  unpacked_too_large, bad_task_type, missing_file, client_error) adds one
  to its own reason and to nothing else; counters are shared by all of
  httpd's children;
- retrace-reposync --import records the release's last success, which
  /metrics shows; a release it never synced shows 0;
- after the worker ran three junk tasks (they fail in analyze) and two
  real ones (the second finds every package in the cache): finished
  tasks 2 success + 3 failure, analyze observed 5 times, resolve,
  assemble and gdb twice, cache misses = the packages of one task, hits
  the same, the cache's size recorded at housekeeping.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rtest import (ok, eq, diag, run_tests, Server, crash_archive, make_tar,  # noqa: E402
                   connect, TOP_BUILDDIR)
from worker import Worker, submit, wait_all, show  # noqa: E402
import crashes  # noqa: E402

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    # Debian's package, for a python3 that is not Debian's own (pyenv).
    sys.path.append("/usr/lib/python3/dist-packages")
    from prometheus_client.parser import text_string_to_metric_families

REPOSYNC = os.path.join(TOP_BUILDDIR, "retrace-reposync", "retrace-reposync")
REL = "fedora-40-x86_64"
STAGES = ["analyze", "resolve", "assemble", "gdb"]
REASONS = ["https", "busy", "method", "type", "length", "too_large", "storage", "bad_archive",
           "bad_member", "unpacked_too_large", "bad_task_type", "missing_file", "client_error",
           "server_error"]
# name (as prometheus_client names the family), type, label names of each sample
FAMILIES = {
    "retrace_tasks": ("gauge", {"state"}),
    "retrace_tasks_max": ("gauge", set()),
    "retrace_spool_free_bytes": ("gauge", set()),
    "retrace_tasks_finished": ("counter", {"result"}),
    "retrace_stage_duration_seconds": ("histogram", {"stage"}),
    "retrace_cache_hits": ("counter", set()),
    "retrace_cache_misses": ("counter", set()),
    "retrace_cache_size_bytes": ("gauge", set()),
    "retrace_supported_releases": ("gauge", set()),
    "retrace_reposync_last_success_timestamp_seconds": ("gauge", {"release"}),
    "retrace_uploads_accepted": ("counter", set()),
    "retrace_uploads_refused": ("counter", {"reason"}),
}

# --- the exposition format ---------------------------------------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({NAME})(\{{(?:[a-zA-Z_][a-zA-Z0-9_]*={LABEL_VALUE}"
                    rf"(?:,[a-zA-Z_][a-zA-Z0-9_]*={LABEL_VALUE})*)?\}})? "
                    r"(-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?|\+Inf|-Inf|NaN)$")


def format_problems(text):
    """What in text breaks the text exposition format 0.0.4 or the
    conventions Prometheus's own linter (promtool check metrics) checks."""
    problems = []
    helps, types, seen = {}, {}, set()
    if not text.endswith("\n"):
        problems.append("the text does not end with a newline")
    for n, line in enumerate(text.splitlines(), 1):
        m = re.match(rf"^# (HELP|TYPE) ({NAME}) (.*)$", line)
        if m:
            kind, name, rest = m.groups()
            if kind == "HELP":
                if name in helps:
                    problems.append(f"line {n}: a second HELP for {name}")
                helps[name] = rest
                if not rest.strip():
                    problems.append(f"line {n}: empty HELP for {name}")
            else:
                if name in types:
                    problems.append(f"line {n}: a second TYPE for {name}")
                if name not in helps:
                    problems.append(f"line {n}: TYPE of {name} without HELP before it")
                if rest not in ("counter", "gauge", "histogram", "summary", "untyped"):
                    problems.append(f"line {n}: unknown type {rest!r}")
                if rest == "counter" and not name.endswith("_total"):
                    problems.append(f"line {n}: counter {name} does not end in _total")
                if rest != "counter" and name.endswith("_total"):
                    problems.append(f"line {n}: {rest} {name} ends in _total")
                types[name] = rest
            continue
        if line.startswith("#") or not line:
            problems.append(f"line {n}: not a sample, HELP or TYPE: {line!r}")
            continue
        m = SAMPLE.match(line)
        if not m:
            problems.append(f"line {n}: not a valid sample: {line!r}")
            continue
        name, labels = m.group(1), m.group(2) or ""
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in types and not (family in types and types[family] == "histogram"):
            problems.append(f"line {n}: sample {name} before its TYPE")
        if (name, labels) in seen:
            problems.append(f"line {n}: duplicate series {name}{labels}")
        seen.add((name, labels))
    return problems


def histogram_problems(fam):
    """Buckets cumulative, ending at +Inf, +Inf equal to _count, per label set."""
    problems = []
    series = {}
    for s in fam.samples:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        series.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if s.name.endswith("_bucket"):
            series[key]["buckets"].append((s.labels["le"], s.value))
        elif s.name.endswith("_sum"):
            series[key]["sum"] = s.value
        elif s.name.endswith("_count"):
            series[key]["count"] = s.value
    for key, v in series.items():
        b = v["buckets"]
        les = [float(le) for le, _ in b]
        if not b or b[-1][0] != "+Inf":
            problems.append(f"{key}: the last bucket is not +Inf")
        if les != sorted(les):
            problems.append(f"{key}: buckets not in ascending order of le")
        counts = [c for _, c in b]
        if counts != sorted(counts):
            problems.append(f"{key}: bucket counts not cumulative: {counts}")
        if b and v["count"] != b[-1][1]:
            problems.append(f"{key}: +Inf bucket {b[-1][1]} != _count {v['count']}")
        if v["sum"] is None or v["sum"] < 0:
            problems.append(f"{key}: no _sum, or a negative one")
    return problems


class Scrape:
    def __init__(self, srv):
        self.response = srv.get("/metrics")
        self.text = self.response.text
        self.error = None
        self.families = {}
        try:
            for f in text_string_to_metric_families(self.text):
                self.families[f.name] = f
        except Exception as e:      # noqa: BLE001 - reported by the test
            self.error = e

    def value(self, family, sample=None, **labels):
        f = self.families.get(family)
        if not f:
            return None
        for s in f.samples:
            if (sample is None or s.name == sample) and all(s.labels.get(k) == v
                                                            for k, v in labels.items()):
                return s.value
        return None

    def refused(self):
        return {r: self.value("retrace_uploads_refused", reason=r) for r in REASONS}

    def stage(self, stage, what):
        return self.value("retrace_stage_duration_seconds",
                          f"retrace_stage_duration_seconds_{what}", stage=stage)


def check_scrape(sc, when):
    eq(sc.response.status, 200, f"{when}: /metrics answers 200")
    eq(sc.response.header("content-type"), "text/plain; version=0.0.4; charset=utf-8",
       f"{when}: the content type is Prometheus's text format 0.0.4")
    ok(sc.error is None and sc.families, f"{when}: prometheus_client's parser reads it",
       f"{sc.error!r}\n{sc.text[:3000]}")
    problems = format_problems(sc.text)
    ok(not problems, f"{when}: every line follows the exposition format and its conventions",
       "\n".join(problems[:20]))
    if shutil.which("promtool"):
        # Prometheus's own parser and linter, where the (large) prometheus
        # package is installed; prometheus_client above is the one required.
        p = subprocess.run(["promtool", "check", "metrics"], input=sc.response.body,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        ok(p.returncode == 0 and not p.stdout.strip(),
           f"{when}: promtool check metrics finds nothing to say", p.stdout.decode(errors="replace"))
    else:
        diag(f"{when}: promtool is not installed; prometheus_client's parser alone checked it")
    for name, (typ, labels) in FAMILIES.items():
        f = sc.families.get(name)
        if not ok(f is not None and f.type == typ, f"{when}: {name} is a {typ}",
                  f and f"type {f.type}"):
            continue
        bad = [s for s in f.samples if set(s.labels) - {"le"} != labels]
        ok(not bad, f"{when}: {name}'s samples carry the labels {sorted(labels) or 'none'}", bad[:3])
    hist = sc.families.get("retrace_stage_duration_seconds")
    if hist:
        problems = histogram_problems(hist)
        ok(not problems, f"{when}: the stage histograms are consistent", "\n".join(problems))
        eq(sorted({s.labels["stage"] for s in hist.samples}), sorted(STAGES),
           f"{when}: a histogram for each stage")


# --- refusals ------------------------------------------------------------------------

def raw_status(srv, data, shutdown=False):
    with connect(srv) as c:
        c.send(data)
        if shutdown:
            c.shutdown_write()
        r = c.read_response(timeout=20)
        return r.status if r else None


def refusal(srv, reason, send, want_status):
    before = Scrape(srv)
    status = send()
    after = Scrape(srv)
    eq(status, want_status, f"refusal {reason}: /create answers {want_status}")
    b, a = before.refused(), after.refused()
    changed = {r: (b[r], a[r]) for r in REASONS if a[r] != b[r]}
    eq(changed, {reason: (b[reason], b[reason] + 1)},
       f"refusal {reason}: retrace_uploads_refused_total{{reason=\"{reason}\"}} grows by one, "
       f"no other reason moves")
    eq(after.value("retrace_uploads_accepted"), before.value("retrace_uploads_accepted"),
       f"refusal {reason}: retrace_uploads_accepted_total does not move")


def refusals(srv):
    xz = "application/x-xz-compressed-tar"

    def head(extra):
        return (f"POST /create HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n").encode()

    refusal(srv, "method", lambda: srv.get("/create").status, 405)
    refusal(srv, "type", lambda: srv.create(crash_archive(), "text/plain").status, 415)
    refusal(srv, "length", lambda: raw_status(
        srv, head(f"Content-Type: {xz}\r\nTransfer-Encoding: chunked\r\n") + b"0\r\n\r\n"), 411)
    refusal(srv, "too_large", lambda: raw_status(
        srv, head(f"Content-Type: {xz}\r\nContent-Length: {3 << 20}\r\n")), 413)
    refusal(srv, "bad_archive", lambda: srv.create(b"this is not xz" * 10).status, 415)
    refusal(srv, "bad_member",
            lambda: srv.create(crash_archive(extra=[("evil", b"x")])).status, 403)
    refusal(srv, "unpacked_too_large",
            lambda: srv.create(crash_archive(core=b"\0" * (3 << 20))).status, 413)
    refusal(srv, "bad_task_type",
            lambda: srv.create(crash_archive(), headers={"X-Task-Type": "7"}).status, 400)
    refusal(srv, "missing_file", lambda: srv.create(crash_archive(skip=("package",))).status, 403)
    body = crash_archive(compression=None)
    refusal(srv, "client_error", lambda: raw_status(
        srv, head(f"Content-Type: application/x-tar\r\nContent-Length: {len(body)}\r\n")
        + body[:len(body) // 2], shutdown=True), 400)


def refusals_elsewhere(work):
    """https and storage need their own configuration; busy needs a full
    queue (the main server's is filled later, with the junk tasks)."""
    srv = Server("metrics-strict", https=True,
                 settings={"http": {"RequireHTTPS": "on"},
                           "limits": {"MinStorageLeft": str(1 << 40)}})
    srv.expect_log(r"RT00011: refused an upload")
    refusal(srv, "https", lambda: srv.create(crash_archive()).status, 403)

    def over_tls():
        return srv.request("POST", "/create", body=crash_archive(), tls=True,
                           headers={"Content-Type": "application/x-xz-compressed-tar"}).status
    refusal(srv, "storage", over_tls, 507)
    srv.finish()


# --- the run -------------------------------------------------------------------------

def fixtures(work):
    """The selfcrash program (xz payload, a cache key of its own) with the
    host's C library (zstd payload), and a real core of it."""
    t0 = time.time()
    glibc = crashes.host_glibc(payload="zstd")
    prog = crashes.program_family("selfcrash", "1.0", "1.fc40", payload="xz")
    core = crashes.crash_core([prog["selfcrash"], glibc["glibc"]], ["/usr/bin/selfcrash"],
                              os.path.join(work, "selfcrash"))
    with open(core, "rb") as f:
        data = f.read()
    rpms = [glibc["glibc"], glibc["glibc-debuginfo"]] + list(prog.values())
    diag(f"fixtures ready in {time.time() - t0:.1f} s")
    return rpms, data


def import_release(srv, rpms, work):
    """retrace-reposync --import, as root: it records the release's last
    success."""
    src = os.path.join(work, "import")
    os.makedirs(src)
    for p in rpms:
        os.symlink(p, os.path.join(src, os.path.basename(p)))
    p = subprocess.run([REPOSYNC, "-c", os.path.join(srv.etc, "retrace-server.conf"),
                        "--import", src, "--release", REL], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    out = p.stdout.decode(errors="replace")
    ok(p.returncode == 0 and "Sanitizer" not in out and "runtime error" not in out,
       "retrace-reposync --import puts the packages into the release", out)


def main():
    work = tempfile.mkdtemp(prefix="retrace-metrics-")
    os.chmod(work, 0o755)
    try:
        run(work)
    finally:
        if not os.environ.get("RETRACE_KEEP_STATE"):
            shutil.rmtree(work, ignore_errors=True)


def run(work):
    rpms, core = fixtures(work)
    srv = Server("metrics", settings={"limits": {"MaxParallelTasks": "3", "MaxPackedSize": "1",
                                                 "MaxUnpackedSize": "1"},
                                      "worker": {"Jobs": "1", "ScanInterval": "1",
                                                 "GdbTimeout": "120"}})
    if srv.user:
        subprocess.run(["chown", "-R", f"{srv.user}:{srv.group}", os.path.join(srv.state, "cache")],
                       check=True)

    # A fresh server: every family is there, with nothing counted yet.
    sc = Scrape(srv)
    check_scrape(sc, "fresh server")
    eq([sc.value("retrace_tasks", state=s) for s in
        ("queued", "running", "finished_success", "finished_failure")], [0, 0, 0, 0],
       "fresh server: no tasks in any state")
    eq(sc.refused(), {r: 0 for r in REASONS}, "fresh server: every refusal reason is there, at 0")
    eq(sc.value("retrace_tasks_finished", result="success"), 0, "fresh server: no task finished")
    eq(sc.value("retrace_cache_size_bytes"), None,
       "fresh server: no cache size before the worker's first housekeeping")
    ok((sc.value("retrace_spool_free_bytes") or 0) > 0, "fresh server: the spool's free bytes")
    eq(sc.value("retrace_tasks_max"), 3, "fresh server: retrace_tasks_max is MaxParallelTasks")

    # The releases: one imported by retrace-reposync, one made without it.
    t0 = int(time.time())
    import_release(srv, rpms, work)
    srv.add_release("fedora-41-x86_64", [])
    sc = Scrape(srv)
    eq(sc.value("retrace_supported_releases"), 2, "two supported releases")
    last = sc.value("retrace_reposync_last_success_timestamp_seconds", release=REL)
    ok(last is not None and t0 <= last <= time.time(),
       f"the last success of {REL} is the import's time", (t0, last))
    eq(sc.value("retrace_reposync_last_success_timestamp_seconds", release="fedora-41-x86_64"), 0,
       "a release retrace-reposync never synced shows 0")
    with open(os.path.join(srv.repo, REL, ".reposync", "last-success")) as f:
        eq(int(f.read()), last, "... as RepoDir/<release>/.reposync/last-success says")

    # Refusals, one reason at a time.
    refusals(srv)
    refusals_elsewhere(work)

    # Three junk tasks fill the queue (busy), then fail in analyze.
    for i in range(3):
        r = srv.create(crash_archive())
        eq(r.status, 201, f"junk task {i + 1} accepted")
    sc = Scrape(srv)
    eq(sc.value("retrace_tasks", state="queued"), 3, "three tasks queued")
    eq(sc.value("retrace_uploads_accepted"), 3, "retrace_uploads_accepted_total counts them")
    refusal(srv, "busy", lambda: srv.create(crash_archive()).status, 503)
    junk = [d for d in srv.task_dirs()]

    worker = Worker(srv, jobs=1)
    worker.start()
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            sc = Scrape(srv)
            if sc.value("retrace_tasks", state="finished_failure") == 3:
                break
            time.sleep(0.2)
        ok(sc.value("retrace_tasks", state="finished_failure") == 3,
           "the three junk tasks failed", worker.text()[-2000:])
        eq(len(junk), 3, "three junk task directories")
        t1 = submit(srv, "selfcrash", core, "selfcrash-1.0-1.fc40", "/usr/bin/selfcrash")
        ok(wait_all([t1], 120) and t1.status == "FINISHED_SUCCESS", "the real task succeeded",
           show(t1) if t1 else "")
        after1 = Scrape(srv)
        t2 = submit(srv, "selfcrash again", core, "selfcrash-1.0-1.fc40", "/usr/bin/selfcrash")
        ok(wait_all([t2], 120) and t2.status == "FINISHED_SUCCESS", "the same crash again succeeded",
           show(t2) if t2 else "")
        # The cache's size arrives with the next housekeeping (ScanInterval 1).
        deadline = time.time() + 15
        while time.time() < deadline:
            sc = Scrape(srv)
            if sc.value("retrace_cache_size_bytes"):
                break
            time.sleep(0.2)
    finally:
        worker.stop()

    check_scrape(sc, "after five tasks")
    eq(sc.value("retrace_tasks_finished", result="success"), 2,
       "retrace_tasks_finished_total{result=\"success\"} counts the two real tasks")
    eq(sc.value("retrace_tasks_finished", result="failure"), 3,
       "retrace_tasks_finished_total{result=\"failure\"} counts the three junk tasks")
    eq([sc.value("retrace_tasks", state=s) for s in
        ("queued", "running", "finished_success", "finished_failure")], [0, 0, 2, 3],
       "retrace_tasks by state: 2 succeeded, 3 failed, none queued or running")
    eq([sc.stage(s, "count") for s in STAGES], [5, 2, 2, 2],
       "stage histograms: analyze observed 5 times (junk failed there), resolve, assemble, gdb twice")
    ok(all(sc.stage(s, "sum") > 0 for s in STAGES), "stage histograms: each stage took some time",
       {s: sc.stage(s, "sum") for s in STAGES})
    gdb_inf = sc.value("retrace_stage_duration_seconds", "retrace_stage_duration_seconds_bucket",
                       stage="gdb", le="+Inf")
    gdb_120 = sc.value("retrace_stage_duration_seconds", "retrace_stage_duration_seconds_bucket",
                       stage="gdb", le="120")
    eq((gdb_120, gdb_inf), (2, 2), "stage histograms: both gdb runs under GdbTimeout (le=\"120\")")
    packages = len(re.findall(r"(?:Extracted|Cached) ", t1.log)) if t1 else 0
    ok(packages >= 4, "the real task used the program's and glibc's packages", t1.log if t1 else "")
    eq((after1.value("retrace_cache_misses"), after1.value("retrace_cache_hits")), (packages, 0),
       "cache: the first task extracted every package (misses), found none (hits)")
    eq((sc.value("retrace_cache_misses"), sc.value("retrace_cache_hits")), (packages, packages),
       "cache: the second task found every package in the cache (hits)")
    du = subprocess.run(["du", "-sB1", os.path.join(srv.state, "cache", "packages")],
                        stdout=subprocess.PIPE).stdout.split()
    size = sc.value("retrace_cache_size_bytes")
    ok(size and du and 0.5 * int(du[0]) <= size <= int(du[0]) * 1.1,
       "retrace_cache_size_bytes: the cache's size, recorded at housekeeping", (size, du))
    ok(os.path.exists(os.path.join(srv.spool, "stats", "worker")),
       "the worker keeps its counters in SpoolDir/stats/worker")
    srv.finish()


run_tests(main)
