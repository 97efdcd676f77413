"""Configuration: RetraceConfigFile and the Retrace* directives, their
precedence and per-vhost inheritance, and configuration errors that stop
httpd with a message naming the file and line."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rtest import Server, ok, eq, run_tests, crash_archive, free_port  # noqa: E402


def settings_of(srv, port):
    saved = srv.port
    srv.port = port
    try:
        r = srv.get("/settings")
    finally:
        srv.port = saved
    return dict(line.split(" ", 1) for line in r.text.splitlines())


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def test_inheritance():
    srv = Server("config", start=False)
    other_spool = os.path.join(srv.state, "spool-b")
    os.makedirs(other_spool)
    if srv.user:
        os.system(f"chown {srv.user}:{srv.group} {other_spool}")
    conf_b = os.path.join(srv.etc, "vhost-b.conf")
    write(conf_b, f"[paths]\nSpoolDir = {other_spool}\nRepoDir = {srv.repo}\n"
                  "[limits]\nMaxPackedSize = 22\nMaxUnpackedSize = 333\nMaxParallelTasks = 3\n"
                  "[http]\nRequireHTTPS = off\n")
    pa, pb, pc = free_port(), free_port(), free_port()
    srv.set_local_conf(f"""
RetraceMaxParallelTasks 7
Listen 127.0.0.1:{pa}
Listen 127.0.0.1:{pb}
Listen 127.0.0.1:{pc}
<VirtualHost 127.0.0.1:{pa}>
    RetraceMaxPackedSize 11
    RetracePasswordRotation Off
</VirtualHost>
<VirtualHost 127.0.0.1:{pb}>
    RetraceConfigFile {conf_b}
</VirtualHost>
<VirtualHost 127.0.0.1:{pc}>
</VirtualHost>
""")
    srv.start()

    main = settings_of(srv, srv.port)
    eq((main["max_packed_size"], main["max_running_tasks"]), ("50", "7"),
       "main server: the file's MaxPackedSize, the directive's MaxParallelTasks")
    a = settings_of(srv, pa)
    eq((a["max_packed_size"], a["max_running_tasks"], a["max_unpacked_size"]), ("11", "7", "1024"),
       "vhost with a directive: its own value, the rest inherited from the main server")
    b = settings_of(srv, pb)
    eq((b["max_packed_size"], b["max_running_tasks"], b["max_unpacked_size"]), ("22", "3", "333"),
       "vhost with its own RetraceConfigFile: its file wins over the main server's directive")
    c = settings_of(srv, pc)
    eq((c["max_packed_size"], c["max_running_tasks"]), ("50", "7"),
       "vhost with nothing set: everything from the main server")

    # The limit in effect is the vhost's: 12 MiB passes on main, not on A.
    body = crash_archive(core=os.urandom(12 * 1024 * 1024), compression=None)
    srv_port = srv.port
    srv.port = pa
    r = srv.create(body, "application/x-tar")
    eq(r.status, 413, "vhost A enforces its RetraceMaxPackedSize 11")
    r = srv.create(crash_archive())
    eq(r.status, 201, "vhost A creates tasks")
    tid, pw = r.header("x-task-id"), r.header("x-task-password")
    for i in range(3):
        r = srv.get(f"/{tid}", headers={"X-Task-Password": pw})
        eq((r.status, r.header("x-task-password")), (200, None),
           f"vhost A (RetracePasswordRotation Off): request {i + 1} with the same password")
    srv.port = srv_port
    r = srv.create(body, "application/x-tar")
    eq(r.status, 201, "the main server takes the same 12 MiB upload")
    tid2, pw2 = r.header("x-task-id"), r.header("x-task-password")
    r = srv.get(f"/{tid2}", headers={"X-Task-Password": pw2})
    ok(r.status == 200 and r.header("x-task-password"), "the main server still rotates passwords", r)

    # vhost B has its own spool: its tasks live there and nowhere else.
    srv.port = pb
    r = srv.create(crash_archive())
    eq(r.status, 201, "vhost B creates a task")
    tid3, pw3 = r.header("x-task-id"), r.header("x-task-password")
    ok(os.path.isdir(os.path.join(other_spool, "tasks", tid3)), "... in its own spool")
    srv.port = srv_port
    r = srv.get(f"/{tid3}", headers={"X-Task-Password": pw3})
    eq(r.status, 404, "the main server does not see vhost B's task")
    srv.finish()


def configtest(name, local_conf=None, settings_text=None):
    srv = Server(name, start=False)
    if settings_text is not None:
        write(os.path.join(srv.etc, "retrace-server.conf"), settings_text)
    if local_conf is not None:
        srv.set_local_conf(local_conf)
    rc, out = srv.configtest()
    srv.cleanup()
    return rc, out, srv


def test_errors():
    rc, out, srv = configtest("badfile", settings_text="[limits]\nMaxPackedSize = 10\nMaxPakcedSize = 5\n")
    ok(rc != 0 and "retrace-server.conf:3: unknown key 'MaxPakcedSize' in section [limits]" in out,
       "a typo in retrace-server.conf stops httpd, naming the file and line", out)
    rc, out, _ = configtest("badvalue", local_conf="RetraceMaxPackedSize lots")
    ok(rc != 0 and "MaxPackedSize must be a whole number, not 'lots'" in out,
       "a bad directive value stops httpd with a sentence", out)
    rc, out, _ = configtest("badbool", local_conf="RetraceAllowDelete sometimes")
    ok(rc != 0 and "must be on or off" in out, "a bad On/Off value stops httpd", out)
    rc, out, _ = configtest("nofile", local_conf="RetraceConfigFile /nonexistent/retrace.conf")
    ok(rc != 0 and "'/nonexistent/retrace.conf'" in out,
       "a missing RetraceConfigFile stops httpd, naming it", out)
    rc, out, _ = configtest("relpath", local_conf="RetraceSpoolDir spool")
    ok(rc != 0 and "absolute path" in out, "a relative RetraceSpoolDir is refused", out)
    rc, out, _ = configtest("good", local_conf="RetraceAllowDelete On\nRetraceMinStorageLeft 0")
    eq(rc, 0, "On and 0 are accepted")


def main():
    test_errors()
    test_inheritance()


run_tests(main)
