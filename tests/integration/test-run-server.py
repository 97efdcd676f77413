"""The README's first command: scripts/run-server builds, installs into
STATE/prefix, writes STATE/etc, starts httpd on the given port and prints
the URL; run again it restarts cleanly; --stop stops what it started."""

import os
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rtest import ok, eq, run_tests, free_port, TOP_SRCDIR  # noqa: E402


def pid_of(state):
    try:
        return int(open(os.path.join(state, "run", "httpd.pid")).read())
    except (OSError, ValueError):
        return None


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except (OSError, TypeError):
        return False


def main():
    work = tempfile.mkdtemp(prefix="retrace-run-server-")
    os.chmod(work, 0o755)
    state = os.path.join(work, "state")
    env = dict(os.environ, RETRACE_BUILD_DIR=os.path.join(work, "build"))
    port = free_port()
    script = os.path.join(TOP_SRCDIR, "scripts", "run-server")
    try:
        p = subprocess.run([script, "--port", str(port), "--state", state], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900)
        eq(p.returncode, 0, "run-server exits 0", )
        url = f"http://127.0.0.1:{port}/"
        eq(p.stdout.decode().strip(), url, "run-server prints the URL and nothing else on stdout")
        body = urllib.request.urlopen(url + "settings", timeout=10).read().decode()
        ok(body.startswith("running_tasks 0\n"), "/settings answers at that URL", body)
        for f in ("etc/retrace-server.conf", "etc/httpd.conf", "prefix/lib/httpd/modules/mod_retrace.so"):
            ok(os.path.exists(os.path.join(state, f)), f"STATE/{f} exists")
        conf = open(os.path.join(state, "etc", "retrace-server.conf")).read()
        for key, sub in (("SpoolDir", "spool"), ("RepoDir", "repo"), ("CacheDir", "cache")):
            ok(f"{key} = {state}/{sub}\n" in conf, f"retrace-server.conf: {key} is STATE/{sub}", conf)
        ok(open(os.path.join(state, "etc", "httpd.conf")).read().rstrip().endswith(
            f'IncludeOptional "{state}/etc/httpd.local.conf"'),
           "httpd.conf ends by including httpd.local.conf")
        first = pid_of(state)
        ok(alive(first), "httpd runs with its pid in STATE/run/httpd.pid")
        if os.getuid() == 0:
            users = subprocess.run(["ps", "-o", "user=", "--ppid", str(first)],
                                   stdout=subprocess.PIPE).stdout.decode().split()
            ok(users and all(u != "root" for u in users),
               "started as root, httpd's children run as an unprivileged user", users)

        # An admin's own directive survives a restart.
        with open(os.path.join(state, "etc", "httpd.local.conf"), "a") as f:
            f.write("RetraceMaxParallelTasks 9\n")
        p = subprocess.run([script, "--port", str(port), "--state", state], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900)
        eq(p.returncode, 0, "run twice, run-server exits 0 again")
        second = pid_of(state)
        ok(second and second != first and not alive(first), "... having stopped the first httpd")
        body = urllib.request.urlopen(url + "settings", timeout=10).read().decode()
        ok("max_running_tasks 9\n" in body, "... and the new one read httpd.local.conf", body)

        p = subprocess.run([script, "--stop", "--state", state], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        eq(p.returncode, 0, "run-server --stop exits 0")
        ok(not alive(second), "... and httpd is gone")
    finally:
        subprocess.run([script, "--stop", "--state", state], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", work])


run_tests(main)
