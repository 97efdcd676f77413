"""The hostile corpus's machinery (tests/hostile/): the case table, the
checks made after every case, and generators of bad input that the
other tests do not already have in tests/lib.

A runner registers each case with an id, what it feeds the server and
what must come out:

    cases = Cases("test-hostile", readme)
    @cases.case("A-trunc-xz", "xz archive cut in half", "415; log: refused task N: not a valid")
    def _(env):
        ...
        return "415"                      # what was observed

    cases.run(env)                        # each case, then the after-each checks
    cases.check_readme()                  # every id has its row in README, and no other

After each case (Env.after_case): httpd answers /settings; the spool
holds only the tasks the runner made, none half made, no temporaries,
no claim, no core of a finished task, no task root left in the cache;
no file or directory named with the run's random marker exists in /,
/tmp, /var/tmp, beside the state directory or anywhere in it; no process
of this server is left but httpd's and the worker daemon.

RETRACE_UPDATE_README=1 rewrites the runner's rows of tests/hostile/README
with the observed column of this run.
"""

import gzip
import io
import os
import re
import secrets
import struct
import subprocess
import tarfile
import time
import traceback

import rtest
from rtest import ok, diag

MIB = 1024 * 1024
GIB = 1024 * MIB

# --- the table ----------------------------------------------------------------


class Case:
    def __init__(self, cid, what, expected, fn):
        self.id = cid
        self.what = what
        self.expected = expected
        self.also = ""          # where else it is asserted (in depth)
        self.fn = fn
        self.observed = None
        self.passed = None


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def normalize(text, env):
    """What changes from run to run, out of an observed text (it goes into
    the README): task ids, the state directory, the marker, ports and
    temporary names."""
    text = text.replace(env.srv.state, "STATE").replace(env.marker, "MARK")
    text = re.sub(r"\b[1-9][0-9]{8}\b", "N", text)
    text = re.sub(r"/tmp/retrace-[a-z]+-[a-z0-9_]{8}", "STATE", text)
    text = re.sub(r"\[client [0-9.:]+\] ", "", text)
    text = re.sub(r"(\.[a-z_]+)\.[A-Za-z0-9]{6}\b", r"\1.XXXXXX", text)
    return text


class Cases:
    """The ordered cases of one runner and its section of the README."""

    def __init__(self, runner, readme, also=()):
        """also: [(regex on the id, the tests that assert it too)], the
        first match naming a case's "also asserted in"."""
        self.runner = runner
        self.readme = readme
        self.list = []
        self.also = list(also)

    def case(self, cid, what, expected):
        def reg(fn):
            if any(c.id == cid for c in self.list):
                raise ValueError(f"case id {cid} twice")
            c = Case(cid, what, expected, fn)
            for pat, where in self.also:
                if re.search(pat, cid):
                    c.also = where
                    break
            self.list.append(c)
            return fn
        return reg

    def run(self, env, only=None):
        """Runs each case (RETRACE_HOSTILE_ONLY=regex picks some), then the
        after-each checks."""
        pat = re.compile(only or os.environ.get("RETRACE_HOSTILE_ONLY") or ".")
        for c in self.list:
            if not pat.search(c.id):
                continue
            failed_before = rtest._failed
            t0 = time.monotonic()
            env.before_case(c)
            try:
                c.observed = c.fn(env)
            except Exception:           # noqa: BLE001 - a failed case, not a failed run
                ok(False, f"{c.id}: the case ran to the end", traceback.format_exc())
                c.observed = "the case raised an exception"
            env.after_case(c)
            c.passed = rtest._failed == failed_before
            c.observed = normalize(str(c.observed), env)
            diag(f"{c.id}: {c.observed} ({time.monotonic() - t0:.1f} s)")

    # README

    def rows(self):
        return [f"| {c.id} | {_cell(c.what)} | {_cell(c.expected)} | "
                f"{_cell(c.observed if c.observed is not None else 'not run')} | "
                f"{_cell(c.also or '-')} |"
                for c in self.list]

    def _section(self, text):
        begin = f"<!-- {self.runner} begin -->"
        end = f"<!-- {self.runner} end -->"
        a, b = text.find(begin), text.find(end)
        return a, b, begin, end

    def check_readme(self):
        """Every case has its row (id, input, expected) in the README's
        section of this runner, and the section has no other row."""
        try:
            text = open(self.readme, encoding="utf-8").read()
        except OSError as e:
            ok(False, f"{self.runner}: tests/hostile/README is readable", e)
            return
        if os.environ.get("RETRACE_UPDATE_README") and all(c.observed for c in self.list):
            text = self.update_readme()
        a, b, begin, end = self._section(text)
        if not ok(a >= 0 and b > a, f"{self.runner}: README has the section {begin} ... {end}"):
            return
        got = {}
        for line in text[a:b].splitlines():
            m = re.match(r"\|\s*([A-Z][A-Za-z0-9-]+)\s*\|(.*?[^\\])\|(.*?[^\\])\|", line)
            if m:
                got[m.group(1)] = (m.group(2).strip(), m.group(3).strip())
        want = {c.id: (_cell(c.what), _cell(c.expected)) for c in self.list}
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        differ = sorted(k for k in set(want) & set(got) if want[k] != got[k])
        ok(not missing and not extra and not differ,
           f"{self.runner}: README's table has a row for each of the {len(want)} cases, "
           f"with the same input and expected outcome, and no other row",
           f"missing: {missing}\nnot cases: {extra}\ndiffering: "
           + "\n".join(f"{k}: README {got[k]} / runner {want[k]}" for k in differ))

    def update_readme(self):
        """Rewrites this runner's section in place, under a lock: the
        other runner may be rewriting its own at the same time."""
        import fcntl
        with open(self.readme, "r+", encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            text = self._updated(f.read())
            f.seek(0)
            f.write(text)
            f.truncate()
        diag(f"{self.readme}: {self.runner}'s rows rewritten from this run")
        return text

    def _updated(self, text):
        a, b, begin, end = self._section(text)
        head = ("| id | input or fault | expected | observed | also asserted in |\n"
                "|---|---|---|---|---|\n")
        passed = sum(1 for c in self.list if c.passed)
        body = (begin + "\n" + head + "\n".join(self.rows()) + "\n\n"
                f"{len(self.list)} cases; in the run that filled the observed column, "
                f"{passed} passed every check.\n")
        if a >= 0 and b > a:
            text = text[:a] + body + text[b:]
        else:
            text += "\n" + body + end + "\n"
        return text

    def summary(self):
        run = [c for c in self.list if c.observed is not None]
        passed = [c for c in run if c.passed]
        diag(f"{self.runner}: {len(run)} cases run, {len(passed)} passed every check")
        return len(run), len(passed)


# --- what must hold after every case -----------------------------------------------


def proc_cmdlines():
    out = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                out[int(p)] = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            pass
    return out


class Env:
    """A server, its worker and the run's marker, with the checks of
    every case. Runners add what their cases need (fixtures, cores)."""

    def __init__(self, srv, worker, marker=None):
        self.srv = srv
        self.worker = worker
        self.marker = marker or "rtmark" + secrets.token_hex(6)
        self.tasks = set()          # ids of tasks the runner made (they may stay)
        self.passwords = set()      # every task password handed out
        self.log_offset = 0
        self.extra_checks = []      # callables(case) run after each case

    # bookkeeping

    def note_response(self, r):
        if r is None:
            return r
        pw = r.header("x-task-password") if hasattr(r, "header") else None
        if pw:
            self.passwords.add(pw)
        tid = r.header("x-task-id") if hasattr(r, "header") else None
        if tid:
            self.tasks.add(tid)
        return r

    def new_log(self):
        """httpd's error log since the case began."""
        try:
            with open(self.srv.error_log, "rb") as f:
                f.seek(self.log_offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def before_case(self, case):
        try:
            self.log_offset = os.path.getsize(self.srv.error_log)
        except OSError:
            self.log_offset = 0

    # the checks

    def alive(self):
        try:
            return self.srv.get("/settings").status == 200
        except OSError:
            return False

    def idle(self, timeout=120):
        """Waits until nothing is queued or running (the case's tasks are
        done)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            q = os.listdir(os.path.join(self.srv.spool, "queue"))
            r = os.listdir(os.path.join(self.srv.spool, "running"))
            if not q and not r:
                return True
            time.sleep(0.1)
        return False

    def spool_problems(self):
        """What the spool must not hold between cases."""
        bad = []
        spool = self.srv.spool
        for sub in ("queue", "running"):
            for n in os.listdir(os.path.join(spool, sub)):
                bad.append(f"{sub}/{n}")
        tasks = os.path.join(spool, "tasks")
        for n in os.listdir(tasks):
            d = os.path.join(tasks, n)
            if n not in self.tasks:
                bad.append(f"tasks/{n}: not a task this run made")
                continue
            if not os.path.exists(os.path.join(d, "status")):
                bad.append(f"tasks/{n}: no status file (half made)")
            for root, dirs, files in os.walk(d):
                for f in dirs + files:
                    rel = os.path.relpath(os.path.join(root, f), spool)
                    if f.startswith("."):
                        bad.append(f"{rel}: a temporary")
                    if f in ("coredump", "coredump.xz", "coredump.zst"):
                        bad.append(f"{rel}: the core of a finished task")
        for n in os.listdir(spool):
            if n not in ("tasks", "queue", "running", "layout", "stats"):
                bad.append(f"{n}: not part of the spool's layout")
        roots = os.path.join(self.srv.state, "cache", "roots")
        if os.path.isdir(roots):
            bad += [f"cache/roots/{n}: a task root left behind" for n in os.listdir(roots)]
        tmp = os.path.join(self.srv.state, "tmp")
        if os.path.isdir(tmp):
            bad += [f"tmp/{n}: left in the worker's TMPDIR" for n in os.listdir(tmp)]
        pkgs = os.path.join(self.srv.state, "cache", "packages")
        if os.path.isdir(pkgs):
            bad += [f"cache/packages/{n}: a temporary" for n in os.listdir(pkgs)
                    if n.startswith(".")]
        return bad

    def strays(self):
        """Paths named with the marker, where nothing of it may be."""
        found = []
        parent = os.path.dirname(self.srv.state)
        for top in ("/", "/tmp", "/var/tmp", "/etc", "/dev", "/dev/shm", "/usr", "/usr/bin",
                    parent):
            try:
                found += [os.path.join(top, n) for n in os.listdir(top) if self.marker in n]
            except OSError:
                pass
        for root, dirs, files in os.walk(self.srv.state):
            found += [os.path.join(root, n) for n in dirs + files if self.marker in n]
        return sorted(set(found))

    def leftover_processes(self):
        """Processes of this server other than httpd and the worker daemon
        (task processes, bwrap, gdb, a worker of an earlier start)."""
        allowed = set(self.srv.httpd_pids())
        if self.worker and self.worker.proc:
            allowed.add(self.worker.proc.pid)
            # setpriv execs the worker: same pid.
        out = []
        for pid, cmd in proc_cmdlines().items():
            if self.srv.state in cmd and pid not in allowed and pid != os.getpid():
                out.append(f"{pid} {cmd[:200]}")
        if self.worker and self.worker.proc:
            from worker import descendants
            for pid in descendants(self.worker.proc.pid):
                out.append(f"{pid} (a child of the worker) {proc_cmdlines().get(pid, '')[:200]}")
        return sorted(set(out))

    def after_case(self, case):
        ok(self.idle(), f"{case.id}: after it, no task is left queued or running",
           os.listdir(os.path.join(self.srv.spool, "running")))
        ok(self.alive(), f"{case.id}: after it, httpd still answers /settings")
        # Processes first: a task process may take a moment to exit after
        # it released its claim.
        deadline = time.time() + 10
        procs = self.leftover_processes()
        while procs and time.time() < deadline:
            time.sleep(0.1)
            procs = self.leftover_processes()
        ok(not procs, f"{case.id}: after it, no process is left but httpd and the worker daemon",
           "\n".join(procs))
        bad = self.spool_problems()
        ok(not bad, f"{case.id}: after it, the spool holds only this run's finished tasks, "
           f"no temporaries, no cores, no task roots", "\n".join(bad))
        strays = self.strays()
        ok(not strays, f"{case.id}: after it, nothing named with the marker exists outside "
           f"the task (/, /tmp, the state directory)", "\n".join(strays))
        for p in strays:        # one failure, not one per later case
            subprocess.run(["rm", "-rf", "--one-file-system", p])
        for fn in self.extra_checks:
            fn(case)


# --- generators ------------------------------------------------------------------

def tar_member(name, data=b"", type_=tarfile.REGTYPE, linkname="", mode=0o644,
               fmt=tarfile.GNU_FORMAT, size=None, pax=None):
    """The raw blocks of one tar member (header, data, padding). name: str
    or bytes (bytes go as they are, not UTF-8 checked)."""
    ti = tarfile.TarInfo("x")
    ti.name = name if isinstance(name, str) else name.decode("utf-8", "surrogateescape")
    ti.type = type_
    ti.linkname = linkname
    ti.mode = mode
    ti.mtime = int(time.time())
    ti.size = len(data) if size is None else size
    if pax:
        ti.pax_headers = pax
    buf = ti.tobuf(format=fmt, encoding="utf-8", errors="surrogateescape")
    pad = (512 - len(data) % 512) % 512
    return buf + data + b"\0" * pad


def tar_end():
    return b"\0" * 1024


def zstd_rle_bomb(prefix, zeros):
    """A zstd frame: prefix stored as a raw block, then `zeros` zero bytes
    as RLE blocks of 128 KiB, 4 bytes each: 16 GiB of zeros in 512 KiB,
    written in no time."""
    out = bytearray(b"\x28\xb5\x2f\xfd")
    out += bytes([0x00, 0x38])          # no content size, window 128 KiB
    blocks = []
    for i in range(0, len(prefix), 128 * 1024):
        chunk = prefix[i:i + 128 * 1024]
        blocks.append((0, len(chunk), chunk))
    full, rest = divmod(zeros, 128 * 1024)
    rle_full = None
    for k in range(full + (1 if rest else 0)):
        n = 128 * 1024 if k < full else rest
        blocks.append((1, n, b"\0"))
    for k, (typ, n, payload) in enumerate(blocks):
        last = 1 if k == len(blocks) - 1 else 0
        hdr = (n << 3) | (typ << 1) | last
        if typ == 1 and n == 128 * 1024 and not last:
            if rle_full is None:
                rle_full = struct.pack("<I", hdr)[:3] + b"\0"
            out += rle_full
        else:
            out += struct.pack("<I", hdr)[:3] + payload
    return bytes(out)


def cpio_newc(entries):
    """A newc cpio archive. entries: dicts with name (str), mode (st_mode
    with type bits), data (bytes; a symlink's target), and optionally ino,
    nlink, rdev (major, minor)."""
    out = bytearray()

    def pad4(n):
        return b"\0" * ((4 - n % 4) % 4)
    for i, e in enumerate(list(entries) + [{"name": "TRAILER!!!", "mode": 0, "data": b""}]):
        name = e["name"].encode("utf-8", "surrogateescape") + b"\0"
        data = e.get("data", b"")
        rmaj, rmin = e.get("rdev", (0, 0))
        fields = (e.get("ino", 1000 + i), e["mode"], 0, 0, e.get("nlink", 1), 1600000000,
                  len(data), 8, 1, rmaj, rmin, len(name), 0)
        hdr = b"070701" + b"".join(b"%08X" % v for v in fields)
        out += hdr + name + pad4(len(hdr) + len(name)) + data + pad4(len(data))
    return bytes(out)


def rpm_payload_offset(head):
    """Where the payload of an RPM (its bytes) begins."""
    off = 96
    for h in range(2):
        if head[off:off + 4] != b"\x8e\xad\xe8\x01":
            raise ValueError("not an RPM header")
        il, dl = struct.unpack(">II", head[off + 8:off + 16])
        off += 16 + il * 16 + dl
        if h == 0:
            off = (off + 7) & ~7
    return off


def rpm_graft(real_rpm, entries, out_path):
    """An RPM with the lead, signature and header of real_rpm and a gzip'd
    newc payload of entries (what rpmbuild would never make: names with
    .., absolute names). The header still describes the real payload: an
    index reads the header, the extractor the payload."""
    with open(real_rpm, "rb") as f:
        head = f.read()
    off = rpm_payload_offset(head)
    with open(out_path + ".tmp", "wb") as f:
        f.write(head[:off])
        f.write(gzip.compress(cpio_newc(entries), 6))
    os.rename(out_path + ".tmp", out_path)
    return out_path


# --- cores -----------------------------------------------------------------------

PT_LOAD, PT_NOTE = 1, 4
NT_FILE = 0x46494c45


def _phdrs(core):
    e_phoff, = struct.unpack_from("<Q", core, 0x20)
    e_phentsize, e_phnum = struct.unpack_from("<HH", core, 0x36)
    out = []
    for i in range(e_phnum):
        off = e_phoff + i * e_phentsize
        p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align = \
            struct.unpack_from("<IIQQQQQQ", core, off)
        out.append({"at": off, "type": p_type, "offset": p_offset, "filesz": p_filesz})
    return out


def core_notes(core):
    """[(name bytes, type, desc bytes)] of an ELF64 LSB core's PT_NOTE."""
    ph = [p for p in _phdrs(core) if p["type"] == PT_NOTE][0]
    data = core[ph["offset"]:ph["offset"] + ph["filesz"]]
    notes, i = [], 0
    while i + 12 <= len(data):
        namesz, descsz, typ = struct.unpack_from("<III", data, i)
        i += 12
        name = data[i:i + namesz]
        i += (namesz + 3) & ~3
        desc = data[i:i + descsz]
        i += (descsz + 3) & ~3
        notes.append((name, typ, desc))
    return notes


def core_with_notes(core, notes):
    """The core with its PT_NOTE replaced by notes, written at the end of
    the file (the memory segments stay where they are)."""
    blob = bytearray()
    for name, typ, desc in notes:
        blob += struct.pack("<III", len(name), len(desc), typ)
        blob += name + b"\0" * ((4 - len(name) % 4) % 4)
        blob += desc + b"\0" * ((4 - len(desc) % 4) % 4)
    ph = [p for p in _phdrs(core) if p["type"] == PT_NOTE][0]
    out = bytearray(core)
    out += b"\0" * ((8 - len(out) % 8) % 8)
    at = len(out)
    out += blob
    struct.pack_into("<Q", out, ph["at"] + 8, at)           # p_offset
    struct.pack_into("<Q", out, ph["at"] + 32, len(blob))   # p_filesz
    struct.pack_into("<Q", out, ph["at"] + 40, 0)           # p_memsz
    return bytes(out)


def nt_file_paths(desc):
    count, page = struct.unpack_from("<QQ", desc, 0)
    strings = desc[16 + count * 24:]
    return count, page, desc[16:16 + count * 24], strings.split(b"\0")[:count]


def core_rename_mapping(core, old, new):
    """The core with every NT_FILE path old (bytes) named new instead."""
    notes = []
    for name, typ, desc in core_notes(core):
        if typ == NT_FILE:
            count, page, table, paths = nt_file_paths(desc)
            paths = [new if p == old else p for p in paths]
            desc = struct.pack("<QQ", count, page) + table + b"\0".join(paths) + b"\0"
        notes.append((name, typ, desc))
    return core_with_notes(core, notes)


def core_with_huge_note(core, size):
    """The core with one more note of `size` bytes (an unknown type, named
    CORE) after its real ones."""
    return core_with_notes(core, core_notes(core) + [(b"CORE\0", 0x7e57, b"\0" * size)])


def core_set_machine(core, machine):
    out = bytearray(core)
    struct.pack_into("<H", out, 18, machine)
    return bytes(out)


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)


def xz(data):
    return subprocess.run(["xz", "-1", "-T1", "-c"], input=data, stdout=subprocess.PIPE,
                          check=True).stdout


def tar_bytes(members, fmt=tarfile.GNU_FORMAT):
    """A plain tar of (name, bytes) members."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            ti.mtime = int(time.time())
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()
