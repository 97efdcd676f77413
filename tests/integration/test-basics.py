"""The read-only endpoints: index page, /settings (parsed the way ABRT's
retrace client parses it), /metrics, unknown paths, mounting at a prefix."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rtest import Server, ok, eq, run_tests, crash_archive, TOP_SRCDIR  # noqa: E402


def abrt_parse_settings(body):
    """A transcription of get_settings() in ABRT's abrt-retrace-client.c:
    lines split on '\\n', key and value at the first space, keys compared
    case-insensitively, numbers read with atoi/atoll, lists split on single
    spaces with at most 16 formats and 32 releases (the rest lands in the
    last element), unknown keys ignored."""
    s = {"running_tasks": 0, "max_running_tasks": 0, "max_packed_size": 0,
         "max_unpacked_size": 0, "supported_formats": [], "supported_releases": []}

    def atoi(v):
        digits = ""
        for ch in v.lstrip():
            if not ch.isdigit():
                break
            digits += ch
        return int(digits) if digits else 0

    for line in body.split("\n"):
        if " " not in line:
            continue
        key, value = line.split(" ", 1)
        key = key.lower()
        if key in ("running_tasks", "max_running_tasks"):
            s[key] = atoi(value)
        elif key in ("max_packed_size", "max_unpacked_size"):
            s[key] = atoi(value) * 1024 * 1024
        elif key == "supported_formats":
            s[key] = value.split(" ", 15)
        elif key == "supported_releases":
            s[key] = value.split(" ", 31)
    return s


def main():
    srv = Server("basics", settings={"limits": {"MaxPackedSize": "33", "MaxUnpackedSize": "777",
                                                "MaxParallelTasks": "4"}})
    srv.add_release("fedora-40-x86_64", [])                       # empty, but indexed
    os.makedirs(os.path.join(srv.repo, "fedora-39-x86_64", "Packages"))  # no index: not supported
    os.makedirs(os.path.join(srv.repo, "not a release"))

    r = srv.get("/settings")
    eq(r.status, 200, "/settings answers 200")
    eq(r.header("content-type"), "text/plain; charset=utf-8", "/settings is plain text")
    eq(r.header("content-length"), str(len(r.body)), "/settings carries its Content-Length")
    keys = [line.split(" ", 1)[0] for line in r.text.splitlines()]
    eq(keys, ["running_tasks", "max_running_tasks", "max_packed_size", "max_unpacked_size",
              "supported_formats", "supported_releases"], "/settings keys in the contract's order")
    s = abrt_parse_settings(r.text)
    eq(s["running_tasks"], 0, "ABRT parse: running_tasks 0 on an empty spool")
    eq(s["max_running_tasks"], 4, "ABRT parse: max_running_tasks from MaxParallelTasks")
    eq(s["max_packed_size"], 33 * 1024 * 1024, "ABRT parse: max_packed_size in MiB")
    eq(s["max_unpacked_size"], 777 * 1024 * 1024, "ABRT parse: max_unpacked_size in MiB")
    ok("application/x-xz-compressed-tar" in s["supported_formats"],
       "ABRT parse: the xz tarball ABRT sends is a supported format", s)
    eq(sorted(s["supported_formats"]), sorted(["application/x-xz-compressed-tar", "application/x-gzip",
                                               "application/x-tar", "application/zstd"]),
       "ABRT parse: exactly the four formats, no empty element")
    eq(s["supported_releases"], ["fedora-40-x86_64"],
       "ABRT parse: only releases with an index are supported")

    # running_tasks counts queued and running tasks truthfully.
    for i in range(3):
        r = srv.create(crash_archive())
        eq(r.status, 201, f"task {i + 1} created")
    ids = srv.task_dirs()
    srv.worker("claim", ids[0])
    s = abrt_parse_settings(srv.get("/settings").text)
    eq(s["running_tasks"], 3, "running_tasks counts 2 queued + 1 running")
    srv.worker("stage", ids[0], "FINISHED_SUCCESS")
    srv.worker("release", ids[0])
    s = abrt_parse_settings(srv.get("/settings").text)
    eq(s["running_tasks"], 2, "a finished task no longer counts")

    # Index page.
    r = srv.get("/")
    eq(r.status, 200, "/ answers 200")
    ok(r.header("content-type", ).startswith("text/html"), "/ is HTML", r.headers)
    ok(b"fedora-40-x86_64" in r.body, "/ lists the supported releases")
    ok(b"2 of 4" in r.body, "/ shows the current load", r.text)
    ok(b"33 MiB" in r.body and b"777 MiB" in r.body, "/ shows the limits")
    ok(b"deleted" in r.body and b"hours" in r.body, "/ has a data-retention notice")
    ok(b"only the holder of a task's password" in r.body and b"administrators" in r.body,
       "/ says who can read the data", r.text)
    ok(f"retrace-client batch --url http://127.0.0.1:{srv.port} -d".encode() in r.body,
       "/ shows how to run the client against this server", r.text)
    ok(b"analyze_RetraceServer" in r.body, "/ names ABRT's event", r.text)

    # HEAD: headers without a body.
    r = srv.request("HEAD", "/settings")
    eq((r.status, r.body), (200, b""), "HEAD /settings: 200 without a body")

    # Methods.
    r = srv.request("POST", "/settings", body=b"x")
    eq(r.status, 405, "POST /settings is 405")
    ok("GET" in (r.header("allow") or ""), "405 carries Allow", r.headers)

    # Metrics are on in write-config's default configuration.
    r = srv.get("/metrics")
    eq(r.status, 200, "/metrics answers 200 with RetraceMetrics on")
    ok(b'retrace_tasks{state="queued"} 2' in r.body, "/metrics counts queued tasks", r.text)
    ok(b'retrace_tasks{state="finished_success"} 1' in r.body, "/metrics counts finished tasks", r.text)
    ok(b"# TYPE retrace_tasks gauge" in r.body, "/metrics is Prometheus text "
       "(test-metrics.py parses it)", r.text)

    # Unknown paths and malformed ids.
    for path in ["/nothing", "/12345678", "/1234567890", "/012345678", "/12345678a",
                 "/123456789/nothing", "/%2e%2e/settings", "/../settings", "/123456789/log/x"]:
        r = srv.get(path)
        ok(r.status in (404, 400), f"GET {path} is refused (404)", r)
    r = srv.get("/123456789")
    eq(r.status, 404, "an unknown task id is 404")
    srv.expect_log(r"AH10244: invalid URI path")     # core refuses the '..' paths itself
    srv.finish()

    # Metrics off, and the handler mounted under a prefix.
    srv = Server("prefix", settings={"http": {"Metrics": "off"}},
                 local_conf="<Location /retrace>\n    SetHandler retrace\n</Location>")
    r = srv.get("/metrics")
    eq(r.status, 404, "/metrics is 404 with RetraceMetrics off")
    r = srv.get("/retrace/settings")
    eq(r.status, 200, "under <Location /retrace>, /retrace/settings answers")
    ok(r.body.startswith(b"running_tasks "), "... with the settings", r)
    r2 = srv.request("POST", "/retrace/create", body=crash_archive(),
                     headers={"Content-Type": "application/x-xz-compressed-tar"})
    eq(r2.status, 201, "POST /retrace/create creates a task")
    tid = r2.header("x-task-id")
    r3 = srv.get(f"/retrace/{tid}", headers={"X-Task-Password": r2.header("x-task-password")})
    eq(r3.status, 200, "GET /retrace/<id> answers under the prefix")
    r = srv.get("/retrace/")
    eq(r.status, 200, "/retrace/ is the index page")
    ok(b'href="/retrace/settings"' in r.body, "the index page links relative to the mount point", r.text)
    ok(f"--url http://127.0.0.1:{srv.port}/retrace -d".encode() in r.body,
       "the index page gives the client the mount point's URL", r.text)
    srv.finish()

    # Every error-log line carries its own tag, so a log line leads to one
    # place in the source.
    src = open(os.path.join(TOP_SRCDIR, "mod_retrace", "mod_retrace.c")).read()
    tags = re.findall(r"RTLOGNO\((\d+)\)", src)
    dupes = sorted({t for t in tags if tags.count(t) > 1})
    ok(len(tags) > 10 and not dupes, "every RTLOGNO tag in mod_retrace.c is used once", dupes)


run_tests(main)
