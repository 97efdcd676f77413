"""One real retrace, end to end: httpd with mod_retrace, the real
retrace-worker, gdb, RPMs built by rpmbuild and a core made by really
crashing the program (test-retrace.py's first case, "own code").

tests/valgrind/run runs it with RETRACE_WORKER_WRAPPER and
RETRACE_HTTPD_WRAPPER set to tests/valgrind/memcheck: the worker (its
daemon and the task process it forks; gdb and bubblewrap, which it
executes, run outside valgrind) and httpd then run under memcheck, and a
memory error or leak in either makes it exit with a status other than 0,
which fails a test point here. Without the wrappers it is a plain
retrace.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rtest import ok, eq, diag, run_tests, Server  # noqa: E402
import crashes  # noqa: E402
from worker import Worker, submit, wait_all, show  # noqa: E402


def main():
    work = tempfile.mkdtemp(prefix="retrace-vg-")
    os.chmod(work, 0o755)
    try:
        run(work)
    finally:
        if not os.environ.get("RETRACE_KEEP_STATE"):
            shutil.rmtree(work, ignore_errors=True)


def run(work):
    t0 = time.time()
    glibc = crashes.host_glibc()
    selfcrash = crashes.program_family("selfcrash", "1.0", "1.fc40", payload="gz")
    core_path = crashes.crash_core([selfcrash["selfcrash"], glibc["glibc"]], ["/usr/bin/selfcrash"],
                                   os.path.join(work, "selfcrash"))
    with open(core_path, "rb") as f:
        core = f.read()
    diag(f"fixtures ready in {time.time() - t0:.1f} s")

    srv = Server("vg-retrace", settings={"worker": {"Jobs": "1", "ScanInterval": "2",
                                                    "GdbTimeout": "600"}})
    if srv.user:
        subprocess.run(["chown", "-R", f"{srv.user}:{srv.group}", os.path.join(srv.state, "cache")],
                       check=True)
    srv.add_release("fedora-40-x86_64", [glibc["glibc"], glibc["glibc-debuginfo"]] +
                    list(selfcrash.values()))
    worker = Worker(srv, jobs=1)
    worker.start()
    try:
        t = submit(srv, "own code", core, "selfcrash-1.0-1.fc40", "/usr/bin/selfcrash")
        ok(wait_all([t], 1200), "the task finished within 20 minutes", show(t) if t else "no task")
        ok(t is not None and t.status == "FINISHED_SUCCESS", "the retrace finished successfully",
           show(t) if t else "no task")
        line = crashes.crash_line("selfcrash")
        bt = t.backtrace if t else ""
        ok(re.search(rf"store_result \(.*\) at .*selfcrash\.c:{line}", bt),
           f"the backtrace names the crash frame store_result at selfcrash.c:{line}", bt[:3000])
        ok(t is not None and "NULL pointer dereference" in t.exploitable,
           "the exploitable rating names a NULL pointer dereference",
           t.exploitable if t else "")
    finally:
        worker.stop()
        diag("worker log (last lines):\n" + "\n".join(worker.text().splitlines()[-15:]))
    if worker.wrapper():
        eq(worker.exit_status, 0, f"the worker under {worker.wrapper()[0]} exited with status 0 "
           "(valgrind: no memory errors or leaks)")
    srv.finish()
    diag(f"took {time.time() - t0:.1f} s")


run_tests(main)
