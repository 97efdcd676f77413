"""Upstream repositories for the tests of retrace-reposync and its parts
(test-fetch.py, test-reposync.py): HTTP servers on loopback, RPM-MD
metadata rewritten by hand, and RPM signatures with throwaway keys.

    srv = Misbehaving()                  # a server that misbehaves on purpose
    srv.files["x.rpm"] = data            # served as /files/x.rpm, /slow/x.rpm, ...
    srv.serve_tree(repo_dir)             # every file of a repository, by name
    srv.modes["x.rpm"] = "corrupt-once"  # this file misbehaves whatever the URL says
    srv.url("/files/")                   # a baseurl

    proc, port = start_http_server(root) # python3 -m http.server on 127.0.0.1

    href = recompress(src, dst, "zst")   # a copy of src whose primary is zstd
    recompress_fix(repo, href)           # repomd.xml made to match primary again

    key = gpg_key(home, "rtest-ours")    # armored public key of a new key pair
    rpmsign(path, home, "rtest-ours")    # signs an RPM in place
    gpg_stop(home)                       # ends the gpg-agent of that home

Everything listens on 127.0.0.1 only.
"""

import gzip
import hashlib
import http.server
import lzma
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from rtest import free_port  # noqa: E402


# --- a misbehaving HTTP server ----------------------------------------------

class Misbehaving:
    """Serves self.files[name] (bytes) under /MODE/.../NAME (only the last
    component names the file, so /MODE/ is a baseurl for a repository whose
    files all have distinct names: serve_tree()):

    /files/NAME          Range-aware (206, 416), keep-alive
    /slow/NAME           as /files, 0.15 s before answering; counts concurrency
    /status/CODE/NAME    always CODE
    /fail500/K/NAME      500 for the first K requests, then as /files
    /truncate/NAME       first request: full Content-Length, half the body,
                         connection closed; then as /files
    /cut/NAME            every request: full Content-Length, half the body,
                         connection closed
    /stall/NAME          first request: half the body, then silence for 4 s
    /hold/NAME           first request: half the body, then silence until
                         release() (at most 60 s), connection closed; then
                         as /files. self.holding lists the paths held.
    /norange/NAME        ignores Range: always 200 and the whole file
    /corrupt-once/NAME   first request: one byte flipped; then as /files
    /corrupt/NAME        every request: one byte flipped
    /redirect/NAME       302 to /files/NAME

    self.modes[NAME] = "MODE" (or "status/404", "fail500/2") makes NAME
    behave so whatever mode its URL names. Requests are counted per path;
    self.requests lists (path, Range header or None) in order.
    """

    def __init__(self):
        self.files = {}
        self.modes = {}
        self.requests = []              # (path, Range header or None)
        self.counts = {}
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.holding = []
        self.released = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                outer.handle(self)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                # Clients that give up on a connection (timeouts, a
                # transfer aborted on purpose, a client killed) are part of
                # the tests.
                if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
                    super().handle_error(request, client_address)

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def serve_tree(self, root):
        """Replaces self.files with every file under root, by file name
        (a repository: repodata/repomd.xml, repodata/<sum>-primary.xml.gz,
        Packages/*.rpm). Two files with one name are an error."""
        files = {}
        for d, _, names in os.walk(root):
            for n in names:
                if n in files:
                    raise ValueError(f"two files named {n} under {root}")
                with open(os.path.join(d, n), "rb") as f:
                    files[n] = f.read()
        self.files = files

    def seen(self, path):
        """The Range headers (None: none) of the requests for path."""
        with self.lock:
            return [r for p, r in self.requests if p == path]

    def names_seen(self):
        """The file names requested, in order."""
        with self.lock:
            return [p.rstrip("/").split("/")[-1] for p, _ in self.requests]

    def reset(self):
        with self.lock:
            self.requests.clear()
            self.counts.clear()
            self.holding.clear()
            self.max_active = 0
        self.released.clear()

    def release(self):
        """Lets the requests held by /hold/ end."""
        self.released.set()

    def handle(self, h):
        path = h.path
        rng = h.headers.get("Range")
        with self.lock:
            self.requests.append((path, rng))
            n = self.counts[path] = self.counts.get(path, 0) + 1
        parts = path.strip("/").split("/")
        name = parts[-1]
        if name in self.modes:
            parts = self.modes[name].split("/") + [name]
        mode = parts[0]
        data = self.files.get(name)
        if mode == "status":
            return self.send_status(h, int(parts[1]))
        if data is None:
            return self.send_status(h, 404)
        if mode == "redirect":
            h.send_response(302)
            h.send_header("Location", f"/files/{name}")
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        if mode == "fail500" and n <= int(parts[1]):
            return self.send_status(h, 500)
        if (mode == "truncate" and n == 1) or mode == "cut":
            h.send_response(200)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data[:len(data) // 2])
            h.wfile.flush()
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        if mode in ("stall", "hold") and n == 1:
            h.send_response(200)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data[:len(data) // 2])
            h.wfile.flush()
            if mode == "stall":
                time.sleep(4)
            else:
                with self.lock:
                    self.holding.append(path)
                self.released.wait(60)
            h.close_connection = True
            return
        if (mode == "corrupt-once" and n == 1) or mode == "corrupt":
            bad = bytearray(data)
            bad[len(bad) // 3] ^= 0xFF
            return self.send_body(h, bytes(bad), None)
        if mode == "norange":
            rng = None
        if mode == "slow":
            with self.lock:
                self.active += 1
                self.max_active = max(self.max_active, self.active)
            time.sleep(0.15)
            try:
                return self.send_body(h, data, rng)
            finally:
                with self.lock:
                    self.active -= 1
        return self.send_body(h, data, rng)

    @staticmethod
    def send_status(h, code):
        body = f"status {code}\n".encode()
        h.send_response(code)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    @staticmethod
    def send_body(h, data, rng):
        start = 0
        if rng:
            m = re.match(r"bytes=(\d+)-$", rng)
            if m:
                start = int(m.group(1))
        if start >= len(data) and start > 0:
            h.send_response(416)
            h.send_header("Content-Range", f"bytes */{len(data)}")
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        if start:
            h.send_response(206)
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            h.send_response(200)
        h.send_header("Content-Length", str(len(data) - start))
        h.end_headers()
        h.wfile.write(data[start:])


def start_http_server(root):
    """`python3 -m http.server` serving root on a free loopback port, once
    it accepts connections. Returns (Popen, port); terminate() it."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                             "--directory", root, str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("python3 -m http.server did not start")


# --- metadata rewritten by hand -------------------------------------------------

def recompress(src, dst, kind):
    """A copy of the repository src (gzip primary, as createrepo_c writes
    it) at dst whose primary is kind ("xz", "zst", "plain"), with
    repomd.xml's checksum, size and location fixed. Returns the new
    primary's href (relative to dst). createrepo_c 0.17 cannot write zstd:
    this is how the tests get it."""
    shutil.copytree(src, dst, symlinks=True)
    repomd_path = os.path.join(dst, "repodata", "repomd.xml")
    repomd = open(repomd_path).read()
    m = re.search(r'<data type="primary">.*?</data>', repomd, re.S)
    block = m.group(0)
    href = re.search(r'<location href="([^"]+)"', block).group(1)
    raw = gzip.decompress(open(os.path.join(dst, href), "rb").read())
    os.unlink(os.path.join(dst, href))
    if kind == "xz":
        data, suffix = lzma.compress(raw), ".xml.xz"
    elif kind == "zst":
        data = subprocess.run(["zstd", "-q", "-19", "-c"], input=raw, stdout=subprocess.PIPE,
                              check=True).stdout
        suffix = ".xml.zst"
    else:
        data, suffix = raw, ".xml"
    ctype = re.search(r'<checksum type="([^"]+)">', block).group(1)
    csum = hashlib.new({"sha": "sha1"}.get(ctype, ctype), data).hexdigest()
    new_href = f"repodata/{csum}-primary{suffix}"
    with open(os.path.join(dst, new_href), "wb") as f:
        f.write(data)
    new = re.sub(r'(<checksum type="[^"]+">)[0-9a-f]+(</checksum>)', rf"\g<1>{csum}\g<2>", block)
    new = new.replace(href, new_href)
    new = re.sub(r"<size>\d+</size>", f"<size>{len(data)}</size>", new)
    with open(repomd_path, "w") as f:
        f.write(repomd.replace(block, new))
    return new_href


def recompress_fix(repo, href):
    """Fixes repomd.xml's primary checksum and size for the file at href
    (after a test wrote something else there)."""
    data = open(os.path.join(repo, href), "rb").read()
    path = os.path.join(repo, "repodata", "repomd.xml")
    repomd = open(path).read()
    block = re.search(r'<data type="primary">.*?</data>', repomd, re.S).group(0)
    new = re.sub(r'(<checksum type="([^"]+)">)[0-9a-f]+(</checksum>)',
                 lambda m: m.group(1) + hashlib.new(m.group(2), data).hexdigest() + m.group(3), block)
    new = re.sub(r"<size>\d+</size>", f"<size>{len(data)}</size>", new)
    with open(path, "w") as f:
        f.write(repomd.replace(block, new))


# --- signatures --------------------------------------------------------------------

def gpg_key(home, name):
    """Makes a GnuPG home (created here) with a new RSA key pair for
    NAME@retrace.invalid, no passphrase; returns the armored public key."""
    os.makedirs(home, mode=0o700)
    params = (f"%no-protection\nKey-Type: RSA\nKey-Length: 2048\nName-Real: {name}\n"
              f"Name-Email: {name}@retrace.invalid\nExpire-Date: 0\n%commit\n")
    env = dict(os.environ, GNUPGHOME=home)
    subprocess.run(["gpg", "--batch", "--gen-key"], input=params.encode(), env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return subprocess.run(["gpg", "--armor", "--export", f"{name}@retrace.invalid"], env=env,
                          check=True, stdout=subprocess.PIPE).stdout


def rpmsign(path, home, name):
    """Signs the RPM at path in place with gpg_key(home, name)'s key."""
    env = dict(os.environ, GNUPGHOME=home)
    p = subprocess.run(["rpmsign", "--addsign", "--define", f"_gpg_name {name}@retrace.invalid",
                        "--define", f"_gpg_path {home}", "--define",
                        f"__gpg {shutil.which('gpg')}", path],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise RuntimeError("rpmsign failed: " + p.stdout.decode(errors="replace"))


def gpg_stop(home):
    """Ends the agent gpg started for home (no-op when there is none)."""
    if os.path.isdir(home):
        subprocess.run(["gpgconf", "--kill", "all"], env=dict(os.environ, GNUPGHOME=home),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
