"""POST /create against http-api.md, exhaustively.

Every refusal of the contract's validation list, in its order, with the
precedence between two conditions that hold at once (HTTPS before a full
server before the method before the type before the length before the size
before the disk; the body's type before its members; the members before
X-Task-Type before the required files); the members that must be refused
(paths, links, devices, FIFOs, directories, unknown names, duplicates, size
caps, names that are huge or not UTF-8 or hold newlines); decompression
bombs; and what a success looks like, in each of the four formats.

After every refused upload: nothing is left in the spool (or anywhere in
the server's state directory), nothing was written outside the task
directory (marker names are checked in /tmp, / and the state directory),
and httpd still answers /settings. The task password is stored only as a
hash.
"""

import bz2
import io
import os
import pwd
import re
import secrets
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rtest import (Server, ok, eq, diag, bail, run_tests, make_tar, compress,  # noqa: E402
                   CONTENT_TYPES, connect, state_tree, httpd_cpu_seconds)

MIB = 1024 * 1024
GIB = 1024 * MIB

XZ, GZ, TAR, ZST = (CONTENT_TYPES[k] for k in ("xz", "gz", None, "zst"))
# (compression for make_tar, Content-Type, a name for assertions)
FORMATS = [("xz", XZ, "xz"), ("gz", GZ, "gzip"), (None, TAR, "plain tar"), ("zst", ZST, "zstd")]

# The main server's limits (MiB).
MAX_PACKED = 8
MAX_UNPACKED = 4

# Files with this in their name must never appear anywhere.
MARK = "rtmark-" + secrets.token_hex(6)

CAPS = {"executable": 512, "package": 128, "os_release": 128, "release": 128,
        "architecture": 32, "packages": MIB, "rootdir": 256, "os_release_in_rootdir": 128}


# --- archives ----------------------------------------------------------

def core_bytes(n=3000):
    return b"\x7fELF\x02\x01\x01\0" + os.urandom(n)


def good(skip=(), core=None):
    """The members ABRT sends, as (name, bytes)."""
    ms = [("coredump", core if core is not None else core_bytes()),
          ("executable", b"/usr/bin/sleep\n"),
          ("package", b"coreutils-8.12-6.fc16\n"),
          ("os_release", b"Fedora release 16 (Verne)\n")]
    return [m for m in ms if m[0] not in skip]


def entry(name, type_, linkname="", size=0, major=0, minor=0, mode=0o644):
    """A member that is not a regular file."""
    ti = tarfile.TarInfo(name)
    ti.type = type_
    ti.linkname = linkname
    ti.size = size
    ti.devmajor, ti.devminor = major, minor
    ti.mode = 0o755 if type_ == tarfile.DIRTYPE else mode
    ti.mtime = int(time.time())
    return ti


def member_blocks(members):
    """Raw tar blocks (header, data, padding) of regular members, without
    the end-of-archive marker: a prefix to put in front of more data."""
    out = b""
    for name, data in members:
        ti = tarfile.TarInfo(name)
        ti.size, ti.mode, ti.mtime = len(data), 0o644, int(time.time())
        out += ti.tobuf(format=tarfile.GNU_FORMAT) + data + b"\0" * ((512 - len(data) % 512) % 512)
    return out


def gnu_tar(files, compress_flag=None):
    """An archive made by GNU tar from a directory (`tar -C dir -c .`):
    members named ./coredump, ..., with a ./ entry first."""
    d = tempfile.mkdtemp(prefix="rt-create-")
    try:
        for name, data in files:
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        cmd = ["tar", "-C", d, "-c", "-f", "-"] + ([compress_flag] if compress_flag else []) + ["."]
        return subprocess.run(cmd, stdout=subprocess.PIPE, check=True).stdout
    finally:
        shutil.rmtree(d)


def sum_over_limit():
    """Members each under their cap that together pass MaxUnpackedSize
    by one byte."""
    others = [("packages", b"bash-5.2.26-3.fc40.x86_64\n" * 20000)] + good(skip=("coredump",))
    rest = sum(len(d) for _, d in others)
    return others + [("coredump", b"\0" * (MAX_UNPACKED * MIB - rest + 1))]


def sparse_tar(size, chunks, fmt, compress_flag="-J"):
    """GNU tar -S of a sparse coredump of `size` bytes holding the
    (offset, bytes) chunks, plus ABRT's small members. fmt: gnu or posix
    (the two sparse encodings). Returns (archive, coredump's content)."""
    d = tempfile.mkdtemp(prefix="rt-create-")
    try:
        with open(os.path.join(d, "coredump"), "wb") as f:
            f.truncate(size)
            for off, data in chunks:
                f.seek(off)
                f.write(data)
        for name, data in good(skip=("coredump",)):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        core = open(os.path.join(d, "coredump"), "rb").read() if size <= 64 * MIB else None
        cmd = ["tar", "-C", d, "-S", f"--format={fmt}", "-c", compress_flag, "-f", "-",
               "coredump", "executable", "package", "os_release"]
        return subprocess.run(cmd, stdout=subprocess.PIPE, check=True).stdout, core
    finally:
        shutil.rmtree(d)


def damage_header(plain, index):
    """A plain tar with the header of member `index` damaged (its
    checksum no longer matches)."""
    with tarfile.open(fileobj=io.BytesIO(plain)) as t:
        off = t.getmembers()[index].offset
    return plain[:off] + b"\xff\xfe" + plain[off + 2:]


def zip_bytes(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members:
            z.writestr(name, data)
    return buf.getvalue()


def flip_at(data, i):
    """data with the byte at index i (negative: from the end) inverted."""
    i %= len(data)
    return data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]


def flip_payload(archive, payload):
    """archive (compressed) with one byte of `payload` changed in place:
    incompressible data is stored verbatim by xz, gzip and zstd, so the
    stream still decodes, to different bytes that its checksum no longer
    matches. None if payload is not found verbatim."""
    chunk = payload[len(payload) // 2:len(payload) // 2 + 64]
    i = archive.find(chunk)
    return None if i < 0 else flip_at(archive, i + 32)


# Decompression bombs: a tar header, then GiBs of zeros. Compressed as
# concatenated streams (valid xz, gzip and zstd, which the server accepts,
# see test_success) of one 64 MiB block of zeros: cheap to make.
def bomb(comp, head, size):
    unit = 64 * MIB
    assert size % unit == 0
    block = compress(b"\0" * unit, comp)
    return compress(head, comp) + block * (size // unit) + compress(b"\0" * 1024, comp)


def tar_header(name, size, type_=tarfile.REGTYPE):
    ti = tarfile.TarInfo(name)
    ti.type, ti.size, ti.mode, ti.mtime = type_, size, 0o644, int(time.time())
    return ti.tobuf(format=tarfile.GNU_FORMAT)


# --- requests ----------------------------------------------------------

def raw_request(method="POST", path="/create", headers=(), body=b"", version="1.1"):
    lines = [f"{method} {path} HTTP/{version}", "Host: 127.0.0.1"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def exchange(srv, data, timeout=10):
    """Sends hand-made bytes, returns the first response (or None)."""
    with connect(srv) as c:
        try:
            c.send(data)
        except OSError:
            pass            # the server may answer and close before all of it
        return c.read_response(timeout)


def state_intact(srv):
    """Stops the run if the server's state directory was removed from
    under it (by something outside this test): what follows would fail
    for that reason alone."""
    if not os.path.isdir(os.path.join(srv.spool, "queue")):
        bail(f"{srv.state} was removed by another process during the run")


def alive(srv):
    try:
        return srv.get("/settings").status == 200
    except OSError:
        return False


def stray_files(srv):
    """Files named with MARK outside where they may be: anywhere."""
    found = []
    for top in ("/tmp", "/", os.path.dirname(srv.state)):
        try:
            found += [os.path.join(top, n) for n in os.listdir(top) if MARK in n]
        except OSError:
            pass
    for root, dirs, files in os.walk(srv.state):
        found += [os.path.join(root, n) for n in dirs + files if MARK in n]
    return sorted(set(found))


def readable_sentence(body):
    """A short human sentence: UTF-8, printable, one line (a final
    newline allowed), at most 1 KiB."""
    try:
        s = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    s = s[:-1] if s.endswith("\n") else s
    return 0 < len(body) <= 1024 and s.isprintable()


_slow_cleanups = []


def wait_tree(srv, before, timeout=3.0):
    """The state tree, once it equals `before` (waiting up to timeout: the
    task directory of a refused upload may be removed just after the
    response was sent)."""
    start = time.monotonic()
    while True:
        now = state_tree(srv)
        if now == before or time.monotonic() - start > timeout:
            break
        time.sleep(0.02)
    waited = time.monotonic() - start
    if now == before and waited > 0.05:
        _slow_cleanups.append(waited)
    return now


def refused(srv, what, want, send, names=(), core_answer=False):
    """One refused /create. send() returns a Response (or None). want: a
    status or a tuple of acceptable ones. names: strings the body must
    contain (the offending member). core_answer: httpd's core refuses the
    request before the module sees it (its HTML error page): only the
    Content-Length of the body is checked."""
    want = want if isinstance(want, tuple) else (want,)
    state_intact(srv)
    before = state_tree(srv)
    try:
        r = send()
    except OSError as e:
        r = None
        diag(f"{what}: {e!r}")
    status_named = re.search(r"\b[1-5][0-9][0-9]\b", what) is not None
    ok(r is not None and r.status in want,
       what if status_named else f"{what}: {' or '.join(map(str, want))}", r)
    if r is not None and core_answer:
        eq(r.header("content-length"), str(len(r.body)), f"{what}: httpd's answer has its Content-Length")
    elif r is not None:
        ok(r.header("content-length") == str(len(r.body)) and
           (r.header("content-type") or "").startswith("text/plain") and readable_sentence(r.body),
           f"{what}: the body is one short readable sentence, text/plain, with its Content-Length",
           r)
        for n in names:
            ok(n in r.text, f"{what}: the body names {n!r}", r.text)
    after = wait_tree(srv, before)
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    ok(not added and not removed, f"{what}: nothing left in the spool (state directory unchanged)",
       f"added: {added}\nremoved: {removed}")
    strays = stray_files(srv)
    ok(not strays, f"{what}: no file written outside the task directory", strays)
    ok(alive(srv), f"{what}: httpd still answers /settings")
    return r


def crash_files(srv, tid):
    d = srv.task_path(tid, "crash")
    return {n: open(os.path.join(d, n), "rb").read() for n in sorted(os.listdir(d))}


def created(srv, what, r, members, full=False):
    """Checks a 201 and that the members landed unchanged in crash/.
    full: also the headers, the queue marker, the status and a GET."""
    state_intact(srv)
    if not ok(r is not None and r.status == 201, f"{what}: 201", r):
        return None, None
    tid, pw = r.header("x-task-id"), r.header("x-task-password")
    want = {}
    for name, data in members:
        while name.startswith("./"):
            name = name[2:]
        want[name] = data
    try:
        got = crash_files(srv, tid)
    except OSError as e:
        got = {"error": repr(e).encode()}
    short = {n: (len(d), d[:40]) for n, d in got.items()}
    ok(got == want, f"{what}: the members land unchanged in tasks/<id>/crash/",
       f"got:  {short}\nwant: {({n: (len(d), d[:40]) for n, d in want.items()})}")
    if not full:
        return tid, pw
    ok(re.fullmatch(r"[1-9][0-9]{8}", tid or ""), f"{what}: X-Task-Id is 9 digits", r.headers)
    ok(re.fullmatch(r"[0-9A-Za-z]{32}", pw or ""), f"{what}: X-Task-Password is 32 of [0-9A-Za-z]",
       r.headers)
    eq((r.header("content-length"), r.body), ("0", b""), f"{what}: an empty body, Content-Length 0")
    ok(os.path.exists(os.path.join(srv.spool, "queue", tid)), f"{what}: queue/<id> exists")
    try:
        status = open(srv.task_path(tid, "status")).read().strip()
    except OSError as e:
        status = repr(e)
    eq(status, "QUEUED", f"{what}: the status file says QUEUED")
    stored = open(srv.task_path(tid, "password"), "rb").read()
    ok(pw.encode() not in stored and pw.lower().encode() not in stored.lower(),
       f"{what}: the password file holds a hash, not the password", stored)
    # spool.h: task directories 0770, files 0660, owned by httpd's user
    # (whatever the archive said).
    tdir = srv.task_path(tid)
    paths = [tdir, os.path.join(tdir, "crash")] + [os.path.join(tdir, "crash", n) for n in got]
    modes = {os.path.relpath(p, tdir): oct(os.stat(p).st_mode & 0o7777) for p in paths}
    want_modes = {os.path.relpath(p, tdir): oct(0o770 if os.path.isdir(p) else 0o660) for p in paths}
    eq(modes, want_modes, f"{what}: task and crash directories 0770, members 0660")
    if srv.user:
        uid = pwd.getpwnam(srv.user).pw_uid
        owners = {os.path.relpath(p, tdir): os.stat(p).st_uid for p in paths}
        eq(owners, {k: uid for k in owners}, f"{what}: everything owned by httpd's user")
    r2 = srv.get(f"/{tid}", headers={"X-Task-Password": pw})
    eq((r2.status, r2.header("x-task-status"), r2.text.strip()), (200, "PENDING", "PENDING"),
       f"{what}: GET /<id> with the password says PENDING")
    eq(r2.header("x-task-progress"), "Queued", f"{what}: ... and X-Task-Progress: Queued")
    return tid, pw


# --- the main server: methods, types, lengths, bodies, members ---------

def test_early_refusals(srv):
    archive = make_tar(good())

    # 3: the method.
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        r = refused(srv, f"{method} /create", 405,
                    lambda: srv.request(method, "/create", body=archive if method != "GET" else None,
                                        headers={"Content-Type": XZ}))
        ok(r is not None and "POST" in (r.header("allow") or ""), f"{method} /create: Allow names POST",
           r)
    r = srv.request("HEAD", "/create")
    eq((r.status, r.body), (405, b""), "HEAD /create: 405 without a body")
    refused(srv, "PUT with an unsupported Content-Type: 405 before 415", 405,
            lambda: srv.request("PUT", "/create", body=b"x", headers={"Content-Type": "text/plain"}))
    refused(srv, "GET without Content-Type or Content-Length: 405", 405,
            lambda: exchange(srv, raw_request("GET")))

    # 4: the Content-Type.
    for ct in ("text/plain", "application/gzip", "application/x-xz", "application/x-bzip2",
               "application/x-tar-gz", "application/x-xz-compressed-tar2", "application/octet-stream",
               "multipart/form-data; boundary=x", "application/zstd-tar", "x-tar", ""):
        refused(srv, f"Content-Type {ct!r}: 415", 415, lambda: srv.create(archive, ct))
    refused(srv, "no Content-Type at all: 415", 415,
            lambda: srv.request("POST", "/create", body=archive))
    refused(srv, "no Content-Type and no Content-Length: 415 before 411", 415,
            lambda: exchange(srv, raw_request()))
    refused(srv, "bad Content-Type and a chunked body: 415 before 411", 415,
            lambda: exchange(srv, raw_request(headers=[("Content-Type", "text/plain"),
                                                       ("Transfer-Encoding", "chunked")],
                                              body=b"5\r\nhello\r\n0\r\n\r\n")))
    refused(srv, "bad Content-Type and Content-Length over the limit: 415 before 413", 415,
            lambda: exchange(srv, raw_request(headers=[("Content-Type", "text/plain"),
                                                       ("Content-Length", str(10 * GIB))])))

    # 5: the length.
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(archive), archive)
    refused(srv, "a chunked upload: 411", 411,
            lambda: exchange(srv, raw_request(headers=[("Content-Type", XZ),
                                                       ("Transfer-Encoding", "chunked")], body=chunked)))
    refused(srv, "a chunked upload with Expect: 100-continue: 411", 411,
            lambda: exchange(srv, raw_request(headers=[("Content-Type", XZ), ("Expect", "100-continue"),
                                                       ("Transfer-Encoding", "chunked")])))
    refused(srv, "a POST without Content-Length: 411", 411,
            lambda: exchange(srv, raw_request(headers=[("Content-Type", XZ)])))
    refused(srv, "Transfer-Encoding: chunked and a Content-Length: refused (411, or 400)", (411, 400),
            lambda: exchange(srv, raw_request(headers=[("Content-Type", XZ),
                                                       ("Transfer-Encoding", "chunked"),
                                                       ("Content-Length", str(len(chunked)))],
                                              body=chunked)))
    refused(srv, "a Content-Length that is not a number: 400", 400,
            lambda: exchange(srv, raw_request(headers=[("Content-Type", XZ),
                                                       ("Content-Length", "12abc")], body=b"x" * 12)),
            core_answer=True)
    refused(srv, "a negative Content-Length: 400", 400,
            lambda: exchange(srv, raw_request(headers=[("Content-Type", XZ),
                                                       ("Content-Length", "-1")])), core_answer=True)

    # 6: the size, before any byte of the body is read: only headers are
    # sent, the body never; the answer must come at once.
    for cl in (MAX_PACKED * MIB + 1, 10 * GIB, 2 ** 62):
        r = refused(srv, f"Content-Length {cl} without a body: 413 before reading the body", 413,
                    lambda: exchange(srv, raw_request(headers=[("Content-Type", XZ),
                                                               ("Content-Length", str(cl))]), timeout=5))
        ok(r is not None and r.elapsed < 2, f"Content-Length {cl}: the 413 comes promptly",
           r and f"{r.elapsed:.2f} s")
    refused(srv, "Content-Length past 2^63: refused (413, or 400)", (413, 400),
            lambda: exchange(srv, raw_request(headers=[("Content-Type", XZ),
                                                       ("Content-Length", "9" * 30)]), timeout=5),
            core_answer=True)
    before = state_tree(srv)
    with connect(srv) as c:
        c.send(raw_request(headers=[("Content-Type", XZ), ("Content-Length", str(10 * GIB)),
                                    ("Expect", "100-continue")]))
        r = c.read_response(5)
        rest = c.read_rest(2)
    ok(r is not None and r.status == 413,
       "Expect: 100-continue with Content-Length over the limit: 413, no 100 Continue first", r)
    ok(b"100 Continue" not in (r.raw if r else b"") + rest,
       "... and no 100 Continue anywhere on the connection", rest)
    eq(wait_tree(srv, before), before, "... and nothing left in the spool")

    # The limit itself is accepted: a body of exactly MaxPackedSize (a plain
    # tar padded with zero blocks, which tar readers skip).
    members = good()
    body = make_tar(members, None)
    body += b"\0" * (MAX_PACKED * MIB - len(body))
    created(srv, f"a body of exactly MaxPackedSize ({MAX_PACKED} MiB)", srv.create(body, TAR), members)
    body += b"\0"
    refused(srv, "the same padded by one byte more: 413", 413,
            lambda: exchange(srv, raw_request(headers=[("Content-Type", TAR),
                                                       ("Content-Length", str(len(body)))]) + body[:65536]))


def test_expect_continue(srv):
    """curl sends Expect: 100-continue for large bodies: a valid upload
    gets 100 Continue, then 201."""
    members = good()
    archive = make_tar(members)
    with connect(srv) as c:
        c.send(raw_request(headers=[("Content-Type", XZ), ("Content-Length", str(len(archive))),
                                    ("Expect", "100-continue")]))
        r1 = c.read_response(5)
        c.send(archive)
        r2 = c.read_response(10)
    eq(r1 and r1.status, 100, "Expect: 100-continue on a valid upload: 100 Continue")
    created(srv, "... then the body: 201", r2, members)
    r = exchange(srv, raw_request(headers=[("Content-Type", XZ), ("Content-Length", str(len(archive)))],
                                  body=archive, version="1.0"))
    created(srv, "an HTTP/1.0 upload", r, members)


def test_body_type(srv):
    """9: the body is not of the declared type."""
    members = good()
    plain = make_tar(members, None)
    bodies = {c: make_tar(members, c) for c, _, _ in FORMATS}
    bzip = bz2.compress(plain)
    for comp, ct, label in FORMATS:
        refused(srv, f"{label}: a body of random bytes: 415", 415, lambda: srv.create(os.urandom(3000), ct))
        refused(srv, f"{label}: a body of text: 415", 415,
                lambda: srv.create(b"this is not an archive\n", ct))
        refused(srv, f"{label}: an empty body (Content-Length 0): 415", 415, lambda: srv.create(b"", ct))
        good_body = bodies[comp]
        refused(srv, f"{label}: an archive truncated in the middle: 415", 415,
                lambda: srv.create(good_body[:len(good_body) * 6 // 10], ct))
        refused(srv, f"{label}: an archive truncated after the first header: 415", 415,
                lambda: srv.create(plain[:700] if comp is None else compress(plain[:700], comp), ct))
        if comp is not None:
            refused(srv, f"{label}: the compressed stream without its last 4 bytes (trailer): 415", 415,
                    lambda: srv.create(good_body[:-4], ct))
            refused(srv, f"{label}: a byte of the stream's trailer (checksum/footer) changed: 415", 415,
                    lambda: srv.create(flip_at(good_body, -2 if comp == "zst" else -6), ct))
            refused(srv, f"{label}: bytes near the start of the compressed stream changed: 415", 415,
                    lambda: srv.create(flip_at(flip_at(good_body, 30), 31), ct))
            core = os.urandom(64 * 1024)
            big = make_tar(good(core=core), comp)
            damaged = flip_payload(big, core)
            ok(damaged is not None, f"{label}: (setup) the core is stored verbatim in the stream")
            if damaged is not None:
                refused(srv, f"{label}: one byte of the coredump changed in the stream, "
                        "its checksum no longer matches: 415", 415, lambda: srv.create(damaged, ct))
        else:
            refused(srv, f"{label}: the first header damaged: 415", 415,
                    lambda: srv.create(damage_header(plain, 0), ct))
            refused(srv, f"{label}: a later header damaged: 415", 415,
                    lambda: srv.create(damage_header(plain, 2), ct))
            refused(srv, f"{label}: the last header damaged: 415", 415,
                    lambda: srv.create(damage_header(plain, -1), ct))
        for other, _, other_label in FORMATS:
            if other == comp:
                continue
            refused(srv, f"{other_label} body declared as {label}: 415", 415,
                    lambda: srv.create(bodies[other], ct))
        refused(srv, f"bzip2-compressed tar declared as {label}: 415", 415, lambda: srv.create(bzip, ct))
        refused(srv, f"a zip file declared as {label}: 415", 415, lambda: srv.create(zip_bytes(members), ct))

    # 9 before 10: the type of the body is judged before its members.
    bad = good() + [(f"../{MARK}", b"x")]
    for comp, ct, label in FORMATS:
        if comp is None:
            continue
        refused(srv, f"a plain tar holding a '..' member, declared as {label}: 415 before 403", 415,
                lambda: srv.create(make_tar(bad, None), ct))
    refused(srv, "an xz body holding a '..' member, declared as plain tar: 415 before 403", 415,
            lambda: srv.create(make_tar(bad, "xz"), TAR))
    refused(srv, "a plain tar over the unpacked limit, declared as xz: 415 before 413", 415,
            lambda: srv.create(make_tar(sum_over_limit(), None), XZ))
    for comp, ct, label in FORMATS:
        core = os.urandom(64 * 1024)
        a = make_tar([(f"../{MARK}", b"x")] + good(core=core), comp)
        refused(srv, f"{label}: a refused member, then a truncated archive: 415", 415,
                lambda: srv.create(a[:len(a) * 6 // 10], ct))
        if comp is None:
            refused(srv, f"{label}: a refused member, then a damaged header: 415", 415,
                    lambda: srv.create(damage_header(a, -1), ct))
        else:
            refused(srv, f"{label}: a refused member, then a corrupt member (checksum mismatch): 415", 415,
                    lambda: srv.create(flip_payload(a, core), ct))


def test_members(srv):
    """10: members that are refused with 403 naming them."""
    link_target = f"/tmp/{MARK}-target"

    def case(what, members, name, fmt=tarfile.GNU_FORMAT, comp="xz", ct=XZ):
        archive = make_tar(members, comp, fmt=fmt)
        return refused(srv, what, 403, lambda: srv.create(archive, ct), names=(name,) if name else ())

    # Paths.
    for p in (f"../{MARK}", f"../../{MARK}", f"../../../{MARK}", f"../../../../{MARK}",
              "../" * 12 + f"tmp/{MARK}", f"./../{MARK}", f"coredump/../../{MARK}", f"a/../../{MARK}"):
        case(f"a member named {p!r}", good() + [(p, b"escaped\n")], p[2:] if p.startswith("./") else p)
    case("a member named '..' alone", good() + [entry("..", tarfile.DIRTYPE)], "..")
    case(f"an absolute member /tmp/{MARK}", good() + [(f"/tmp/{MARK}", b"escaped\n")], f"/tmp/{MARK}")
    case(f"an absolute member /tmp/{MARK} first", [(f"/tmp/{MARK}", b"escaped\n")] + good(), f"/tmp/{MARK}")
    case("an absolute member /coredump", good(skip=("coredump",)) + [("/coredump", core_bytes())],
         "/coredump")
    case("an absolute member, pax format", good() + [(f"/tmp/{MARK}", b"x")], f"/tmp/{MARK}",
         fmt=tarfile.PAX_FORMAT)
    case("a '..' member in a gzip tar", good() + [(f"../{MARK}", b"x")], f"../{MARK}", comp="gz", ct=GZ)
    case("a '..' member in a plain tar", good() + [(f"../{MARK}", b"x")], f"../{MARK}", comp=None, ct=TAR)
    case("a '..' member in a zstd tar", good() + [(f"../{MARK}", b"x")], f"../{MARK}", comp="zst", ct=ZST)

    # Links.
    case("a symlink 'executable' -> /etc/passwd",
         good(skip=("executable",)) + [entry("executable", tarfile.SYMTYPE, "/etc/passwd")], "executable")
    case("a symlink 'coredump' -> /proc/self/mem",
         [entry("coredump", tarfile.SYMTYPE, "/proc/self/mem")] + good(skip=("coredump",)), "coredump")
    case("a symlink 'coredump' out of the spool, then a file 'coredump' through it",
         [entry("coredump", tarfile.SYMTYPE, link_target)] + good(), "coredump")
    case("a symlink 'package' -> ../../../..",
         good(skip=("package",)) + [entry("package", tarfile.SYMTYPE, f"../../../../{MARK}")], "package")
    case(f"a symlink dir -> /tmp, then dir/{MARK} through it",
         good() + [entry("dir", tarfile.SYMTYPE, "/tmp"), (f"dir/{MARK}", b"escaped\n")], "dir")
    case("a hard link 'executable' -> /etc/passwd",
         good(skip=("executable",)) + [entry("executable", tarfile.LNKTYPE, "/etc/passwd")], "executable")
    case("a hard link 'package' -> coredump (inside the archive)",
         good(skip=("package",)) + [entry("package", tarfile.LNKTYPE, "coredump")], "package")
    case(f"a hard link to {link_target}",
         good() + [entry("os_release_in_rootdir", tarfile.LNKTYPE, link_target)], "os_release_in_rootdir")

    # Devices, FIFOs, directories.
    case("a character device 'coredump' (1,3)",
         [entry("coredump", tarfile.CHRTYPE, major=1, minor=3)] + good(skip=("coredump",)), "coredump")
    case("a block device 'coredump' (8,0)",
         [entry("coredump", tarfile.BLKTYPE, major=8, minor=0)] + good(skip=("coredump",)), "coredump")
    case("a character device 'executable' (1,5)",
         good(skip=("executable",)) + [entry("executable", tarfile.CHRTYPE, major=1, minor=5)], "executable")
    case("a FIFO 'coredump'", [entry("coredump", tarfile.FIFOTYPE)] + good(skip=("coredump",)), "coredump")
    case("a FIFO 'package'", good(skip=("package",)) + [entry("package", tarfile.FIFOTYPE)], "package")
    case("a directory 'crash/' with a coredump in it",
         [entry("crash", tarfile.DIRTYPE), ("crash/coredump", core_bytes())] + good(skip=("coredump",)),
         "crash")
    case("a directory 'coredump/' with contents",
         [entry("coredump", tarfile.DIRTYPE), ("coredump/x", b"x")] + good(skip=("coredump",)), "coredump")
    case(f"a directory {MARK}/ with contents",
         good() + [entry(MARK, tarfile.DIRTYPE), (f"{MARK}/x", b"x")], MARK)
    case("a member 'sub/coredump' below the top level",
         [("sub/coredump", core_bytes())] + good(skip=("coredump",)), "sub/coredump")

    # Names not on the allowed list (some name the task's own files).
    for name in ("core", "Coredump", "COREDUMP", "coredump.gz", "coredump.bz2", "coredump.lz4",
                 "backtrace", "password", "status", "type", "crash", "retrace_log",
                 "retrace_backtrace", "exploitable", "started_time", "queue", ".coredump",
                 "coredump ", " coredump", "executable.txt", "os-release", MARK):
        case(f"a member {name!r} not on the allowed list", good() + [(name, b"data\n")], name)
    case("a member not on the list placed first", [(MARK, b"data\n")] + good(), MARK)

    # Duplicates.
    case("'coredump' twice", good() + [("coredump", core_bytes())], "coredump")
    case("'package' twice, the second different",
         good() + [("package", b"evil-1.0-1.fc16\n")], "package")
    case("'./package' and 'package'", good() + [("./package", b"coreutils-8.12-6.fc16\n")], "package")
    case("'os_release' twice, one of them './os_release'",
         [("./os_release", b"Fedora release 16 (Verne)\n")] + good(), "os_release")

    # Size caps.
    for name, cap in CAPS.items():
        base = [m for m in good() if m[0] != name and not (name == "release" and m[0] == "os_release")]
        case(f"'{name}' of {cap + 1} bytes (cap {cap})", base + [(name, b"a" * (cap + 1))], name)

    # Names that are huge, not UTF-8, or hold control characters: still
    # named, still one short readable sentence.
    huge = MARK + "A" * 100000
    case("a member with a 100 KB name", good() + [(huge, b"x")], MARK)
    case("a member with a 100 KB name, pax format", good() + [(huge, b"x")], MARK, fmt=tarfile.PAX_FORMAT)
    case("a member with a 100 KB '..' path", good() + [("../" * 30000 + MARK, b"x")], "../")
    case("a member whose name is not UTF-8",
         good() + [(f"bad\udcff\udcfe{MARK}", b"x")], MARK)
    case("a member 'coredump' + invalid UTF-8",
         good() + [("coredump\udcc3", b"x")], "coredump")
    case("a member whose name holds a newline",
         good() + [(f"coredump\nHTTP/1.1 200 OK\n{MARK}", b"x")], MARK)
    case("a member whose name holds CR LF",
         good() + [(f"x\r\nX-Task-Id: 1\r\n{MARK}", b"x")], MARK)
    case("a member whose name holds an escape sequence",
         good() + [(f"\x1b[2J\x1b[31m{MARK}", b"x")], MARK)
    case("a member whose name holds quotes and a backslash",
         good() + [(f"'\"\\{MARK}", b"x")], MARK)
    case("a symlink with a newline in its name",
         good() + [entry(f"link\n{MARK}", tarfile.SYMTYPE, "/etc/passwd")], MARK)
    case("'../' member with a non-UTF-8 name",
         good() + [(f"../\udcff{MARK}", b"x")], MARK)


def test_unpacked_size(srv):
    """10: the unpacked size, and decompression bombs."""
    over = good(core=b"\0" * (MAX_UNPACKED * MIB + 1))
    refused(srv, f"a coredump of {MAX_UNPACKED} MiB + 1 byte (MaxUnpackedSize {MAX_UNPACKED}): 413", 413,
            lambda: srv.create(make_tar(over)))
    refused(srv, "... in a zstd tar: 413", 413, lambda: srv.create(make_tar(over, "zst"), ZST))
    refused(srv, f"a coredump of {MAX_UNPACKED + 2} MiB: 413", 413,
            lambda: srv.create(make_tar(good(core=b"\0" * ((MAX_UNPACKED + 2) * MIB)))))
    others = [("packages", b"bash-5.2.26-3.fc40.x86_64\n" * 20000)] + good(skip=("coredump",))
    rest = sum(len(d) for _, d in others)
    sum_over = others + [("coredump", b"\0" * (MAX_UNPACKED * MIB - rest + 1))]
    refused(srv, "members each under the limit, together one byte over: 413", 413,
            lambda: srv.create(make_tar(sum_over)))
    sum_at = others + [("coredump", os.urandom(1000) + b"\0" * (MAX_UNPACKED * MIB - rest - 1000))]
    created(srv, "members that sum to exactly MaxUnpackedSize: accepted", srv.create(make_tar(sum_at)),
            sum_at)

    # Sparse members (GNU tar -S): counted at their full size, stored whole.
    chunks = [(0, core_bytes(4000)), (MIB, os.urandom(5000)), (3 * MIB - 100, os.urandom(100))]
    for fmt in ("gnu", "posix"):
        archive, core = sparse_tar(3 * MIB, chunks, fmt)
        created(srv, f"a sparse 3 MiB coredump ({fmt} sparse format): stored whole, holes as zeros",
                srv.create(archive), good(skip=("coredump",)) + [("coredump", core)])
        archive, _ = sparse_tar(GIB, [(0, core_bytes(100))], fmt)
        cpu0 = httpd_cpu_seconds(srv)
        refused(srv, f"a sparse 1 GiB coredump ({fmt} sparse format, {len(archive) // 1024} KiB): 413", 413,
                lambda: srv.create(archive))
        cpu = httpd_cpu_seconds(srv) - cpu0
        ok(cpu < 0.7, f"a sparse 1 GiB coredump ({fmt}): httpd stops at the limit (CPU {cpu:.2f} s)")

    # Bombs: a few hundred KiB expanding to GiBs of zeros. Unpacking all
    # of it costs httpd seconds of CPU; stopping at the 4 MiB limit, almost
    # nothing.
    head_ok = member_blocks(good(skip=("coredump",)))
    for comp, ct, size, head, what, want in (
            ("xz", XZ, GIB, head_ok + tar_header("coredump", GIB),
             "a 1 GiB coredump in xz", 413),
            ("zst", ZST, 4 * GIB, head_ok + tar_header("coredump", 4 * GIB),
             "a 4 GiB coredump in zstd", 413),
            ("gz", GZ, GIB, head_ok + tar_header("coredump", GIB),
             "a 1 GiB coredump in gzip", 413),
            ("xz", XZ, 4 * GIB, member_blocks(good()) + tar_header(f"zeros-{MARK}", 4 * GIB),
             "a 4 GiB member not on the allowed list, in xz, after valid ones", (403, 413)),
            ("gz", GZ, GIB, member_blocks(good()) + tar_header(f"zeros-{MARK}", GIB),
             "a 1 GiB member not on the allowed list, in gzip, after valid ones", (403, 413)),
            ("xz", XZ, GIB, tar_header("././@PaxHeader", GIB, tarfile.XHDTYPE),
             "a 1 GiB pax extended header in xz", (415, 413)),
            ("xz", XZ, GIB, tar_header("././@LongLink", GIB, tarfile.GNUTYPE_LONGNAME),
             "a 1 GiB GNU long name in xz", (415, 413, 403))):
        data = bomb(comp, head, size)
        what = f"{what} ({len(data) // 1024} KiB)"
        cpu0, t0 = httpd_cpu_seconds(srv), time.monotonic()
        r = refused(srv, what, want, lambda: srv.create(data, ct))
        wall, cpu = time.monotonic() - t0, httpd_cpu_seconds(srv) - cpu0
        ok(cpu < 0.7, f"{what}: httpd stops at the limit (CPU {cpu:.2f} s < 0.7 s)")
        ok(wall < 5, f"{what}: answered quickly ({wall:.2f} s)")
        if r is not None and r.status == 403 and "zeros" in what:
            ok(f"zeros-{MARK}" in r.text, f"{what}: the 403 names the member", r.text)


def test_task_type(srv):
    """11: X-Task-Type and the required files."""
    members = good()
    archive = make_tar(members)
    for value in ("7", "2", "abc", "-1", "0x0", "1.0", "", "0 1", "99999999999999999999"):
        refused(srv, f"X-Task-Type {value!r}: 400", 400,
                lambda: srv.create(archive, headers={"X-Task-Type": value}))
    refused(srv, "X-Task-Type 1 with RetraceAllowDebugTasks off: 403", 403,
            lambda: srv.create(archive, headers={"X-Task-Type": "1"}))
    tid, _ = created(srv, "X-Task-Type 0: 201", srv.create(archive, headers={"X-Task-Type": "0"}), members)
    if tid:
        eq(open(srv.task_path(tid, "type")).read().strip(), "0", "X-Task-Type 0: the type file says 0")

    for name in ("coredump", "executable", "package"):
        refused(srv, f"no '{name}' member: 403 naming it", 403,
                lambda: srv.create(make_tar(good(skip=(name,)))), names=(name,))
    refused(srv, "an archive with no members at all: 403 naming coredump", 403,
            lambda: srv.create(make_tar([])), names=("coredump",))
    refused(srv, "only optional members: 403 naming coredump", 403,
            lambda: srv.create(make_tar([("architecture", b"x86_64\n"), ("rootdir", b"/\n")])),
            names=("coredump",))

    # Precedence around 10 and 11.
    refused(srv, "a '..' member and X-Task-Type 7: 403 (members before the type)", 403,
            lambda: srv.create(make_tar(good() + [(f"../{MARK}", b"x")]), headers={"X-Task-Type": "7"}),
            names=(f"../{MARK}",))
    refused(srv, "a corrupt body and X-Task-Type 7: 415", 415,
            lambda: srv.create(b"garbage" * 100, headers={"X-Task-Type": "7"}))
    refused(srv, "an unpacked size over the limit and X-Task-Type abc: 413", 413,
            lambda: srv.create(make_tar(sum_over_limit()), headers={"X-Task-Type": "abc"}))
    refused(srv, "no coredump and X-Task-Type 7: 400 before the missing file", 400,
            lambda: srv.create(make_tar(good(skip=("coredump",))), headers={"X-Task-Type": "7"}))
    refused(srv, "no Content-Type and X-Task-Type 7: 415", 415,
            lambda: srv.request("POST", "/create", body=archive, headers={"X-Task-Type": "7"}))


def test_success(srv):
    passwords = []
    for comp, ct, label in FORMATS:
        members = good() + [("architecture", b"x86_64\n")]
        tid, pw = created(srv, f"a {label} upload", srv.create(make_tar(members, comp), ct), members,
                          full=True)
        if pw:
            passwords.append(pw)
    for fmt, label in ((tarfile.PAX_FORMAT, "pax"), (tarfile.USTAR_FORMAT, "ustar"),
                       (tarfile.GNU_FORMAT, "gnu")):
        members = good()
        created(srv, f"a {label}-format tar", srv.create(make_tar(members, "xz", fmt=fmt)), members)

    # Archives made by GNU tar from a directory: ./ and ./coredump.
    for flag, ct, label in (("-J", XZ, "xz"), ("-z", GZ, "gzip"), (None, TAR, "plain"),
                            ("--zstd", ZST, "zstd")):
        members = good()
        created(srv, f"tar -C dir -c {flag + ' ' if flag else ''}. by GNU tar (./-prefixed names, a ./ entry)",
                srv.create(gnu_tar(members, flag), ct), members)
    members = [("./" + n, d) for n, d in good()]
    created(srv, "members named ./coredump, ./executable, ...", srv.create(make_tar(members)), members)

    # Concatenated streams (cat a.xz b.xz; gzip members; zstd frames) are
    # one valid stream of each format.
    for comp, ct, label in FORMATS:
        if comp is None:
            continue
        members = good()
        plain = make_tar(members, None)
        created(srv, f"{label}: a body of two concatenated {label} streams",
                srv.create(compress(plain[:1000], comp) + compress(plain[1000:], comp), ct), members)

    # The core compressed.
    core = core_bytes(20000)
    for name, comp in (("coredump.xz", "xz"), ("coredump.zst", "zst")):
        members = good(skip=("coredump",)) + [(name, compress(core, comp))]
        tid, _ = created(srv, f"{name} as the core", srv.create(make_tar(members)), members)

    # Optional members, and every member exactly at its cap.
    members = good(skip=("os_release",)) + [
        ("release", b"Fedora release 40 (Forty)\n"), ("architecture", b"x86_64\n"),
        ("packages", b"bash-5.2.26-3.fc40.x86_64 glibc-2.39-5.fc40.x86_64\n"), ("rootdir", b"/var/lib/c1\n"),
        ("os_release_in_rootdir", b"Fedora release 39 (Thirty Nine)\n")]
    created(srv, "the optional members (release, architecture, packages, rootdir, os_release_in_rootdir)",
            srv.create(make_tar(members)), members)
    members = [("coredump", core_bytes())] + [(n, b"a" * c) for n, c in CAPS.items() if n != "release"]
    created(srv, "every member exactly at its cap", srv.create(make_tar(members)), members)
    members = good(skip=("os_release",)) + [("release", b"a" * 128)]
    created(srv, "'release' exactly at its cap", srv.create(make_tar(members)), members)

    # The archive's modes and owners are not applied.
    plain_members, members = good(), []
    for name, data in plain_members:
        ti = tarfile.TarInfo(name)
        ti.mode, ti.uid, ti.gid, ti.uname, ti.gname = 0o6777, 0, 0, "root", "root"
        ti.mtime = 0
        members.append((ti, data))
    created(srv, "members with mode 6777 owned by root", srv.create(make_tar(members)), plain_members,
            full=True)

    # One keep-alive connection: a refused upload (its body read to the
    # end), then valid ones. Unless the server closes the connection after
    # a refusal (Connection: close), the next request must work.
    with connect(srv) as c:
        statuses = []
        for archive in (make_tar([(f"../{MARK}", b"x"), ("coredump", os.urandom(300000))] + good()),
                        make_tar(good()), make_tar(good())):
            c.send(raw_request(headers=[("Content-Type", XZ), ("Content-Length", str(len(archive)))],
                               body=archive))
            r = c.read_response(10)
            statuses.append(r and r.status)
            if r is None or (r.header("connection") or "").lower() == "close":
                break
        closed = len(statuses) < 3
        ok(statuses[0] == 403 and (closed or statuses[1:] == [201, 201]),
           "one connection: a refused upload, then two valid ones: 403, 201, 201 "
           "(or the server closes after the 403)", statuses)

    # Content-Type: media types are case-insensitive and take parameters.
    members = good()
    created(srv, "Content-Type in another case", srv.create(make_tar(members), XZ.upper()), members)
    created(srv, "Content-Type with a parameter", srv.create(make_tar(members, None), TAR + "; charset=binary"),
            members)

    # Several at once: distinct tasks.
    archive = make_tar(good())
    rs = srv.parallel(6, "POST", "/create", body=archive, headers={"Content-Type": XZ})
    ids = [r.header("x-task-id") for r in rs if not isinstance(r, Exception) and r.status == 201]
    eq(len(ids), 6, "6 uploads at once: 6 x 201")
    eq(len(set(ids)), 6, "... with 6 distinct task ids")
    pws = [r.header("x-task-password") for r in rs if not isinstance(r, Exception) and r.status == 201]
    eq(len(set(pws)), 6, "... and 6 distinct passwords")
    passwords += pws

    # A body shorter than its Content-Length: the client gives up.
    before = state_tree(srv)
    body = make_tar(good())
    with connect(srv) as c:
        c.send(raw_request(headers=[("Content-Type", XZ), ("Content-Length", str(len(body) * 2))]) + body)
        c.shutdown_write()
        r = c.read_response(10)
    ok(r is None or r.status >= 400, "a body shorter than its Content-Length is not accepted", r)
    eq(wait_tree(srv, before), before, "... and leaves nothing behind")
    ok(alive(srv), "... and httpd still answers")

    # Passwords: never stored or logged in the clear.
    leaks = []
    for root, dirs, files in os.walk(srv.state):
        for n in files:
            try:
                data = open(os.path.join(root, n), "rb").read()
            except OSError:
                continue
            leaks += [f"{os.path.join(root, n)}" for pw in passwords if pw.encode() in data]
    ok(passwords and not leaks, "no task password is stored or logged in the clear anywhere "
       "(spool, logs)", leaks)


# --- a full server, HTTPS, debug tasks ---------------------------------

def test_limits():
    srv = Server("create-limits", settings={"limits": {"MaxParallelTasks": "2"}}, https=True)
    members = good()
    archive = make_tar(members)
    ids = []
    for i in range(2):
        tid, _ = created(srv, f"full server: task {i + 1} of 2", srv.create(archive), members)
        ids.append(tid)

    def full_checks(state):
        r = refused(srv, f"{state}: a valid upload: 503", 503, lambda: srv.create(archive))
        ra = r and r.header("retry-after")
        ok(ra is not None and re.fullmatch(r"[0-9]+", ra) is not None,
           f"{state}: the 503 carries Retry-After (seconds)", r)
        for method in ("GET", "PUT", "DELETE"):
            refused(srv, f"{state}: {method} /create: 503 before 405", 503,
                    lambda: srv.request(method, "/create", headers={"Content-Type": XZ}))
        refused(srv, f"{state}: a bad Content-Type: 503 before 415", 503,
                lambda: srv.create(archive, "text/plain"))
        refused(srv, f"{state}: no Content-Type: 503 before 415", 503,
                lambda: srv.request("POST", "/create", body=archive))
        refused(srv, f"{state}: a chunked upload: 503 before 411", 503,
                lambda: exchange(srv, raw_request(headers=[("Content-Type", XZ),
                                                           ("Transfer-Encoding", "chunked")],
                                                  body=b"5\r\nhello\r\n0\r\n\r\n")))
        refused(srv, f"{state}: no Content-Length: 503 before 411", 503,
                lambda: exchange(srv, raw_request(headers=[("Content-Type", XZ)])))
        with connect(srv) as c:
            c.send(raw_request(headers=[("Content-Type", XZ), ("Content-Length", str(10 * GIB)),
                                        ("Expect", "100-continue")]))
            r = c.read_response(5)
        ok(r is not None and r.status == 503,
           f"{state}: Content-Length over the limit with Expect: 503 before 413, no 100 Continue", r)
        with connect(srv) as c:
            c.send(raw_request(headers=[("Content-Type", XZ), ("Content-Length", str(len(archive))),
                                        ("Expect", "100-continue")]))
            r = c.read_response(5)
        ok(r is not None and r.status == 503,
           f"{state}: a valid upload with Expect: 503 at once, no 100 Continue, body unread", r)
        refused(srv, f"{state}: a corrupt body: 503 before 415", 503, lambda: srv.create(b"junk" * 100))
        refused(srv, f"{state}: a '..' member: 503 before 403", 503,
                lambda: srv.create(make_tar(good() + [(f"../{MARK}", b"x")])))
        refused(srv, f"{state}: X-Task-Type 7: 503 before 400", 503,
                lambda: srv.create(archive, headers={"X-Task-Type": "7"}))

    full_checks("2 queued of MaxParallelTasks 2")
    if ids[0]:
        srv.worker("claim", ids[0])
    refused(srv, "1 queued + 1 running of 2: 503", 503, lambda: srv.create(archive))
    if ids[0]:
        srv.worker("stage", ids[0], "FINISHED_SUCCESS")
        srv.worker("release", ids[0])
    tid, _ = created(srv, "a finished task frees its slot: 201", srv.create(archive), members)
    ids.append(tid)
    full_checks("full again")
    r = srv.request("POST", "/create", body=archive, headers={"Content-Type": XZ}, tls=True)
    eq(r.status, 503, "full, over HTTPS: 503")
    srv.finish()

    # RequireHTTPS: 403 for plain HTTP before everything, the full spool
    # included.
    srv.set_settings({"http": {"RequireHTTPS": "on"}})
    srv.start()

    def https_checks(state):
        refused(srv, f"RequireHTTPS, {state}: a valid upload over HTTP: 403", 403,
                lambda: srv.create(archive))
        for method in ("GET", "PUT"):
            refused(srv, f"RequireHTTPS, {state}: {method} /create over HTTP: 403 before 405", 403,
                    lambda: srv.request(method, "/create"))
        refused(srv, f"RequireHTTPS, {state}: a bad Content-Type over HTTP: 403 before 415", 403,
                lambda: srv.create(archive, "text/plain"))
        refused(srv, f"RequireHTTPS, {state}: a chunked upload over HTTP: 403 before 411", 403,
                lambda: exchange(srv, raw_request(headers=[("Content-Type", XZ),
                                                           ("Transfer-Encoding", "chunked")],
                                                  body=b"5\r\nhello\r\n0\r\n\r\n")))
        with connect(srv) as c:
            c.send(raw_request(headers=[("Content-Type", XZ), ("Content-Length", str(10 * GIB)),
                                        ("Expect", "100-continue")]))
            r = c.read_response(5)
        ok(r is not None and r.status == 403,
           f"RequireHTTPS, {state}: a huge Content-Length with Expect over HTTP: 403 at once, "
           "no 100 Continue", r)
        refused(srv, f"RequireHTTPS, {state}: a corrupt body over HTTP: 403", 403,
                lambda: srv.create(b"junk" * 100))

    https_checks("server full")
    r = srv.request("POST", "/create", body=archive, headers={"Content-Type": XZ}, tls=True)
    eq(r.status, 503, "RequireHTTPS, server full, over HTTPS: 503")
    for tid in ids[1:]:         # ids[0] has finished already
        if tid:
            srv.worker("claim", tid)
            srv.worker("stage", tid, "FINISHED_FAILURE")
            srv.worker("release", tid)
    https_checks("server idle")
    r = srv.request("POST", "/create", body=archive, headers={"Content-Type": XZ}, tls=True)
    eq(r.status, 201, "RequireHTTPS, over HTTPS: 201")
    srv.finish()

    # Debug tasks allowed.
    srv.set_settings({"http": {"RequireHTTPS": "off", "AllowDebugTasks": "on"},
                      "limits": {"MaxParallelTasks": "100"}})
    srv.start()
    tid, _ = created(srv, "X-Task-Type 1 with RetraceAllowDebugTasks on: 201",
                     srv.create(archive, headers={"X-Task-Type": "1"}), members, full=True)
    if tid:
        eq(open(srv.task_path(tid, "type")).read().strip(), "1", "X-Task-Type 1: the type file says 1")
    tid, _ = created(srv, "no X-Task-Type: 201", srv.create(archive), members)
    if tid:
        eq(open(srv.task_path(tid, "type")).read().strip(), "0", "no X-Task-Type: the type file says 0")
    refused(srv, "X-Task-Type 2 with debug tasks on: 400", 400,
            lambda: srv.create(archive, headers={"X-Task-Type": "2"}))
    srv.finish()


def test_storage():
    srv = Server("create-storage", settings={"limits": {"MinStorageLeft": "100000000"}})
    # A refusal for want of disk space is worth a warning to the admin.
    srv.expect_log(r"\[retrace:warn\].*RT00011: refused an upload")
    archive = make_tar(good())
    refused(srv, "MinStorageLeft 100000000 MiB: 507", 507, lambda: srv.create(archive))
    refused(srv, "low disk, Content-Length over MaxPackedSize: 413 before 507", 413,
            lambda: exchange(srv, raw_request(headers=[("Content-Type", XZ), ("Content-Length", str(GIB))])))
    refused(srv, "low disk, chunked: 411 before 507", 411,
            lambda: exchange(srv, raw_request(headers=[("Content-Type", XZ),
                                                       ("Transfer-Encoding", "chunked")],
                                              body=b"0\r\n\r\n")))
    refused(srv, "low disk, bad Content-Type: 415 before 507", 415, lambda: srv.create(archive, "text/plain"))
    refused(srv, "low disk, GET: 405 before 507", 405, lambda: srv.request("GET", "/create"))
    srv.finish()

    # "Free space minus the body": with MinStorageLeft 25 MiB under the
    # free space, a small body fits and a 40 MiB one does not (it is never
    # sent: the 507 comes on the headers).
    st = os.statvfs(srv.spool)
    free_mib = st.f_bavail * st.f_frsize // MIB
    srv.set_settings({"limits": {"MinStorageLeft": str(free_mib - 25)}})
    srv.start()
    members = good()
    created(srv, "free space minus a small body is above MinStorageLeft: 201",
            srv.create(make_tar(members)), members)
    r = refused(srv, "free space minus a 40 MiB body is under MinStorageLeft: 507 on the headers", 507,
                lambda: exchange(srv, raw_request(headers=[("Content-Type", XZ),
                                                           ("Content-Length", str(40 * MIB))]), timeout=5))
    srv.finish()


def main():
    srv = Server("create", settings={"limits": {"MaxPackedSize": str(MAX_PACKED),
                                                "MaxUnpackedSize": str(MAX_UNPACKED),
                                                "MaxParallelTasks": "1000"}})
    test_early_refusals(srv)
    test_expect_continue(srv)
    test_body_type(srv)
    test_members(srv)
    test_task_type(srv)
    test_success(srv)
    test_unpacked_size(srv)
    srv.finish()
    test_limits()
    test_storage()
    if _slow_cleanups:
        diag(f"{len(_slow_cleanups)} refused uploads left their task directory for a moment after "
             f"the response (longest {max(_slow_cleanups) * 1000:.0f} ms)")


run_tests(main)
