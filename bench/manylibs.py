"""A crash with many packages, for bench/bench.py: COUNT (default 32) tiny
shared libraries, each its own source package built with rpmbuild the way
tests/lib/crashes.py builds its families (a binary package, a -debuginfo
and a -debugsource, zstd payload), and a program `manylibs` (with its own
-debuginfo and -debugsource) linking all of them.

    rpms = build(32)        # {"libbench00": {...}, ..., "manylibs": {...}}

main() hands every library's step function to the first; each step calls
the next through that chain, so the crash, in the last library, has one
frame in each library under it:

    #0  bench31_step (...) at libbench31.c:N     <- CRASH-LINE
    #1  bench30_step (...) at libbench30.c:M
    ...
    #32 main () at manylibs.c:K

Built RPMs are cached with the test fixtures (crashes.FIXTURES), keyed by
a hash of everything that went into them.
"""

import concurrent.futures
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
import crashes  # noqa: E402

LIB_C = r"""
/* One link of the chain: calls the next library's step, or crashes when
 * it is the last. Not a tail call: every library keeps its frame. */
typedef int step_fn(const void *chain, int i, int value);

int __attribute__((noinline)) bench@NN@_step(const void *chain, int i, int value)
{
        step_fn *const *steps = chain;
        int carried = value * 3 + @N@;
        if (!steps[i + 1]) {
                volatile int *nowhere = 0;
                *nowhere = carried;     /* CRASH-LINE */
                return carried;
        }
        int got = steps[i + 1](chain, i + 1, carried);
        return got + 1;
}
"""

LIB_SPEC = r"""
%global _enable_debug_packages 1
%global _debugsource_packages 1
%global _debuginfo_subpackages 1
%global _binary_payload w19.zstdio
%global _build_id_links compat

Name: libbench@NN@
Version: 1.0
Release: 1.fc40
Summary: Library @NN@ of the many-packages benchmark crash
License: MIT
Source0: libbench@NN@.c

%description
One of the libraries the manylibs program links.

%debug_package

%prep
%setup -q -c -T
cp %{SOURCE0} .

%build
gcc -g -O0 -fPIC -shared -Wl,-soname,libbench@NN@.so.1 -Wl,--build-id=sha1 -o libbench@NN@.so.1 libbench@NN@.c

%install
mkdir -p %{buildroot}%{_libdir}
install -m 0755 libbench@NN@.so.1 %{buildroot}%{_libdir}/libbench@NN@.so.1

%files
%{_libdir}/libbench@NN@.so.1
"""

PROGRAM_SPEC = r"""
%global _enable_debug_packages 1
%global _debugsource_packages 1
%global _debuginfo_subpackages 1
%global _binary_payload w19.zstdio
%global _build_id_links compat

Name: manylibs
Version: 1.0
Release: 1.fc40
Summary: Crashes in the last of @COUNT@ libraries from separate packages
License: MIT
Source0: manylibs.c
@SOURCES@

%description
Links @COUNT@ libraries, each from its own package, and crashes in the last.

%debug_package

%prep
%setup -q -c -T
cp %{SOURCE0} .
@COPY@

%build
gcc -g -O0 -Wl,--build-id=sha1 -o manylibs manylibs.c -L. @LINK@

%install
mkdir -p %{buildroot}%{_bindir}
install -m 0755 manylibs %{buildroot}%{_bindir}/manylibs

%files
%{_bindir}/manylibs
"""


def lib_name(i):
    return f"libbench{i:02d}"


def program_source(count):
    decls = "".join(f"int bench{i:02d}_step(const void *chain, int i, int value);\n"
                    for i in range(count))
    chain = "".join(f"                bench{i:02d}_step,\n" for i in range(count))
    return ("\n#include <stddef.h>\n\n"
            "typedef int step_fn(const void *chain, int i, int value);\n\n" + decls +
            "\nint main(void)\n{\n"
            "        static step_fn *const steps[] = {\n" + chain +
            "                NULL,\n        };\n"
            "        return steps[0](steps, 0, 1);   /* MAIN-LINE */\n}\n")


def build_lib(i):
    nn = f"{i:02d}"
    name = lib_name(i)
    spec = LIB_SPEC.replace("@NN@", nn)
    source = LIB_C.replace("@NN@", nn).replace("@N@", str(i))
    arch = crashes.host_arch()
    key = f"{name}-1.0-1.fc40.{arch}-{crashes._digest(spec, source)}"
    subs = [name, f"{name}-debuginfo", f"{name}-debugsource"]
    files = {s: f"{s}-1.0-1.fc40.{arch}.rpm" for s in subs}
    got = crashes._rpmbuild(f"{name}.spec", spec, {f"{name}.c": source},
                            os.path.join(crashes.FIXTURES, key), files.values())
    return {s: got[files[s]] for s in subs}


def build(count=32, jobs=2):
    """Builds (or finds) the COUNT library families and the program.
    Returns {family name: {package name: RPM path}}."""
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        libs = list(pool.map(build_lib, range(count)))
    out = {lib_name(i): libs[i] for i in range(count)}

    # The program links the libraries' .so files: take them from the RPMs.
    tmp = tempfile.mkdtemp(prefix="manylibs-")
    try:
        crashes.extract_rpms([libs[i][lib_name(i)] for i in range(count)], tmp)
        sources = {"manylibs.c": program_source(count)}
        for i in range(count):
            so = f"{lib_name(i)}.so.1"
            with open(os.path.join(tmp, "usr", "lib64", so), "rb") as f:
                sources[so] = f.read()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sos = [f"{lib_name(i)}.so.1" for i in range(count)]
    spec = (PROGRAM_SPEC.replace("@COUNT@", str(count))
            .replace("@SOURCES@", "\n".join(f"Source{i + 1}: {so}" for i, so in enumerate(sos)))
            .replace("@COPY@", "\n".join(f"cp %{{SOURCE{i + 1}}} ." for i in range(count)))
            .replace("@LINK@", " ".join(f"-l:{so}" for so in sos)))
    arch = crashes.host_arch()
    key = f"manylibs-1.0-1.fc40.{arch}-{crashes._digest(spec, *sources.values())}"
    subs = ["manylibs", "manylibs-debuginfo", "manylibs-debugsource"]
    files = {s: f"{s}-1.0-1.fc40.{arch}.rpm" for s in subs}
    got = crashes._rpmbuild("manylibs.spec", spec, sources, os.path.join(crashes.FIXTURES, key),
                            files.values())
    out["manylibs"] = {s: got[files[s]] for s in subs}
    return out


if __name__ == "__main__":
    import json
    print(json.dumps(build(int(sys.argv[1]) if len(sys.argv) > 1 else 32), indent=1))
