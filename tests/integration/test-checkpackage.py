"""/checkpackage against a real repository index made from genuine Fedora
and RHEL RPMs: 302 for a known package, 404 for an unknown one or an
unsupported release, 400 for missing or malformed headers."""

import glob
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rtest import Server, ok, eq, run_tests, TESTDATA  # noqa: E402

ABIGAIL = os.path.join(TESTDATA, "libabigail-real-fedora-rhel-rpms-with-debuginfo")


def main():
    srv = Server("checkpackage")
    srv.add_release("fedora-34-x86_64", glob.glob(os.path.join(ABIGAIL, "sshpass-*.fc34.x86_64.rpm")))
    srv.add_release("rhel-7-x86_64", glob.glob(os.path.join(ABIGAIL, "*el7*.rpm")))
    eq(srv.get("/settings").text.splitlines()[-1], "supported_releases fedora-34-x86_64 rhel-7-x86_64",
       "both releases are supported once indexed")

    def check(nvr=None, arch=None, release=None):
        h = {}
        if nvr is not None:
            h["X-Package-NVR"] = nvr
        if arch is not None:
            h["X-Package-Arch"] = arch
        if release is not None:
            h["X-OS-Release"] = release
        return srv.get("/checkpackage", headers=h)

    cases = [
        # (nvr, arch, release, status, what)
        ("sshpass-1.07-1.fc34", "x86_64", "fedora-34-x86_64", 302, "a package in the release (release id, as ABRT sends)"),
        ("sshpass-1.07-1.fc34", "x86_64", "Fedora release 34 (Thirty Four)", 302, "a release line works too"),
        ("sshpass-1.07-1.fc34", "x86_64", None, 302, "without X-OS-Release every release is searched"),
        ("sshpass-0:1.07-1.fc34", "x86_64", "fedora-34-x86_64", 302, "epoch 0 written out matches"),
        ("0:sshpass-1.07-1.fc34", "x86_64", "fedora-34-x86_64", 302, "epoch first, as yum writes it"),
        ("sshpass-debuginfo-1.07-1.fc34", "x86_64", "fedora-34-x86_64", 302, "a debuginfo package is known"),
        ("spice-server-0.12.8-1.el7", "x86_64", "rhel-7-x86_64", 302, "a RHEL 7 package"),
        ("libICE-1.0.9-2.el7", "x86_64", "Red Hat Enterprise Linux Server release 7.9 (Maipo)", 302, "RHEL release line"),
        ("sshpass-1.07-2.fc34", "x86_64", "fedora-34-x86_64", 404, "another release of the package is unknown"),
        ("sshpass-1.08-1.fc34", "x86_64", "fedora-34-x86_64", 404, "another version is unknown"),
        ("sshpass-1:1.07-1.fc34", "x86_64", "fedora-34-x86_64", 404, "another epoch is unknown"),
        ("sshpass-1.07-1.fc34", "i686", "fedora-34-x86_64", 404, "another arch is unknown"),
        ("sshpass-1.07-1.fc34", "x86_64", "rhel-7-x86_64", 404, "a package of another release is unknown there"),
        ("sshpass-1.07-1.fc34", "x86_64", "fedora-99-x86_64", 404, "an unsupported release"),
        ("nosuchpackage-1.0-1.fc34", "x86_64", "fedora-34-x86_64", 404, "an unknown name"),
        (None, "x86_64", "fedora-34-x86_64", 400, "no X-Package-NVR"),
        ("sshpass-1.07-1.fc34", None, "fedora-34-x86_64", 400, "no X-Package-Arch"),
        ("sshpass", "x86_64", None, 400, "an NVR without version-release"),
        ("sshpass-1.07-1.fc34; rm -rf /", "x86_64", None, 400, "shell metacharacters in the NVR"),
        ("sshpass-1.07-1.fc34", "x86-64", None, 400, "an unknown architecture"),
        ("sshpass-1.07-1.fc34", "x86_64", "Ubuntu 24.04", 400, "an X-OS-Release that names no supported distribution"),
        ("sshpass-1.07-1.fc34", "x86_64", "x" * 4000, 400, "an overlong X-OS-Release"),
    ]
    for nvr, arch, release, status, what in cases:
        r = check(nvr, arch, release)
        eq(r.status, status, f"/checkpackage: {what} ({status})")
        eq(r.header("content-length"), str(len(r.body)), f"... carries its Content-Length")
        if status == 400:
            ok(r.body.endswith(b"\n") and len(r.body) < 400 and b"X-" in r.body,
               "... with a short sentence naming the header", r.body)
    r = check("sshpass-1.07-1.fc34", "x86_64", "fedora-99-x86_64")
    ok(b"fedora-99-x86_64" in r.body and b"not supported" in r.body,
       "an unsupported release is named in the 404", r.body)
    r = check("sshpass-1.07-1.fc34", "x86_64", "fedora-34-x86_64")
    eq(r.body, b"", "302 has an empty body")
    r = srv.request("POST", "/checkpackage", body=b"")
    eq(r.status, 405, "POST /checkpackage is 405")
    srv.finish()


run_tests(main)
