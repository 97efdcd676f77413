"""End to end: real httpd with mod_retrace, the real retrace-worker, real
gdb, real RPMs and real cores.

Fixtures (tests/lib/crashes.py, tests/lib/rpmfix.py), built with rpmbuild
and cached under $top_builddir/tests/fixtures/:
- selfcrash (gzip payload): SIGSEGV in the program's own code;
- crasher 1.0 and 1.1 (zstd): SIGSEGV inside libcrash.so.1 of the
  crasher-libs subpackage; both versions in the repository, the core from
  1.0, uploaded once naming 1.0 and once naming 1.1 (the package updated
  while the program ran): the core's build-ids choose 1.0 both times;
- threads (xz): five threads, one dies while the others sleep;
- aborter (zstd): a failed assert(), SIGABRT raised inside libc;
- selfcrash for i686 (gcc -m32, rpmbuild --target i686) in fedora-40-i386;
- glibc and glibc-debuginfo made of the host's libc and libc6-dbg's files
  (x86_64); the i686 glibc has no debuginfo (Debian has none without a
  foreign architecture), so the i686 retrace has the program's own only;
- the genuine Fedora 34 sshpass and sshpass-debuginfo of ../shared/testdata,
  run on the host's libc (as glibc above) and killed with SIGSEGV;
- real cores of ../shared/testdata whose programs can be packaged: satyr's
  null_dereference (no NT_FILE note), elfutils' testfiledwarfinlines (C++,
  inlined frames) and backtrace.x86_64 (static, two threads, SIGABRT);
  ABRT's genuine Fedora 16 problem directory is the unsupported release;
- selfcrash 1.0-1.fc41 alone in fedora-41-x86_64, with no debuginfo at all.

Every core is made by really running the program in bubblewrap on a root
of the packages' payloads, so its mappings name /usr/bin/... and
/usr/lib64/..., as on Fedora.

The worker runs as httpd's user, with two jobs. Checked: function names,
file:line and local variables of the right frames; the log's package list;
coredump.zst; failures with clear logs (unsupported release, unknown
package, a truncated core, a file that is no ELF core) and a success with
the missing debuginfo listed; two tasks at once; the worker killed with
SIGKILL mid-task, alone and with its task processes, then restarted.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rtest import (ok, eq, diag, bail, run_tests, Server, compress,  # noqa: E402
                   TOP_BUILDDIR, TESTDATA)
import crashes  # noqa: E402
import rpmfix  # noqa: E402
from worker import Worker, submit, wait_all, show, catch_in_gdb  # noqa: E402

RPM_CACHE = os.path.join(TOP_BUILDDIR, "tests", "fixtures", "rpms")
ABIGAIL = os.path.join(TESTDATA, "libabigail-real-fedora-rhel-rpms-with-debuginfo")
ELFUTILS = os.path.join(TESTDATA, "elfutils-cores-x86_64")
SATYR = os.path.join(TESTDATA, "satyr-null-dereference-x86_64")
ABRT_F16 = os.path.join(TESTDATA, "abrt-problemdir-sleep-f16-with-coredump", "problem_dir")
GLIBC = crashes.host_glibc_version()

# --- fixtures -----------------------------------------------------------------


class Fixtures:
    pass


def prerequisites(work):
    """What the fixtures need beyond the build's own dependencies; a clear
    bail-out instead of a failing rpmbuild."""
    src = os.path.join(work, "m32.c")
    with open(src, "w") as f:
        f.write("int main(void) { return 0; }\n")
    p = subprocess.run(["gcc", "-m32", "-o", src[:-2], src], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    if p.returncode != 0:
        bail("gcc -m32 does not work: install gcc-multilib\n" + p.stdout.decode(errors="replace"))
    libc = crashes.build_id(os.path.realpath("/lib64/ld-linux-x86-64.so.2"))
    if not os.path.exists(f"/usr/lib/debug/.build-id/{libc[:2]}/{libc[2:]}.debug"):
        bail("no debug file for the host's C library: install libc6-dbg")
    for tool in ("bwrap", "rpmbuild", "rpm2cpio", "cpio", "prlimit", "eu-readelf", "bunzip2",
                 "zstd"):
        if not shutil.which(tool):
            bail(f"{tool} is not installed")


def build_fixtures(work):
    prerequisites(work)
    fx = Fixtures()
    t0 = time.time()
    fx.glibc = crashes.host_glibc()
    fx.glibc32 = crashes.host_glibc("i686")
    fx.selfcrash = crashes.program_family("selfcrash", "1.0", "1.fc40", payload="gz")
    fx.threads = crashes.program_family("threads", "1.0", "1.fc40", payload="xz")
    fx.aborter = crashes.program_family("aborter", "1.0", "1.fc40", payload="zstd")
    fx.selfcrash32 = crashes.program_family("selfcrash", "1.0", "1.fc40", payload="xz",
                                            target="i686")
    fx.selfcrash41 = crashes.program_family("selfcrash", "1.0", "1.fc41", payload="zstd")
    fx.crasher = rpmfix.build_crasher("1.0", "1.fc40", RPM_CACHE)
    fx.crasher11 = rpmfix.build_crasher("1.1", "1.fc40", RPM_CACHE)
    fx.sshpass = os.path.join(ABIGAIL, "sshpass-1.07-1.fc34.x86_64.rpm")
    fx.sshpass_dbg = os.path.join(ABIGAIL, "sshpass-debuginfo-1.07-1.fc34.x86_64.rpm")

    # The genuine programs of the real cores, each packaged at the path its
    # core names (satyr's core has no NT_FILE note: any path will do).
    real = os.path.join(work, "real")
    os.makedirs(real, exist_ok=True)

    def bunzip(name):
        dst = os.path.join(real, name[:-4] if name.endswith(".bz2") else name)
        if not os.path.exists(dst):
            with open(dst, "wb") as f:
                subprocess.run(["bunzip2", "-c", os.path.join(ELFUTILS, name)], stdout=f,
                               check=True)
        return dst
    fx.nullderef_rpm = crashes.wrap_binary(
        "null-dereference", "1", "1.fc40", os.path.join(SATYR, "null_dereference.bin.x86_64"),
        "/usr/bin/null_dereference", payload="gz")
    fx.inlines_rpm = crashes.wrap_binary(
        "testfiledwarfinlines", "1", "1.fc20", bunzip("testfiledwarfinlines.bz2"),
        "/usr/local/src/tests/testfiledwarfinlines", payload="xz")
    fx.inlines_core = bunzip("testfiledwarfinlines.core.bz2")
    fx.backtrace_rpm = crashes.wrap_binary(
        "elfutils-backtrace", "1", "1.fc20", bunzip("backtrace.x86_64.exec.bz2"),
        "/home/jkratoch/redhat/elfutils/tests/backtrace.x86_64.exec", payload="zstd")
    fx.backtrace_core = bunzip("backtrace.x86_64.core.bz2")
    diag(f"fixture RPMs ready in {time.time() - t0:.1f} s")
    return fx


def make_cores(fx, work):
    """Real cores, made by running the packaged programs."""
    t0 = time.time()
    cores = {}
    libc = fx.glibc["glibc"]

    def crash(name, rpms, argv, want, **kw):
        core = crashes.crash_core(rpms, argv, os.path.join(work, name), **kw)
        files = crashes.core_files(core)
        ok(all(p in files for p in want),
           f"the {name} core names Fedora paths {want} (eu-readelf -n: NT_FILE)", sorted(files))
        with open(core, "rb") as f:
            cores[name] = f.read()
    crash("selfcrash", [fx.selfcrash["selfcrash"], libc], ["/usr/bin/selfcrash"],
          ["/usr/bin/selfcrash", "/usr/lib64/libc.so.6", "/usr/lib64/ld-linux-x86-64.so.2"])
    core = os.path.join(work, "selfcrash", "cwd", "core")
    ids = {b for b, _ in crashes.core_modules(core)}
    ok(set(fx.glibc["build-ids"].values()) <= ids,
       "the selfcrash core maps the packaged glibc's libc.so.6 and loader (eu-unstrip -n --core "
       "build-ids)", crashes.core_modules(core))
    crash("crasher", [fx.crasher["crasher"], fx.crasher["crasher-libs"], libc],
          ["/usr/bin/crasher"], ["/usr/bin/crasher", "/usr/lib64/libcrash.so.1"])
    crash("threads", [fx.threads["threads"], libc], ["/usr/bin/threads"], ["/usr/bin/threads"])
    crash("aborter", [fx.aborter["aborter"], libc], ["/usr/bin/aborter"], ["/usr/bin/aborter"])
    crash("selfcrash32", [fx.selfcrash32["selfcrash"], fx.glibc32["glibc"]],
          ["/usr/bin/selfcrash"], ["/usr/bin/selfcrash", "/usr/lib/libc.so.6",
                                   "/usr/lib/ld-linux.so.2"])
    crash("selfcrash41", [fx.selfcrash41["selfcrash"], libc], ["/usr/bin/selfcrash"],
          ["/usr/bin/selfcrash"])
    # The genuine Fedora sshpass, waiting for its child (selfcrash in
    # pause()) on a pty, killed from outside with SIGSEGV.
    crash("sshpass", [fx.sshpass, libc, fx.selfcrash["selfcrash"]],
          ["/usr/bin/sshpass", "-p", "not-a-secret", "/usr/bin/selfcrash", "wait"],
          ["/usr/bin/sshpass", "/usr/lib64/libc.so.6"], kill_signal=signal.SIGSEGV,
          kill_after=1.0)
    diag(f"cores made in {time.time() - t0:.1f} s")
    return cores


def core_section(bt):
    """What gdb printed while loading the core: banner and crash frame."""
    m = re.search(r"\[retrace: core\](.*?)(\[retrace: threads\]|\Z)", bt, re.S)
    return m.group(1) if m else ""


def threads_section(bt):
    m = re.search(r"\[retrace: threads\](.*?)(\[retrace: shared libraries\]|\Z)", bt, re.S)
    return m.group(1) if m else ""


def sharedlib_section(bt):
    m = re.search(r"\[retrace: shared libraries\](.*?)(\[retrace: |\Z)", bt, re.S)
    return m.group(1) if m else ""


def thread_blocks(bt):
    """{thread number: its backtrace text}."""
    sec = threads_section(bt)
    parts = re.split(r"^Thread (\d+) \(", sec, flags=re.M)
    return {int(parts[i]): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def frame_re(func, where=None):
    """A frame line '#N  0x... in func (...) at where' (where: 'file:line'
    or a regex)."""
    pat = rf"^#\d+\s+(0x[0-9a-f]+ in )?{func} \(.*\)"
    if where:
        pat += rf" at (.*/)?{where}\b"
    return re.compile(pat, re.M)


def has_frame(text, func, where=None):
    return bool(frame_re(func, where).search(text))


def succeeded(t):
    return ok(t is not None and t.status == "FINISHED_SUCCESS",
              f"{t.name if t else '?'}: the retrace finished successfully",
              show(t) if t else "no task")


def failed(t):
    return ok(t is not None and t.status == "FINISHED_FAILURE",
              f"{t.name if t else '?'}: the task failed", show(t) if t else "no task")


# --- the cases ----------------------------------------------------------------


def check_selfcrash(t):
    if not succeeded(t):
        return
    line = crashes.crash_line("selfcrash")
    bt = t.backtrace
    ok("Program terminated with signal SIGSEGV" in bt, "own code: the banner names SIGSEGV", bt[:2000])
    ok(has_frame(core_section(bt), "store_result", f"selfcrash.c:{line}"),
       f"own code: the crash frame is store_result at selfcrash.c:{line}", core_section(bt))
    th = threads_section(bt)
    for func in ("store_result", "run_job", "main"):
        ok(has_frame(th, func, r"selfcrash\.c:\d+"), f"own code: frame {func} with selfcrash.c:line",
           th[:3000])
    ok(re.search(rf"^{line}\t\s*\*job->slot = doubled;", core_section(bt), re.M),
       "own code: gdb shows the crash line's source text (selfcrash-debugsource)", core_section(bt))
    ok(re.search(r"^\s+doubled = 42$", th, re.M), "own code: local variable doubled = 42", th[:3000])
    ok(re.search(r"^\s+round = 0$", th, re.M), "own code: run_job's local round = 0", th[:3000])
    ok(re.search(r"^\s+job = \{name = 0x[0-9a-f]+ \"selfcrash 1\.0-1\.fc40\", slot = 0x0\}", th, re.M),
       "own code: main's local job with its name and the NULL slot", th[:3000])
    # glibc-debuginfo is in the repository: gdb read libc's debug info
    # ("Yes", not "Yes (*)": symbols without debugging information).
    libs = sharedlib_section(bt)
    ok(re.search(r"^\S+\s+\S+\s+Yes\s+\S*/usr/lib64/libc\.so\.6$", libs, re.M),
       "own code: gdb loaded libc.so.6 with its debug info (glibc-debuginfo)", libs)
    ok(re.search(r"Extracted|Cached", t.log) and "selfcrash-debuginfo-1.0-1.fc40.x86_64" in t.log
       and "glibc-debuginfo-" in t.log,
       "own code: the log lists the program's and glibc's debuginfo packages", t.log)
    ok("NULL pointer dereference" in t.exploitable and
       "Exploitable rating (0-9 scale): 1" in t.exploitable,
       "own code: rated a NULL pointer dereference, 1 (si_addr 0x0)", t.exploitable)


def check_crasher(t):
    if not succeeded(t):
        return
    line = crashes.crash_line(rpmfix.LIBCRASH_C, "SIGSEGV: the backtrace ends here")
    bt = t.backtrace
    ok(has_frame(core_section(bt), "crash_here", f"libcrash.c:{line}"),
       f"library: the crash frame is crash_here at libcrash.c:{line} (crasher-libs)",
       core_section(bt))
    th = threads_section(bt)
    ok(has_frame(th, "recurse", r"crasher\.c:\d+") and has_frame(th, "main", r"crasher\.c:\d+"),
       "library: recurse and main at crasher.c:line below it", th[:3000])
    ok(len(frame_re("recurse").findall(th)) == 3, "library: three recurse frames (depth 2..0)",
       th[:3000])
    ok(re.search(r"^\s+local = \d+$", th, re.M), "library: crash_here's local variable local",
       th[:3000])
    ok(re.search(r'why=0x[0-9a-f]+ "version 1\.0-1\.fc40"', th),
       "library: the argument why shows the crashed version's string 1.0-1.fc40", th[:3000])
    # Both versions are in the repository: the core's build-ids pick 1.0.
    ok("crasher-libs-1.0-1.fc40.x86_64" in t.log and "crasher-libs-debuginfo-1.0-1.fc40.x86_64" in t.log
       and "crasher-debugsource-1.0-1.fc40.x86_64" in t.log,
       "two versions: the log lists crasher-libs, its debuginfo and the debugsource of 1.0", t.log)
    ok("1.1-1.fc40" not in t.log, "two versions: no package of 1.1 was used", t.log)
    ok(re.search(rf"^{line}\t\s*\*nowhere = local;", core_section(bt), re.M),
       "library: gdb shows the crash line's source text (crasher-debugsource)", core_section(bt))


def check_crasher_newer_named(t):
    """The core is from crasher 1.0, the `package` file names 1.1 (the
    package was updated while the program ran): the core's build-ids
    decide, also for libcrash.so.1, which crasher-libs ships without a
    /usr/lib/.build-id link (found by path in both versions)."""
    if not succeeded(t):
        return
    line = crashes.crash_line(rpmfix.LIBCRASH_C, "SIGSEGV: the backtrace ends here")
    bt = t.backtrace
    ok(has_frame(core_section(bt), "crash_here", f"libcrash.c:{line}"),
       f"package file names 1.1: the crash frame is crash_here at libcrash.c:{line}",
       core_section(bt))
    ok(re.search(r'why=0x[0-9a-f]+ "version 1\.0-1\.fc40"', threads_section(bt)),
       "package file names 1.1: the backtrace is of 1.0 (the why string)", bt[:3000])
    used = re.findall(r"(?:Extracted|Cached) (\S+)", t.log)
    eq(sorted(used), ["crasher-1.0-1.fc40.x86_64", "crasher-debuginfo-1.0-1.fc40.x86_64",
                      "crasher-debugsource-1.0-1.fc40.x86_64", "crasher-libs-1.0-1.fc40.x86_64",
                      "crasher-libs-debuginfo-1.0-1.fc40.x86_64", f"glibc-{GLIBC}-1.fc40.x86_64",
                      f"glibc-debuginfo-{GLIBC}-1.fc40.x86_64"],
       "package file names 1.1: every package used is of 1.0 (the core's build-ids)")


def check_threads(t):
    if not succeeded(t):
        return
    line = crashes.crash_line("threads")
    bt = t.backtrace
    ok(has_frame(core_section(bt), "worker_main", f"threads.c:{line}"),
       f"threads: the crash frame is worker_main at threads.c:{line}", core_section(bt))
    blocks = thread_blocks(bt)
    eq(len(blocks), 5, "threads: every one of the five threads has a backtrace")
    crashing = [n for n, b in blocks.items() if has_frame(b, "worker_main")]
    sleeping = [n for n, b in blocks.items() if has_frame(b, "sleeper_main")]
    ok(len(crashing) == 1 and re.search(r"^#0\s.*worker_main \(", blocks[crashing[0]], re.M),
       "threads: exactly one thread is in worker_main, at its frame #0", bt[:6000])
    ok(crashing and re.search(r"^\s+worker_id = 2$", blocks[crashing[0]], re.M),
       "threads: worker_main's local worker_id = 2", blocks.get(crashing[0] if crashing else 0))
    ok(len(sleeping) == 3 and all(re.search(r"^#0\s.*(nanosleep|sleep)", blocks[n], re.M)
                                  for n in sleeping),
       "threads: the three sleepers are inside sleep() in libc", bt[:6000])
    ok(any(has_frame(b, "main", r"threads\.c:\d+") and "pthread_join" in b for b in blocks.values()),
       "threads: the main thread waits in pthread_join", bt[:6000])


def check_aborter(t):
    if not succeeded(t):
        return
    line = crashes.crash_line("aborter")
    bt = t.backtrace
    th = threads_section(bt)
    ok("Program terminated with signal SIGABRT" in bt, "abort: the banner names SIGABRT", bt[:2000])
    ok(re.search(r"^#0\s.*(__pthread_kill_implementation|pthread_kill|raise) \(.*\) at \S+:\d+",
                 th, re.M),
       "abort: frame #0 is in libc's raise/pthread_kill, with file:line (glibc-debuginfo)", th[:4000])
    for func in ("raise", "abort", "__assert_fail"):
        ok(re.search(rf"in (__GI_)?{func} \(", th), f"abort: libc frame {func}", th[:4000])
    ok(has_frame(th, "check_level", f"aborter.c:{line}"),
       f"abort: check_level at aborter.c:{line}", th[:4000])
    ok(re.search(r"^\s+limit = 2$", th, re.M) and re.search(r"level=5", th),
       "abort: check_level's argument level=5 and local limit = 2", th[:4000])
    ok(re.search(r"__abort_msg->msg = .*Assertion `level <= limit' failed", bt),
       "abort: glibc's abort message is shown", bt[-6000:])


def check_zst(t):
    if not succeeded(t):
        return
    ok("Decompressed coredump.zst" in t.log, "coredump.zst: the log says it was decompressed", t.log)
    ok(has_frame(core_section(t.backtrace), "store_result",
                 f"selfcrash.c:{crashes.crash_line('selfcrash')}"),
       "coredump.zst: the backtrace is the right one", core_section(t.backtrace))


def check_i686(t):
    if not succeeded(t):
        return
    line = crashes.crash_line("selfcrash")
    bt = t.backtrace
    ok(re.search(r"\bi686\b", t.log) and "fedora-40-i386" in t.log,
       "i686: the log names the core's architecture and the release fedora-40-i386", t.log)
    ok(has_frame(core_section(bt), "store_result", f"selfcrash.c:{line}"),
       f"i686: the crash frame is store_result at selfcrash.c:{line}", core_section(bt))
    th = threads_section(bt)
    ok(re.search(r"^\s+doubled = 42$", th, re.M) and has_frame(th, "main", r"selfcrash\.c:\d+"),
       "i686: local doubled = 42 and main with file:line", th[:3000])
    ok("selfcrash-debuginfo-1.0-1.fc40.i686" in t.log and f"glibc-{GLIBC}-1.fc40.i686" in t.log,
       "i686: the log lists the i686 packages", t.log)
    # No 32-bit glibc debug files on this platform: the log says so.
    ok(re.search(r"No debuginfo for /usr/lib/libc\.so\.6", t.log),
       "i686: the log names libc.so.6 as having no debuginfo", t.log)


def check_sshpass(t):
    if not succeeded(t):
        return
    bt = t.backtrace
    th = threads_section(bt)
    ok("Program terminated with signal SIGSEGV" in bt, "sshpass: the banner names SIGSEGV", bt[:2000])
    # main() is inlined into runprogram(); sshpass waits in pselect().
    ok(has_frame(th, "runprogram", r"main\.c:351"),
       "sshpass: the genuine Fedora sshpass's runprogram at main.c:351 (sshpass-debuginfo)",
       th[:4000])
    ok(re.search(r"^\s+slavept = \d+$", th, re.M) and re.search(r"^\s+status = 0$", th, re.M),
       "sshpass: runprogram's local variables slavept and status", th[:4000])
    ok(re.search(r"^#0\s+(0x[0-9a-f]+ in )?\w*pselect\w* \(.*\) at \S*pselect\.c:\d+", th, re.M),
       "sshpass: frame #0 is pselect in libc, with file:line (glibc-debuginfo)", th[:4000])
    ok("sshpass-debuginfo-1.07-1.fc34.x86_64" in t.log, "sshpass: the log lists sshpass-debuginfo",
       t.log)
    ok("sent by another process" in t.exploitable and "rating (0-9 scale): 0" in t.exploitable,
       "sshpass: a SIGSEGV sent with kill(1) is rated as no fault", t.exploitable)


def check_nullderef(t):
    if not succeeded(t):
        return
    th = threads_section(t.backtrace)
    ok(has_frame(th, "main", r"null_dereference\.c:4"),
       "satyr's real core: main at null_dereference.c:4", t.backtrace[:4000])
    ok(re.search(r"^\s+p = 0x0$", th, re.M), "satyr's real core: local p = 0x0", th[:3000])
    ok("NULL pointer dereference" in t.exploitable,
       "satyr's real core (no NT_SIGINFO): rated a NULL pointer dereference from the "
       "instruction's operand and the registers", t.exploitable)
    ok(re.search(r"No package ships .*build-id a4ec59d7fc9c453fb4287d7ebc5fcf6579792e65", t.log),
       "satyr's real core: the log names the 2012 libc no package ships", t.log)


def check_inlines(t):
    if not succeeded(t):
        return
    bt = t.backtrace
    ok("SIGFPE" in bt, "elfutils' C++ core: SIGFPE", bt[:2000])
    ok(has_frame(core_section(bt), "fubar", r"dwarfinlines\.cpp:6") and "x=0" in core_section(bt),
       "elfutils' C++ core: crash frame fubar (x=0) at dwarfinlines.cpp:6", core_section(bt))
    th = threads_section(bt)
    order = [m.group(1) for m in re.finditer(r"^#\d+\s+(?:0x[0-9a-f]+ in )?(\w+) \(", th, re.M)]
    ok(order[:6] == ["fubar", "foobar", "bar", "foo", "fu", "main"],
       "elfutils' C++ core: inlined frames fubar, foobar, bar, foo, fu, main", th[:3000])
    ok(re.search(r"No package ships /usr/lib64/libstdc\+\+\.so\.6\.0\.19", t.log),
       "elfutils' C++ core: the log names Fedora 20's libstdc++ as in no package", t.log)


def check_backtrace_static(t):
    if not succeeded(t):
        return
    bt = t.backtrace
    blocks = thread_blocks(bt)
    eq(len(blocks), 2, "elfutils' static core: two threads")
    names = " ".join(blocks.values())
    for func in ("raise", "sigusr2", "stdarg", "backtracegen", "start"):
        ok(re.search(rf"in {func} \(", names) or re.search(rf"^#\d+\s+{func} \(", names, re.M),
           f"elfutils' static core: frame {func} (symbol table only)", names[:4000])
    ok(re.search(r"pthread_join", names) and re.search(r"\bmain \(", names),
       "elfutils' static core: the other thread is in pthread_join from main", names[:4000])


def check_missing_debuginfo(t):
    if not succeeded(t):
        return
    ok(re.search(r"WARN No debuginfo for /usr/bin/selfcrash \(build-id [0-9a-f]{40}\)", t.log),
       "missing debuginfo: the log names /usr/bin/selfcrash and its build-id", t.log)
    ok(re.search(r"WARN No debuginfo for /usr/lib64/libc\.so\.6", t.log),
       "missing debuginfo: the log names libc.so.6", t.log)
    ok(re.search(r"^#0\s", threads_section(t.backtrace), re.M),
       "missing debuginfo: the backtrace is produced all the same", t.backtrace[:3000])


def check_failure(t, name, pattern, desc):
    if not failed(t):
        return
    ok(re.search(pattern, t.log), f"{name}: the log says {desc}", t.log)
    ok(re.search(r"ERROR ", t.log), f"{name}: the reason is logged at level ERROR", t.log)
    eq(t.get("/backtrace").status, 404, f"{name}: no backtrace is served")


# --- the run -----------------------------------------------------------------


def main():
    t_start = time.time()
    work = tempfile.mkdtemp(prefix="retrace-e2e-")
    os.chmod(work, 0o755)
    try:
        run(work)
    finally:
        if not os.environ.get("RETRACE_KEEP_STATE"):
            shutil.rmtree(work, ignore_errors=True)
    diag(f"test-retrace took {time.time() - t_start:.1f} s")


def run(work):
    fx = build_fixtures(work)
    cores = make_cores(fx, work)

    srv = Server("retrace", settings={"limits": {"MaxParallelTasks": "100"},
                                      "worker": {"Jobs": "2", "ScanInterval": "2",
                                                 "GdbTimeout": "120"}})
    if srv.user:
        subprocess.run(["chown", "-R", f"{srv.user}:{srv.group}", os.path.join(srv.state, "cache")],
                       check=True)
    libc = [fx.glibc["glibc"], fx.glibc["glibc-debuginfo"]]
    srv.add_release("fedora-40-x86_64", libc + list(fx.selfcrash.values()) +
                    list(fx.threads.values()) + list(fx.aborter.values()) +
                    list(fx.crasher.values()) + list(fx.crasher11.values()) + [fx.nullderef_rpm])
    srv.add_release("fedora-40-i386", [fx.glibc32["glibc"]] + list(fx.selfcrash32.values()))
    srv.add_release("fedora-34-x86_64", libc + [fx.sshpass, fx.sshpass_dbg])
    srv.add_release("fedora-20-x86_64", [fx.inlines_rpm, fx.backtrace_rpm])
    # No debuginfo at all in this one.
    srv.add_release("fedora-41-x86_64", [fx.glibc["glibc"], fx.selfcrash41["selfcrash"]])

    worker = Worker(srv, jobs=2)
    worker.start()
    try:
        cases(srv, worker, fx, cores, work)
    finally:
        worker.stop()
        diag("worker log (last lines):\n" + "\n".join(worker.text().splitlines()[-15:]))
    srv.finish()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def cases(srv, worker, fx, cores, work):
    t0 = time.time()
    tasks = {}
    tasks["selfcrash"] = submit(srv, "own code", cores["selfcrash"], "selfcrash-1.0-1.fc40",
                                "/usr/bin/selfcrash")
    tasks["crasher"] = submit(srv, "library", cores["crasher"], "crasher-1.0-1.fc40",
                              "/usr/bin/crasher", compression="gz")
    tasks["crasher-1.1"] = submit(srv, "package file names 1.1", cores["crasher"],
                                  "crasher-1.1-1.fc40", "/usr/bin/crasher")
    tasks["threads"] = submit(srv, "threads", cores["threads"], "threads-1.0-1.fc40",
                              "/usr/bin/threads", compression="zst")
    tasks["aborter"] = submit(srv, "abort", cores["aborter"], "aborter-1.0-1.fc40",
                              "/usr/bin/aborter", compression=None)
    tasks["zst"] = submit(srv, "coredump.zst", compress(cores["selfcrash"], "zst"),
                          "selfcrash-1.0-1.fc40", "/usr/bin/selfcrash", core_member="coredump.zst",
                          compression=None)
    tasks["i686"] = submit(srv, "i686", cores["selfcrash32"], "selfcrash-1.0-1.fc40",
                           "/usr/bin/selfcrash")
    tasks["sshpass"] = submit(srv, "sshpass", cores["sshpass"], "sshpass-1.07-1.fc34",
                              "/usr/bin/sshpass", os_release="Fedora release 34 (Thirty Four)\n")
    with open(os.path.join(SATYR, "null_dereference.core.x86_64"), "rb") as f:
        tasks["nullderef"] = submit(srv, "satyr's real core", f.read(), "null-dereference-1-1.fc40",
                                    "/usr/bin/null_dereference")
    with open(fx.inlines_core, "rb") as f:
        tasks["inlines"] = submit(srv, "elfutils' C++ core", f.read(), "testfiledwarfinlines-1-1.fc20",
                                  "/usr/local/src/tests/testfiledwarfinlines",
                                  os_release="Fedora release 20 (Heisenbug)\n")
    with open(fx.backtrace_core, "rb") as f:
        tasks["static"] = submit(srv, "elfutils' static core", f.read(), "elfutils-backtrace-1-1.fc20",
                                 "/home/jkratoch/redhat/elfutils/tests/backtrace.x86_64.exec",
                                 os_release="Fedora release 20 (Heisenbug)\n")
    tasks["nodebug"] = submit(srv, "missing debuginfo", cores["selfcrash41"], "selfcrash-1.0-1.fc41",
                              "/usr/bin/selfcrash", os_release="Fedora release 41 (Forty One)\n")
    # Failures.
    abrt = {n: read(os.path.join(ABRT_F16, n))
            for n in ("coredump", "executable", "package", "os_release")}
    tasks["f16"] = submit(srv, "unsupported release", abrt["coredump"],
                          abrt["package"].decode().strip(), abrt["executable"].decode().strip(),
                          os_release=abrt["os_release"].decode())
    tasks["unknown"] = submit(srv, "unknown package", cores["selfcrash"], "nosuchpackage-1.0-1.fc40",
                              "/usr/bin/nosuchpackage")
    core = cores["selfcrash"]
    tasks["truncated"] = submit(srv, "truncated core", core[:len(core) // 3], "selfcrash-1.0-1.fc40",
                                "/usr/bin/selfcrash")
    tasks["notelf"] = submit(srv, "not ELF", b"This is not a core dump.\n" * 400,
                             "selfcrash-1.0-1.fc40", "/usr/bin/selfcrash")

    ok(wait_all(tasks.values(), 240), "every task finished within 4 minutes",
       "\n".join(f"{k}: {t.status if t else None}" for k, t in tasks.items()))
    diag(f"{len(tasks)} tasks done in {time.time() - t0:.1f} s")

    check_selfcrash(tasks["selfcrash"])
    check_crasher(tasks["crasher"])
    check_crasher_newer_named(tasks["crasher-1.1"])
    check_threads(tasks["threads"])
    check_aborter(tasks["aborter"])
    check_zst(tasks["zst"])
    check_i686(tasks["i686"])
    check_sshpass(tasks["sshpass"])
    check_nullderef(tasks["nullderef"])
    check_inlines(tasks["inlines"])
    check_backtrace_static(tasks["static"])
    check_missing_debuginfo(tasks["nodebug"])
    check_failure(tasks["f16"], "unsupported release",
                  r"release fedora-16-x86_64 is not supported.*supports: fedora-20-x86_64, "
                  r"fedora-34-x86_64, fedora-40-i386, fedora-40-x86_64, fedora-41-x86_64",
                  "the release is not supported and lists the supported ones")
    check_failure(tasks["unknown"], "unknown package",
                  r"package 'nosuchpackage-1\.0-1\.fc40' is not in the repository",
                  "the package is not in the repository")
    check_failure(tasks["truncated"], "truncated core",
                  rf"the core is cut short: the file has {len(core) // 3} bytes, its headers "
                  rf"describe {len(core)} ",
                  "the core is cut short, with its size and the size it should have")
    check_failure(tasks["notelf"], "not ELF", r"is not an ELF core file",
                  "the file is not an ELF core")

    check_concurrency(worker, [tasks[k] for k in tasks])
    check_kills(srv, worker, cores)


def check_concurrency(worker, tasks):
    """-j 2: two tasks ran at the same time (one started before the other
    was done), and never more than two."""
    text = worker.text()
    running = [int(m.group(1)) for m in re.finditer(r"started \(pid \d+, (\d+) running\)", text)]
    ok(running and max(running) == 2, "two tasks at once: the worker ran two tasks together",
       text[-3000:])
    ok(running and max(running) <= 2, "two tasks at once: never more than -j 2", running)


def check_kills(srv, worker, cores):
    """The worker killed with SIGKILL mid-task, caught while gdb runs:
    (1) with its task processes (its whole session, as a service manager's
    hard stop or the OOM killer of the cgroup does), then restarted: the
    task is queued again, completes, and its log says why it ran twice;
    (2) the daemon alone, its task process held stopped (SIGSTOP) so the
    test cannot race it: the restarted daemon leaves the live task alone,
    and the task process, continued, finishes the task."""
    for group in (True, False):
        label = "worker and its tasks killed" if group else "worker daemon alone killed"
        t = submit(srv, label, cores["threads"], "threads-1.0-1.fc40", "/usr/bin/threads")
        if not t:
            continue
        pid = catch_in_gdb(worker)
        if not ok(pid, f"{label}: caught the task while gdb runs"):
            continue
        if not group:
            os.kill(pid, signal.SIGSTOP)
        worker.kill(group=group)
        t.poll()
        ok(t.status == "PENDING" and t.progress_seen[-1:] == ["Generating backtrace"],
           f"{label}: the task is PENDING at 'Generating backtrace' after the kill",
           (t.status, t.progress_seen))
        worker.start()
        if group:
            ok(wait_all([t], 60), f"{label}: the task does not stay PENDING after the restart",
               (t.status, t.progress_seen))
            ok(t.status == "FINISHED_SUCCESS", f"{label}: the task ran again and succeeded", show(t))
            ok(re.search(rf"task {t.id}: its worker was interrupted; queued again \(attempt 2 of 3\)",
                         worker.text()),
               f"{label}: the restarted worker says it queued the task again", worker.text()[-2000:])
            ok(re.search(r"WARN The worker handling this task was interrupted .* queued again "
                         r"\(attempt 2 of 3\)", t.log),
               f"{label}: the task's log says it was interrupted and ran again", t.log)
        else:
            time.sleep(2.5)     # past a housekeeping scan (ScanInterval 2)
            t.poll()
            ok(t.status == "PENDING" and
               not re.search(rf"task {t.id}: its worker was interrupted", worker.text()),
               f"{label}: the restarted worker leaves the live task process alone",
               worker.text()[-2000:])
            os.kill(pid, signal.SIGCONT)
            ok(wait_all([t], 60), f"{label}: the task process finishes the task",
               (t.status, t.progress_seen))
            ok(t.status == "FINISHED_SUCCESS", f"{label}: the task succeeded", show(t))
            ok("interrupted" not in t.log, f"{label}: the task ran once", t.log)
        ok(has_frame(core_section(t.backtrace), "worker_main"),
           f"{label}: the backtrace is complete", core_section(t.backtrace))
        eq(sorted(os.listdir(os.path.join(srv.spool, "running"))), [],
           f"{label}: no claim is left in running/")

    # Killed mid-task at every attempt: after the third the task fails,
    # and its log says why.
    label = "worker killed at every attempt"
    t = submit(srv, label, cores["threads"], "threads-1.0-1.fc40", "/usr/bin/threads")
    caught = 0
    for attempt in range(3):
        if not catch_in_gdb(worker):
            break
        caught += 1
        worker.kill(group=True)
        worker.start()
    eq(caught, 3, f"{label}: caught in gdb at each of the three attempts")
    ok(wait_all([t], 60) and t.status == "FINISHED_FAILURE",
       f"{label}: the task fails after the third interruption", show(t))
    ok(re.search(r"ERROR The worker handling this task was interrupted 3 times .*giving up",
                 t.log), f"{label}: the task's log says it was interrupted 3 times", t.log)
    eq(len(re.findall(r"WARN The worker handling this task was interrupted", t.log)), 2,
       f"{label}: the log notes each of the two runs again")


run_tests(main)
