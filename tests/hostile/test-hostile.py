"""The hostile corpus: bad input of every kind against the real httpd with
mod_retrace and the real retrace-worker (gdb in bubblewrap, real RPMs,
a real core), each case with its expected outcome asserted (HTTP status,
the access-log and error-log lines, the task's status and log line), and
after each case the checks of tests/lib/hostile.py (httpd answers, the
spool holds only finished tasks of this run and no temporaries, nothing
named with the run's random marker exists outside, no process left).

Sections: archives (A-), HTTP (H-), crash data (D-), cores (C-),
repository packages (R-), sandbox (S-) and privacy (P-). The faults
(worker killed, disks full, reposync and load while tasks run) are in
test-faults.py. tests/hostile/README has the table; this script checks
that it lists exactly these cases (RETRACE_UPDATE_README=1 rewrites its
observed column from the run). RETRACE_HOSTILE_ONLY=REGEX runs the
cases whose id matches.

Inputs the other tests already assert exhaustively are run here once more
through the real worker, with generators of their own (tests/lib/
hostile.py); the README names the test that covers each in depth.
"""

import bz2
import io
import os
import re
import stat
import subprocess
import sys
import tarfile
import threading
import time
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rtest import (ok, eq, diag, bail, run_tests, Server, make_tar, compress, connect,  # noqa: E402
                   CONTENT_TYPES, httpd_modules_dir)
from worker import Worker, submit, wait_all, show, catch_gdb_process, F40  # noqa: E402
import hostile  # noqa: E402
from hostile import (Cases, Env, MIB, GIB, tar_member, tar_end, zstd_rle_bomb,  # noqa: E402
                     rpm_graft)
import hostile_fixtures  # noqa: E402

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "README")
ALSO = [
    (r"^A-(trunc|corrupt|format|empty)", "test-create.py test_body_type"),
    (r"^A-bomb", "test-create.py test_unpacked_size; test-decompress.c"),
    (r"^A-(dotdot|absolute|symlink|hardlink|chardev|blockdev|fifo|dir|name|over-cap|duplicate|"
     r"nested-member)", "test-create.py test_members"),
    (r"^A-nested-coredump", "test-retrace.py (not an ELF core)"),
    (r"^H-cl", "test-upload.py test_disconnect_and_stall"),
    (r"^H-trickle", "test-upload.py (stalled upload)"),
    (r"^H-header", "test-tasks.py (10 KB password)"),
    (r"^H-tasktype", "test-create.py test_task_type, test_limits"),
    (r"^H-id", "test-tasks.py test_ids"),
    (r"^H-pw", "test-tasks.py test_bad_passwords, test_cross_task"),
    (r"^C-(not-elf|truncated)", "test-retrace.py; test-coreinfo.c"),
    (r"^C-", "test-coreinfo.c (hostile cores)"),
    (r"^R-gdbpy", "test-gdb.c test_hostile_root"),
    (r"^R-", "test-cache.c test_hostile, test_crafted"),
    (r"^S-", "test-gdb.c (sandbox probes)"),
    (r"^P-passwords", "test-tasks.py, test-create.py (hashes, logs)"),
    (r"^P-", "test-create.py (modes), test-tasks.py"),
]
cases = Cases("test-hostile", README, ALSO)
case = cases.case

XZ, GZ, TAR, ZST = (CONTENT_TYPES[k] for k in ("xz", "gz", None, "zst"))
MAX_PACKED = 64         # MiB, this server's limits
MAX_UNPACKED = 256
F41 = "Fedora release 41 (Forty One)\n"
F39 = "Fedora release 39 (Thirty Nine)\n"
F38 = "Fedora release 38 (Thirty Eight)\n"
LOG_LINE = re.compile(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] (INFO|WARN|ERROR) ")

# --- helpers -----------------------------------------------------------------


def members(env, skip=(), **over):
    """ABRT's members for the selfcrash core (name -> bytes), some replaced."""
    m = {"coredump": env.fx.core, "executable": b"/usr/bin/selfcrash\n",
         "package": b"selfcrash-1.0-1.fc40\n", "os_release": F40.encode()}
    for k, v in over.items():
        m[k] = v
    return [(k, v) for k, v in m.items() if k not in skip]


def small_members(env, skip=()):
    """The same with a tiny core: for uploads that must be refused."""
    return members(env, skip, coredump=b"\x7fELF\x02\x01\x01\0" + os.urandom(2000))


def access_lines(env):
    path = os.path.join(env.srv.state, "log", "access_log")
    try:
        with open(path, "rb") as f:
            f.seek(env.access_offset)
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def http_case(env, what, send, want, names=(), elog=None, request_line=r"POST /create"):
    """One request that must be answered `want` (a status or a tuple).
    names: strings the body must contain. elog: a regex the error log
    must show for it (mod_retrace's line). The access log must record the
    status. Returns the observed text."""
    want = want if isinstance(want, tuple) else (want,)
    try:
        r = send()
    except OSError as e:
        r = None
        diag(f"{what}: {e!r}")
    env.note_response(r)
    status = r.status if r is not None else None
    ok(status in want, f"{what}: answered {' or '.join(map(str, want))}", r)
    if r is not None:
        ok(r.header("content-length") == str(len(r.body)) and len(r.body) <= 2048,
           f"{what}: the answer has its Content-Length and a short body", r)
        for n in names:
            ok(n in r.text, f"{what}: the body names {n!r}", r.text)
        try:
            r.body.decode("utf-8")
            utf8 = True
        except UnicodeDecodeError:
            utf8 = False
        ok(utf8, f"{what}: the body is valid UTF-8", r.body[:300])
    obs = str(status)
    if status is not None:
        deadline = time.time() + 3
        while time.time() < deadline and not re.search(
                rf"\"{request_line}[^\"]*\" {status} ", access_lines(env)):
            time.sleep(0.05)
        ok(re.search(rf"\"{request_line}[^\"]*\" {status} ", access_lines(env)),
           f"{what}: the access log records it with status {status}", access_lines(env)[-1500:])
    if elog:
        m = None
        deadline = time.time() + 3
        while time.time() < deadline:
            m = re.search(elog, env.new_log())
            if m:
                break
            time.sleep(0.05)
        ok(m, f"{what}: the error log says /{elog}/", env.new_log()[-2000:])
        if m:
            obs += f"; error log: {short(m.group(0))}"
    if names and r is not None:
        obs += f"; body names {', '.join(repr(n[:40]) for n in names)}"
    return obs


def short(s, n=90):
    s = s.strip().replace("\n", "\\n")
    return s if len(s) <= n else s[:n] + "..."


def upload(env, body, ctype=XZ, headers=None):
    def send():
        return env.srv.create(body, ctype, headers=headers)
    return send


def refused(env, what, body, want, ctype=XZ, names=(), elog=None, headers=None):
    return http_case(env, what, upload(env, body, ctype, headers), want, names, elog)


def raw_exchange(env, data, timeout=15):
    with connect(env.srv, timeout=timeout) as c:
        try:
            c.send(data)
        except OSError:
            pass
        return c.read_response(timeout)


def task_case(env, what, want, log_re, core=None, package="selfcrash-1.0-1.fc40",
              executable="/usr/bin/selfcrash", os_release=F40, extra=(), core_member="coredump",
              compression="xz", timeout=120, forged=None):
    """A crash uploaded (201), run by the worker to `want`
    (FINISHED_SUCCESS or FINISHED_FAILURE) with log_re in its log. Every
    log line is one well-formed line; forged: text that must not begin a
    line of the log (a line injected through the crash data). Returns
    (task, observed text)."""
    t = submit(env.srv, what, env.fx.core if core is None else core, package, executable,
               os_release=os_release, extra=extra, core_member=core_member,
               compression=compression)
    if t is None:
        return None, "upload refused"
    env.tasks.add(t.id)
    env.passwords.add(t.pw)
    ok(wait_all([t], timeout), f"{what}: the task finished within {timeout} s", show(t))
    env.passwords.add(t.pw)
    ok(t.status == want, f"{what}: {want}", show(t))
    m = re.search(log_re, t.log)
    ok(m, f"{what}: the task log says /{log_re}/", t.log[-3000:])
    bad = [line for line in t.log.splitlines() if not LOG_LINE.match(line)]
    ok(t.log and not bad, f"{what}: every line of the task log is a well-formed log line",
       "\n".join(bad[:10]))
    if forged:
        ok(not any(line.startswith(forged) for line in t.log.splitlines()),
           f"{what}: the crash data forged no log line", t.log[-2000:])
    if want == "FINISHED_FAILURE":
        eq(t.get("/backtrace").status, 404, f"{what}: no backtrace is served")
    obs = f"{t.status}; log: {short(m.group(0)) if m else '?'}"
    return t, obs


# --- the server -------------------------------------------------------------------


def make_env(work):
    fx = hostile_fixtures.build(work)
    moddir = httpd_modules_dir()
    reqtimeout = os.path.join(moddir, "mod_reqtimeout.so") if moddir else ""
    local = "Timeout 20\n"
    if os.path.exists(reqtimeout):
        local += (f"<IfModule !reqtimeout_module>\n    LoadModule reqtimeout_module {reqtimeout}\n"
                  f"</IfModule>\nRequestReadTimeout header=5-10,MinRate=500 body=5,MinRate=500\n")
    srv = Server("hostile", local_conf=local,
                 settings={"limits": {"MaxParallelTasks": "100", "MaxPackedSize": str(MAX_PACKED),
                                      "MaxUnpackedSize": str(MAX_UNPACKED), "MinStorageLeft": "0"},
                           "worker": {"Jobs": "2", "ScanInterval": "2", "GdbTimeout": "60"}})
    tmp = os.path.join(srv.state, "tmp")
    os.makedirs(tmp)
    if srv.user:
        subprocess.run(["chown", "-R", f"{srv.user}:{srv.group}", os.path.join(srv.state, "cache"),
                        tmp], check=True)
    libc = [fx.glibc["glibc"], fx.glibc["glibc-debuginfo"]]
    srv.add_release("fedora-40-x86_64", libc + list(fx.selfcrash.values()) + list(fx.threads.values()))
    srv.add_release("fedora-41-x86_64", libc + [fx.selfcrash["selfcrash"], fx.hostile_debuginfo])
    env = Env(srv, None)
    env.fx = fx
    env.work = work
    env.has_reqtimeout = os.path.exists(reqtimeout)
    # Grafted payloads: the headers of small debuginfo packages, payloads
    # rpmbuild would never write.
    m = env.marker
    good_debug = {"name": f"./usr/lib/debug/.build-id/{fx.selfcrash_id[:2]}/{fx.selfcrash_id[2:]}.debug",
                  "mode": 0o100644, "data": fx.debug}
    grafts = {
        "dotdot": ("fedora-39-x86_64", [good_debug,
                                        {"name": f"./usr/lib/debug/../../../../../../../../../../tmp/{m}-dotdot",
                                         "mode": 0o100644, "data": b"escaped\n"}]),
        "absname": ("fedora-38-x86_64", [good_debug,
                                         {"name": f"/tmp/{m}-absname", "mode": 0o100644,
                                          "data": b"escaped\n"}]),
    }
    env.graft_names = {}
    for kind, (release, entries) in grafts.items():
        real = fx.graft_headers[kind]
        out = os.path.join(work, os.path.basename(real))
        rpm_graft(real, entries, out)
        srv.add_release(release, libc + [fx.selfcrash["selfcrash"], out])
        env.graft_names[kind] = os.path.basename(real)[:-4]
    env.worker = Worker(srv, jobs=2, env={"TMPDIR": tmp})
    env.worker.start()
    env.access_offset = 0
    orig_before = env.before_case

    def before(c):
        orig_before(c)
        try:
            env.access_offset = os.path.getsize(os.path.join(srv.state, "log", "access_log"))
        except OSError:
            env.access_offset = 0
    env.before_case = before
    return env


# --- archives ---------------------------------------------------------------------

def crash_tar(env, comp="xz"):
    return make_tar(small_members(env), comp)


@case("A-trunc-xz", "xz archive cut in half", "415; error log: refused task N: not a valid")
def _(env):
    body = crash_tar(env)
    return refused(env, "xz cut in half", body[:len(body) // 2], 415,
                   elog=r"refused task \d+: not a valid .*")


@case("A-trunc-tar", "plain tar cut inside the coredump member",
      "415; error log: refused task N: not a valid")
def _(env):
    body = crash_tar(env, None)
    return refused(env, "tar cut mid-member", body[:1500], 415, TAR,
                   elog=r"refused task \d+: not a valid .*")


@case("A-trunc-zst", "zstd archive cut in half", "415; error log: refused task N: not a valid")
def _(env):
    body = crash_tar(env, "zst")
    return refused(env, "zstd cut in half", body[:len(body) // 2], 415, ZST,
                   elog=r"refused task \d+: not a valid .*")


@case("A-corrupt-gz", "gzip archive with 64 bytes of its deflate stream overwritten",
      "415; error log: refused task N: not a valid")
def _(env):
    body = bytearray(crash_tar(env, "gz"))
    mid = len(body) // 2
    body[mid:mid + 64] = os.urandom(64)
    return refused(env, "corrupt gzip", bytes(body), 415, GZ,
                   elog=r"refused task \d+: not a valid .*")


@case("A-corrupt-xz", "xz archive with its stream header damaged",
      "415; error log: refused task N: not a valid")
def _(env):
    body = bytearray(crash_tar(env))
    body[6:12] = b"\xff" * 6
    return refused(env, "corrupt xz header", bytes(body), 415,
                   elog=r"refused task \d+: not a valid .*")


@case("A-corrupt-tar", "plain tar whose first header checksum is wrong",
      "415; error log: refused task N: not a valid")
def _(env):
    body = bytearray(crash_tar(env, None))
    body[148:156] = b"0000000\0"
    return refused(env, "tar with a bad header checksum", bytes(body), 415, TAR,
                   elog=r"refused task \d+: not a valid .*")


@case("A-format-zip", "a zip of the crash files declared application/x-tar",
      "415; error log: refused task N: not a valid")
def _(env):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, d in small_members(env):
            z.writestr(n, d)
    return refused(env, "zip as tar", buf.getvalue(), 415, TAR,
                   elog=r"refused task \d+: not a valid .*")


@case("A-format-gz-as-xz", "a gzip'd tar declared application/x-xz-compressed-tar",
      "415; error log: refused task N: not a valid")
def _(env):
    return refused(env, "gzip declared xz", crash_tar(env, "gz"), 415,
                   elog=r"refused task \d+: not a valid .*")


@case("A-format-bz2-as-gz", "a bzip2'd tar declared application/x-gzip",
      "415; error log: refused task N: not a valid")
def _(env):
    return refused(env, "bzip2 declared gzip", bz2.compress(crash_tar(env, None)), 415, GZ,
                   elog=r"refused task \d+: not a valid .*")


@case("A-format-elf", "the bare core (an ELF file) declared application/x-tar",
      "415; error log: refused task N: not a valid")
def _(env):
    return refused(env, "ELF as tar", env.fx.core, 415, TAR, elog=r"refused task \d+: not a valid .*")


@case("A-empty-body", "an empty body (Content-Length: 0) declared xz",
      "415; error log: refused task N: not a valid")
def _(env):
    return refused(env, "empty xz body", b"", 415, elog=r"refused task \d+: not a valid .*")


@case("A-empty-tar", "an empty tar (two zero blocks), plain", "403 naming 'coredump' (required)")
def _(env):
    return refused(env, "empty tar", tar_end(), 403, TAR, names=("coredump",))


@case("A-empty-xz", "an xz stream of nothing", "415; error log: refused task N: not a valid")
def _(env):
    return refused(env, "xz of nothing", compress(b"", "xz"), 415,
                   elog=r"refused task \d+: not a valid .*")


@case("A-bomb-zstd", "zstd bomb: 512 KiB that expand to a 16 GiB coredump (RLE blocks)",
      "413 within 10 s; error log: unpacks to more than 256 MiB")
def _(env):
    head = tar_member("coredump", size=16 * GIB)
    body = zstd_rle_bomb(head, 16 * GIB + 1024)
    diag(f"zstd bomb: {len(body)} bytes for {16 * GIB + len(head) + 1024} bytes")
    t0 = time.monotonic()
    obs = refused(env, "zstd bomb", body, 413, ZST,
                  elog=r"refused task \d+: unpacks to more than \d+ MiB")
    took = time.monotonic() - t0
    ok(took < 10, f"zstd bomb: refused in {took:.1f} s (stops at the limit)")
    return obs + f"; {len(body) // 1024} KiB body"


@case("A-bomb-sparse", "GNU sparse tar (xz, a few KiB) whose coredump is 32 GiB of holes",
      "413; error log: unpacks to more than 256 MiB")
def _(env):
    d = os.path.join(env.work, "sparse")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "coredump"), "wb") as f:
        f.truncate(32 * GIB)
        f.seek(31 * GIB)
        f.write(b"x")
    for n, data in small_members(env, skip=("coredump",)):
        with open(os.path.join(d, n), "wb") as f:
            f.write(data)
    body = subprocess.run(["tar", "-C", d, "-S", "-c", "-J", "-f", "-", "coredump", "executable",
                           "package", "os_release"], stdout=subprocess.PIPE, check=True).stdout
    os.unlink(os.path.join(d, "coredump"))
    obs = refused(env, "sparse bomb", body, 413,
                  elog=r"refused task \d+: unpacks to more than \d+ MiB")
    return obs + f"; {len(body)} byte body"


def million(env, kind, fixture):
    """A zstd'd plain tar of a million empty members, then ABRT's members,
    cached under the work directory. kind "dirs": a million './'
    entries; "names": m0000000 ... m0999999."""
    os.makedirs(hostile_fixtures.FIXTURES, exist_ok=True)
    path = os.path.join(hostile_fixtures.FIXTURES, fixture)
    if not os.path.exists(path):
        t0 = time.monotonic()
        with open(f"{path}.tmp.{os.getpid()}", "wb") as out:
            p = subprocess.Popen(["zstd", "-q", "-1", "-c"], stdin=subprocess.PIPE, stdout=out)
            if kind == "dirs":
                block = tar_member("./", type_=tarfile.DIRTYPE, mode=0o755)
                for _ in range(100):
                    p.stdin.write(block * 10000)
            else:
                # One header a million times, then its name's digits and
                # checksum patched column by column (strided slices).
                n = 1000000
                tmpl = bytearray(tar_member("m0000000"))
                tmpl[148:156] = b" " * 8
                base = sum(tmpl) - sum(b"0000000")
                arr = tmpl * n
                for j in range(7):
                    w = 10 ** (6 - j)
                    cycle = b"".join(bytes([48 + d]) * w for d in range(10))
                    arr[1 + j::512] = (cycle * -(-n // len(cycle)))[:n]
                ds = [sum(b"%04d" % k) - 4 * 48 for k in range(10000)]
                sums = b"".join(b"%06o\0 " % (base + 7 * 48 + ds[i // 10000] + ds[i % 10000])
                                for i in range(n))
                for k in range(8):
                    arr[148 + k::512] = sums[k::8]
                p.stdin.write(arr)
                del arr
            for n, data in small_members(env):
                p.stdin.write(tar_member(n, data))
            p.stdin.write(tar_end())
            p.stdin.close()
            p.wait()
        os.rename(f"{path}.tmp.{os.getpid()}", path)
        diag(f"{fixture}: made in {time.monotonic() - t0:.1f} s, {os.path.getsize(path)} bytes")
    with open(path, "rb") as f:
        return f.read()


@case("A-million-dirs", "a tar of one million './' directory entries, then ABRT's members (zstd, "
      "48 KiB)", "413: the tar's own 488 MiB of headers pass the 256 MiB limit; httpd CPU under 5 s")
def _(env):
    from rtest import httpd_cpu_seconds
    body = million(env, "dirs", "million-dot.tar.zst")
    cpu0 = httpd_cpu_seconds(env.srv)
    obs = refused(env, "a million ./ entries", body, 413, ZST,
                  elog=r"refused task \d+: unpacks to more than \d+ MiB")
    cpu = httpd_cpu_seconds(env.srv) - cpu0
    ok(cpu < 5, f"a million ./ entries: httpd spent {cpu:.2f} s of CPU")
    return obs + f"; {len(body) // 1024} KiB body"


@case("A-million-members", "a tar of one million distinct empty members m0000000... (zstd)",
      "413 (the contract puts the size before the members: 488 MiB of headers); httpd CPU under 5 s")
def _(env):
    from rtest import httpd_cpu_seconds
    body = million(env, "names", "million-names.tar.zst")
    cpu0 = httpd_cpu_seconds(env.srv)
    obs = refused(env, "a million members", body, 413, ZST,
                  elog=r"refused task \d+: unpacks to more than \d+ MiB")
    cpu = httpd_cpu_seconds(env.srv) - cpu0
    ok(cpu < 5, f"a million members: httpd spent {cpu:.2f} s of CPU")
    return obs + f"; {len(body) // 1024} KiB body"


@case("A-nested-coredump", "the coredump member is itself a tar.xz of a crash",
      "201; the task fails: log 'is not an ELF core file'")
def _(env):
    inner = crash_tar(env)
    t, obs = task_case(env, "tar.xz as the coredump", "FINISHED_FAILURE",
                       r"ERROR .*not an ELF core file.*", core=inner)
    return obs


@case("A-nested-coredump-xz", "coredump.xz holding an xz'd tar instead of a core",
      "201; the task fails: log 'is not an ELF core file'")
def _(env):
    inner = compress(crash_tar(env, None), "xz")
    t, obs = task_case(env, "coredump.xz of a tar", "FINISHED_FAILURE",
                       r"ERROR .*not an ELF core file.*", core=inner, core_member="coredump.xz",
                       compression=None)
    return obs


@case("A-nested-member", "a member 'inner.tar.xz' (an archive inside the archive)",
      "403 naming 'inner.tar.xz'; error log: refused task N")
def _(env):
    body = make_tar(small_members(env) + [("inner.tar.xz", crash_tar(env))], "xz")
    return refused(env, "archive in the archive", body, 403, names=("inner.tar.xz",),
                   elog=r"refused task \d+: .*inner\.tar\.xz.*")


def bad_member(env, what, extra_blocks, name_shown, ctype=TAR, first=False):
    """A plain tar: ABRT's members and extra_blocks (raw tar blocks)."""
    good = b"".join(tar_member(n, d) for n, d in small_members(env))
    body = (extra_blocks + good if first else good + extra_blocks) + tar_end()
    return refused(env, what, body, 403, ctype, names=(name_shown,) if name_shown else (),
                   elog=r"refused task \d+: .*")


@case("A-dotdot", "member '../MARK'", "403 naming '../MARK'")
def _(env):
    n = f"../{env.marker}"
    return bad_member(env, "../ member", tar_member(n, b"x"), n)


@case("A-dotdot-inner", "member 'coredump/../../MARK'", "403 naming it")
def _(env):
    n = f"coredump/../../{env.marker}"
    return bad_member(env, "inner ../ member", tar_member(n, b"x"), n, first=True)


@case("A-absolute", "member '/tmp/MARK'", "403 naming '/tmp/MARK'")
def _(env):
    n = f"/tmp/{env.marker}"
    return bad_member(env, "absolute member", tar_member(n, b"x"), n)


@case("A-symlink", "member 'coredump' a symlink to /etc/shadow", "403 naming 'coredump'")
def _(env):
    blocks = tar_member("coredump", type_=tarfile.SYMTYPE, linkname="/etc/shadow")
    good = b"".join(tar_member(n, d) for n, d in small_members(env, skip=("coredump",)))
    return refused(env, "symlink coredump", blocks + good + tar_end(), 403, TAR,
                   names=("coredump",), elog=r"refused task \d+: .*coredump.*")


@case("A-symlink-then-file", "symlink 'package' -> /tmp/MARK, then a regular 'package' written "
      "through it", "403 naming 'package'; /tmp/MARK never created")
def _(env):
    blocks = tar_member("package", type_=tarfile.SYMTYPE, linkname=f"/tmp/{env.marker}")
    good = b"".join(tar_member(n, d) for n, d in small_members(env))
    return refused(env, "symlink then file", blocks + good + tar_end(), 403, TAR,
                   names=("package",), elog=r"refused task \d+: .*package.*")


@case("A-hardlink", "member 'coredump' a hard link to /etc/passwd", "403 naming 'coredump'")
def _(env):
    blocks = tar_member("coredump", type_=tarfile.LNKTYPE, linkname="/etc/passwd")
    good = b"".join(tar_member(n, d) for n, d in small_members(env, skip=("coredump",)))
    return refused(env, "hard link coredump", blocks + good + tar_end(), 403, TAR,
                   names=("coredump",), elog=r"refused task \d+: .*coredump.*")


@case("A-hardlink-member", "member 'os_release' a hard link to the earlier 'package'",
      "403 naming 'os_release'")
def _(env):
    good = b"".join(tar_member(n, d) for n, d in small_members(env, skip=("os_release",)))
    blocks = tar_member("os_release", type_=tarfile.LNKTYPE, linkname="package")
    return refused(env, "hard link to a member", good + blocks + tar_end(), 403, TAR,
                   names=("os_release",), elog=r"refused task \d+: .*os_release.*")


@case("A-chardev", "member 'coredump' a character device (1,3)", "403 naming 'coredump'")
def _(env):
    ti = tarfile.TarInfo("coredump")
    ti.type, ti.devmajor, ti.devminor = tarfile.CHRTYPE, 1, 3
    blocks = ti.tobuf(format=tarfile.GNU_FORMAT)
    good = b"".join(tar_member(n, d) for n, d in small_members(env, skip=("coredump",)))
    return refused(env, "char device", blocks + good + tar_end(), 403, TAR, names=("coredump",),
                   elog=r"refused task \d+: .*coredump.*")


@case("A-blockdev", "member 'executable' a block device (8,0)", "403 naming 'executable'")
def _(env):
    ti = tarfile.TarInfo("executable")
    ti.type, ti.devmajor, ti.devminor = tarfile.BLKTYPE, 8, 0
    good = b"".join(tar_member(n, d) for n, d in small_members(env, skip=("executable",)))
    return refused(env, "block device", good + ti.tobuf(format=tarfile.GNU_FORMAT) + tar_end(),
                   403, TAR, names=("executable",), elog=r"refused task \d+: .*executable.*")


@case("A-fifo", "member 'coredump' a FIFO", "403 naming 'coredump'")
def _(env):
    blocks = tar_member("coredump", type_=tarfile.FIFOTYPE)
    good = b"".join(tar_member(n, d) for n, d in small_members(env, skip=("coredump",)))
    return refused(env, "FIFO", blocks + good + tar_end(), 403, TAR, names=("coredump",),
                   elog=r"refused task \d+: .*coredump.*")


@case("A-dir", "a directory 'crash/' holding 'crash/MARK'", "403 naming 'crash/'")
def _(env):
    blocks = tar_member("crash/", type_=tarfile.DIRTYPE, mode=0o755) + \
        tar_member(f"crash/{env.marker}", b"x")
    return bad_member(env, "directory with contents", blocks, "crash")


@case("A-name-huge", "a member whose name is 64 KiB (pax path)", "403; the body stays short")
def _(env):
    n = "A" * 65536 + env.marker
    blocks = tar_member(n, b"x", fmt=tarfile.PAX_FORMAT)
    return bad_member(env, "64 KiB name", blocks, "AAAA")


@case("A-name-not-utf8", "a member named b'\\xff\\xfe' + MARK (not UTF-8)",
      "403; the body is valid UTF-8 and shows the bytes escaped")
def _(env):
    n = b"\xff\xfe" + env.marker.encode()
    return bad_member(env, "name not UTF-8", tar_member(n, b"x"), env.marker)


@case("A-name-newline", "member 'coredump\\n[date] forged MARK' (a newline in the name)",
      "403; no line of the error log begins with the forged text")
def _(env):
    n = f"coredump\n[Mon Jan 01 00:00:00 2024] [retrace:error] forged {env.marker}"
    obs = bad_member(env, "newline in a name", tar_member(n, b"x"), env.marker)
    forged = [line for line in env.new_log().splitlines() if line.startswith("[Mon Jan 01")]
    ok(not forged, "newline in a name: no forged line in the error log", forged)
    return obs + "; no forged log line"


@case("A-over-cap", "member 'package' of 129 bytes (cap 128)", "403 naming 'package'")
def _(env):
    body = make_tar(small_members(env, skip=("package",)) + [("package", b"p" * 129)], None)
    return refused(env, "package over its cap", body, 403, TAR, names=("package",),
                   elog=r"refused task \d+: .*package.*")


@case("A-duplicate", "member 'package' twice", "403 naming 'package'")
def _(env):
    body = make_tar(small_members(env) + [("package", b"other-1-1.fc40\n")], None)
    return refused(env, "duplicate package", body, 403, TAR, names=("package",),
                   elog=r"refused task \d+: .*package.*")


@case("A-duplicate-core", "both 'coredump' and 'coredump.xz'", "403 naming 'coredump.xz'")
def _(env):
    body = make_tar(small_members(env) + [("coredump.xz", compress(b"\x7fELF", "xz"))], None)
    return refused(env, "coredump and coredump.xz", body, 403, TAR, names=("coredump",),
                   elog=r"refused task \d+: .*coredump.*")


# --- HTTP --------------------------------------------------------------------------

def head(method, path, headers, body=b""):
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body


@case("H-cl-short", "Content-Length half of the body (the archive is cut)",
      "415; error log: refused task N: not a valid; the surplus is no request")
def _(env):
    body = crash_tar(env, None)
    data = head("POST", "/create", [("Content-Type", TAR), ("Content-Length", len(body) // 2)], body)
    return http_case(env, "short Content-Length", lambda: raw_exchange(env, data), (415, 400),
                     elog=r"refused task \d+: not a valid .*")


@case("H-cl-long", "Content-Length 1 MiB more than the body, then the client half-closes",
      "400; error log: upload of task N ended early")
def _(env):
    body = crash_tar(env, None)

    def send():
        with connect(env.srv, timeout=15) as c:
            c.send(head("POST", "/create", [("Content-Type", TAR),
                                            ("Content-Length", len(body) + MIB)], body))
            c.shutdown_write()
            return c.read_response(15)
    return http_case(env, "long Content-Length", send, (400, None),
                     elog=r"upload of task \d+ ended early")


@case("H-trickle", "a body trickled one byte a second (RequestReadTimeout body=5,MinRate=500)",
      "408 within 15 s; httpd answers others meanwhile; the task being uploaded is invisible")
def _(env):
    if not ok(env.has_reqtimeout, "mod_reqtimeout.so is available"):
        return "no mod_reqtimeout"
    body = crash_tar(env, None)
    result = {}

    def trickle():
        with connect(env.srv, timeout=30) as c:
            c.send(head("POST", "/create", [("Content-Type", TAR), ("Content-Length", len(body))]))
            t0 = time.monotonic()
            for i in range(30):
                try:
                    c.send(body[i:i + 1])
                except OSError:
                    break
                r = c.read_response(1.0)
                if r is not None or c.eof:
                    result["r"] = r
                    break
            result["t"] = time.monotonic() - t0
            if "r" not in result:
                result["r"] = c.read_response(10)
    th = threading.Thread(target=trickle)
    th.start()
    time.sleep(1.5)
    tasks_during = [n for n in os.listdir(os.path.join(env.srv.spool, "tasks")) if n not in env.tasks]
    r = env.srv.get("/settings")
    ok(r.status == 200, "trickle: httpd answers /settings meanwhile")
    ok("running_tasks 0" in r.text, "trickle: the upload in progress is not counted as a task",
       r.text)
    for tid in tasks_during:
        eq(env.srv.get(f"/{tid}", headers={"X-Task-Password": "x" * 32}).status, 404,
           "trickle: the task being uploaded answers 404 (it has no status yet)")
    th.join(40)
    took = result.get("t", 99)
    obs = http_case(env, "trickled body", lambda: result.get("r"), (408, None),
                    elog=r"upload of task \d+ ended early")
    ok(took < 15, f"trickle: cut off after {took:.1f} s")
    return obs + f"; cut after {took:.0f} s"


@case("H-trickle-head", "request headers trickled one byte a second",
      "408 or the connection closed, within 15 s")
def _(env):
    if not env.has_reqtimeout:
        return "no mod_reqtimeout"
    data = head("POST", "/create", [("Content-Type", TAR), ("Content-Length", 10)])
    t0 = time.monotonic()

    def send():
        with connect(env.srv, timeout=30) as c:
            for i in range(len(data)):
                try:
                    c.send(data[i:i + 1])
                except OSError:
                    break
                r = c.read_response(1.0)
                if r is not None or c.eof:
                    return r
            return c.read_response(5)
    obs = http_case(env, "trickled headers", send, (408, None), request_line=r"[^\"]*")
    took = time.monotonic() - t0
    ok(took < 15, f"trickled headers: cut off after {took:.1f} s")
    return obs + f"; cut after {took:.0f} s"


@case("H-header-huge", "one 100 KiB header line", "400 (LimitRequestFieldSize), before the module")
def _(env):
    data = head("POST", "/create", [("Content-Type", TAR), ("X-Junk", "j" * 102400),
                                    ("Content-Length", 0)])
    return http_case(env, "100 KiB header", lambda: raw_exchange(env, data), 400,
                     request_line=r"POST /create")


@case("H-headers-many", "1000 header lines", "400 (LimitRequestFields), before the module")
def _(env):
    data = head("POST", "/create", [("Content-Type", TAR)] + [(f"X-H{i}", "v") for i in range(1000)]
                + [("Content-Length", 0)])
    return http_case(env, "1000 headers", lambda: raw_exchange(env, data), 400,
                     request_line=r"POST /create")


@case("H-tasktype-bad", "X-Task-Type '2', '-1', 'abc', '1 0', '1.0', '0x0', '00', '\u0661' "
      "(Arabic-Indic one), '' and 8000 nines, each with a valid archive",
      "400 each, the body quoting at most 32 characters of it")
def _(env):
    body = crash_tar(env)
    obs = []
    for v in ("2", "-1", "abc", "1 0", "1.0", "0x0", "00", "\u0661", "", "9" * 8000):
        what = f"X-Task-Type {v[:12]!r}"
        data = head("POST", "/create", [("Content-Type", XZ), ("Content-Length", len(body)),
                                        ("X-Task-Type", v)], body)
        r = raw_exchange(env, data)
        env.note_response(r)
        ok(r is not None and r.status == 400, f"{what}: 400", r)
        ok(r is not None and len(r.body) < 400, f"{what}: a short body", r)
        obs.append(str(r.status if r else None))
    http_case(env, "X-Task-Type in the access log", lambda: r, 400)
    return "/".join(sorted(set(obs))) + " for all 10"


@case("H-tasktype-1", "X-Task-Type 1 (keep the environment) on a server without "
      "RetraceAllowDebugTasks", "403")
def _(env):
    return refused(env, "X-Task-Type 1", crash_tar(env), 403, headers={"X-Task-Type": "1"})


def finished_task(env):
    """One task run to success, shared by the id and password cases."""
    if getattr(env, "shared_task", None) is None:
        t, _ = task_case(env, "a task to attack", "FINISHED_SUCCESS", r"INFO gdb ran .*")
        env.shared_task = t
    return env.shared_task


def get_raw(env, path, pw=None):
    hdrs = [("X-Task-Password", pw)] if pw is not None else []
    data = head("GET", path, hdrs)
    return lambda: raw_exchange(env, data)


def second_task(env):
    """Another finished task: the one the id tricks try to reach."""
    if getattr(env, "other_task", None) is None:
        t, _ = task_case(env, "a second task", "FINISHED_SUCCESS", r"INFO gdb ran .*")
        env.other_task = t
    return env.other_task


def id_case(env, label, paths, want=(404, 400)):
    """Requests with task A's password for paths built from A's id (ID)
    and B's (OTHER). None may answer with B's files, a password hash or
    a file of the host; each status is in want, or 200/403 when httpd
    normalised the path to an endpoint of the API (A's own with its
    password: its own file; B's: 403)."""
    t = finished_task(env)
    other = second_task(env)
    obs = set()
    for p in paths:
        p = p.replace("OTHER", other.id).replace("ID", t.id)
        r = get_raw(env, p, t.pw)()
        env.note_response(r)
        if r is not None and r.header("x-task-password"):
            t.pw = r.header("x-task-password")
        body = r.body if r is not None else b""
        leak = [w for w, s in (("the other task's backtrace", other.backtrace[:300].encode()),
                               ("the other task's log", other.log[:120].encode()),
                               ("a password hash", b"sha256$"), ("/etc/passwd", b"root:x:0:0"))
                if s and s in body]
        ok(not leak, f"{label} {p!r}: serves nothing it must not", leak)
        ok(r is not None and (r.status in want or r.status in (200, 403)),
           f"{label} {p!r}: {'/'.join(map(str, want))} (or the API's answer for the "
           "normalised path)", r)
        obs.add(str(r.status if r else None))
    eq(t.get().status, 200, f"{label}: the task's password still works")
    eq(other.get().status, 200, f"{label}: the other task's password still works")
    return "/".join(sorted(obs)) + f" for {len(paths)} paths; nothing of the other task, no hash, " \
        "no host file; both passwords still work"


@case("H-id-dotdot", "with task A's password: /../A, /A/../B/backtrace, /A/log/../../B/log, "
      "/A/.., /A/../../etc/passwd", "nothing of B, of the host or a hash served: B's paths "
      "403, others 404/400 or A's own answer")
def _(env):
    return id_case(env, "..", ["/../ID", "/ID/../OTHER/backtrace", "/ID/log/../../OTHER/log",
                               "/ID/..", "/ID/../../etc/passwd"])


@case("H-id-pct2e", "with A's password: /%2e%2e/A, /A/%2e%2e/B/backtrace, /A%2fbacktrace, "
      "/%2e%2e%2fetc%2fpasswd, /A/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
      "nothing of B, of the host or a hash served (404, 400, or 403 for B)")
def _(env):
    return id_case(env, "%2e%2e", ["/%2e%2e/ID", "/ID/%2e%2e/OTHER/backtrace", "/ID%2fbacktrace",
                                   "/%2e%2e%2fetc%2fpasswd", "/ID/%2e%2e%2f%2e%2e%2fetc%2fpasswd"])


@case("H-id-leading-zero", "/0A (10 characters), /00A/log, /0 + 8 digits", "404")
def _(env):
    return id_case(env, "leading zero", ["/0ID", "/00ID/log", "/0" + "12345678"], (404,))


@case("H-id-10-digits", "/A0, /1234567890, /9999999999/backtrace", "404")
def _(env):
    return id_case(env, "10 digits", ["/ID0", "/1234567890", "/9999999999/backtrace"], (404,))


@case("H-id-other", "/+A, /-1, /A%00, /A%20, /A/backtrace%00.txt, /A/retrace_backtrace, "
      "/A/password, /A/crash/coredump, /A/status", "404 each")
def _(env):
    return id_case(env, "odd ids", ["/+ID", "/-1", "/ID%00", "/ID%20", "/ID/backtrace%00.txt",
                                    "/ID/retrace_backtrace", "/ID/password", "/ID/crash/coredump",
                                    "/ID/status"], (404, 400))


def pw_case(env, label, pws):
    t = finished_task(env)
    obs = set()
    for pw in pws:
        for sub in ("", "/log", "/backtrace", "/exploitable"):
            r = get_raw(env, f"/{t.id}{sub}", pw)()
            ok(r is not None and r.status in (403, 400), f"{label} on /ID{sub}: 403", r)
            ok(r is None or not r.header("x-task-password"), f"{label} on /ID{sub}: no new password")
            ok(r is None or t.backtrace[:100].encode() not in r.body,
               f"{label} on /ID{sub}: nothing of the task served")
            obs.add(str(r.status if r else None))
    eq(t.get().status, 200, f"{label}: the real password still works")
    return "/".join(sorted(obs)) + f" on each endpoint; the password still works"


@case("H-pw-wrong", "a wrong password, the right one lower-cased, one character changed",
      "403 on /ID, /log, /backtrace, /exploitable; no password consumed")
def _(env):
    t = finished_task(env)
    flip = t.pw[:-1] + ("A" if t.pw[-1] != "A" else "B")
    return pw_case(env, "wrong password", ["0" * 32, t.pw.lower() if t.pw.lower() != t.pw
                                           else t.pw.upper(), flip])


@case("H-pw-missing", "no X-Task-Password header, and an empty one", "403 on each endpoint")
def _(env):
    return pw_case(env, "missing password", [None, ""])


@case("H-pw-overlong", "passwords of 33 characters (the right one plus one), 4000 and 8000",
      "403 (or 400 past httpd's field limit) on each endpoint")
def _(env):
    t = finished_task(env)
    return pw_case(env, "overlong password", [t.pw + "x", "x" * 4000, t.pw * 250])


# --- crash data ------------------------------------------------------------------------

@case("D-package-shell", "package 'selfcrash-1.0-1.fc40;touch /tmp/MARK'",
      "the task fails: log 'is not in the repository' or a parse error; nothing run")
def _(env):
    t, obs = task_case(env, "package with ;", "FINISHED_FAILURE", r"ERROR .*package.*",
                       package=f"selfcrash-1.0-1.fc40;touch /tmp/{env.marker}")
    return obs


@case("D-package-subst", "package '$(touch /tmp/MARK)-1.0-1.fc40' and backquotes",
      "the task fails: log names the package, quoted")
def _(env):
    t, obs = task_case(env, "package with $( )", "FINISHED_FAILURE", r"ERROR .*package.*",
                       package=f"$(touch /tmp/{env.marker})`touch /tmp/{env.marker}`-1.0-1.fc40")
    return obs


@case("D-package-quotes", "package 'self\"crash\\'-1.0-1.fc40'", "the task fails; log names it")
def _(env):
    t, obs = task_case(env, "package with quotes", "FINISHED_FAILURE", r"ERROR .*package.*",
                       package="self\"crash'-1.0-1.fc40")
    return obs


@case("D-package-newline", "package with a newline and a forged log line after it",
      "the task fails; no forged line in its log")
def _(env):
    forged = f"[2024-01-01 00:00:00] INFO forged {env.marker}"
    t, obs = task_case(env, "package with a newline", "FINISHED_FAILURE", r"ERROR .*package.*",
                       package=f"selfcrash-1.0-1.fc40\n{forged}".encode() + b"\n",
                       forged="[2024-01-01")
    return obs


@case("D-package-1mib", "package of 1 MiB of text", "403 naming 'package' (cap 128 bytes)")
def _(env):
    body = make_tar(members(env, package=b"selfcrash-1.0-1.fc40 " * 50000), "xz")
    return refused(env, "1 MiB package", body, 403, names=("package",),
                   elog=r"refused task \d+: .*package.*")


@case("D-exe-shell", "executable '/usr/bin/selfcrash; touch /tmp/MARK'",
      "the retrace succeeds with the executable the core names (/usr/bin/selfcrash); "
      "no command run")
def _(env):
    t, obs = task_case(env, "executable with ;", "FINISHED_SUCCESS",
                       r"INFO The executable is /usr/bin/selfcrash in the root",
                       executable=f"/usr/bin/selfcrash; touch /tmp/{env.marker}")
    return obs


@case("D-exe-gdbquote", "executable '/usr/bin/selfcrash\" -ex \"shell touch /tmp/MARK' "
      "(escaping gdb's quotes)", "the retrace succeeds with the executable the core names; "
      "the name never reaches gdb; no command run")
def _(env):
    t, obs = task_case(env, "executable with a quote", "FINISHED_SUCCESS",
                       r"INFO The executable is /usr/bin/selfcrash in the root",
                       executable=f'/usr/bin/selfcrash" -ex "shell touch /tmp/{env.marker}')
    return obs


@case("D-exe-newline", "executable with a newline, then 'shell touch /tmp/MARK' and a forged "
      "log line", "the retrace succeeds with the executable the core names; no forged log line")
def _(env):
    forged = f"[2024-01-01 00:00:00] ERROR forged {env.marker}"
    t, obs = task_case(env, "executable with a newline", "FINISHED_SUCCESS",
                       r"INFO The executable is /usr/bin/selfcrash in the root",
                       executable=f"/usr/bin/selfcrash\nshell touch /tmp/{env.marker}\n{forged}"
                       .encode() + b"\n", forged="[2024-01-01")
    return obs


@case("D-exe-dotdot", "executable '/../../../../tmp/MARK/../../usr/bin/selfcrash'",
      "the retrace succeeds on the canonical /usr/bin/selfcrash inside the root")
def _(env):
    t, obs = task_case(env, "executable with ..", "FINISHED_SUCCESS", r"INFO gdb ran .*",
                       executable=f"/../../../../tmp/{env.marker}/../../usr/bin/selfcrash")
    return obs


@case("D-exe-1mib", "executable of 1 MiB", "403 naming 'executable' (cap 512 bytes)")
def _(env):
    body = make_tar(members(env, executable=b"/usr/bin/x;" * 100000), "xz")
    return refused(env, "1 MiB executable", body, 403, names=("executable",),
                   elog=r"refused task \d+: .*executable.*")


@case("D-release-shell", "os_release 'Fedora release 40 (Forty); touch /tmp/MARK $(id)'",
      "the retrace runs as fedora-40-x86_64 (the rest of the line ignored); nothing run")
def _(env):
    t, obs = task_case(env, "os_release with ;", "FINISHED_SUCCESS",
                       r"INFO Release fedora-40-x86_64.*",
                       os_release=f"Fedora release 40 (Forty); touch /tmp/{env.marker} $(id)\n")
    return obs


@case("D-release-quotes", "os_release 'Fedora release \"40\\' (Forty)'",
      "the task fails: the release is not understood")
def _(env):
    t, obs = task_case(env, "os_release with quotes", "FINISHED_FAILURE", r"ERROR .*",
                       os_release="Fedora release \"40' (Forty)\n")
    return obs


@case("D-release-newline", "os_release with a forged log line after a newline",
      "no forged line in the task log")
def _(env):
    forged = f"[2024-01-01 00:00:00] INFO forged {env.marker}"
    t, obs = task_case(env, "os_release with a newline", "FINISHED_FAILURE", r"ERROR .*",
                       os_release=f"Fedora release 40 (Forty)\n{forged}\n",
                       forged="[2024-01-01")
    return obs


@case("D-release-1mib", "os_release of 1 MiB", "403 naming 'os_release' (cap 128 bytes)")
def _(env):
    body = make_tar(members(env, os_release=b"Fedora release 40 (Forty)\n" * 40000), "xz")
    return refused(env, "1 MiB os_release", body, 403, names=("os_release",),
                   elog=r"refused task \d+: .*os_release.*")


@case("D-packages-1mib", "'packages' of 1 MiB of shell metacharacters and newlines (cap 1 MiB)",
      "201; the retrace succeeds (the list is not executed)")
def _(env):
    text = (f"$(touch /tmp/{env.marker}) `id`; ' \" \\\n" * 30000).encode()[:MIB]
    t, obs = task_case(env, "1 MiB packages", "FINISHED_SUCCESS", r"INFO gdb ran .*",
                       extra=[("packages", text)])
    return obs


# --- cores -----------------------------------------------------------------------------

@case("C-not-elf", "a coredump that is text, not ELF", "the task fails: 'is not an ELF core file'")
def _(env):
    return task_case(env, "not ELF", "FINISHED_FAILURE", r"ERROR .*is not an ELF core file.*",
                     core=b"This is not a core dump.\n" * 400)[1]


@case("C-truncated", "the real core cut to a third", "the task fails: 'the core is cut short'")
def _(env):
    core = env.fx.core
    return task_case(env, "truncated core", "FINISHED_FAILURE", r"ERROR .*the core is cut short.*",
                     core=core[:len(core) // 3])[1]


@case("C-empty", "a coredump of 0 bytes", "the task fails with an ERROR line")
def _(env):
    return task_case(env, "empty core", "FINISHED_FAILURE", r"ERROR .*core.*", core=b"")[1]


@case("C-other-arch", "the real x86_64 core with e_machine patched to AArch64",
      "the task fails: release fedora-40-aarch64 is not supported")
def _(env):
    core = hostile.core_set_machine(env.fx.core, 183)
    return task_case(env, "AArch64 core", "FINISHED_FAILURE", r"ERROR .*aarch64.*", core=core)[1]


@case("C-other-arch-s390", "the real core with e_machine patched to s390 (64-bit, little-endian "
      "bytes)", "the task fails with an ERROR line")
def _(env):
    core = hostile.core_set_machine(env.fx.core, 22)
    return task_case(env, "s390 core", "FINISHED_FAILURE", r"ERROR .*", core=core)[1]


@case("C-lying-build-id", "the core's libc build-id replaced by that of the 'threads' program "
      "(a package it never mapped)", "the retrace runs and says so; threads is fetched, nothing else")
def _(env):
    old = bytes.fromhex(env.fx.libc_id)
    new = bytes.fromhex(env.fx.threads_id)
    core = env.fx.core.replace(old, new)
    ok(core != env.fx.core, "lying build-id: (setup) the libc build-id is in the core")
    t, obs = task_case(env, "lying build-id", "FINISHED_SUCCESS", r"INFO gdb ran .*", core=core)
    if t:
        ok("threads-1.0-1.fc40" in t.log, "lying build-id: the log shows the package the lie names",
           t.log)
    return obs


@case("C-lying-path", "the core's NT_FILE names its executable "
      "'/../../../../../../../../../../tmp/MARK/../../usr/bin/selfcrash'",
      "the retrace runs; no link or directory is made outside the task's root")
def _(env):
    new = f"/../../../../../../../../../../tmp/{env.marker}/../../usr/bin/selfcrash".encode()
    core = hostile.core_rename_mapping(env.fx.core, b"/usr/bin/selfcrash", new)
    t, obs = task_case(env, "lying NT_FILE path", "FINISHED_SUCCESS", r"INFO gdb ran .*", core=core)
    return obs


@case("C-lying-path-etc", "the core's NT_FILE names libc '/etc/shadow' and the loader "
      "'/proc/self/mem'", "the retrace runs; the host files are never read or linked")
def _(env):
    core = hostile.core_rename_mapping(env.fx.core, b"/usr/lib64/libc.so.6", b"/etc/shadow")
    core = hostile.core_rename_mapping(core, b"/usr/lib64/ld-linux-x86-64.so.2", b"/proc/self/mem")
    t, obs = task_case(env, "NT_FILE naming host files", "FINISHED_SUCCESS", r"INFO gdb ran .*",
                       core=core)
    if t:
        ok("root:" not in t.backtrace and "root:" not in t.log,
           "NT_FILE naming host files: nothing of /etc/shadow shows", t.log)
    return obs


@case("C-huge-note", "the real core with a 64 MiB note added to its PT_NOTE (xz: a few KiB)",
      "the retrace runs (the unknown note skipped)")
def _(env):
    core = hostile.core_with_huge_note(env.fx.core, 64 * MIB)
    t, obs = task_case(env, "64 MiB note", "FINISHED_SUCCESS", r"INFO gdb ran .*", core=core)
    return obs


@case("C-zst-bomb", "coredump.zst of 512 KiB expanding to 16 GiB of zeros",
      "the task fails: 'unpacks to more than 256 MiB'; no partial core left")
def _(env):
    core = zstd_rle_bomb(b"\x7fELF", 16 * GIB)
    t, obs = task_case(env, "coredump.zst bomb", "FINISHED_FAILURE",
                       r"ERROR .*unpacks to more than 256 MiB.*", core=core,
                       core_member="coredump.zst", compression=None)
    return obs


# --- the repository ------------------------------------------------------------------------

def hostile_task(env):
    """One retrace whose debuginfo is hostile-debuginfo (fedora-41)."""
    if getattr(env, "hostile_task", None) is None:
        t, obs = task_case(env, "hostile debuginfo", "FINISHED_SUCCESS", r"INFO gdb ran .*",
                           os_release=F41, timeout=180)
        env.hostile_task = (t, obs)
    return env.hostile_task


def hostile_tree(env):
    return os.path.join(env.srv.state, "cache", "packages",
                        "hostile-debuginfo-1-1.fc41.x86_64@fedora-41-x86_64")


@case("R-used", "a retrace whose debuginfo package is hostile-debuginfo (everything below)",
      "the retrace succeeds with the package's real debug file; source lines in the backtrace")
def _(env):
    t, obs = hostile_task(env)
    if t:
        ok("hostile-debuginfo-1-1.fc41.x86_64" in t.log, "hostile debuginfo: the log lists it",
           t.log)
        ok(re.search(r"store_result \(.*\) at .*selfcrash\.c:\d+", t.backtrace),
           "hostile debuginfo: its debug file gives the crash frame a source line", t.backtrace[:3000])
    return obs


def tree_link(env, rel):
    p = os.path.join(hostile_tree(env), rel)
    return os.readlink(p) if os.path.islink(p) else None


def inside(env, rel, target):
    """Whether a link at rel with this target resolves inside the tree."""
    tree = hostile_tree(env)
    if target.startswith("/"):
        return False
    full = os.path.normpath(os.path.join(tree, os.path.dirname(rel), target))
    return full == tree or full.startswith(tree + "/")


@case("R-abs-symlink", "symlinks to /etc/passwd, /tmp/rtpwned-abslink and /",
      "rewritten relative, pointing inside the package's tree")
def _(env):
    hostile_task(env)
    got = {}
    for n in ("abs-passwd", "abs-tmp", "rootlink"):
        rel = f"usr/lib/debug/hostile/{n}"
        tgt = tree_link(env, rel)
        got[n] = tgt
        ok(tgt is not None and inside(env, rel, tgt), f"absolute symlink {n} -> {tgt!r}: inside",
           tgt)
    return "; ".join(f"{k} -> {v}" for k, v in got.items())


@case("R-climb-symlink", "symlinks '../' x10 '/etc/shadow' and 'rootlink/../../../tmp'",
      "clamped at the tree's top, pointing inside it")
def _(env):
    hostile_task(env)
    got = {}
    for n in ("climb-shadow", "through-link"):
        rel = f"usr/lib/debug/hostile/{n}"
        tgt = tree_link(env, rel)
        got[n] = tgt
        ok(tgt is not None and inside(env, rel, tgt), f"climbing symlink {n} -> {tgt!r}: inside",
           tgt)
    return "; ".join(f"{k} -> {v}" for k, v in got.items())


@case("R-setuid", "a setuid-root and a setgid file", "extracted without the setuid/setgid bits, "
      "owned by the worker's user")
def _(env):
    hostile_task(env)
    out = []
    for n in ("suid", "sgid"):
        p = os.path.join(hostile_tree(env), "usr/lib/debug/hostile", n)
        st = os.lstat(p) if os.path.lexists(p) else None
        ok(st is not None and not st.st_mode & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX),
           f"{n}: no setuid, setgid or sticky bit", oct(st.st_mode) if st else "missing")
        if st and env.srv.user:
            import pwd
            eq(st.st_uid, pwd.getpwnam(env.srv.user).pw_uid, f"{n}: owned by the worker's user")
        out.append(f"{n} {oct(st.st_mode & 0o7777) if st else 'missing'}")
    return ", ".join(out)


@case("R-devices", "a character device (1,3), a block device (8,0) and a FIFO",
      "skipped: none is created")
def _(env):
    hostile_task(env)
    tree = hostile_tree(env)
    found = []
    for root, dirs, files in os.walk(tree):
        for n in files:
            st = os.lstat(os.path.join(root, n))
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) or stat.S_ISFIFO(st.st_mode) \
                    or stat.S_ISSOCK(st.st_mode):
                found.append(os.path.relpath(os.path.join(root, n), tree))
    ok(not found, "no device node, FIFO or socket in the extracted tree", found)
    absent = [n for n in ("null2", "sda", "fifo")
              if not os.path.lexists(os.path.join(tree, "usr/lib/debug/hostile", n))]
    eq(len(absent), 3, "null2, sda and fifo are not there")
    return f"{len(found)} special files in the tree"


@case("R-sparse", "a 1 GiB sparse file holding 'hello' at 768 MiB",
      "extracted sparse: 1 GiB long, a few KiB on disk, the data in place")
def _(env):
    hostile_task(env)
    p = os.path.join(hostile_tree(env), "usr/lib/debug/hostile/sparse")
    st = os.stat(p)
    eq(st.st_size, hostile_fixtures.SPARSE_SIZE, "sparse file: its full length")
    ok(st.st_blocks * 512 < MIB, f"sparse file: {st.st_blocks * 512} bytes on disk")
    with open(p, "rb") as f:
        f.seek(hostile_fixtures.SPARSE_AT)
        eq(f.read(5), b"hello", "sparse file: the data at its offset")
    return f"{st.st_size} bytes long, {st.st_blocks * 512} on disk"


@case("R-gdbpy", "*-gdb.py and *-gdb.gdb auto-load scripts (print RTPWNED, touch a file, "
      "run id) beside the executable's, the debug file's and in share/gdb/auto-load",
      "never run: no RTPWNED in the backtrace, no rtpwned file anywhere; the bait works in a "
      "gdb without the worker's settings")
def _(env):
    t, _ = hostile_task(env)
    ok(t and "RTPWNED" not in t.backtrace and "RTPWNED" not in t.log,
       "auto-load scripts: nothing they print appears", t.backtrace[:2000] if t else None)
    # The bait is real: gdb with auto-load allowed runs it (in a root made
    # of the same cached trees, outside any sandbox, as root here).
    pk = os.path.join(env.srv.state, "cache", "packages")
    root = os.path.join(env.work, "bait-root")
    bait_dir = os.path.join(env.work, "bait-out")
    os.makedirs(bait_dir, exist_ok=True)
    for n in os.listdir(pk):
        if os.path.isdir(os.path.join(pk, n)) and not n.startswith(".") and \
                (n.startswith("selfcrash-1.0") or n.startswith("hostile-debuginfo")):
            subprocess.run(["cp", "-a", "--reflink=auto", os.path.join(pk, n) + "/.", root],
                           check=True)
    for d in ("usr/lib/debug/hostile",):
        subprocess.run(["rm", "-rf", os.path.join(root, d, "sparse")])
    p = subprocess.run(["gdb", "-batch", "-nx", "-iex", "set auto-load safe-path /",
                        "-iex", "set debuginfod enabled off", "-iex", f"set sysroot {root}",
                        "-iex", f"set debug-file-directory {root}/usr/lib/debug",
                        "-ex", f"file {root}/usr/bin/selfcrash"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=dict(os.environ, RTPWNED_DIR=bait_dir), timeout=60)
    out = p.stdout.decode(errors="replace")
    ran = "RTPWNED" in out
    ok(ran, "auto-load scripts: (the bait) a gdb with auto-load allowed runs them", out[-2000:])
    subprocess.run(["rm", "-rf", root, bait_dir])
    strays = [s for s in subprocess.run(["find", "/tmp", "/var/tmp", env.srv.state, "-maxdepth", "3",
                                         "-name", f"{hostile_fixtures.PWNED}*"],
                                        stdout=subprocess.PIPE).stdout.decode().split()]
    ok(not strays, "auto-load scripts: no rtpwned file exists", strays)
    return "never ran in the worker; the bait ran in plain gdb" if ran else "bait did not run"


@case("R-dotdot-payload", "a debuginfo RPM whose payload (grafted on a real header) has a member "
      "'./usr/lib/debug/../../../../../../../../../../tmp/MARK-dotdot'",
      "the task fails: the log names the package and the member; nothing written outside")
def _(env):
    t, obs = task_case(env, "'..' in a payload", "FINISHED_FAILURE",
                       r"ERROR .*dotdot-debuginfo.*\.\..*", os_release=F39)
    return obs


@case("R-abs-payload", "a debuginfo RPM whose payload has a member '/tmp/MARK-absname'",
      "the task fails: the log names the package and the member")
def _(env):
    t, obs = task_case(env, "absolute name in a payload", "FINISHED_FAILURE",
                       r"ERROR .*absname-debuginfo.*", os_release=F38)
    return obs


# --- the sandbox ---------------------------------------------------------------------------

def probe_gdb(env):
    """A retrace caught while gdb runs; gdb is stopped (SIGSTOP) while the
    probes look at it and from inside its namespaces. Returns the
    findings, once."""
    if getattr(env, "gdb_probe", None) is not None:
        return env.gdb_probe
    res = {}
    holder = {}

    def go():
        holder["t"], _ = task_case(env, "a retrace to probe", "FINISHED_SUCCESS", r"INFO gdb ran .*")
    th = threading.Thread(target=go)
    th.start()
    task_pid, gdb = catch_gdb_process(env.worker, 60)
    res["caught"] = gdb is not None
    if gdb:
        try:
            os.kill(gdb, 19)        # SIGSTOP
            with open(f"/proc/{gdb}/status") as f:
                res["status"] = f.read()
            res["gdb_netns"] = os.readlink(f"/proc/{gdb}/ns/net")
            res["our_netns"] = os.readlink("/proc/self/ns/net")
            with open(f"/proc/{gdb}/mountinfo") as f:
                res["mountinfo"] = f.read()
            ns = ["nsenter", "-t", str(gdb)]
            res["links"] = subprocess.run(ns + ["-n", "cat", "/proc/net/dev"],
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                          ).stdout.decode()
            code = (f"import socket\ns=socket.socket()\ns.settimeout(2)\n"
                    f"try:\n  s.connect(('127.0.0.1',{env.srv.port}));print('CONNECTED')\n"
                    f"except OSError as e:\n  print('REFUSED', e)\n"
                    f"try:\n  socket.create_connection(('1.1.1.1',80),2);print('CONNECTED')\n"
                    f"except OSError as e:\n  print('REFUSED', e)\n")
            res["connect"] = subprocess.run(ns + ["-n", sys.executable, "-c", code],
                                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT
                                            ).stdout.decode()
            # As root, with every capability, inside gdb's mounts.
            # As root, with every capability, inside gdb's mounts; in
            # /tmp as the sandbox's user (root of the host is not mapped
            # in its user namespace: its files could not be owned).
            writes = {}
            for p in ("/", "/usr", "/etc", "/retrace/root", "/retrace/root/usr/bin", "/retrace/cmd",
                      "/retrace/core", "/tmp"):
                cmd = ["/usr/bin/touch", os.path.join(p, f"{env.marker}-w")]
                if p == "/retrace/core":
                    cmd = ["/usr/bin/touch", "-c", p]
                who = ["-S", "65534", "-G", "65534"] if p == "/tmp" else []
                r = subprocess.run(ns + ["-m"] + who + cmd, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
                writes[p] = (r.returncode, r.stdout.decode().strip())
                if r.returncode == 0 and p != "/retrace/core":
                    subprocess.run(ns + ["-m"] + who + ["/usr/bin/rm", "-f", cmd[-1]])
            res["writes"] = writes
        finally:
            os.kill(gdb, 18)        # SIGCONT
    th.join(180)
    env.gdb_probe = res
    return res


@case("S-gdb-caps", "gdb of a real retrace, caught running: its capabilities",
      "CapEff, CapPrm, CapInh, CapAmb all 0; NoNewPrivs 1; not uid 0")
def _(env):
    res = probe_gdb(env)
    if not ok(res.get("caught"), "sandbox: caught gdb running"):
        return "gdb not caught"
    st = dict(line.split(":\t", 1) for line in res["status"].splitlines() if ":\t" in line)
    caps = {k: st.get(k, "").strip() for k in ("CapInh", "CapPrm", "CapEff", "CapAmb")}
    ok(all(int(v or "1", 16) == 0 for v in caps.values()), "sandbox: gdb holds no capability", caps)
    eq(st.get("NoNewPrivs", "").strip(), "1", "sandbox: gdb runs with no_new_privs")
    uids = st.get("Uid", "").split()
    ok(uids and "0" not in uids, "sandbox: gdb does not run as uid 0", uids)
    return f"{', '.join(f'{k} {v}' for k, v in caps.items())}; NoNewPrivs 1; uid {uids[:1]}"


@case("S-gdb-net", "gdb of a real retrace: its network", "its own network namespace with only "
      "'lo'; connecting to httpd's port and to 1.1.1.1:80 fails")
def _(env):
    res = probe_gdb(env)
    if not res.get("caught"):
        return "gdb not caught"
    ok(res["gdb_netns"] != res["our_netns"], "sandbox: gdb has a network namespace of its own",
       (res["gdb_netns"], res["our_netns"]))
    ifaces = [line.split(":")[0].strip() for line in res["links"].splitlines()[2:] if ":" in line]
    eq(ifaces, ["lo"], "sandbox: the only interface is lo")
    ok(res["connect"].count("REFUSED") == 2 and "CONNECTED" not in res["connect"],
       "sandbox: from gdb's network namespace nothing connects (httpd's port, 1.1.1.1:80)",
       res["connect"])
    return f"interfaces {ifaces}; " + short(res["connect"].replace("\n", " | "), 120)


@case("S-gdb-write", "from inside gdb's mount namespace, as root with every capability: touch "
      "in /, /usr, /etc, /retrace/root, /retrace/root/usr/bin, /retrace/cmd, the core itself; "
      "as the sandbox's user in /tmp",
      "every write fails (read-only) except in its private /tmp; nothing appears on the host")
def _(env):
    res = probe_gdb(env)
    if not res.get("caught"):
        return "gdb not caught"
    w = res["writes"]
    for p, (rc, out) in w.items():
        if p == "/tmp":
            eq(rc, 0, "sandbox: its private /tmp is writable")
        else:
            ok(rc != 0 and ("Read-only" in out or "Permission denied" in out or
                            "No such file" in out),
               f"sandbox: {p} cannot be written, even by root inside the namespace", out)
    ro = []
    for line in res["mountinfo"].splitlines():
        f = line.split()
        mnt, opts = f[4], f[5]
        if mnt not in ("/tmp", "/proc", "/dev") and not mnt.startswith(("/dev/", "/proc/")) \
                and "ro" not in opts.split(","):
            ro.append(line)
    ok(not ro, "sandbox: every mount but /tmp, /proc and /dev is read-only", "\n".join(ro))
    return "; ".join(f"{p}: {'ok' if rc == 0 else short(o.split(':')[-1], 30)}"
                     for p, (rc, o) in w.items())


# --- privacy -------------------------------------------------------------------------------

@case("P-task-dir-modes", "a finished task's directory and files, read by another user "
      "(uid 4242)", "tasks/ID 0770, files 0660, owned by httpd's user; uid 4242 reads nothing")
def _(env):
    t = finished_task(env)
    d = env.srv.task_path(t.id)
    st = os.stat(d)
    eq(oct(st.st_mode & 0o777), "0o770", "the task directory is 0770")
    bad = []
    for root, dirs, files in os.walk(d):
        for n in dirs:
            m = os.stat(os.path.join(root, n)).st_mode & 0o777
            if m & 0o007:
                bad.append(f"{n} {oct(m)}")
        for n in files:
            m = os.lstat(os.path.join(root, n)).st_mode & 0o777
            if m & 0o007:
                bad.append(f"{n} {oct(m)}")
    ok(not bad, "nothing in the task is readable by others", bad)
    outs = []
    for n in ("retrace_backtrace", "retrace_log", "password", "crash/package"):
        r = subprocess.run(["setpriv", "--reuid=4242", "--regid=4242", "--clear-groups", "cat",
                            os.path.join(d, n)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        ok(r.returncode != 0 and b"Permission denied" in r.stdout,
           f"uid 4242 cannot read {n}", r.stdout[:200])
        outs.append(r.returncode != 0)
    r = subprocess.run(["setpriv", "--reuid=4242", "--regid=4242", "--clear-groups", "ls",
                        os.path.join(env.srv.spool, "tasks")], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    tasks_mode = oct(os.stat(os.path.join(env.srv.spool, "tasks")).st_mode & 0o777)
    return f"task dir {oct(st.st_mode & 0o777)}, spool/tasks {tasks_mode}; uid 4242 denied " \
           f"{sum(outs)}/4 files"


@case("P-no-password-no-file", "every endpoint of a finished task without a password, with "
      "another task's password, over /ID/ and with HEAD",
      "403 everywhere; nothing of the log or backtrace in any answer")
def _(env):
    t = finished_task(env)
    other, _ = task_case(env, "another task", "FINISHED_FAILURE", r"ERROR .*", core=b"junk")
    obs = set()
    for sub in ("", "/", "/log", "/backtrace", "/exploitable", "/delete"):
        for pw in (None, other.pw if other else "x"):
            for method in ("GET", "HEAD"):
                hdrs = {"X-Task-Password": pw} if pw else {}
                r = env.srv.request(method, f"/{t.id}{sub}", headers=hdrs)
                if r.header("x-task-password") and other and pw == other.pw:
                    other.pw = r.header("x-task-password")
                ok(r.status == 403, f"{method} /ID{sub} with {'no' if pw is None else 'another'} "
                   "password: 403", r)
                ok(t.backtrace[:100].encode() not in r.body and t.log[:60].encode() not in r.body,
                   f"{method} /ID{sub}: nothing of the task in the answer")
                obs.add(r.status)
    eq(t.get().status, 200, "the task's own password still works")
    return "/".join(map(str, sorted(obs))) + " for 24 requests"


@case("P-passwords-hashed", "every task password handed out in this run, searched in every "
      "file under the state directory (spool, cache, httpd's and the worker's logs)",
      "found nowhere; each password file holds sha256$salt$hash")
def _(env):
    from worker import Task
    pws = {p for p in env.passwords | Task.seen_passwords if p}
    hits = []
    scanned = 0
    pat = re.compile(b"|".join(re.escape(p.encode()) for p in pws)) if pws else None
    for root, dirs, files in os.walk(env.srv.state):
        if os.path.relpath(root, env.srv.state).startswith(("cache/packages", "repo")):
            continue
        for n in files:
            p = os.path.join(root, n)
            try:
                if os.path.getsize(p) > 64 * MIB or not os.path.isfile(p):
                    continue
                with open(p, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            scanned += 1
            if pat and pat.search(data):
                hits.append(p)
    ok(pws and not hits, f"{len(pws)} passwords, found in none of {scanned} files", hits)
    bad = []
    for tid in env.tasks:
        p = env.srv.task_path(tid, "password")
        if os.path.exists(p):
            if not re.fullmatch(rb"sha256\$[0-9a-f]{32}\$[0-9a-f]{64}\n?", open(p, "rb").read()):
                bad.append(tid)
    ok(not bad, "every password file holds a salted SHA-256 hash", bad)
    return f"{len(pws)} passwords, 0 of {scanned} files hold one"


# --- the run --------------------------------------------------------------------------------

def main():
    if os.geteuid() != 0:
        bail("test-hostile needs root: it enters gdb's namespaces (nsenter), reads a task as "
             "another uid (setpriv) and runs httpd's children as nobody (CI runs as root); "
             "run it as root")
    t0 = time.time()
    work = hostile_fixtures.scratch()
    try:
        env = make_env(work)
        env.srv.expect_log(r"AH01382|AH01387|AH02607|AH10244|AH00566|AH01384|AH00567")
        env.srv.expect_log(r"retrace:error.*forged")   # a refused name quoted in a line
        try:
            cases.run(env)
        finally:
            env.worker.stop()
            diag("worker log (last lines):\n" + "\n".join(env.worker.text().splitlines()[-10:]))
        env.srv.finish()
        n, passed = cases.summary()
        cases.check_readme()
    finally:
        if not os.environ.get("RETRACE_KEEP_STATE"):
            subprocess.run(["rm", "-rf", work])
    diag(f"test-hostile took {time.time() - t0:.1f} s")


run_tests(main)
