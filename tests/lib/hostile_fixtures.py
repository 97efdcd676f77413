"""Fixtures of the hostile corpus (tests/hostile/): the packages and the
core its cases use, built once and kept under
$top_builddir/tests/fixtures/ (crashes.py's cache and hostile/).

    fx = build(work)
    fx.glibc, fx.selfcrash, fx.threads        crashes.py's families
    fx.core                                   a real core of selfcrash (bytes)
    fx.hostile_debuginfo                      hostile-debuginfo-1-1.fc41: the real
                                              debug file of selfcrash plus everything
                                              an extractor must not trust
    fx.graft_header(name, release)            a small debuginfo RPM to graft payloads on
"""

import os
import shutil
import subprocess
import tempfile
import time

from rtest import diag, bail
import crashes

FIXTURES = os.path.join(crashes.TOP_BUILDDIR, "tests", "fixtures", "hostile")
# A file by this name appears only if a planted script ran.
PWNED = "rtpwned"
SPARSE_SIZE = 1024 ** 3             # the sparse file: 1 GiB, "hello" at 768 MiB
SPARSE_AT = 768 * 1024 ** 2

HOSTILE_SPEC = r"""
%global _binary_payload w1.zstdio
%global debug_package %{nil}
%global __os_install_post %{nil}
%global _build_id_links none

Name: @NAME@
Version: 1
Release: @RELEASE@
Summary: Debuginfo that an extractor must not trust
License: MIT
AutoReqProv: no
Provides: debuginfo(build-id) = @ID@
Source0: program.debug

%description
The real debug file of selfcrash, and absolute and climbing symlinks,
setuid and setgid files, a FIFO, device nodes, a 1 GiB sparse file and
gdb auto-load scripts that run commands.

%install
b=%{buildroot}
h=$b/usr/lib/debug/hostile
mkdir -p $b/usr/lib/debug/.build-id/@ID2@ $b/usr/lib/debug/usr/bin $h
mkdir -p $b/usr/share/gdb/auto-load/usr/bin $b/usr/lib/debug/retrace/root/usr/bin
install -m 0644 %{SOURCE0} $b/usr/lib/debug/usr/bin/selfcrash-1.0-1.fc40.x86_64.debug
ln -s ../../usr/bin/selfcrash-1.0-1.fc40.x86_64.debug $b/usr/lib/debug/.build-id/@ID2@/@IDREST@.debug
@HOSTILE@
%files
/usr/lib/debug/usr/bin/selfcrash-1.0-1.fc40.x86_64.debug
/usr/lib/debug/.build-id/@ID2@/@IDREST@.debug
@HOSTILE_FILES@
"""

# What the full hostile package adds (the graft headers do without).
HOSTILE_INSTALL = r"""
ln -s /etc/passwd $h/abs-passwd
ln -s /tmp/@PWNED@-abslink $h/abs-tmp
ln -s / $h/rootlink
ln -s ../../../../../../../../../../etc/shadow $h/climb-shadow
ln -s rootlink/../../../tmp $h/through-link
printf '#!/bin/sh\nid\n' > $h/suid
echo sgid > $h/sgid
mkfifo $h/fifo
truncate -s @SPARSE_SIZE@ $h/sparse
printf hello | dd of=$h/sparse bs=1 seek=@SPARSE_AT@ conv=notrunc status=none
cat > $h/script.py <<'EOF'
import os
print("RTPWNED-gdbpy")
os.system("touch " + os.environ.get("RTPWNED_DIR", "/tmp") + "/@PWNED@-gdbpy; id; ip addr")
EOF
cat > $h/script.gdb <<'EOF'
echo RTPWNED-gdbscript\n
shell touch ${RTPWNED_DIR:-/tmp}/@PWNED@-gdbscript
EOF
for p in usr/share/gdb/auto-load/usr/bin/selfcrash \
         usr/lib/debug/retrace/root/usr/bin/selfcrash \
         usr/lib/debug/usr/bin/selfcrash-1.0-1.fc40.x86_64.debug \
         usr/lib/debug/.build-id/@ID2@/@IDREST@.debug; do
        cp $h/script.py $b/$p-gdb.py
        cp $h/script.gdb $b/$p-gdb.gdb
done
"""

HOSTILE_FILES = r"""
%dir /usr/lib/debug/hostile
/usr/lib/debug/hostile/abs-passwd
/usr/lib/debug/hostile/abs-tmp
/usr/lib/debug/hostile/rootlink
/usr/lib/debug/hostile/climb-shadow
/usr/lib/debug/hostile/through-link
%attr(4755,root,root) /usr/lib/debug/hostile/suid
%attr(2755,root,root) /usr/lib/debug/hostile/sgid
/usr/lib/debug/hostile/fifo
/usr/lib/debug/hostile/sparse
/usr/lib/debug/hostile/script.py
/usr/lib/debug/hostile/script.gdb
%dev(c, 1, 3) /usr/lib/debug/hostile/null2
%dev(b, 8, 0) /usr/lib/debug/hostile/sda
/usr/share/gdb/auto-load/usr/bin/selfcrash-gdb.py
/usr/share/gdb/auto-load/usr/bin/selfcrash-gdb.gdb
/usr/lib/debug/retrace/root/usr/bin/selfcrash-gdb.py
/usr/lib/debug/retrace/root/usr/bin/selfcrash-gdb.gdb
/usr/lib/debug/usr/bin/selfcrash-1.0-1.fc40.x86_64.debug-gdb.py
/usr/lib/debug/usr/bin/selfcrash-1.0-1.fc40.x86_64.debug-gdb.gdb
/usr/lib/debug/.build-id/@ID2@/@IDREST@.debug-gdb.py
/usr/lib/debug/.build-id/@ID2@/@IDREST@.debug-gdb.gdb
"""


class Fixtures:
    pass


def debug_file(rpm, work):
    """The debug file of selfcrash in its debuginfo RPM."""
    tree = os.path.join(work, "selfcrash-debuginfo")
    if not os.path.isdir(tree):
        crashes.extract_rpms([rpm], tree)
    p = os.path.join(tree, "usr/lib/debug/usr/bin/selfcrash-1.0-1.fc40.x86_64.debug")
    with open(p, "rb") as f:
        return f.read()


def debuginfo_rpm(name, release, build_id, debug, hostile):
    fill = {"@NAME@": name, "@RELEASE@": release, "@ID@": build_id, "@ID2@": build_id[:2],
            "@IDREST@": build_id[2:],
            "@HOSTILE@": "h=$b/usr/lib/debug/hostile\n" + HOSTILE_INSTALL if hostile else "",
            "@HOSTILE_FILES@": HOSTILE_FILES if hostile else "",
            "@PWNED@": PWNED, "@SPARSE_SIZE@": str(SPARSE_SIZE), "@SPARSE_AT@": str(SPARSE_AT)}
    spec = HOSTILE_SPEC
    for _ in range(2):
        for k, v in fill.items():
            spec = spec.replace(k, v)
    arch = crashes.host_arch()
    fname = f"{name}-1-{release}.{arch}.rpm"
    key = f"{name}-1-{release}.{arch}-{crashes._digest(spec, debug)}"
    return crashes._rpmbuild(f"{name}.spec", spec, {"program.debug": debug},
                             os.path.join(FIXTURES, key), [fname])[fname]


def build(work):
    for tool in ("bwrap", "rpmbuild", "rpm2cpio", "cpio", "prlimit", "eu-readelf", "zstd", "xz",
                 "nsenter", "setpriv"):
        if not shutil.which(tool):
            bail(f"{tool} is not installed")
    t0 = time.time()
    fx = Fixtures()
    fx.glibc = crashes.host_glibc()
    if "glibc-debuginfo" not in fx.glibc:
        bail("no debug file for the host's C library: install libc6-dbg")
    fx.selfcrash = crashes.program_family("selfcrash", "1.0", "1.fc40", payload="gz")
    fx.threads = crashes.program_family("threads", "1.0", "1.fc40", payload="xz")
    bintree = os.path.join(work, "selfcrash-bin")
    crashes.extract_rpms([fx.selfcrash["selfcrash"]], bintree)
    fx.selfcrash_id = crashes.build_id(os.path.join(bintree, "usr/bin/selfcrash"))
    tthreads = os.path.join(work, "threads-bin")
    crashes.extract_rpms([fx.threads["threads"]], tthreads)
    fx.threads_id = crashes.build_id(os.path.join(tthreads, "usr/bin/threads"))
    fx.debug = debug_file(fx.selfcrash["selfcrash-debuginfo"], work)
    fx.hostile_debuginfo = debuginfo_rpm("hostile-debuginfo", "1.fc41", fx.selfcrash_id,
                                         fx.debug, True)
    fx.graft_headers = {
        "dotdot": debuginfo_rpm("dotdot-debuginfo", "1.fc39", fx.selfcrash_id, fx.debug, False),
        "absname": debuginfo_rpm("absname-debuginfo", "1.fc38", fx.selfcrash_id, fx.debug, False),
    }
    diag(f"hostile fixture RPMs ready in {time.time() - t0:.1f} s")
    t0 = time.time()
    core = crashes.crash_core([fx.selfcrash["selfcrash"], fx.glibc["glibc"]],
                              ["/usr/bin/selfcrash"], os.path.join(work, "selfcrash-core"))
    with open(core, "rb") as f:
        fx.core = f.read()
    fx.libc_id = fx.glibc["build-ids"]["libc.so.6"]
    diag(f"selfcrash core made in {time.time() - t0:.1f} s ({len(fx.core)} bytes)")
    return fx


def cpio_listing(rpm):
    """rpm2cpio | cpio -t: the payload's names."""
    r2c = subprocess.Popen(["rpm2cpio", rpm], stdout=subprocess.PIPE)
    out = subprocess.run(["cpio", "-t", "--quiet"], stdin=r2c.stdout, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL).stdout.decode()
    r2c.wait()
    return out.split()


def scratch():
    d = tempfile.mkdtemp(prefix="retrace-hostile-")
    os.chmod(d, 0o755)
    return d
