"""Real RPMs for the tests, built with rpmbuild from a small C program:
a family like Fedora's since F27 (one source package, per-subpackage
-debuginfo, a -debugsource), zstd payload, /usr/lib/.build-id links.

    rpms = build_crasher("1.0", "1.fc40", outdir)   # {"crasher": path, ...}

`crasher` is /usr/bin/crasher, which calls into libcrash.so.1 (in
`crasher-libs`) and dies with SIGSEGV there. Builds are cached by version
in the output directory.
"""

import os
import shutil
import subprocess
import tempfile

SPEC = r"""
%global _enable_debug_packages 1
%global _debugsource_packages 1
%global _debuginfo_subpackages 1
%global _binary_payload w19.zstdio
%global _build_id_links compat

Name: crasher
Version: @VERSION@
Release: @RELEASE@
Summary: A program that crashes, for the Retrace Server's tests
License: MIT
Source0: crasher.c
Source1: libcrash.c

%description
Crashes with SIGSEGV inside libcrash.so.1.

%debug_package

%package libs
Summary: The library crasher crashes in
%description libs
libcrash.so.1.

%prep
%setup -q -c -T
cp %{SOURCE0} %{SOURCE1} .

%build
gcc -g -O0 -fPIC -shared -Wl,-soname,libcrash.so.1 -Wl,--build-id=sha1 -o libcrash.so.1 libcrash.c
gcc -g -O0 -Wl,--build-id=sha1 -o crasher crasher.c -L. -l:libcrash.so.1

%install
mkdir -p %{buildroot}%{_bindir} %{buildroot}%{_libdir}
install -m 0755 crasher %{buildroot}%{_bindir}/crasher
install -m 0755 libcrash.so.1 %{buildroot}%{_libdir}/libcrash.so.1

%files
%{_bindir}/crasher

%files libs
%{_libdir}/libcrash.so.1
"""

CRASHER_C = r"""
#include <stdio.h>
#include <string.h>

int crash_here(const char *why, int depth);

static int recurse(const char *why, int depth)
{
        if (depth > 0)
                return recurse(why, depth - 1) + 1;
        return crash_here(why, 3);
}

int main(int argc, char **argv)
{
        const char *why = argc > 1 ? argv[1] : "version @VERSION@-@RELEASE@";
        printf("crasher %s\n", why);
        fflush(stdout);
        return recurse(why, 2);
}
"""

LIBCRASH_C = r"""
#include <string.h>

int crash_here(const char *why, int depth)
{
        volatile int *nowhere = (int *)(unsigned long)(depth - 3);
        int local = (int)strlen(why) + depth;
        *nowhere = local;       /* SIGSEGV: the backtrace ends here */
        return local;
}
"""


def build_crasher(version, release, outdir):
    """Builds (or finds) crasher-VERSION-RELEASE and its subpackages in
    outdir; returns {subpackage name: path}."""
    os.makedirs(outdir, exist_ok=True)
    names = ["crasher", "crasher-libs", "crasher-debuginfo", "crasher-libs-debuginfo",
             "crasher-debugsource"]
    arch = subprocess.run(["rpm", "--eval", "%{_arch}"], stdout=subprocess.PIPE,
                          check=True).stdout.decode().strip()
    want = {n: os.path.join(outdir, f"{n}-{version}-{release}.{arch}.rpm") for n in names}
    if all(os.path.exists(p) for p in want.values()):
        return want
    top = tempfile.mkdtemp(prefix="rpmfix-")
    try:
        for d in ("SOURCES", "SPECS", "BUILD", "RPMS", "SRPMS", "BUILDROOT"):
            os.makedirs(os.path.join(top, d))
        subst = {"@VERSION@": version, "@RELEASE@": release}

        def fill(text):
            for k, v in subst.items():
                text = text.replace(k, v)
            return text
        with open(os.path.join(top, "SOURCES", "crasher.c"), "w") as f:
            f.write(fill(CRASHER_C))
        with open(os.path.join(top, "SOURCES", "libcrash.c"), "w") as f:
            f.write(LIBCRASH_C)
        spec = os.path.join(top, "SPECS", "crasher.spec")
        with open(spec, "w") as f:
            f.write(fill(SPEC))
        p = subprocess.run(["rpmbuild", "-bb", "--nodeps", "--define", f"_topdir {top}", spec],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if p.returncode != 0:
            raise RuntimeError("rpmbuild failed:\n" + p.stdout.decode(errors="replace")[-4000:])
        for n, dst in want.items():
            src = os.path.join(top, "RPMS", arch, os.path.basename(dst))
            if not os.path.exists(src):
                raise RuntimeError(f"rpmbuild made no {os.path.basename(dst)}: "
                                   f"{os.listdir(os.path.join(top, 'RPMS', arch))}")
            # Tests run in parallel may build the same fixture at once:
            # each copies to a name of its own, the last rename wins.
            tmp = f"{dst}.tmp.{os.getpid()}"
            shutil.copy(src, tmp)
            os.rename(tmp, dst)
        return want
    finally:
        shutil.rmtree(top, ignore_errors=True)


def rpm_query(path, fmt):
    return subprocess.run(["rpm", "-qp", "--qf", fmt, path], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, check=True).stdout.decode()


def rpm_files(path):
    return subprocess.run(["rpm", "-qlp", path], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, check=True).stdout.decode().split("\n")
