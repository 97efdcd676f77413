"""Packaging: what `make install` and the spec put on a server.

- The default retrace-server.conf (made by doc/conf-doc from conf_keys[])
  loads as the programs load it (conf_load, through `conf-doc check`), lists
  every key of the table at its default, and still loads with every default
  uncommented; retrace-server.conf(5) names every key.
- httpd -t accepts the installed conf.modules.d/10-retrace.conf and
  conf.d/retrace.conf (paths pointed into DESTDIR), also with every
  commented directive uncommented; conf.d/retrace.conf and mod_retrace(8)
  list exactly the directives the module registers (httpd -L), and the
  snippet requires HTTPS and mounts the handler with LimitRequestBody 0.
- systemd: `systemd-analyze verify --root=DESTDIR` passes on the three units
  without a message (their programs and man pages resolved inside
  DESTDIR; the targets they depend on copied from the host);
  systemd-sysusers and systemd-tmpfiles, run offline on DESTDIR, create the
  user, httpd's membership in its group and the directories with their
  owners and modes.
- rpm, when rpmbuild is installed: `make dist`, then `rpmbuild -ta --nodeps`
  of the tarball succeeds (Fedora's macros -- %_unitdir, %systemd_post,
  %_httpd_moddir, ... -- are defined on the command line, as Debian's rpm
  lacks them), and `rpm -qlp` of each package lists what the spec
  promises. Skipped in the sanitizer pass: the tarball's build does not
  depend on how this tree was configured.

What is not tested here: the hardening of the units against a live systemd
(this machine may have none running); see the comments in
systemd/retrace-worker.service.in for what was tried and how."""

import fnmatch
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rtest  # noqa: E402
from rtest import ok, eq, diag, run_tests, free_port, TOP_BUILDDIR  # noqa: E402

CONF_DOC = os.path.join(TOP_BUILDDIR, "doc", "conf-doc")


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def table():
    """{"section.Key": default} from conf-doc: an empty file loads to
    every default."""
    rc, out = run([CONF_DOC, "check", "/dev/null"])
    assert rc == 0, out
    return dict(line.split(" = ", 1) for line in out.splitlines())


def find(dest, pattern):
    hits = glob.glob(os.path.join(dest, "**", pattern), recursive=True)
    return hits[0] if len(hits) == 1 else None


# --- the default configuration and the manuals -------------------------------------

def test_config(dest):
    keys = table()
    ok(len(keys) >= 20, "conf-doc check lists the table's keys", keys)
    conf = find(dest, "etc/retrace-server.conf")
    ok(conf, "make install puts retrace-server.conf in SYSCONFDIR")
    text = read(conf)
    rc, out = run([CONF_DOC, "check", conf])
    eq(rc, 0, "the installed retrace-server.conf loads with conf_load")
    eq(dict(line.split(" = ", 1) for line in out.splitlines()), keys,
       "and gives every key its default")
    listed = re.findall(r"^#(\w+) = (.*)$", text, re.M)
    eq(sorted(k for k, _ in listed), sorted(k.split(".", 1)[1] for k in keys),
       "the file lists every key of the table, commented out")
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write(re.sub(r"^#(\w+ = )", r"\1", text, flags=re.M))
    try:
        rc, out = run([CONF_DOC, "check", f.name])
        eq(rc, 0, "with every key uncommented it still loads")
        eq(dict(line.split(" = ", 1) for line in out.splitlines()), keys,
           "with the table's defaults")
    finally:
        os.unlink(f.name)

    man = read(find(dest, "man5/retrace-server.conf.5"))
    missing = [k for k in keys if f"\\fB{k.split('.', 1)[1]}\\fR" not in man]
    eq(missing, [], "retrace-server.conf(5) documents every key")
    for page in ("man5/retrace-server.conf.5", "man8/mod_retrace.8", "man8/retrace-worker.8",
                 "man8/retrace-reposync.8"):
        path = find(dest, page)
        if not ok(path, f"make install puts {page}") or not shutil.which("groff"):
            continue
        rc, out = run(["groff", "-man", "-ww", "-z", "-Tutf8", path])
        eq((rc, out.strip()), (0, ""), f"{os.path.basename(page)} formats without a warning")


# --- httpd ---------------------------------------------------------------------------

def httpd_conf(tmp, dest, uncomment=False):
    """A minimal httpd.conf that includes the installed snippets, their
    absolute paths pointed into DESTDIR."""
    modconf = find(dest, "conf.modules.d/10-retrace.conf")
    confd = find(dest, "conf.d/retrace.conf")
    etc = os.path.join(tmp, "etc")
    os.makedirs(etc, exist_ok=True)
    text = read(modconf)
    text = re.sub(r"^(LoadModule retrace_module )(/\S+)", lambda m: m.group(1) + dest + m.group(2),
                  text, flags=re.M)
    write(os.path.join(etc, "10-retrace.conf"), text)
    text = read(confd)
    text = re.sub(r"^(RetraceConfigFile )(/\S+)", lambda m: m.group(1) + dest + m.group(2),
                  text, flags=re.M)
    if uncomment:
        text = re.sub(r"^#(Retrace\w+\s+\S+)\s*$", r"\1", text, flags=re.M)
    write(os.path.join(etc, "retrace.conf"), text)
    moddir = rtest.httpd_modules_dir()
    unixd = os.path.join(moddir, "mod_unixd.so")
    write(os.path.join(etc, "httpd.conf"), f"""
ServerRoot "{tmp}"
ServerName 127.0.0.1
Listen 127.0.0.1:{free_port()}
PidFile "{tmp}/httpd.pid"
DefaultRuntimeDir "{tmp}"
ErrorLog "{tmp}/error_log"
LoadModule mpm_event_module {moddir}/mod_mpm_event.so
LoadModule authz_core_module {moddir}/mod_authz_core.so
{f'<IfModule !unixd_module>{chr(10)}LoadModule unixd_module {unixd}{chr(10)}</IfModule>'
 if os.path.exists(unixd) else ''}
Include "{etc}/10-retrace.conf"
Include "{etc}/retrace.conf"
""")
    return os.path.join(etc, "httpd.conf"), text


def httpd(conf, *args):
    binary = os.environ.get("HTTPD") or shutil.which("apache2") or shutil.which("httpd")
    return run([binary, "-f", conf, *args], env=rtest.Server.httpd_env(None))


def test_httpd(dest):
    with tempfile.TemporaryDirectory(prefix="retrace-pkg-httpd-") as tmp:
        conf, text = httpd_conf(tmp, dest)
        rc, out = httpd(conf, "-t")
        eq((rc, out.strip()), (0, "Syntax OK"),
           "httpd -t accepts conf.modules.d/10-retrace.conf and conf.d/retrace.conf")
        ok(re.search(r"^RetraceRequireHTTPS On$", text, re.M), "conf.d/retrace.conf requires HTTPS")
        ok(re.search(r"<Location /retrace>\s+SetHandler retrace\b", text)
           and re.search(r"^\s+LimitRequestBody 0$", text, re.M),
           "and mounts the handler at /retrace with LimitRequestBody 0")
        ok("PasswordRotation" in text and "abrt-retrace-client" in text,
           "and tells how to serve ABRT's client (RetracePasswordRotation Off)")

        rc, out = httpd(conf, "-L")
        registered = sorted(set(re.findall(r"^(Retrace\w+) \(mod_retrace\.c\)", out, re.M)))
        ok(len(registered) > 5 and "RetraceConfigFile" in registered,
           "httpd -L lists the module's directives", out[-2000:])
        documented = sorted(set(re.findall(r"^#?(Retrace\w+)\s", text, re.M)))
        eq(documented, registered, "conf.d/retrace.conf shows every directive the module has")
        man = read(find(dest, "man8/mod_retrace.8"))
        eq([d for d in registered if f"\\fB{d}\\fR" not in man], [],
           "mod_retrace(8) documents every directive")

        conf, text = httpd_conf(tmp, dest, uncomment=True)
        rc, out = httpd(conf, "-t")
        eq((rc, out.strip()), (0, "Syntax OK"),
           "httpd -t also accepts every commented directive, uncommented, at its default")


# --- systemd -------------------------------------------------------------------------

def host_unit_dir():
    for d in ("/usr/lib/systemd/system", "/lib/systemd/system"):
        if os.path.exists(os.path.join(d, "sysinit.target")):
            return d
    return None


def test_systemd(dest):
    units = [find(dest, f"systemd/system/{u}") for u in
             ("retrace-worker.service", "retrace-reposync.service", "retrace-reposync.timer")]
    ok(all(units), "make install puts the three units in the unit directory", units)
    worker = read(units[0])
    ok(re.search(r"^User=retrace$", worker, re.M) and re.search(r"^ProtectSystem=strict$", worker, re.M)
       and re.search(r"^ReadWritePaths=/var/spool/retrace-server /var/cache/retrace-server$", worker, re.M),
       "retrace-worker.service runs as retrace, writes only the spool and the cache")
    if not shutil.which("systemd-analyze") or not host_unit_dir():
        diag("no systemd-analyze or no systemd units here: verify skipped")
    else:
        # The units' dependencies (sysinit.target, ...) are looked up inside
        # the root too.
        lib = os.path.join(dest, "usr/lib/systemd/system")
        os.makedirs(lib, exist_ok=True)
        for f in glob.glob(os.path.join(host_unit_dir(), "*.target")) + \
                glob.glob(os.path.join(host_unit_dir(), "*.slice")):
            if not os.path.exists(os.path.join(lib, os.path.basename(f))):
                shutil.copy(f, lib)
        man = os.path.dirname(os.path.dirname(find(dest, "man8/retrace-worker.8")))
        rc, out = run(["systemd-analyze", "verify", f"--root={dest}", *units],
                      env=dict(os.environ, MANPATH=man))
        eq((rc, out.strip()), (0, ""),
           "systemd-analyze verify passes on the units: programs, man pages, every setting")
        rc, out = run(["systemd-analyze", "security", "--offline=yes", f"--root={dest}", units[0]])
        m = re.search(r"Overall exposure level for retrace-worker.service: ([\d.]+)", out)
        if m:
            diag(f"systemd-analyze security: retrace-worker.service exposure {m.group(1)}")
            ok(float(m.group(1)) <= 3.0, "retrace-worker.service is hardened (exposure <= 3.0)",
               out[-3000:])

    sysusers = [find(dest, "sysusers.d/retrace-server.conf"), find(dest, "sysusers.d/mod_retrace.conf")]
    tmpfiles = find(dest, "tmpfiles.d/retrace-server.conf")
    ok(all(sysusers) and tmpfiles, "make install puts the sysusers.d and tmpfiles.d files")
    if not shutil.which("systemd-sysusers") or not shutil.which("systemd-tmpfiles") or os.getuid() != 0:
        diag("systemd-sysusers/systemd-tmpfiles missing or not root: offline run skipped")
        return
    os.makedirs(os.path.join(dest, "etc"), exist_ok=True)
    rc, out = run(["systemd-sysusers", f"--root={dest}", *sysusers])
    eq(rc, 0, "systemd-sysusers --root accepts the sysusers.d files")
    passwd = {l.split(":")[0]: l.split(":") for l in read(os.path.join(dest, "etc/passwd")).splitlines()}
    group = {l.split(":")[0]: l.split(":") for l in read(os.path.join(dest, "etc/group")).splitlines()}
    ok("retrace" in passwd and "retrace" in group, "it creates the user and the group retrace", passwd)
    user = re.search(r"^m (\S+) retrace$", read(sysusers[1]), re.M)
    ok(user and user.group(1) in group["retrace"][3].split(","),
       "and makes httpd's user a member of the group retrace", group)
    rc, out = run(["systemd-tmpfiles", f"--root={dest}", "--create", tmpfiles])
    eq((rc, out.strip()), (0, ""), "systemd-tmpfiles --root --create accepts tmpfiles.d/retrace-server.conf")
    uid, gid = int(passwd["retrace"][2]), int(group["retrace"][2])
    want = {
        "var/spool/retrace-server": 0o2770, "var/spool/retrace-server/tasks": 0o2770,
        "var/spool/retrace-server/queue": 0o2770, "var/spool/retrace-server/running": 0o2770,
        "var/cache/retrace-server": 0o750, "var/lib/retrace-server/repo": 0o2750,
    }
    got = {}
    for d in want:
        st = os.stat(os.path.join(dest, d))
        got[d] = (oct(st.st_mode & 0o7777), st.st_uid == uid and st.st_gid == gid)
    eq(got, {d: (oct(m), True) for d, m in want.items()},
       "the spool (2770), cache (0750) and repository (2750) belong to retrace:retrace")


# --- rpm ------------------------------------------------------------------------------

# Fedora's macros (systemd-rpm-macros, httpd-devel, Fedora's %_sharedstatedir)
# that Debian's rpm lacks; the scriptlet macros become markers to check.
FEDORA_MACROS = {
    "_unitdir": "/usr/lib/systemd/system",
    "_tmpfilesdir": "/usr/lib/tmpfiles.d",
    "_sysusersdir": "/usr/lib/sysusers.d",
    "_sharedstatedir": "/var/lib",
    "_httpd_moddir": "%{_libdir}/httpd/modules",
    "_httpd_confdir": "%{_sysconfdir}/httpd/conf.d",
    "_httpd_modconfdir": "%{_sysconfdir}/httpd/conf.modules.d",
    "_httpd_mmn": "20120211x8664",
    "systemd_post()": ": systemd_post %*",
    "systemd_preun()": ": systemd_preun %*",
    "systemd_postun()": ": systemd_postun %*",
    "systemd_postun_with_restart()": ": systemd_postun_with_restart %*",
    "tmpfiles_create()": ": tmpfiles_create %*",
}

PROMISED = {
    "retrace-server": [
        "/etc/retrace-server.conf", "/etc/retrace-server/repos.d",
        "/usr/sbin/retrace-worker", "/usr/sbin/retrace-reposync",
        "/usr/lib/systemd/system/retrace-worker.service",
        "/usr/lib/systemd/system/retrace-reposync.service",
        "/usr/lib/systemd/system/retrace-reposync.timer",
        "/usr/lib/tmpfiles.d/retrace-server.conf", "/usr/lib/sysusers.d/retrace-server.conf",
        "/usr/share/man/man5/retrace-server.conf.5*", "/usr/share/man/man8/retrace-worker.8*",
        "/usr/share/man/man8/retrace-reposync.8*",
        "/var/spool/retrace-server", "/var/spool/retrace-server/tasks",
        "/var/cache/retrace-server", "/var/lib/retrace-server/repo",
    ],
    "mod_retrace": [
        "/usr/lib*/httpd/modules/mod_retrace.so",
        "/etc/httpd/conf.modules.d/10-retrace.conf", "/etc/httpd/conf.d/retrace.conf",
        "/usr/lib/sysusers.d/mod_retrace.conf", "/usr/share/man/man8/mod_retrace.8*",
    ],
    "retrace-client": [
        "/usr/bin/retrace-client", "/usr/share/man/man1/retrace-client.1*",
        "/etc/libreport/events.d/retrace-client.conf",
    ],
}

CONFIG = {
    "retrace-server": ["/etc/retrace-server.conf"],
    "mod_retrace": ["/etc/httpd/conf.d/retrace.conf", "/etc/httpd/conf.modules.d/10-retrace.conf"],
    "retrace-client": ["/etc/libreport/events.d/retrace-client.conf"],
}


def rpmq(rpm, *args):
    rc, out = run(["rpm", "-qp", *args, rpm])
    return out.splitlines() if rc == 0 else [f"rpm failed: {out}"]


def rpmbuild_env():
    """The environment without make's and the harness's variables: a
    MAKEFLAGS inherited from `make check TESTS=...` would override the
    TESTS of the spec's %check, and the tarball's build would run this very
    test again."""
    drop = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "GNUMAKEFLAGS", "TESTS",
            "top_srcdir", "top_builddir", "TESTDATA", "HTTPD", "RETRACE_SANITIZERS", "RETRACE_MODULE",
            "CMOCKA_MESSAGE_OUTPUT"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def test_rpm():
    if not shutil.which("rpmbuild"):
        diag("no rpmbuild here: the spec is not built")
        return
    if os.environ.get("RPM_BUILD_ROOT"):
        diag("run by rpmbuild's %check: the spec is not built again")
        return
    if os.environ.get("RETRACE_SANITIZERS"):
        diag("sanitizer pass: the spec's build does not depend on it; built in the plain pass")
        return
    version = subprocess.run(["sed", "-n", "s/^VERSION = //p", os.path.join(TOP_BUILDDIR, "Makefile")],
                             stdout=subprocess.PIPE).stdout.decode().strip()
    with tempfile.TemporaryDirectory(prefix="retrace-pkg-rpm-") as top:
        rc, out = run(["make", "-s", "-C", TOP_BUILDDIR, "dist"], env=rpmbuild_env())
        tarball = os.path.join(TOP_BUILDDIR, f"retrace-server-{version}.tar.gz")
        if not eq(rc, 0, "make dist succeeds") or not ok(os.path.exists(tarball), "and makes the tarball", out):
            return
        shutil.move(tarball, top)
        tarball = os.path.join(top, os.path.basename(tarball))
        rc, listing = run(["tar", "tzf", tarball])
        ok(f"retrace-server-{version}/retrace-server.spec" in listing.splitlines(),
           "the tarball holds retrace-server.spec")
        defines = []
        for k, v in FEDORA_MACROS.items():
            defines += ["--define", f"{k} {v}"]
        rc, out = run(["rpmbuild", "-ta", "--nodeps", "--define", f"_topdir {top}", *defines, tarball],
                      timeout=900, env=rpmbuild_env())
        if not eq(rc, 0, "rpmbuild -ta --nodeps builds the tarball of make dist"):
            diag(out[-4000:])
            return
        ok(re.search(r"^# FAIL:\s+0$", out, re.M), "its %check ran the unit tests, none failed")
        rpms = {}
        for path in glob.glob(os.path.join(top, "RPMS", "*", "*.rpm")):
            rpms[rpmq(path, "--qf", "%{NAME}")[0]] = path
        eq(sorted(rpms), sorted(PROMISED), "it makes the packages retrace-server, mod_retrace, retrace-client")
        for name, files in PROMISED.items():
            if name not in rpms:
                continue
            listed = rpmq(rpms[name], "-l")
            missing = [f for f in files if not any(fnmatch.fnmatch(l, f) for l in listed)]
            eq(missing, [], f"rpm -qlp {name} lists what the spec promises")
            eq(sorted(rpmq(rpms[name], "-c")), sorted(CONFIG[name]),
               f"{name}: its configuration files are %config")
            eq(rpmq(rpms[name], "--qf", "%{VERSION}"), [version], f"{name} has the tree's version")
        if "retrace-server" in rpms:
            modes = {l.split()[-1]: (l.split()[0], l.split()[2], l.split()[3])
                     for l in rpmq(rpms["retrace-server"], "-lv")}
            eq(modes.get("/var/spool/retrace-server"), ("drwxrws---", "retrace", "retrace"),
               "the spool is packaged 2770 retrace:retrace")
            scripts = "\n".join(rpmq(rpms["retrace-server"], "--scripts"))
            for marker in (": systemd_post retrace-worker.service", ": systemd_preun retrace-worker.service",
                           ": systemd_postun_with_restart retrace-worker.service",
                           ": tmpfiles_create /usr/lib/tmpfiles.d/retrace-server.conf"):
                ok(marker in scripts, f"retrace-server's scriptlets call {marker.split()[1]}", scripts)
        if "mod_retrace" in rpms:
            requires = rpmq(rpms["mod_retrace"], "--requires")
            ok(any(r.startswith("httpd-mmn = ") for r in requires)
               and any(r.startswith("retrace-server") for r in requires),
               "mod_retrace requires httpd's module ABI and retrace-server", requires)


def main():
    ok(os.access(CONF_DOC, os.X_OK), "make builds doc/conf-doc")
    with tempfile.TemporaryDirectory(prefix="retrace-pkg-") as dest:
        rc, out = run(["make", "-s", "-C", TOP_BUILDDIR, "install", f"DESTDIR={dest}"])
        if not eq(rc, 0, "make install DESTDIR=... succeeds"):
            diag(out[-3000:])
            return
        test_config(dest)
        test_httpd(dest)
        test_systemd(dest)
    test_rpm()


run_tests(main)
