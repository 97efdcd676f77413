"""Fixture makers for end-to-end retrace tests: real RPMs built with
rpmbuild, and real cores made by really crashing the programs inside them.

    rpms = program_family("selfcrash", "1.0", "1.fc40", payload="gz")
    libc = host_glibc()                       # {"glibc": path, "glibc-debuginfo": path}
    core = crash_core([rpms["selfcrash"], libc["glibc"]], ["/usr/bin/selfcrash"], workdir)

Program families (FAMILIES below), each one source package built like
Fedora's since F27 (per-subpackage -debuginfo, a -debugsource,
/usr/lib/.build-id links), with the payload compression chosen per build
(zstd, xz or gzip):

    selfcrash   SIGSEGV in the program's own code; `selfcrash wait` sleeps
                in pause() instead (a long-lived child for other programs)
    threads     five threads; one dies of SIGSEGV while the others sleep
    aborter     a failed assert(): SIGABRT raised inside libc
    (any of them with target="i686": built with gcc -m32, rpmbuild --target i686)

The crasher of rpmfix.py (a crash inside a library of a -libs subpackage)
is the fourth program; build_crasher() there.

host_glibc() packages the build host's own C library as Fedora names it
(glibc-<host version>-1.fc40: /usr/lib64/libc.so.6 and
ld-linux-x86-64.so.2 with /usr/lib/.build-id links) and the matching
detached debug files of Debian's libc6-dbg as glibc-debuginfo (Provides:
debuginfo(build-id)), so that frames inside libc resolve in a retrace.
host_glibc("i686") does the same for the 32-bit libc of libc6-i386 at
/usr/lib; Debian ships no 32-bit debug files for it without a foreign
architecture (libc6-dbg:i386), so there is no i686 glibc-debuginfo.

crash_core() extracts RPMs into a tree and runs a program in bubblewrap
with that tree's /usr as /usr (and the merged-/usr links), so the kernel's
core names the Fedora paths /usr/bin/... and /usr/lib64/...

Built RPMs are kept under $top_builddir/tests/fixtures/crashes/, one
directory per build keyed by name, version, release, arch and a hash of
everything that went into it.
"""

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time

TOP_BUILDDIR = os.environ.get("top_builddir") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(TOP_BUILDDIR, "tests", "fixtures", "crashes")

PAYLOADS = {"zstd": "w19.zstdio", "xz": "w9.xzdio", "gz": "w9.gzdio"}

# --- the programs ------------------------------------------------------------
#
# "/* CRASH-LINE */" marks the line a backtrace must name for the crash
# frame; crash_line() finds its number.

SELFCRASH_C = r"""
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct job {
        const char *name;
        int *slot;
};

static int __attribute__((noinline)) store_result(struct job *job, int value)
{
        int doubled = value * 2;
        *job->slot = doubled;   /* CRASH-LINE */
        return doubled;
}

static int __attribute__((noinline)) run_job(struct job *job, int count)
{
        int total = 0;
        for (int round = 0; round < count; round++)
                total += store_result(job, round + 21);
        return total;
}

int main(int argc, char **argv)
{
        if (argc > 1 && strcmp(argv[1], "wait") == 0) {
                pause();        /* until a signal ends it */
                return 0;
        }
        struct job job = { argc > 1 ? argv[1] : "selfcrash @VERSION@-@RELEASE@", NULL };
        printf("selfcrash: %s\n", job.name);
        fflush(stdout);
        return run_job(&job, 3);
}
"""

THREADS_C = r"""
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#define THREADS 4
#define CRASHING 2

static pthread_barrier_t all_started;

static void *sleeper_main(void *arg)
{
        int sleeper_id = (int)(long)arg;
        pthread_barrier_wait(&all_started);
        for (;;)
                sleep(100 + sleeper_id);
        return NULL;
}

static void *worker_main(void *arg)
{
        int worker_id = (int)(long)arg;
        volatile int *target = NULL;
        pthread_barrier_wait(&all_started);
        usleep(200 * 1000);     /* the other threads are asleep by now */
        *target = worker_id;    /* CRASH-LINE */
        return NULL;
}

int main(void)
{
        pthread_t threads[THREADS];
        pthread_barrier_init(&all_started, NULL, THREADS + 1);
        for (long i = 0; i < THREADS; i++)
                pthread_create(&threads[i], NULL, i == CRASHING ? worker_main : sleeper_main,
                               (void *)i);
        pthread_barrier_wait(&all_started);
        pthread_join(threads[CRASHING], NULL);
        return 0;
}
"""

ABORTER_C = r"""
#include <assert.h>
#include <stdio.h>

static int __attribute__((noinline)) check_level(int level)
{
        int limit = 2;
        assert(level <= limit); /* CRASH-LINE */
        return level;
}

int main(int argc, char **argv)
{
        int level = argc + 4;
        (void)argv;
        return check_level(level);
}
"""

FAMILIES = {
        "selfcrash": {"source": SELFCRASH_C, "libs": "", "summary": "Crashes in its own code"},
        "threads": {"source": THREADS_C, "libs": "-pthread",
                    "summary": "Crashes in one of five threads"},
        "aborter": {"source": ABORTER_C, "libs": "", "summary": "Fails an assert()"},
}

FAMILY_SPEC = r"""
%global _enable_debug_packages 1
%global _debugsource_packages 1
%global _debuginfo_subpackages 1
%global _binary_payload @PAYLOAD@
%global _build_id_links compat

Name: @NAME@
Version: @VERSION@
Release: @RELEASE@
Summary: @SUMMARY@, for the Retrace Server's tests
License: MIT
Source0: @NAME@.c

%description
@SUMMARY@.

%debug_package

%prep
%setup -q -c -T
cp %{SOURCE0} .

%build
gcc @CFLAGS@ -g -O0 -Wl,--build-id=sha1 -o @NAME@ @NAME@.c @LIBS@

%install
mkdir -p %{buildroot}%{_bindir}
install -m 0755 @NAME@ %{buildroot}%{_bindir}/@NAME@

%files
%{_bindir}/@NAME@
"""


def crash_line(family, marker="CRASH-LINE"):
    """The line number of the crash in the family's source (as packaged:
    the source begins with a newline, so line 1 is empty)."""
    src = FAMILIES[family]["source"] if family in FAMILIES else family
    for n, line in enumerate(src.split("\n"), 1):
        if marker in line:
            return n
    raise KeyError(marker)


def _digest(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
        h.update(b"\0")
    return h.hexdigest()[:12]


def _rpmbuild(spec_name, spec_text, sources, outdir, want_names, target=None):
    """Builds spec_text (sources: {file name: bytes or str}) into outdir;
    want_names: the RPM file names rpmbuild must make. Returns
    {file name: path}. Cached: when outdir has them all, nothing runs."""
    want = {n: os.path.join(outdir, n) for n in want_names}
    if all(os.path.exists(p) for p in want.values()):
        return want
    os.makedirs(outdir, exist_ok=True)
    top = tempfile.mkdtemp(prefix="crashes-rpmbuild-")
    try:
        for d in ("SOURCES", "SPECS", "BUILD", "RPMS", "SRPMS", "BUILDROOT"):
            os.makedirs(os.path.join(top, d))
        for name, data in sources.items():
            mode = "wb" if isinstance(data, bytes) else "w"
            with open(os.path.join(top, "SOURCES", name), mode) as f:
                f.write(data)
        spec = os.path.join(top, "SPECS", spec_name)
        with open(spec, "w") as f:
            f.write(spec_text)
        cmd = ["rpmbuild", "-bb", "--nodeps", "--define", f"_topdir {top}"]
        if target:
            cmd += ["--target", target]
        p = subprocess.run(cmd + [spec], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if p.returncode != 0:
            raise RuntimeError(f"rpmbuild {spec_name} failed:\n" +
                               p.stdout.decode(errors="replace")[-4000:])
        made = {}
        for root, _, files in os.walk(os.path.join(top, "RPMS")):
            for n in files:
                made[n] = os.path.join(root, n)
        for n, dst in want.items():
            if n not in made:
                raise RuntimeError(f"rpmbuild made no {n}: {sorted(made)}")
            # Tests run in parallel may build the same fixture at once:
            # each copies to a name of its own, the last rename wins.
            tmp = f"{dst}.tmp.{os.getpid()}"
            shutil.copy(made[n], tmp)
            os.rename(tmp, dst)
        return want
    finally:
        shutil.rmtree(top, ignore_errors=True)


def host_arch():
    return subprocess.run(["rpm", "--eval", "%{_arch}"], stdout=subprocess.PIPE,
                          check=True).stdout.decode().strip()


def program_family(name, version, release, payload="zstd", target=None):
    """Builds (or finds) NAME-VERSION-RELEASE of a family in FAMILIES:
    the program, its -debuginfo and the -debugsource. target "i686":
    a 32-bit build (gcc -m32, rpmbuild --target i686). Returns
    {"NAME": path, "NAME-debuginfo": path, "NAME-debugsource": path}."""
    fam = FAMILIES[name]
    arch = target or host_arch()
    fill = {"@NAME@": name, "@VERSION@": version, "@RELEASE@": release,
            "@PAYLOAD@": PAYLOADS[payload], "@SUMMARY@": fam["summary"],
            "@CFLAGS@": "-m32" if target == "i686" else "", "@LIBS@": fam["libs"]}

    def subst(text):
        for k, v in fill.items():
            text = text.replace(k, v)
        return text
    spec, source = subst(FAMILY_SPEC), subst(fam["source"])
    key = f"{name}-{version}-{release}.{arch}-{_digest(spec, source)}"
    subs = [name, f"{name}-debuginfo", f"{name}-debugsource"]
    files = {s: f"{s}-{version}-{release}.{arch}.rpm" for s in subs}
    got = _rpmbuild(f"{name}.spec", spec, {f"{name}.c": source},
                    os.path.join(FIXTURES, key), files.values(), target=target)
    return {s: got[files[s]] for s in subs}


# --- the host's C library as Fedora's glibc ------------------------------------

def build_id(path):
    out = subprocess.run(["eu-readelf", "-n", path], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, check=True).stdout.decode()
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    if not m:
        raise RuntimeError(f"{path} has no build-id")
    return m.group(1)


def host_glibc_version():
    out = subprocess.run(["getconf", "GNU_LIBC_VERSION"], stdout=subprocess.PIPE,
                         check=True).stdout.decode().split()
    return out[-1]


GLIBC_SPEC = r"""
# The build host's C library, prebuilt: no debuginfo extraction, no
# stripping or other brp- steps, no generated build-id links (they are
# made below as Fedora's packages have them) and no generated
# dependencies.
%global debug_package %{nil}
%global __os_install_post %{nil}
%global _build_id_links none
%global _binary_payload @PAYLOAD@

Name: glibc
Version: @VERSION@
Release: @RELEASE@
Summary: The build host's GNU C library, packaged as Fedora's for tests
License: LGPLv2+
AutoReqProv: no

%description
The build host's libc.so.6 and dynamic loader at Fedora's paths.

@DEBUGINFO_HEADER@

%install
@INSTALL@

%files
@FILES@

@DEBUGINFO_FILES@
"""


def host_glibc(target=None, release="1.fc40", payload="xz"):
    """glibc (and, for the host's architecture, glibc-debuginfo) RPMs made
    from the host's own libc. Returns {"glibc": path[, "glibc-debuginfo":
    path]} and, under "build-ids", {file name: build-id}."""
    version = host_glibc_version()
    if target == "i686":
        # Debian's libc6-i386; Fedora's glibc.i686.
        arch, libdir, elf_class = "i686", "/usr/lib", 1
        where = {"libc.so.6": ["/lib32/libc.so.6", "/usr/lib32/libc.so.6", "/usr/lib/libc.so.6"],
                 "ld-linux.so.2": ["/lib32/ld-linux.so.2", "/usr/lib32/ld-linux.so.2",
                                   "/usr/lib/ld-linux.so.2"]}
    else:
        # Debian's multiarch directory; Fedora's lib64.
        arch, libdir, elf_class = host_arch(), "/usr/lib64", 2
        where = {"libc.so.6": ["/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib64/libc.so.6"],
                 "ld-linux-x86-64.so.2": ["/lib64/ld-linux-x86-64.so.2",
                                          "/usr/lib64/ld-linux-x86-64.so.2"]}

    def find(name):
        for p in where[name]:
            try:
                with open(p, "rb") as f:
                    head = f.read(5)
            except OSError:
                continue
            if head[:4] == b"\x7fELF" and head[4] == elf_class:
                return os.path.realpath(p)
        raise RuntimeError(f"no {arch} {name} on this host (looked at {where[name]}); "
                           f"install libc6-i386 (Debian) or glibc.i686 (Fedora)")
    files = {n: find(n) for n in where}
    ids = {n: build_id(p) for n, p in files.items()}
    debug = {n: f"/usr/lib/debug/.build-id/{i[:2]}/{i[2:]}.debug" for n, i in ids.items()}
    with_debug = all(os.path.exists(p) for p in debug.values())
    if target == "i686" or not with_debug:
        # libc6-dbg holds the host architecture's files only.
        with_debug = False
    nvra = f"{version}-{release}.{arch}"
    install = ["mkdir -p %{buildroot}" + libdir + " %{buildroot}/usr/lib/.build-id"]
    listed = []
    for n, src in files.items():
        i = ids[n]
        install += [f"install -m 0755 {src} %{{buildroot}}{libdir}/{n}",
                    f"mkdir -p %{{buildroot}}/usr/lib/.build-id/{i[:2]}",
                    f"ln -s ../../../..{libdir}/{n} %{{buildroot}}/usr/lib/.build-id/{i[:2]}/{i[2:]}"]
        listed += [f"{libdir}/{n}", f"/usr/lib/.build-id/{i[:2]}/{i[2:]}"]
    dbg_header = dbg_files = ""
    if with_debug:
        provides = "\n".join(f"Provides: debuginfo(build-id) = {i}" for i in ids.values())
        dbg_header = (f"%package debuginfo\nSummary: Debug information for package glibc\n"
                      f"AutoReqProv: no\n{provides}\n\n%description debuginfo\n"
                      f"The host's libc6-dbg files at Fedora's paths.\n")
        dlisted = []
        install.append("mkdir -p %{buildroot}/usr/lib/debug" + libdir)
        for n, src in debug.items():
            i = ids[n]
            at = f"/usr/lib/debug{libdir}/{n}-{nvra}.debug"
            install += [f"install -m 0644 {os.path.realpath(src)} %{{buildroot}}{at}",
                        f"mkdir -p %{{buildroot}}/usr/lib/debug/.build-id/{i[:2]}",
                        f"ln -s ../..{libdir}/{n}-{nvra}.debug "
                        f"%{{buildroot}}/usr/lib/debug/.build-id/{i[:2]}/{i[2:]}.debug"]
            dlisted += [at, f"/usr/lib/debug/.build-id/{i[:2]}/{i[2:]}.debug"]
        dbg_files = "%files debuginfo\n" + "\n".join(dlisted)
    fill = {"@VERSION@": version, "@RELEASE@": release, "@PAYLOAD@": PAYLOADS[payload],
            "@INSTALL@": "\n".join(install), "@FILES@": "\n".join(listed),
            "@DEBUGINFO_HEADER@": dbg_header, "@DEBUGINFO_FILES@": dbg_files}
    spec = GLIBC_SPEC
    for k, v in fill.items():
        spec = spec.replace(k, v)
    content = [spec] + [open(p, "rb").read() for p in files.values()]
    key = f"glibc-{nvra}-{_digest(*content)}"
    names = {"glibc": f"glibc-{nvra}.rpm"}
    if with_debug:
        names["glibc-debuginfo"] = f"glibc-debuginfo-{nvra}.rpm"
    got = _rpmbuild("glibc.spec", spec, {}, os.path.join(FIXTURES, key), names.values(),
                    target=target)
    out = {k: got[v] for k, v in names.items()}
    out["build-ids"] = ids
    return out


# --- a genuine binary, packaged -----------------------------------------------

WRAP_SPEC = r"""
# A prebuilt program (a real executable from ../shared/testdata) as
# its own package, at the path its core names, with its build-id link.
%global debug_package %{nil}
%global __os_install_post %{nil}
%global _build_id_links none
%global _binary_payload @PAYLOAD@

Name: @NAME@
Version: @VERSION@
Release: @RELEASE@
Summary: A genuine test program from another project, packaged for tests
License: GPL-3.0-or-later
AutoReqProv: no
Source0: program

%description
@NAME@.

%install
mkdir -p %{buildroot}@DIR@ %{buildroot}/usr/lib/.build-id/@ID2@
install -m 0755 %{SOURCE0} %{buildroot}@PATH@
ln -s ../../../..@PATH@ %{buildroot}/usr/lib/.build-id/@ID2@/@IDREST@

%files
@PATH@
/usr/lib/.build-id/@ID2@/@IDREST@
"""


def wrap_binary(name, version, release, binary, path, payload="gz"):
    """An RPM NAME-VERSION-RELEASE holding the file `binary` at `path`
    (with its DWARF, if it has any). Returns its path."""
    data = open(binary, "rb").read()
    i = build_id(binary)
    fill = {"@NAME@": name, "@VERSION@": version, "@RELEASE@": release,
            "@PAYLOAD@": PAYLOADS[payload], "@DIR@": os.path.dirname(path), "@PATH@": path,
            "@ID2@": i[:2], "@IDREST@": i[2:]}
    spec = WRAP_SPEC
    for k, v in fill.items():
        spec = spec.replace(k, v)
    arch = host_arch()
    fname = f"{name}-{version}-{release}.{arch}.rpm"
    key = f"{name}-{version}-{release}.{arch}-{_digest(spec, data)}"
    return _rpmbuild(f"{name}.spec", spec, {"program": data}, os.path.join(FIXTURES, key),
                     [fname])[fname]


# --- cores ------------------------------------------------------------------------

def extract_rpms(rpm_paths, tree):
    """Each RPM's payload into tree (rpm2cpio | cpio -idm)."""
    os.makedirs(tree, exist_ok=True)
    for rpm in rpm_paths:
        r2c = subprocess.Popen(["rpm2cpio", os.path.abspath(rpm)], stdout=subprocess.PIPE)
        subprocess.run(["cpio", "-idm", "--quiet", "--no-absolute-filenames"], stdin=r2c.stdout,
                       cwd=tree, check=True, stderr=subprocess.DEVNULL)
        r2c.stdout.close()
        if r2c.wait() != 0:
            raise RuntimeError(f"rpm2cpio {rpm} failed")


def core_pattern():
    try:
        with open("/proc/sys/kernel/core_pattern") as f:
            return f.read().strip()
    except OSError:
        return "core"


def _sandbox_argv(tree, cwd, info_fd=None, block_fd=None):
    """bwrap with a fresh tmpfs root holding only tree/usr at /usr, the
    merged-/usr links, /proc, /dev and cwd (writable) at /crash. No host
    /etc: the loader finds the libraries through LD_LIBRARY_PATH (the
    host's loader searches Debian's multiarch directories by default)."""
    argv = ["bwrap", "--ro-bind", os.path.join(tree, "usr"), "/usr"]
    for link, target in (("/lib64", "usr/lib64"), ("/lib", "usr/lib"), ("/bin", "usr/bin"),
                         ("/sbin", "usr/sbin")):
        argv += ["--symlink", target, link]
    argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
             "--bind", cwd, "/crash", "--chdir", "/crash",
             "--clearenv", "--setenv", "PATH", "/usr/bin",
             "--setenv", "LD_LIBRARY_PATH", "/usr/lib64:/usr/lib",
             "--die-with-parent"]
    if info_fd is not None:
        argv += ["--info-fd", str(info_fd)]
    if block_fd is not None:
        argv += ["--block-fd", str(block_fd)]
    return argv + ["--"]


def _read_child_pid(fd):
    """bwrap's --info-fd JSON: {"child-pid": N}."""
    data = b""
    while b"}" not in data:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    m = re.search(rb'"child-pid"\s*:\s*(\d+)', data)
    if not m:
        raise RuntimeError(f"bwrap gave no child pid: {data!r}")
    return int(m.group(1))


def crash_core(rpm_paths, argv, workdir, kill_signal=None, kill_after=0.5, timeout=30,
               tree=None):
    """Runs argv (argv[0] a path inside the packages, /usr/bin/x) in a
    root made of the RPMs' payloads and returns the path of the core it
    dumped. kill_signal: send that signal from outside kill_after seconds
    after the start (a program that does not crash by itself). tree: an
    already extracted root to use instead of extracting rpm_paths."""
    os.makedirs(workdir, exist_ok=True)
    if tree is None:
        tree = os.path.join(workdir, "root")
        if not os.path.isdir(tree):
            extract_rpms(rpm_paths, tree)
    cwd = os.path.join(workdir, "cwd")
    shutil.rmtree(cwd, ignore_errors=True)
    os.makedirs(cwd)
    os.chmod(cwd, 0o777)
    pattern = core_pattern()
    if pattern.startswith("|") or pattern.startswith("/"):
        # The kernel hands cores to a helper (systemd-coredump, apport) or
        # writes them to an absolute path, outside the sandbox: let gdb
        # catch the signal and write the core instead (gcore's core names
        # the same mapped paths; the signal is in its NT_PRSTATUS too).
        return _crash_core_gdb(tree, cwd, argv, kill_signal, kill_after, timeout)
    info_r, info_w = os.pipe()
    proc = subprocess.Popen(["prlimit", "--core=unlimited"] +
                            _sandbox_argv(tree, cwd, info_fd=info_w) + argv,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            pass_fds=(info_w,))
    os.close(info_w)
    try:
        child = _read_child_pid(info_r)
        if kill_signal:
            time.sleep(kill_after)
            os.kill(child, kill_signal)
        out, _ = proc.communicate(timeout=timeout)
    finally:
        os.close(info_r)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return _find_core(cwd, argv, proc.returncode, out)


def _find_core(cwd, argv, rc, out):
    cores = [n for n in os.listdir(cwd) if n == "core" or n.startswith("core.")]
    if not cores:
        raise RuntimeError(f"{argv} left no core in {cwd} (exit {rc}, core_pattern "
                           f"{core_pattern()!r}): {out.decode(errors='replace')[-2000:]}")
    path = os.path.join(cwd, cores[0])
    os.chmod(path, 0o644)
    return path


def _crash_core_gdb(tree, cwd, argv, kill_signal, kill_after, timeout):
    """The fallback of crash_core(): bwrap waits (--block-fd) before it
    starts the program until the host's gdb has attached to its child
    process; gdb follows the exec, stops at the fatal signal and writes
    the core with generate-core-file."""
    info_r, info_w = os.pipe()
    block_r, block_w = os.pipe()
    proc = subprocess.Popen(_sandbox_argv(tree, cwd, info_fd=info_w, block_fd=block_r) + argv,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            pass_fds=(info_w, block_r))
    os.close(info_w)
    os.close(block_r)
    core = os.path.join(cwd, "core")
    gdb = None
    try:
        child = _read_child_pid(info_r)
        gdb = subprocess.Popen(["gdb", "-batch", "-nx", "-p", str(child),
                                "-ex", "set debuginfod enabled off",
                                "-ex", "continue", "-ex", f"generate-core-file {core}",
                                "-ex", "kill"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        time.sleep(1.0)         # gdb attached
        os.write(block_w, b"x")
        if kill_signal:
            time.sleep(kill_after)
            os.kill(child, kill_signal)
        gout, _ = gdb.communicate(timeout=timeout)
        out, _ = proc.communicate(timeout=timeout)
    finally:
        os.close(info_r)
        os.close(block_w)
        for p in (gdb, proc):
            if p and p.poll() is None:
                p.kill()
                p.wait()
    return _find_core(cwd, argv, proc.returncode, out + gout)


def core_modules(core):
    """eu-unstrip -n --core: [(build-id or "", path or "")]."""
    out = subprocess.run(["eu-unstrip", "-n", f"--core={core}"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL).stdout.decode(errors="replace")
    mods = []
    for line in out.splitlines():
        f = line.split()
        if len(f) < 5:
            continue
        bid = f[1].split("@")[0] if "@" in f[1] else ""
        mods.append((bid, f[4] if f[4] != "-" else f[3] if f[3] not in ("-", ".") else ""))
    return mods


def core_files(core):
    """The paths of the core's NT_FILE note (eu-readelf -n): every mapped
    file as the crashed process saw it."""
    out = subprocess.run(["eu-readelf", "-n", core], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL).stdout.decode(errors="replace")
    return {m.group(1) for m in
            re.finditer(r"^\s+[0-9a-f]+-[0-9a-f]+ [0-9a-f]+ \d+\s+(/\S.*)$", out, re.M)}
