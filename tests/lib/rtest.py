"""Integration-test support: a real httpd with mod_retrace on a loopback
port, TAP output, archive builders and raw HTTP.

Each test script makes a Server (a private state directory written by
scripts/write-config, httpd started in the foreground), talks to it over
HTTP, and asserts with ok()/eq(). At the end the error log is checked: a
line at level error or worse that the test did not declare with
server.expect_log() fails the run. Output is TAP for automake's driver.
"""

import atexit
import http.client
import io
import os
import pwd
import grp
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import traceback

TOP_SRCDIR = os.environ.get("top_srcdir") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
TOP_BUILDDIR = os.environ.get("top_builddir") or TOP_SRCDIR
TESTDATA = os.environ.get("TESTDATA") or os.path.join(TOP_SRCDIR, "..", "shared", "testdata")
MODULE = os.environ.get("RETRACE_MODULE") or os.path.join(
    TOP_BUILDDIR, "mod_retrace", ".libs", "mod_retrace.so")
SPOOL_TOOL = os.path.join(TOP_BUILDDIR, "tests", "tools", "spool-tool")

# --- TAP ---------------------------------------------------------------

_count = 0
_failed = 0


def ok(cond, name, diag=None):
    """One TAP test point."""
    global _count, _failed
    _count += 1
    name = name.replace("\n", " ").replace("#", "")
    if cond:
        print(f"ok {_count} - {name}", flush=True)
    else:
        _failed += 1
        print(f"not ok {_count} - {name}", flush=True)
        if diag is not None:
            for line in str(diag).splitlines()[:40]:
                print(f"#   {line}", flush=True)
    return bool(cond)


def eq(got, want, name):
    return ok(got == want, name, f"got:  {got!r}\nwant: {want!r}")


def diag(msg):
    for line in str(msg).splitlines():
        print(f"# {line}", flush=True)


def done():
    """Ends the TAP stream; call once at the end of a script."""
    print(f"1..{_count}", flush=True)
    sys.exit(1 if _failed else 0)


def bail(msg):
    print(f"Bail out! {msg}", flush=True)
    sys.exit(1)


def run_tests(main):
    """Runs main(), turning an exception into a failed test point."""
    try:
        main()
    except SystemExit:
        raise
    except BaseException:
        ok(False, "test script ran to the end", traceback.format_exc())
    done()


# --- archives ----------------------------------------------------------

ABRT_FILES = {
    "executable": b"/usr/bin/sleep\n",
    "package": b"coreutils-8.12-6.fc16\n",
    "os_release": b"Fedora release 16 (Verne)\n",
}


def make_tar(members, compression="xz", fmt=tarfile.GNU_FORMAT):
    """members: list of (name, bytes) or tarfile.TarInfo/(TarInfo, bytes).
    compression: "xz", "gz", "zst", or None for a plain tar."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for m in members:
            if isinstance(m, tarfile.TarInfo):
                tar.addfile(m)
                continue
            name, data = m
            if isinstance(name, tarfile.TarInfo):
                name.size = len(data) if data is not None else 0
                tar.addfile(name, io.BytesIO(data) if data is not None else None)
                continue
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return compress(buf.getvalue(), compression)


def compress(data, compression):
    if compression is None:
        return data
    cmd = {"xz": ["xz", "-2", "-c"], "gz": ["gzip", "-c"], "zst": ["zstd", "-q", "-c"]}[compression]
    return subprocess.run(cmd, input=data, stdout=subprocess.PIPE, check=True).stdout


CONTENT_TYPES = {
    "xz": "application/x-xz-compressed-tar",
    "gz": "application/x-gzip",
    None: "application/x-tar",
    "zst": "application/zstd",
}


def crash_archive(core=b"\x7fELF" + b"\0" * 4092, compression="xz", extra=(), skip=()):
    """A well-formed upload as ABRT's client makes it."""
    members = [("coredump", core)] + [(k, v) for k, v in ABRT_FILES.items() if k not in skip]
    members = [m for m in members if m[0] not in skip] + list(extra)
    return make_tar(members, compression)


# --- the server --------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _runas():
    """httpd refuses to run children as root: as root, use nobody."""
    if os.getuid() != 0:
        return None, None
    user = "nobody"
    group = grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name
    return user, group


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers          # dict, lower-case names
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return f"<{self.status} {self.headers} {self.body[:200]!r}>"


def httpd_modules_dir():
    """Where httpd's own modules live (apxs -q LIBEXECDIR)."""
    for apxs in ("apxs", "apxs2"):
        if shutil.which(apxs):
            p = subprocess.run([apxs, "-q", "LIBEXECDIR"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
            d = p.stdout.decode().strip()
            if p.returncode == 0 and os.path.isdir(d):
                return d
    for d in ("/usr/lib/apache2/modules", "/usr/lib64/httpd/modules", "/usr/lib/httpd/modules"):
        if os.path.isdir(d):
            return d
    return None


class Server:
    def __init__(self, name, local_conf="", settings=None, start=True, https=False):
        """settings: {"section": {"Key": "value"}} written into
        retrace-server.conf; local_conf: text for httpd.local.conf.
        https: also serve HTTPS (mod_ssl, a fresh self-signed certificate
        for 127.0.0.1) on a second loopback port, self.https_port, through a
        <VirtualHost> that sets nothing of mod_retrace's own: it inherits
        the main server's RetraceConfigFile and directives. Use
        request(..., tls=True) to talk to it."""
        self.name = name
        self.port = free_port()
        self.state = tempfile.mkdtemp(prefix=f"retrace-{name}-")
        os.chmod(self.state, 0o755)
        self.user, self.group = _runas()
        args = [os.path.join(TOP_SRCDIR, "scripts", "write-config"), self.state,
                str(self.port), MODULE]
        if self.user:
            args += [self.user, self.group]
        subprocess.run(args, check=True)
        self.spool = os.path.join(self.state, "spool")
        self.repo = os.path.join(self.state, "repo")
        self.etc = os.path.join(self.state, "etc")
        self.error_log = os.path.join(self.state, "log", "error_log")
        self.expected_log = []
        self.proc = None
        self.wrapped_status = None
        if settings:
            self.set_settings(settings)
        self.https_port = None
        if local_conf:
            self.set_local_conf(local_conf)
        if https:
            self.add_https()
        atexit.register(self.cleanup)
        if start:
            self.start()

    # configuration

    def set_settings(self, settings):
        path = os.path.join(self.etc, "retrace-server.conf")
        lines = open(path).read().splitlines()
        for section, kv in settings.items():
            for key, value in kv.items():
                pat = re.compile(rf"^\s*;?\s*{re.escape(key)}\s*=")
                for i, line in enumerate(lines):
                    if pat.match(line):
                        lines[i] = f"{key} = {value}"
                        break
                else:
                    idx = lines.index(f"[{section}]") if f"[{section}]" in lines else None
                    if idx is None:
                        lines += ["", f"[{section}]", f"{key} = {value}"]
                    else:
                        lines.insert(idx + 1, f"{key} = {value}")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def set_local_conf(self, text):
        with open(os.path.join(self.etc, "httpd.local.conf"), "w") as f:
            f.write(text + "\n")

    def append_local_conf(self, text):
        with open(os.path.join(self.etc, "httpd.local.conf"), "a") as f:
            f.write(text + "\n")

    def add_https(self, vhost_extra=""):
        """Adds an HTTPS listener (see __init__'s https); before start().
        vhost_extra: directives placed inside the <VirtualHost>."""
        moddir = httpd_modules_dir()
        if not moddir or not os.path.exists(os.path.join(moddir, "mod_ssl.so")):
            bail("HTTPS needs mod_ssl.so in httpd's module directory")
        tls = os.path.join(self.etc, "tls")
        os.makedirs(tls, exist_ok=True)
        cert, key = os.path.join(tls, "cert.pem"), os.path.join(tls, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1",
                        "-addext", "basicConstraints=critical,CA:FALSE"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.chmod(key, 0o600)
        self.https_port = free_port()
        while self.https_port == self.port:
            self.https_port = free_port()
        self.append_local_conf(f"""
<IfModule !ssl_module>
    LoadModule ssl_module {moddir}/mod_ssl.so
</IfModule>
<IfModule !socache_shmcb_module>
    LoadModule socache_shmcb_module {moddir}/mod_socache_shmcb.so
</IfModule>
SSLSessionCache "shmcb:{self.state}/run/ssl_scache(512000)"
Listen 127.0.0.1:{self.https_port} https
<VirtualHost 127.0.0.1:{self.https_port}>
    ServerName 127.0.0.1
    SSLEngine on
    SSLCertificateFile "{cert}"
    SSLCertificateKeyFile "{key}"
{vhost_extra}
</VirtualHost>""")

    # process

    def httpd_cmd(self, *extra):
        return [os.environ.get("HTTPD") or shutil.which("apache2") or shutil.which("httpd")
                or "/usr/sbin/apache2", "-f", os.path.join(self.etc, "httpd.conf"), *extra]

    def httpd_env(self):
        env = dict(os.environ)
        if os.environ.get("RETRACE_SANITIZERS"):
            # httpd itself is not instrumented: the sanitizer runtimes must
            # be loaded before anything else for the module's to work.
            cc = os.environ.get("CC", "gcc").split()[0]
            libs = [subprocess.run([cc, f"-print-file-name={lib}"], stdout=subprocess.PIPE,
                                   check=True).stdout.decode().strip()
                    for lib in ("libasan.so", "libubsan.so")]
            env["LD_PRELOAD"] = " ".join(libs)
            # httpd frees its pools by exiting; leak reports would be noise.
            env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1"
            env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
        return env

    def configtest(self):
        p = subprocess.run(self.httpd_cmd("-t"), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=self.httpd_env())
        return p.returncode, p.stdout.decode("utf-8", "replace")

    def wrapper(self):
        """RETRACE_HTTPD_WRAPPER: a command httpd runs under (valgrind,
        tests/valgrind/run), as one process (httpd -X); [] when unset."""
        return shlex.split(os.environ.get("RETRACE_HTTPD_WRAPPER", ""))

    def start(self):
        wrapper = self.wrapper()
        cmd = wrapper + self.httpd_cmd("-X") if wrapper else self.httpd_cmd("-DFOREGROUND")
        self.proc = subprocess.Popen(cmd, env=self.httpd_env(),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.wrapped_status = None
        wait = 120 if wrapper else 20
        deadline = time.time() + wait
        while time.time() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode("utf-8", "replace")
                bail(f"httpd exited at start ({self.proc.returncode}): {err}\n{self.log_text()}")
            try:
                r = self.request("GET", "/settings")
                if r.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        bail(f"httpd did not answer /settings within {wait} s\n" + self.log_text())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            # The client has its last answer before httpd's worker is done
            # with the connection (logging, keep-alive). A SIGTERM in that
            # window hits a race in httpd's event MPM (ungraceful stop,
            # close_worker_sockets): the child segfaults in
            # apr_os_sock_get() or logs "AH03093: apr_pollset_add failure
            # for keep alive", about once in 80 stops under load; the core
            # shows the crash inside mod_mpm_event with no mod_retrace
            # frame on any thread. A short pause closes the window.
            time.sleep(0.25)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(120 if self.wrapper() else 20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self.wrapper():
                self.wrapped_status = self.proc.returncode
                # httpd -X leaves its pid file: a restart would warn of an
                # unclean shutdown.
                try:
                    os.unlink(os.path.join(self.state, "run", "httpd.pid"))
                except OSError:
                    pass
        self.proc = None

    def graceful(self):
        """Graceful restart: children finish their requests."""
        self.proc.send_signal(signal.SIGUSR1)

    def httpd_pids(self):
        """The parent and its children."""
        if not self.proc:
            return []
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                             stdout=subprocess.PIPE).stdout.decode()
        return [self.proc.pid] + [int(x) for x in out.split()]

    def cleanup(self):
        self.stop()
        if os.environ.get("RETRACE_KEEP_STATE"):
            return
        shutil.rmtree(self.state, ignore_errors=True)

    # logs

    def log_text(self):
        try:
            return open(self.error_log, errors="replace").read()
        except OSError:
            return ""

    def log_files(self):
        """{file name: bytes} for every file in STATE/log (error_log,
        access_log, ...)."""
        out = {}
        d = os.path.join(self.state, "log")
        for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            p = os.path.join(d, n)
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    out[n] = f.read()
        return out

    def expect_log(self, regex):
        """Declares error-log lines at level error or worse as expected."""
        self.expected_log.append(re.compile(regex))

    def unexpected_log_lines(self):
        bad = []
        for line in self.log_text().splitlines():
            # A crashed child is logged at notice level; sanitizer reports
            # arrive on the children's stderr, which is the error log.
            crash = re.search(r"exit signal|AddressSanitizer|runtime error:|LeakSanitizer", line)
            m = re.search(r"\] \[[a-z_0-9]+:(emerg|alert|crit|error|warn)\]", line)
            if not m and not crash:
                continue
            if any(p.search(line) for p in self.expected_log):
                continue
            bad.append(line)
        return bad

    def check_log(self):
        bad = self.unexpected_log_lines()
        ok(not bad, f"{self.name}: no unexpected warnings or errors in httpd's error log",
           "\n".join(bad))

    def finish(self):
        """Stops httpd and checks that it left a clean error log (and,
        under RETRACE_HTTPD_WRAPPER, that the wrapper found nothing)."""
        self.stop()
        self.check_log()
        if self.wrapper():
            eq(self.wrapped_status, 0, f"{self.name}: httpd under {self.wrapper()[0]} exited "
               "with status 0 (valgrind: no memory errors or leaks)")

    # HTTP

    def request(self, method, path, body=None, headers=None, timeout=60, tls=False):
        """One request on a fresh connection. tls: over HTTPS to
        self.https_port, the certificate not verified."""
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection("127.0.0.1", self.https_port, timeout=timeout,
                                               context=ctx)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
            return Response(resp.status, hdrs, data)
        finally:
            conn.close()

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def parallel(self, n, method, path, body=None, headers=None, tls=False, timeout=60):
        """n identical requests at once: n threads, each with its own
        connection, opened first and then released together through a
        barrier. Returns the n Responses (an exception object in place of
        a Response for a request that failed at the socket level)."""
        barrier = threading.Barrier(n)
        out = [None] * n

        def one(i):
            if tls:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                conn = http.client.HTTPSConnection("127.0.0.1", self.https_port,
                                                   timeout=timeout, context=ctx)
            else:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            try:
                conn.connect()
                barrier.wait(timeout)
                conn.request(method, path, body=body, headers=headers or {})
                resp = conn.getresponse()
                data = resp.read()
                out[i] = Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
            except Exception as e:      # noqa: BLE001 - reported to the caller
                out[i] = e
                try:
                    barrier.abort()
                except Exception:       # noqa: BLE001
                    pass
            finally:
                conn.close()

        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return out

    def create(self, archive, content_type="application/x-xz-compressed-tar", headers=None):
        h = {"Content-Type": content_type}
        h.update(headers or {})
        return self.request("POST", "/create", body=archive, headers=h)

    def raw(self, data, timeout=30, read=True):
        """Sends bytes as they are and returns what came back."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            if not read:
                return b""
            chunks = []
            try:
                while True:
                    c = s.recv(65536)
                    if not c:
                        break
                    chunks.append(c)
            except socket.timeout:
                pass
            return b"".join(chunks)

    # spool

    def task_dirs(self):
        d = os.path.join(self.spool, "tasks")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def spool_entries(self):
        """Every path in tasks/, queue/ and running/ (relative)."""
        out = []
        for sub in ("tasks", "queue", "running"):
            base = os.path.join(self.spool, sub)
            for root, dirs, files in os.walk(base):
                for n in dirs + files:
                    out.append(os.path.relpath(os.path.join(root, n), self.spool))
        return sorted(out)

    def worker(self, *args, data=b""):
        """Does to a task what the worker does (tests/tools/spool-tool), as
        httpd's user so the files are owned as the worker's would be."""
        cmd = [SPOOL_TOOL, args[0], self.spool, *map(str, args[1:])]
        if self.user:
            cmd = ["setpriv", f"--reuid={self.user}", f"--regid={self.group}",
                   "--clear-groups", *cmd]
        subprocess.run(cmd, input=data, check=True)

    def add_release(self, release, rpms):
        """Makes RepoDir/<release> from RPM files (symlinked, not copied)
        and indexes it, as retrace-reposync's import does."""
        pkgdir = os.path.join(self.repo, release, "Packages")
        os.makedirs(pkgdir, exist_ok=True)
        for rpm in rpms:
            dst = os.path.join(pkgdir, os.path.basename(rpm))
            if not os.path.exists(dst):
                os.symlink(os.path.abspath(rpm), dst)
        subprocess.run([SPOOL_TOOL, "index", self.repo, release], check=True)

    def task_path(self, task_id, *parts):
        return os.path.join(self.spool, "tasks", str(task_id), *parts)


def parse_status_line(raw):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", raw)
    return int(m.group(1)) if m else None


# --- hand-made HTTP, one response at a time ----------------------------

class RawConnection:
    """A plain socket to the server for requests written by hand, read
    one response at a time: send() bytes, then read_response() returns the
    next response, a 1xx interim one (100 Continue) included, so a test
    can see exactly what the server sent and when.

        c = srv.connect()
        c.send(b"POST /create HTTP/1.1\\r\\nHost: x\\r\\n...\\r\\n\\r\\n")
        r = c.read_response(timeout=5)     # None: nothing (complete) came
    """

    def __init__(self, port, timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.eof = False

    def send(self, data):
        self.sock.sendall(data)

    def shutdown_write(self):
        """Half-closes: the server reads end of input."""
        self.sock.shutdown(socket.SHUT_WR)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _fill(self, deadline):
        """Reads more into buf; False at EOF or when the deadline passed."""
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            return False
        except ConnectionResetError:
            self.eof = True
            return False
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def read_response(self, timeout=10):
        """The next response: head, then a body of Content-Length bytes
        (none for 1xx, 204 and 304; up to EOF without Content-Length).
        Returns a Response with .raw (its bytes) and .elapsed (seconds
        until it was complete), or None if no complete head arrived in
        time. A body cut short is returned as far as it came."""
        start = time.monotonic()
        deadline = start + timeout
        while b"\r\n\r\n" not in self.buf:
            if not self._fill(deadline):
                return None
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
        if not m:
            return None
        status = int(m.group(1))
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        if 100 <= status < 200 or status in (204, 304):
            length = 0
        elif "content-length" in headers:
            length = int(headers["content-length"])
        else:
            length = None
        if length is None:
            while self._fill(deadline):
                pass
            body, self.buf = self.buf, b""
        else:
            while len(self.buf) < length and self._fill(deadline):
                pass
            body, self.buf = self.buf[:length], self.buf[length:]
        r = Response(status, headers, body)
        r.raw = head + b"\r\n\r\n" + body
        r.elapsed = time.monotonic() - start
        return r

    def read_rest(self, timeout=5):
        """Whatever else the server sends until it closes (or timeout)."""
        deadline = time.monotonic() + timeout
        while self._fill(deadline):
            pass
        data, self.buf = self.buf, b""
        return data

    def closed_by_server(self, timeout=5):
        """True when the server closes the connection within timeout
        (data it sends meanwhile is kept in the buffer)."""
        deadline = time.monotonic() + timeout
        while self._fill(deadline):
            pass
        return self.eof


def connect(server, timeout=30):
    """A RawConnection to server's plain-HTTP port."""
    return RawConnection(server.port, timeout)


def state_tree(server, skip=("log", "run")):
    """Every path under the server's state directory (spool, repo, cache,
    etc, ...), relative, sorted, except under the top-level directories in
    skip (httpd's logs and runtime files change by themselves). Compare
    two snapshots to prove a request left no file anywhere."""
    out = []
    for root, dirs, files in os.walk(server.state):
        rel = os.path.relpath(root, server.state)
        if rel == ".":
            dirs[:] = [d for d in dirs if d not in skip]
        for n in dirs + files:
            out.append(os.path.normpath(os.path.join(rel, n)))
    return sorted(out)


def httpd_cpu_seconds(server):
    """CPU time (user + system, seconds) used so far by httpd's parent and
    its current children: the difference around a request is what the
    server spent on it (children must not be replaced meanwhile)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in server.httpd_pids():
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])   # utime, stime
    return total / tick
