"""make install honours --prefix and DESTDIR: everything lands under
DESTDIR/prefix, the module in LIBDIR/httpd/modules there, no libtool
archive beside it, nothing in the system's directories."""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rtest import ok, eq, run_tests, TOP_BUILDDIR  # noqa: E402


def main():
    prefix = subprocess.run(["sed", "-n", "s/^prefix = //p", os.path.join(TOP_BUILDDIR, "Makefile")],
                            stdout=subprocess.PIPE).stdout.decode().strip()
    ok(prefix.startswith("/"), "the build has an absolute prefix", prefix)
    with tempfile.TemporaryDirectory(prefix="retrace-install-") as dest:
        p = subprocess.run(["make", "-s", "-C", TOP_BUILDDIR, "install", f"DESTDIR={dest}"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        eq(p.returncode, 0, "make install DESTDIR=... succeeds")
        files = []
        for root, _, names in os.walk(dest):
            files += [os.path.join(root, n)[len(dest):] for n in names]
        outside = [f for f in files if not f.startswith(prefix.rstrip("/") + "/")]
        eq(outside, [], "every installed file is under DESTDIR/prefix")
        module = f"{prefix}/lib/httpd/modules/mod_retrace.so"
        ok(module in files, "the module is installed as LIBDIR/httpd/modules/mod_retrace.so", files)
        ok(not any(f.endswith(".la") for f in files), "no libtool archive is installed", files)
        nm = subprocess.run(["nm", "-D", "--defined-only", dest + module], stdout=subprocess.PIPE)
        # (ASan adds its own __odr_asan.* markers in a sanitizer build.)
        exported = [line.split()[-1] for line in nm.stdout.decode().splitlines()
                    if line.split()[1:2] and line.split()[1] in "TDBR"
                    and not line.split()[-1].startswith("__odr_asan")]
        eq(exported, ["retrace_module"], "the module exports retrace_module and nothing else")


run_tests(main)
