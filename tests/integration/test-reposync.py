"""retrace-reposync as an administrator runs it: the real program with a
retrace-server.conf and .repo files written here, against upstream
repositories made here with createrepo_c from RPMs built with rpmbuild
(tests/lib/rpmfix.py: crasher 1.0 and 1.1, five packages each), served on
loopback by a server of our own that misbehaves on purpose
(tests/lib/repotools.py), by `python3 -m http.server`, and through file://.

What is checked, each against the man page (retrace-reposync.8):
- sync v1; upstream moves to v2 and drops v1; the resync keeps both, and
  the index answers for both; an unchanged repomd.xml fetches nothing else;
- a package whose bytes do not match the checksum is refused and retried,
  a truncated download resumed (Range); a package that never matches, or
  whose body is always cut short, stays out (the latter as .part) and the
  next run fetches (resumes) it;
- primary compressed with gzip (createrepo_c), xz and zstd (recompressed
  here), the real metadata of librepo's Fedora 16 repository, and a
  createrepo_c repository of the real Fedora/RHEL RPMs of ../shared/testdata
  over HTTP; $releasever/$basearch in baseurl; a dead first baseurl;
- a server that is down, answers 404 or 500, sends a corrupt or truncated
  primary, or metadata that does not parse: an error naming the repository
  and the URL, and nothing already mirrored is lost;
- a sync killed (SIGKILL) mid-download: only complete, checked packages,
  the old index still answers, the next run resumes the .part with Range;
- two syncs at once: the second exits 3 naming the lock (and syncs its
  other release), the first ends;
- gpgcheck=1: unsigned, foreign-key and tampered packages are refused;
- exit codes 0, 1 (one repository of two fails), 2 (config, .repo and
  usage errors, each named), 3, 4 (RepoDir not writable, run as nobody with
  setpriv; an index that cannot be updated); a new release none of whose
  repositories answers gets no index; --dry-run; --release; progress lines
  (plain, or redrawn on a terminal: a pty) and the summary; --quiet;
- import mode with the real Fedora/RHEL RPMs of ../shared/testdata (through
  symlinks, one of them relative) and the index's answers for them
  (build-ids, paths, spice-debuginfo named after its source package,
  libxcrypt-compat-debuginfo's dwz companion);
- mod_retrace serving a repository retrace-reposync made.

The index is read through tests/tools/spool-tool, which calls the same
repoindex functions as retrace-worker and mod_retrace.
"""

import glob
import hashlib
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rtest import (ok, eq, diag, run_tests, free_port, Server, TOP_BUILDDIR,  # noqa: E402
                   TESTDATA, SPOOL_TOOL)
from repotools import (Misbehaving, start_http_server, recompress, recompress_fix,  # noqa: E402
                       gpg_key, rpmsign, gpg_stop)
import rpmfix  # noqa: E402

REPOSYNC = os.path.join(TOP_BUILDDIR, "retrace-reposync", "retrace-reposync")
RPM_CACHE = os.path.join(TOP_BUILDDIR, "tests", "fixtures", "rpms")
ABIGAIL = os.path.join(TESTDATA, "libabigail-real-fedora-rhel-rpms-with-debuginfo")
F16_REPO = os.path.join(TESTDATA, "repodata-fixtures", "librepo-yum_mock-01-complete-repo")
SUMMARY = re.compile(r"^(dry run: )?(\d+) releases, (\d+) repositories \((\d+) unchanged, "
                     r"(\d+) failed\): (\d+) packages downloaded \([^)]*\), (\d+) failed, in "
                     r"[\d.]+ s$")

sanitizer_reports = []


def last_success(site, release):
    """RepoDir/<release>/.reposync/last-success (common/stats.h): unix
    seconds of the last sync without failure, or None."""
    try:
        with open(os.path.join(site.release_dir(release), ".reposync", "last-success")) as f:
            return int(f.read())
    except OSError:
        return None


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Result:
    def __init__(self, rc, out, err):
        self.rc = rc
        self.out = out
        self.err = err

    @property
    def lines(self):
        return self.out.splitlines()

    def summary(self):
        """The summary line's numbers (releases, repos, unchanged, failed,
        downloaded, packages failed), or None."""
        last = self.err.splitlines()[-1] if self.err.strip() else ""
        m = SUMMARY.match(last)
        return tuple(int(x) for x in m.groups()[1:]) if m else None

    def __repr__(self):
        return f"exit {self.rc}\nstdout:\n{self.out}\nstderr:\n{self.err}"


class Site:
    """A retrace-server.conf, a RepoConfDir and a RepoDir in a directory of
    their own, and the program run on them."""

    def __init__(self, root, parallel=2, retries=1, timeout=3):
        self.root = root
        self.etc = os.path.join(root, "etc")
        self.repos_d = os.path.join(self.etc, "repos.d")
        self.repo = os.path.join(root, "repo")
        self.conf = os.path.join(self.etc, "retrace-server.conf")
        os.makedirs(self.repos_d)
        with open(self.conf, "w") as f:
            f.write(f"[paths]\nRepoDir = {self.repo}\nRepoConfDir = {self.repos_d}\n"
                    f"SpoolDir = {root}/spool\nCacheDir = {root}/cache\n\n"
                    f"[reposync]\nParallel = {parallel}\nRetries = {retries}\n"
                    f"Timeout = {timeout}\n")

    def write_repo(self, name, text):
        path = os.path.join(self.repos_d, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def set_repos(self, repos):
        """repos: {file name: text}; replaces every .repo file."""
        for p in glob.glob(os.path.join(self.repos_d, "*")):
            os.unlink(p)
        for name, text in repos.items():
            self.write_repo(name, text)

    def cmd(self, *args):
        return [REPOSYNC, "-c", self.conf, *[str(a) for a in args]]

    def sync(self, *args, timeout=90, prefix=()):
        p = subprocess.run([*prefix, *self.cmd(*args)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=timeout)
        r = Result(p.returncode, p.stdout.decode("utf-8", "replace"),
                   p.stderr.decode("utf-8", "replace"))
        if "Sanitizer" in r.err or "runtime error" in r.err:
            sanitizer_reports.append(f"{args}: {r.err}")
        return r

    def start(self, *args):
        return subprocess.Popen(self.cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL)

    def release_dir(self, release):
        return os.path.join(self.repo, release)

    def packages(self, release):
        d = os.path.join(self.repo, release, "Packages")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def incoming(self, release):
        d = os.path.join(self.repo, release, ".reposync", "incoming")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def index_target(self, release):
        try:
            return os.readlink(os.path.join(self.repo, release, "index"))
        except OSError:
            return None

    def tree(self, release=None):
        """{relative path: (size, mtime_ns)} under RepoDir (or a release),
        the lock file left out."""
        base = self.release_dir(release) if release else self.repo
        out = {}
        for d, dirs, files in os.walk(base):
            for n in dirs + files:
                p = os.path.join(d, n)
                if n == ".lock":
                    continue
                st = os.lstat(p)
                out[os.path.relpath(p, base)] = (st.st_size if not os.path.isdir(p) else 0,
                                                 st.st_mtime_ns if not os.path.isdir(p) else 0)
        return out

    def query(self, what, release, *args):
        """NEVRAs the index gives (spool-tool nevra|build-id|path|companions),
        or None when the index does not open."""
        p = subprocess.run([SPOOL_TOOL, what, self.repo, release, *args], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        err = p.stderr.decode("utf-8", "replace")
        if "Sanitizer" in err or "runtime error" in err:
            sanitizer_reports.append(f"spool-tool {what} {args}: {err}")
        if p.returncode != 0:
            return None
        return p.stdout.decode().split()


# --- upstream repositories ---------------------------------------------------------

ARCH = None
V1 = {}
V2 = {}


def build_fixtures():
    global ARCH
    ARCH = subprocess.run(["rpm", "--eval", "%{_arch}"], stdout=subprocess.PIPE,
                          check=True).stdout.decode().strip()
    V1.update(rpmfix.build_crasher("1.0", "1.fc40", RPM_CACHE))
    V2.update(rpmfix.build_crasher("1.1", "1.fc40", RPM_CACHE))


def names(rpms):
    return sorted(os.path.basename(p) for p in rpms.values())


def nevras(rpms):
    return sorted(os.path.basename(p)[:-len(".rpm")] for p in rpms.values())


def make_upstream(path, *rpm_sets, extra=()):
    """A repository at path (replaced) holding copies of the RPMs, with
    createrepo_c's metadata (gzip primary)."""
    if os.path.exists(path):
        shutil.rmtree(path)
    pkgdir = os.path.join(path, "Packages")
    os.makedirs(pkgdir)
    for s in rpm_sets:
        for p in s.values():
            shutil.copy(p, pkgdir)
    for p in extra:
        shutil.copy(p, pkgdir)
    subprocess.run(["createrepo_c", "--quiet", "--no-database", path], check=True)
    return path


def primary_href(repo):
    repomd = open(os.path.join(repo, "repodata", "repomd.xml")).read()
    block = re.search(r'<data type="primary">.*?</data>', repomd, re.S).group(0)
    return re.search(r'<location href="([^"]+)"', block).group(1)


def repo_text(rid, baseurl, release, extra=""):
    return f"[{rid}]\nname = {rid}\nbaseurl = {baseurl}\nrelease = {release}\n{extra}"


def packages_verify(site, release, upstream_files):
    """Every file in Packages/ is byte for byte the upstream file of that
    name (what its checksum in primary says)."""
    bad = []
    for n in site.packages(release):
        p = os.path.join(site.release_dir(release), "Packages", n)
        if n not in upstream_files or sha256_file(p) != hashlib.sha256(upstream_files[n]).hexdigest():
            bad.append(n)
    return bad


def no_progress_escapes(text):
    return "\r" not in text and "\033" not in text


# --- v1, v2, unchanged ----------------------------------------------------------------

def test_versions(work, site):
    """Sync v1 over HTTP; upstream moves to v2 and drops v1; the resync keeps
    both; unchanged metadata fetches nothing else."""
    rel = "fedora-40-x86_64"
    up = make_upstream(os.path.join(work, "up-main"), V1)
    srv = Misbehaving()
    srv.serve_tree(up)
    site.set_repos({"main.repo": repo_text("crasher", srv.url("/files/"), rel)})
    try:
        t0 = int(time.time())
        r = site.sync()
        eq(r.rc, 0, "v1: exit 0")
        ok(t0 <= (last_success(site, rel) or 0) <= time.time(),
           "v1: the time of the complete sync is recorded in .reposync/last-success",
           last_success(site, rel))
        eq(site.packages(rel), names(V1), "v1: the five packages are in Packages/")
        eq(packages_verify(site, rel, srv.files), [], "v1: each package is byte for byte upstream's")
        eq(site.incoming(rel), [], "v1: nothing left in .reposync/incoming/")
        ok(os.path.exists(os.path.join(site.release_dir(rel), ".reposync", "crasher", "repomd.xml")),
           "v1: the repomd.xml of the complete sync is remembered")
        for n in nevras(V1):
            eq(site.query("nevra", rel, n), [n], f"v1: the index knows {n}")
        eq(site.query("path", rel, "/usr/bin/crasher"), [f"crasher-1.0-1.fc40.{ARCH}"],
           "v1: the index answers a path query")
        ok(os.path.exists(os.path.join(site.release_dir(rel), "repodata", "repomd.xml")),
           "v1: repodata/ made by createrepo_c for dnf")
        ok(no_progress_escapes(r.err), "v1: stderr is not a terminal: plain lines, no redraw", r)
        ok(any(re.match(rf"{rel} crasher: \d+/5 packages, .* of .*, .*/s, .* left$", x)
               for x in r.err.splitlines()),
           "v1: a plain progress line (packages, bytes, rate, time left)", r)
        eq(r.summary(), (1, 1, 0, 0, 5, 0), "v1: the summary line ends stderr and counts 5 packages")
        ok(f"{rel} crasher: 5 packages upstream, 5 to download" in r.err,
           "v1: says how many packages are to download", r)
        seen_v1 = srv.names_seen()
        ok(sorted(n for n in seen_v1 if n.endswith(".rpm")) == names(V1),
           "v1: each package was fetched once", seen_v1)

        # Unchanged repomd.xml: nothing else is fetched.
        srv.reset()
        r = site.sync()
        eq(r.rc, 0, "unchanged: exit 0")
        eq(srv.names_seen(), ["repomd.xml"], "unchanged: only repomd.xml was fetched")
        ok(f"{rel} crasher: unchanged" in r.err, "unchanged: says so", r)
        eq(r.summary(), (1, 1, 1, 0, 0, 0), "unchanged: the summary counts it as unchanged")

        # Upstream moves to v2 and drops v1.
        make_upstream(up, V2)
        srv.serve_tree(up)
        srv.reset()
        tgt = site.index_target(rel)
        r = site.sync()
        eq(r.rc, 0, "v2: exit 0")
        eq(site.packages(rel), sorted(names(V1) + names(V2)),
           "v2: v1 dropped upstream stays, v2 added: ten packages")
        fetched = sorted(n for n in srv.names_seen() if n.endswith(".rpm"))
        eq(fetched, names(V2), "v2: only the new packages were downloaded")
        ok(site.index_target(rel) != tgt, "v2: a new index generation was published")
        for n in nevras(V1) + nevras(V2):
            eq(site.query("nevra", rel, n), [n], f"v2: the index knows {n}")
        eq(site.query("path", rel, "/usr/bin/crasher"),
           [f"crasher-1.0-1.fc40.{ARCH}", f"crasher-1.1-1.fc40.{ARCH}"],
           "v2: a path query gives both versions")
        for ver, rpms in (("1.0", V1), ("1.1", V2)):
            files = rpmfix.rpm_files(rpms["crasher"])
            bid = [f.split("/")[-2] + f.split("/")[-1] for f in files
                   if f.startswith("/usr/lib/.build-id/") and f.count("/") == 5]
            ok(len(bid) == 1, f"crasher {ver} has one build-id link", files)
            eq(site.query("build-id", rel, bid[0], "binary"), [f"crasher-{ver}-1.fc40.{ARCH}"],
               f"v2: the binary build-id of crasher {ver} finds it")
            eq(site.query("build-id", rel, bid[0], "debug"), [f"crasher-debuginfo-{ver}-1.fc40.{ARCH}"],
               f"v2: the debug build-id of crasher {ver} finds crasher-debuginfo {ver}")
            eq(site.query("companions", rel, f"crasher-debuginfo-{ver}-1.fc40.{ARCH}"),
               [f"crasher-debugsource-{ver}-1.fc40.{ARCH}"],
               f"v2: crasher-debuginfo {ver} needs crasher-debugsource {ver}")
        eq(r.summary(), (1, 1, 0, 0, 5, 0), "v2: the summary counts 5 new packages")

        # A package that disappears upstream stays, also when nothing else
        # changes (upstream now lists only four of v2).
        os.unlink(os.path.join(up, "Packages", os.path.basename(V2["crasher-libs"])))
        subprocess.run(["createrepo_c", "--quiet", "--no-database", up], check=True)
        srv.serve_tree(up)
        srv.reset()
        r = site.sync()
        eq(r.rc, 0, "a package disappears upstream: exit 0")
        eq(site.packages(rel), sorted(names(V1) + names(V2)), "a package that disappears upstream stays")
        eq(site.query("nevra", rel, f"crasher-libs-1.1-1.fc40.{ARCH}"), [f"crasher-libs-1.1-1.fc40.{ARCH}"],
           "... and stays in the index")
        eq([n for n in srv.names_seen() if n.endswith(".rpm")], [], "... and nothing was downloaded")
    finally:
        srv.stop()
    return rel


# --- bytes that do not match, truncated downloads ------------------------------------------

def test_bad_bytes(work, site):
    rel = "fedora-39-x86_64"
    up = make_upstream(os.path.join(work, "up-bad"), V1)
    srv = Misbehaving()
    srv.serve_tree(up)
    libs, dbg = (os.path.basename(V1[n]) for n in ("crasher-libs", "crasher-debuginfo"))
    srv.modes[libs] = "corrupt-once"
    srv.modes[dbg] = "truncate"
    site.set_repos({"bad.repo": repo_text("bad", srv.url("/files/"), rel)})
    try:
        r = site.sync()
        eq(r.rc, 0, "corrupt once, truncated once: exit 0 after the retries")
        eq(site.packages(rel), names(V1), "corrupt once, truncated once: every package arrived")
        eq(packages_verify(site, rel, srv.files), [], "... each matches its checksum")
        eq(srv.seen(f"/files/Packages/{libs}"), [None, None],
           "a package whose bytes do not match the checksum is refused and fetched again from zero")
        eq(srv.seen(f"/files/Packages/{dbg}"), [None, f"bytes={len(srv.files[dbg]) // 2}-"],
           "a truncated download is resumed with a Range request")
        eq(site.incoming(rel), [], "nothing left in incoming/")

        # Bytes that never match, a body always cut short: refused, the rest
        # in place, fetched (resumed) by the next run.
        rel2 = "fedora-38-x86_64"
        srv.modes = {libs: "corrupt", dbg: "cut"}
        srv.reset()
        site.set_repos({"bad.repo": repo_text("bad", srv.url("/files/"), rel2)})
        r = site.sync()
        url = srv.url(f"/files/Packages/{libs}")
        eq(r.rc, 1, "checksum never matches, body always cut short: exit 1")
        ok(re.search(rf"{rel2} bad: .*{re.escape(url)}.*checksum mismatch", r.err) or
           re.search(rf"{rel2} bad: .*checksum mismatch.*{re.escape(url)}", r.err),
           "checksum never matches: the error names the repository, the URL and the mismatch", r)
        ok(re.search(rf"{rel2} bad: .*{re.escape(srv.url('/files/Packages/' + dbg))}", r.err),
           "body always cut short: the error names the repository and the URL", r)
        eq(len(srv.seen(f"/files/Packages/{libs}")), 2, "checksum never matches: tried 1 + Retries times")
        eq(site.packages(rel2), sorted(set(names(V1)) - {libs, dbg}),
           "checksum never matches, body cut short: neither is in Packages/, the other three are")
        eq(site.incoming(rel2), [dbg + ".part"],
           "the mismatching download is deleted, the cut one kept as .part to resume")
        half = len(srv.files[dbg]) // 2
        eq(os.path.getsize(os.path.join(site.release_dir(rel2), ".reposync", "incoming", dbg + ".part")),
           half, "the .part holds what arrived")
        eq(site.query("nevra", rel2, f"crasher-1.0-1.fc40.{ARCH}"), [f"crasher-1.0-1.fc40.{ARCH}"],
           "what arrived is indexed")
        eq(r.summary(), (1, 1, 0, 1, 3, 2),
           "the summary counts the repository as failed, 3 packages and 2 failed")
        srv.modes = {}
        srv.reset()
        r = site.sync()
        eq(r.rc, 0, "the next run, upstream fixed: exit 0")
        eq(sorted(n for n in srv.names_seen() if n.endswith(".rpm")), sorted([libs, dbg]),
           "the next run fetches the missing packages only (the failed sync's repomd.xml was not remembered)")
        eq(srv.seen(f"/files/Packages/{dbg}"), [f"bytes={half}-"],
           "the next run resumes the .part with a Range request")
        eq(site.packages(rel2), names(V1), "the next run completes the release")
        eq(packages_verify(site, rel2, srv.files), [], "the next run: each package matches its checksum")
        eq(site.incoming(rel2), [], "the next run: nothing left in incoming/")
    finally:
        srv.stop()


# --- compressed metadata, real metadata, file:// -----------------------------------------------

def test_compression(work, site):
    up = make_upstream(os.path.join(work, "up-gz"), V1)
    ok(primary_href(up).endswith(".xml.gz"), "createrepo_c wrote a gzip primary")
    root = os.path.join(work, "served")
    os.makedirs(root)
    shutil.copytree(up, os.path.join(root, "gz"))
    for kind in ("xz", "zst"):
        href = recompress(up, os.path.join(root, kind), kind)
        ok(href.endswith(f".xml.{kind}"), f"primary recompressed to {kind}")
    releases = {"gz": "fedora-37-x86_64", "xz": "fedora-36-x86_64", "zst": "fedora-35-x86_64",
                "file": "fedora-34-x86_64"}
    proc, port = start_http_server(root)
    try:
        repos = {f"{k}.repo": repo_text(f"up-{k}", f"http://127.0.0.1:{port}/{k}/", rel)
                 for k, rel in releases.items() if k != "file"}
        # $releasever and $basearch expand from the release id.
        shutil.copytree(os.path.join(root, "zst"), os.path.join(root, "f", "34", "x86_64"))
        repos["file.repo"] = repo_text("up-file", f"file://{root}/f/$releasever/$basearch/",
                                       releases["file"])
        # Real Fedora 16 metadata (sha1 checksums) and package, through file://.
        repos["f16.repo"] = repo_text("f16", f"file://{F16_REPO}", "fedora-16-i386")
        site.set_repos(repos)

        had = set(os.listdir(site.repo))
        r = site.sync("--release", releases["xz"])
        eq(r.rc, 0, "--release: exit 0")
        eq(sorted(set(os.listdir(site.repo)) - had), [releases["xz"]],
           "--release: only that release was synced")
        eq(r.summary()[:2], (1, 1), "--release: one release, one repository in the summary")

        r = site.sync()
        ok(r.rc == 0, "gzip, xz, zstd, file:// and real F16 metadata: exit 0", r)
        for k, rel in releases.items():
            eq(site.packages(rel), names(V1), f"{k} primary: the five packages arrived")
            eq(site.query("nevra", rel, f"crasher-libs-1.0-1.fc40.{ARCH}"),
               [f"crasher-libs-1.0-1.fc40.{ARCH}"], f"{k} primary: indexed")
        eq(site.packages("fedora-16-i386"), ["filesystem-2.4.44-1.fc16.i686.rpm"],
           "real F16 repository (librepo's): its package arrived")
        eq(sha256_file(os.path.join(site.release_dir("fedora-16-i386"), "Packages",
                                    "filesystem-2.4.44-1.fc16.i686.rpm")),
           sha256_file(os.path.join(F16_REPO, "filesystem-2.4.44-1.fc16.i686.rpm")),
           "real F16 repository: byte for byte")
        eq(site.query("nevra", "fedora-16-i386", "filesystem-2.4.44-1.fc16"),
           ["filesystem-2.4.44-1.fc16.i686"], "real F16 repository: the index knows the package")
        eq(r.summary()[:5], (5, 5, 1, 0, 16),
           "the summary counts 5 releases, 5 repositories (the --release one unchanged), 16 packages")
    finally:
        proc.terminate()
        proc.wait()
    return releases


# --- failures: named, nothing lost --------------------------------------------------------------

def test_failures(work, site, rel):
    """rel holds v1 and v2 already (test_versions)."""
    before = site.tree(rel)
    index = site.index_target(rel)
    up = make_upstream(os.path.join(work, "up-fail"), V1, V2)
    srv = Misbehaving()
    srv.serve_tree(up)
    primary = os.path.basename(primary_href(up))

    garbage = os.path.join(work, "up-garbage")
    href = recompress(up, garbage, "plain")
    with open(os.path.join(garbage, href), "wb") as f:
        f.write(b"<metadata><package><oops")
    recompress_fix(garbage, href)
    gsrv = Misbehaving()
    gsrv.serve_tree(garbage)

    down = f"http://127.0.0.1:{free_port()}/repo/"
    cases = [
        ("a server that is down", down, f"{down}repodata/repomd.xml", "onnect"),
        ("404", srv.url("/status/404/"), srv.url("/status/404/repodata/repomd.xml"), "HTTP 404"),
        ("500 every time", srv.url("/status/500/"), srv.url("/status/500/repodata/repomd.xml"), "HTTP 500"),
        ("a corrupt primary", srv.url("/corrupt/"),
         srv.url(f"/corrupt/repodata/{primary}"), "checksum mismatch"),
        ("a truncated primary", srv.url("/cut/"), srv.url(f"/cut/repodata/{primary}"), ""),
        ("a primary that does not parse", gsrv.url("/files/"), gsrv.url(f"/files/{href}"), "does not parse"),
    ]
    try:
        for what, baseurl, url, says in cases:
            # /corrupt/ and /cut/ spoil repomd.xml too: only primary misbehaves.
            srv.modes = {}
            if "/corrupt/" in baseurl or "/cut/" in baseurl:
                srv.modes["repomd.xml"] = "files"
            site.set_repos({"main.repo": repo_text("crasher", baseurl, rel)})
            r = site.sync()
            eq(r.rc, 1, f"{what}: exit 1")
            lines = [x for x in r.err.splitlines() if x.startswith("retrace-reposync: ")]
            ok(any(f"{rel} crasher:" in x and url in x and says in x for x in lines),
               f"{what}: the error names the release, the repository and the URL ({says or 'cut short'})", r)
            eq(site.tree(rel), before, f"{what}: nothing already mirrored changed")
            eq(site.index_target(rel), index, f"{what}: the index is the same generation")
            eq(site.query("nevra", rel, f"crasher-1.0-1.fc40.{ARCH}"), [f"crasher-1.0-1.fc40.{ARCH}"],
               f"{what}: the index still answers")
            ok(r.summary() and r.summary()[3] == 1, f"{what}: the summary counts a failed repository", r)

        # A new release whose only repository fails gets no index: the
        # server would announce it as supported.
        fresh = "fedora-24-x86_64"
        site.set_repos({"main.repo": repo_text("crasher", down, fresh)})
        r = site.sync()
        eq(r.rc, 1, "a new release, its server down: exit 1")
        ok(f"{fresh}: no repository was synced; the release gets no index yet" in r.err,
           "a new release, its server down: says it gets no index", r)
        eq(site.index_target(fresh), None, "a new release, its server down: no index, so not announced")
        site.set_repos({"main.repo": repo_text("crasher", srv.url("/files/"), fresh)})
        r = site.sync()
        eq((r.rc, site.query("nevra", fresh, f"crasher-1.0-1.fc40.{ARCH}")),
           (0, [f"crasher-1.0-1.fc40.{ARCH}"]), "a new release, its server back: synced and indexed")

        # repomd.xml that does not parse.
        srv.modes = {}
        saved = srv.files["repomd.xml"]
        srv.files["repomd.xml"] = b"<repomd><data type='primary'"
        site.set_repos({"main.repo": repo_text("crasher", srv.url("/files/"), rel)})
        r = site.sync()
        eq(r.rc, 1, "a repomd.xml that does not parse: exit 1")
        ok(f"{rel} crasher: repomd.xml at {srv.url('/files/repodata/repomd.xml')} does not parse" in r.err,
           "a repomd.xml that does not parse: named with its URL", r)
        eq(site.tree(rel), before, "a repomd.xml that does not parse: nothing changed")
        srv.files["repomd.xml"] = saved

        # One repository fails, the other of the same release is synced.
        rel2 = "rhel-9-x86_64"
        ok_up = make_upstream(os.path.join(work, "up-ok"), V1)
        site.set_repos({"a.repo": repo_text("good", f"file://{ok_up}", rel2),
                        "b.repo": repo_text("broken", srv.url("/status/404/"), rel2)})
        r = site.sync()
        eq(r.rc, 1, "one of two repositories fails: exit 1")
        ok(f"{rel2} broken: HTTP 404 for {srv.url('/status/404/repodata/repomd.xml')}" in r.err,
           "one of two repositories fails: the failing one is named with its URL", r)
        eq(site.packages(rel2), names(V1), "one of two repositories fails: the other one was synced")
        eq(site.query("nevra", rel2, f"crasher-1.0-1.fc40.{ARCH}"), [f"crasher-1.0-1.fc40.{ARCH}"],
           "one of two repositories fails: ... and indexed")
        eq(last_success(site, rel2), None,
           "one of two repositories fails: no last success is recorded for the release")

        # Several base URLs: the first that answers is used.
        rel3 = "rhel-8-x86_64"
        site.set_repos({"a.repo": repo_text("mirrors", f"{down} {srv.url('/files/')}", rel3)})
        r = site.sync()
        ok(r.rc == 0, "baseurl lists a dead mirror first: exit 0 from the second", r)
        ok(last_success(site, rel3), "baseurl lists a dead mirror first: a last success is recorded")
        eq(site.packages(rel3), sorted(names(V1) + names(V2)), "baseurl lists a dead mirror first: synced")
    finally:
        srv.stop()
        gsrv.stop()


# --- killed, concurrent -------------------------------------------------------------------------

def wait_for(cond, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


def test_killed(work, site):
    rel = "centos-9-x86_64"
    up = make_upstream(os.path.join(work, "up-kill"), V1)
    srv = Misbehaving()
    srv.serve_tree(up)
    site.set_repos({"k.repo": repo_text("k", srv.url("/files/"), rel)})
    try:
        r = site.sync()
        eq(r.rc, 0, "killed sync: v1 synced first")
        index = site.index_target(rel)

        make_upstream(up, V1, V2)
        srv.serve_tree(up)
        srv.reset()
        held = os.path.basename(V2["crasher-debuginfo"])
        srv.modes[held] = "hold"
        part = os.path.join(site.release_dir(rel), ".reposync", "incoming", held + ".part")
        p = site.start()
        try:
            got = wait_for(lambda: srv.holding and os.path.exists(part) and os.path.getsize(part) > 0)
            ok(got, "killed sync: the download of a package is under way (a .part with bytes)")
            # Let the others finish if they can: the kill lands mid-download anyway.
            time.sleep(0.3)
            p.send_signal(signal.SIGKILL)
            p.wait(10)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            srv.release()
        eq(p.returncode, -signal.SIGKILL, "killed sync: SIGKILL ended it")
        part_size = os.path.getsize(part) if os.path.exists(part) else 0
        ok(0 < part_size < len(srv.files[held]), f"killed sync: the partial download stays as .part "
           f"({part_size} of {len(srv.files[held])} bytes)")
        pk = site.packages(rel)
        ok(set(names(V1)) <= set(pk) and held not in pk,
           "killed sync: v1 still there, the interrupted package not in Packages/", pk)
        eq(packages_verify(site, rel, srv.files), [],
           "killed sync: every file in Packages/ is complete and matches its checksum")
        eq(site.index_target(rel), index, "killed sync: the index is still the one of the last sync")
        eq(site.query("nevra", rel, f"crasher-1.0-1.fc40.{ARCH}"), [f"crasher-1.0-1.fc40.{ARCH}"],
           "killed sync: the index opens and answers")

        del srv.modes[held]
        srv.reset()
        r = site.sync()
        ok(r.rc == 0, "after the kill, the next sync: exit 0", r)
        eq(site.packages(rel), sorted(names(V1) + names(V2)), "after the kill: every package is there")
        eq(srv.seen(f"/files/Packages/{held}"), [f"bytes={part_size}-"],
           "after the kill: the .part was resumed with a Range request")
        eq(packages_verify(site, rel, srv.files), [], "after the kill: every package matches its checksum")
        eq(site.incoming(rel), [], "after the kill: nothing left in incoming/")
        eq(site.query("nevra", rel, f"crasher-debuginfo-1.1-1.fc40.{ARCH}"),
           [f"crasher-debuginfo-1.1-1.fc40.{ARCH}"], "after the kill: the resumed package is indexed")
    finally:
        srv.stop()

    # Killed before the release ever had an index: none is left half made.
    rel = "centos-8-x86_64"
    srv = Misbehaving()
    srv.serve_tree(up)
    srv.modes[held] = "hold"
    site.set_repos({"k.repo": repo_text("k", srv.url("/files/"), rel)})
    try:
        p = site.start()
        try:
            ok(wait_for(lambda: srv.holding), "killed first sync: a download is under way")
            p.send_signal(signal.SIGKILL)
            p.wait(10)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            srv.release()
        eq(site.index_target(rel), None, "killed first sync: no index (the release is not supported yet)")
        eq(site.query("nevra", rel, f"crasher-1.0-1.fc40.{ARCH}"), None,
           "killed first sync: the index does not open")
        eq(packages_verify(site, rel, srv.files), [], "killed first sync: only complete packages")
        del srv.modes[held]
        r = site.sync()
        eq((r.rc, site.packages(rel)), (0, sorted(names(V1) + names(V2))),
           "killed first sync: the next one completes")
    finally:
        srv.stop()


def test_concurrent(work, site):
    rel = "centos-10-x86_64"
    up = make_upstream(os.path.join(work, "up-conc"), V1)
    srv = Misbehaving()
    srv.serve_tree(up)
    held = os.path.basename(V1["crasher"])
    srv.modes[held] = "hold"
    site.set_repos({"c.repo": repo_text("c", srv.url("/files/"), rel)})
    imp = os.path.join(work, "import-conc")
    os.makedirs(imp)
    try:
        first = site.start()
        try:
            ok(wait_for(lambda: srv.holding), "two syncs: the first is downloading")
            # The second also feeds another release, which it syncs.
            other = "centos-11-x86_64"
            site.write_repo("d.repo", repo_text("d", f"file://{up}", other))
            r = site.sync()
            eq(r.rc, 3, "two syncs at once: the second exits 3")
            lock = os.path.join(site.release_dir(rel), ".lock")
            ok(lock in r.err and "another retrace-reposync" in r.err and "skipped" in r.err,
               "two syncs at once: the message names the lock and says the release was skipped", r)
            eq(site.packages(other), names(V1), "two syncs at once: the second syncs the other release")
            r = site.sync("--import", imp, "--release", rel)
            eq(r.rc, 3, "an import while a sync runs: exit 3")
            ok(rel in r.err and "lock" in r.err, "an import while a sync runs: says the lock is held", r)
            srv.release()
            out, err = first.communicate(timeout=60)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
        eq(first.returncode, 0, "two syncs at once: the first completes (exit 0)")
        eq(site.packages(rel), names(V1), "two syncs at once: the first synced everything")
    finally:
        srv.stop()


# --- gpgcheck -----------------------------------------------------------------------------------

def test_gpgcheck(work, site):
    sig = os.path.join(work, "sig")
    homes = {n: os.path.join(sig, f"gnupg-{n}") for n in ("ours", "other")}
    srv = Misbehaving()
    try:
        keys = {n: gpg_key(h, f"rtest-{n}") for n, h in homes.items()}
        keyfile = os.path.join(sig, "ours.asc")
        with open(keyfile, "wb") as f:
            f.write(keys["ours"])
        pkgs = {}
        for n, p in V1.items():
            pkgs[n] = os.path.join(sig, os.path.basename(p))
            shutil.copy(p, pkgs[n])
        rpmsign(pkgs["crasher"], homes["ours"], "rtest-ours")
        rpmsign(pkgs["crasher-libs-debuginfo"], homes["ours"], "rtest-ours")
        rpmsign(pkgs["crasher-debuginfo"], homes["other"], "rtest-other")
        rpmsign(pkgs["crasher-debugsource"], homes["ours"], "rtest-ours")
        data = bytearray(open(pkgs["crasher-debugsource"], "rb").read())
        data[-20] ^= 0xFF           # the payload: the signature no longer holds
        with open(pkgs["crasher-debugsource"], "wb") as f:
            f.write(data)
        # crasher-libs stays unsigned.
        up = make_upstream(os.path.join(work, "up-sig"), {}, extra=pkgs.values())
        srv.serve_tree(up)
        srv.files["ours.asc"] = keys["ours"]
        good = sorted(os.path.basename(pkgs[n]) for n in ("crasher", "crasher-libs-debuginfo"))
        for how, key in (("file://", f"file://{keyfile}"), ("http", srv.url("/files/ours.asc"))):
            rel = "fedora-33-x86_64" if how == "http" else "fedora-32-x86_64"
            site.set_repos({"s.repo": repo_text("signed", srv.url("/files/"), rel,
                                                f"gpgcheck = 1\ngpgkey = {key}\n")})
            r = site.sync()
            eq(r.rc, 1, f"gpgcheck=1, key by {how}: exit 1 (three packages refused)")
            eq(site.packages(rel), good, f"gpgcheck=1, key by {how}: only the packages signed with "
               "the repository's key are in Packages/")
            eq(site.incoming(rel), [],
               f"gpgcheck=1, key by {how}: the refused ones are not left in incoming/")
            for n, why in (("crasher-libs", "is not signed"),
                           ("crasher-debuginfo", "signed with a key that is not among the repository's keys"),
                           ("crasher-debugsource", "bad signature or digest")):
                f = os.path.basename(pkgs[n])
                ok(any(f in x and why in x and f"{rel} signed:" in x for x in r.err.splitlines()),
                   f"gpgcheck=1, key by {how}: {n} refused: '{why}'", r)
            eq(r.summary()[4:], (2, 3), f"gpgcheck=1, key by {how}: the summary counts 2 new, 3 failed")

        # Without gpgcheck the same repository is taken whole.
        rel = "fedora-31-x86_64"
        site.set_repos({"s.repo": repo_text("signed", srv.url("/files/"), rel, "gpgcheck = 0\n")})
        r = site.sync()
        eq((r.rc, len(site.packages(rel))), (0, 5), "gpgcheck=0: every package is taken")

        # gpgcheck=1 without a key: the repository fails, naming where it
        # is defined, also when upstream did not change.
        path = site.write_repo("s.repo", repo_text("signed", srv.url("/files/"), rel, "gpgcheck = 1\n"))
        r = site.sync()
        ok(r.rc == 1 and f"gpgcheck is on but no gpgkey is given ({path}:1)" in r.err,
           "gpgcheck=1 without gpgkey: an error naming file and line", r)
        eq(site.packages(rel), names(V1), "gpgcheck=1 without gpgkey: nothing mirrored is lost")

        # The real Fedora 16 package is signed with Fedora's key, which the
        # repository's own repomd.xml.key is not.
        rel = "fedora-16-x86_64"
        key = f"file://{F16_REPO}/repodata/repomd.xml.key"
        site.set_repos({"f16.repo": repo_text("f16", f"file://{F16_REPO}", rel,
                                              f"gpgcheck = 1\ngpgkey = {key}\n")})
        r = site.sync()
        ok(r.rc == 1 and "filesystem-2.4.44-1.fc16.i686.rpm" in r.err and "067f00b6a82ba4b7" in r.err.lower(),
           "gpgcheck=1: the real F16 package, signed with a key not given, is refused naming the key", r)
        eq(site.packages(rel), [], "gpgcheck=1: ... and not in Packages/")
    finally:
        srv.stop()
        for h in homes.values():
            gpg_stop(h)


# --- dry run, progress, exit codes ------------------------------------------------------------------

def test_dry_run(work, site, rel):
    """A fresh release, and rel, which holds v1 and v2 already (test_versions)."""
    up = make_upstream(os.path.join(work, "up-dry"), V1)
    srv = Misbehaving()
    srv.serve_tree(up)
    fresh = "fedora-30-x86_64"
    site.set_repos({"d.repo": repo_text("d", srv.url("/files/"), fresh)})
    try:
        r = site.sync("--dry-run")
        eq(r.rc, 0, "--dry-run: exit 0")
        want = sorted(f"{fresh} d {srv.url('/files/Packages/' + n)}" for n in names(V1))
        eq(sorted(r.lines), want, "--dry-run: prints the URLs that would be downloaded, on stdout")
        ok(not os.path.exists(site.release_dir(fresh)), "--dry-run: creates nothing in RepoDir")
        eq([n for n in srv.names_seen() if n.endswith(".rpm")], [], "--dry-run: downloads no package")
        ok(r.summary() is not None and r.err.splitlines()[-1].startswith("dry run: "),
           "--dry-run: the summary says it was a dry run", r)

        before = site.tree()
        f16 = os.path.join(F16_REPO, "filesystem-2.4.44-1.fc16.i686.rpm")
        make_upstream(up, V1, V2, extra=[f16])
        srv.serve_tree(up)
        site.set_repos({"d.repo": repo_text("d", srv.url("/files/"), rel)})
        r = site.sync("-n")
        eq(r.lines, [f"{rel} d {srv.url('/files/Packages/filesystem-2.4.44-1.fc16.i686.rpm')}"],
           "-n on a synced release: lists only what is missing")
        eq(site.tree(), before, "-n on a synced release: RepoDir unchanged")
    finally:
        srv.stop()


def run_on_pty(cmd):
    """Runs cmd with stderr on a terminal; returns (exit status, what it wrote)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rl, _, _ = select.select([master], [], [], 0.5)
        if rl:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        elif p.poll() is not None:
            break
    p.wait(10)
    os.close(master)
    return p.returncode, out.decode("utf-8", "replace")


def test_progress(work, site):
    up = make_upstream(os.path.join(work, "up-progress"), V1)
    srv = Misbehaving()
    srv.serve_tree(up)
    try:
        for n, (rel, args, redraw) in enumerate((("fedora-29-x86_64", (), True),
                                                 ("fedora-28-x86_64", ("--no-progress",), False))):
            site.set_repos({"p.repo": repo_text("p", srv.url("/slow/"), rel)})
            rc, text = run_on_pty(site.cmd(*args))
            eq(rc, 0, f"on a terminal{' with --no-progress' if args else ''}: exit 0")
            eq("\r\033[K" in text, redraw,
               f"on a terminal{' with --no-progress' if args else ''}: the progress line is "
               f"{'redrawn in place' if redraw else 'not shown'}")
            ok(re.search(r"1 releases, 1 repositories \(0 unchanged, 0 failed\): 5 packages", text),
               f"on a terminal{' with --no-progress' if args else ''}: the summary at the end", text)
        rel = "fedora-27-x86_64"
        site.set_repos({"p.repo": repo_text("p", srv.url("/files/"), rel)})
        r = site.sync("--quiet")
        eq((r.rc, r.err, site.packages(rel)), (0, "", names(V1)), "--quiet: synced, nothing on stderr")
        rel = "fedora-26-x86_64"
        site.set_repos({"p.repo": repo_text("p", srv.url("/files/"), rel)})
        r = site.sync("--progress")
        ok(r.rc == 0 and "\r\033[K" in r.err, "--progress: redrawn even when not a terminal", r)
    finally:
        srv.stop()


def test_config_errors(work):
    site = Site(os.path.join(work, "site-conf"))
    r = site.sync("-c", os.path.join(work, "nonexistent.conf"))
    ok(r.rc == 2 and "nonexistent.conf" in r.err, "a missing config file: exit 2 naming it", r)

    path = site.write_repo("bad.repo", "[ok]\nname = x\nthis is not ini\n")
    r = site.sync()
    ok(r.rc == 2 and f"{path}:3" in r.err, "a malformed .repo file: exit 2 naming file:line", r)
    path = site.write_repo("bad.repo", "[ok]\nname = x\nbaseurl = file:///x\nrelease = fedora-40-x86_64\n"
                                       "colour = blue\n")
    r = site.sync()
    ok(r.rc == 2 and f"{path}:5" in r.err and "colour" in r.err,
       "an unknown key in a .repo file: exit 2 naming file:line and the key", r)
    path = site.write_repo("bad.repo", "[ok]\nname = x\nbaseurl = file:///x\n")
    r = site.sync()
    ok(r.rc == 2 and f"{path}:1" in r.err and "release" in r.err,
       "a repository without release: exit 2 naming file:line of the section", r)
    path = site.write_repo("bad.repo", "[ok]\nbaseurl = file:///x/$nosuchvar\nrelease = fedora-40-x86_64\n")
    r = site.sync()
    ok(r.rc == 2 and f"{path}:2" in r.err, "an unknown $variable: exit 2 naming file:line", r)
    ok(not os.path.exists(site.repo), "configuration errors: nothing was done (no RepoDir)")

    site.write_repo("bad.repo", "[off]\nbaseurl = file:///x\nrelease = fedora-40-x86_64\nenabled = 0\n")
    r = site.sync()
    ok(r.rc == 2 and "no enabled repository" in r.err, "no enabled repository: exit 2", r)
    r = site.sync("--release", "Fedora 40")
    ok(r.rc == 2 and "Fedora 40" in r.err, "--release with an invalid id: exit 2", r)
    r = site.sync("--release", "fedora-99-x86_64")
    ok(r.rc == 2 and "feeds release 'fedora-99-x86_64'" in r.err,
       "--release that no repository feeds: exit 2 naming it", r)
    r = site.sync("--import", work)
    ok(r.rc == 2 and "--release" in r.err, "--import without --release: exit 2", r)
    r = site.sync("--parallel", "0")
    ok(r.rc == 2 and "--parallel" in r.err, "--parallel 0: exit 2", r)
    r = site.sync("--bogus")
    eq(r.rc, 2, "an unknown option: exit 2")
    r = site.sync("--help")
    ok(r.rc == 0 and "Exit status" in r.out, "--help: exit 0, the exit codes listed", r)
    ok(not os.path.exists(site.repo), "usage errors: nothing was done (no RepoDir)")


def test_local_failure(work, site, rel):
    """Exit 4: RepoDir not writable (as an unprivileged user: root writes
    anywhere), and an index that cannot be updated."""
    up = make_upstream(os.path.join(work, "up-local"), V1)
    for d in (work, up, site.root, site.etc, site.repos_d):
        os.chmod(d, 0o755)
    os.makedirs(site.repo, exist_ok=True)
    os.chmod(site.repo, 0o755)
    fresh = "fedora-25-x86_64"
    site.set_repos({"l.repo": repo_text("l", f"file://{up}", fresh)})
    for p in glob.glob(os.path.join(site.repos_d, "*")) + [site.conf]:
        os.chmod(p, 0o644)
    if os.getuid() == 0:
        # Root writes anywhere: run as nobody.
        nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        if subprocess.run([*nobody, "true"]).returncode != 0:
            nobody = ["setpriv", "--reuid=nobody", "--regid=nobody", "--clear-groups"]
    else:
        nobody = []
        os.chmod(site.repo, 0o555)
    try:
        r = site.sync(prefix=nobody)
        ok(r.rc == 4 and fresh in r.err and "Permission denied" in r.err,
           "RepoDir not writable: exit 4 naming the release and the cause", r)
        ok(not os.path.exists(site.release_dir(fresh)), "RepoDir not writable: nothing made")
        imp = os.path.join(work, "import-local")
        os.makedirs(imp)
        os.chmod(imp, 0o755)
        r = site.sync("--import", imp, "--release", fresh, prefix=nobody)
        eq(r.rc, 4, "import into a RepoDir that is not writable: exit 4")
    finally:
        os.chmod(site.repo, 0o755)

    # A file in Packages/ that is not an RPM: the index cannot be updated;
    # the previous one stays.
    index = site.index_target(rel)
    junk = os.path.join(site.release_dir(rel), "Packages", "junk-1-1.fc40.x86_64.rpm")
    with open(junk, "wb") as f:
        f.write(b"not an rpm\n")
    site.set_repos({"l.repo": repo_text("l", f"file://{up}", rel)})
    try:
        r = site.sync()
        ok(r.rc == 4 and "the index was not updated" in r.err and "junk-1-1.fc40.x86_64.rpm" in r.err,
           "an index that cannot be updated: exit 4 naming the file", r)
        eq(site.index_target(rel), index, "an index that cannot be updated: the previous one stays")
        eq(site.query("nevra", rel, f"crasher-1.1-1.fc40.{ARCH}"), [f"crasher-1.1-1.fc40.{ARCH}"],
           "an index that cannot be updated: the previous one still answers")
    finally:
        os.unlink(junk)
    r = site.sync()
    eq(r.rc, 0, "the junk removed: exit 0 again")


# --- import mode and the real RPMs ------------------------------------------------------------------

def check_real_index(site, rel, how):
    """The index of rel, made from the 20 real RPMs of ABIGAIL, answers as
    the worker needs."""
    def q(*args):
        return site.query(args[0], rel, *args[1:])

    cases = [
        (("nevra", "sshpass-1.07-1.fc34.x86_64"), ["sshpass-1.07-1.fc34.x86_64"],
         "a NEVRA query"),
        (("build-id", "de412ea6c4b961388c2b51f54e3c78f5e800b8ae", "binary"),
         ["sshpass-1.07-1.fc34.x86_64"],
         "sshpass's build-id (fc34 /usr/lib/.build-id link) finds sshpass"),
        (("build-id", "de412ea6c4b961388c2b51f54e3c78f5e800b8ae", "debug"),
         ["sshpass-debuginfo-1.07-1.fc34.x86_64"],
         "... and as a debug build-id finds sshpass-debuginfo"),
        (("build-id", "39f38736b31f3c9037e0fe5079d5a3e1ec89a6f4", "debug"),
         ["spice-debuginfo-0.12.8-1.el7.x86_64"],
         "libspice-server's build-id finds spice-debuginfo, named after its source package"),
        (("path", "/usr/lib64/libspice-server.so.1.10.1"), ["spice-server-0.12.8-1.el7.x86_64"],
         "a path query finds spice-server"),
        (("path", "/usr/bin/sshpass"), ["sshpass-1.07-1.fc34.x86_64"], "/usr/bin/sshpass"),
        (("path", "/usr/lib64/libICE.so.6.3.0"),
         ["libICE-1.0.6-1.el6.x86_64", "libICE-1.0.9-2.el7.x86_64"],
         "a path shipped by two versions gives both"),
        (("companions", "libxcrypt-compat-debuginfo-4.4.18-3.el9.x86_64"),
         ["libxcrypt-debuginfo-4.4.18-3.el9.x86_64"],
         "libxcrypt-compat-debuginfo needs libxcrypt-debuginfo (dwz)"),
        (("path", "/usr/lib/debug/.dwz/libxcrypt-4.4.18-3.el9.x86_64"),
         ["libxcrypt-debuginfo-4.4.18-3.el9.x86_64"],
         "the dwz file is libxcrypt-debuginfo's"),
        (("build-id", "6ce4e5eb200e61d07398af52f8bcb316cf8466e0", "debug"),
         ["libxcrypt-debuginfo-4.4.18-3.el9.x86_64"],
         "the debuginfo(build-id) provide of libxcrypt-debuginfo"),
        (("nevra", "spice-debuginfo-0.12.8-1.el7"), ["spice-debuginfo-0.12.8-1.el7.x86_64"],
         "spice-debuginfo by NEVR"),
        (("nevra", "ngircd-22-2.fc22"), [], "a package not in the release is not found"),
    ]
    for args, want, what in cases:
        eq(q(*args), want, f"{how}: real RPMs: {what}")


def test_import(work, site):
    rel = "rhel-7-x86_64"
    real = sorted(glob.glob(os.path.join(ABIGAIL, "*.rpm")))
    ok(len(real) == 20, f"the real Fedora/RHEL RPMs are there ({len(real)} in {ABIGAIL})")
    imp = os.path.join(work, "import")
    os.makedirs(imp)
    for p in real:
        os.symlink(p, os.path.join(imp, os.path.basename(p)))
    with open(os.path.join(imp, "junk-1-1.el7.x86_64.rpm"), "wb") as f:
        f.write(b"not an rpm\n" * 10)
    with open(os.path.join(imp, "README"), "w") as f:
        f.write("not a package\n")
    # A relative symlink, as `cp -s` or a copied directory tree makes.
    rel_src = os.path.join(work, "import-src")
    os.makedirs(rel_src)
    shutil.copy(V1["crasher"], rel_src)
    os.symlink(os.path.join("..", "import-src", os.path.basename(V1["crasher"])),
               os.path.join(imp, os.path.basename(V1["crasher"])))

    r = site.sync("--import", imp, "--release", rel)
    eq(r.rc, 1, "import: exit 1 (one file refused)")
    ok("junk-1-1.el7.x86_64.rpm" in r.err and "not imported" in r.err,
       "import: the file that is not an RPM is refused, named", r)
    want = sorted([os.path.basename(p) for p in real] + [os.path.basename(V1["crasher"])])
    eq(site.packages(rel), want, "import: the 21 RPMs are in Packages/, the rest is not")
    pkgdir = os.path.join(site.release_dir(rel), "Packages")
    ok(not any(os.path.islink(os.path.join(pkgdir, n)) for n in site.packages(rel)),
       "import: Packages/ holds the packages themselves, not the import directory's symlinks")
    ok(f"{rel}: imported 21 packages from '{imp}' (0 already there, 1 refused)" in r.err,
       "import: says what was imported", r)
    shutil.rmtree(imp)
    shutil.rmtree(rel_src)
    ok(all(subprocess.run(["rpm", "-qp", os.path.join(pkgdir, n)], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0 for n in site.packages(rel)),
       "import: the imported packages stay readable once the import directory is gone")

    check_real_index(site, rel, "import")

    # Again: nothing new.
    imp2 = os.path.join(work, "import2")
    os.makedirs(imp2)
    for p in real[:4]:
        os.symlink(p, os.path.join(imp2, os.path.basename(p)))
    r = site.sync("--import", imp2, "--release", rel)
    ok(r.rc == 0 and f"imported 0 packages from '{imp2}' (4 already there, 0 refused)" in r.err,
       "import again: files already present are skipped, exit 0", r)
    r = site.sync("--import", os.path.join(work, "nonexistent"), "--release", rel)
    ok(r.rc == 2 and "nonexistent" in r.err,
       "import from a directory that does not exist: exit 2 naming it", r)
    return rel


def test_real_sync(work, site):
    """A repository made by createrepo_c from the real RPMs (symlinked, not
    copied), served by python3 -m http.server."""
    rel = "centos-7-x86_64"
    root = os.path.join(work, "up-real")
    os.makedirs(os.path.join(root, "Packages"))
    real = sorted(glob.glob(os.path.join(ABIGAIL, "*.rpm")))
    for p in real:
        os.symlink(p, os.path.join(root, "Packages", os.path.basename(p)))
    subprocess.run(["createrepo_c", "--quiet", "--no-database", root], check=True)
    proc, port = start_http_server(root)
    try:
        site.set_repos({"real.repo": repo_text("real", f"http://127.0.0.1:{port}/", rel)})
        r = site.sync()
        ok(r.rc == 0, "real RPMs over HTTP: exit 0", r)
        eq(site.packages(rel), sorted(os.path.basename(p) for p in real),
           "real RPMs over HTTP: the 20 packages arrived")
        ok(all(sha256_file(os.path.join(site.release_dir(rel), "Packages", os.path.basename(p))) ==
               sha256_file(p) for p in real), "real RPMs over HTTP: byte for byte")
        check_real_index(site, rel, "sync")
    finally:
        proc.terminate()
        proc.wait()


def test_module(work, site, rel):
    """mod_retrace serving the repository retrace-reposync made."""
    for d in (work, site.root, site.repo):
        os.chmod(d, 0o755)
    srv = Server("reposync", settings={"paths": {"RepoDir": site.repo}})
    r = srv.get("/settings")
    releases = r.text.splitlines()[-1].split()[1:]
    ok(rel in releases, f"mod_retrace: /settings lists {rel}", r.text)
    r = srv.get("/checkpackage", headers={"X-Package-NVR": "crasher-1.0-1.fc40", "X-Package-Arch": ARCH,
                                          "X-OS-Release": rel})
    eq(r.status, 302, "mod_retrace: /checkpackage finds crasher-1.0-1.fc40 (dropped upstream, kept here)")
    r = srv.get("/checkpackage", headers={"X-Package-NVR": "crasher-1.1-1.fc40", "X-Package-Arch": ARCH,
                                          "X-OS-Release": rel})
    eq(r.status, 302, "mod_retrace: /checkpackage finds crasher-1.1-1.fc40")
    r = srv.get("/checkpackage", headers={"X-Package-NVR": "crasher-1.2-1.fc40", "X-Package-Arch": ARCH,
                                          "X-OS-Release": rel})
    eq(r.status, 404, "mod_retrace: /checkpackage does not find a version never mirrored")
    r = srv.get("/metrics")
    want = f'retrace_reposync_last_success_timestamp_seconds{{release="{rel}"}} {last_success(site, rel)}'
    ok(want in r.text.splitlines(), "mod_retrace: /metrics shows the release's last successful sync",
       r.text)
    srv.finish()


def main():
    for tool in ("createrepo_c", "rpmbuild", "rpmsign", "gpg", "zstd", "setpriv"):
        if not shutil.which(tool):
            ok(False, f"{tool} is installed")
            return
    ok(os.access(REPOSYNC, os.X_OK), f"retrace-reposync is built ({REPOSYNC})")
    ok(os.access(SPOOL_TOOL, os.X_OK), f"spool-tool is built ({SPOOL_TOOL})")
    t0 = time.monotonic()
    build_fixtures()
    diag(f"RPMs ready in {time.monotonic() - t0:.1f} s ({RPM_CACHE})")
    work = tempfile.mkdtemp(prefix="retrace-reposync-")
    try:
        site = Site(os.path.join(work, "site"))
        steps = []

        def step(name, fn, *args):
            t = time.monotonic()
            out = fn(*args)
            steps.append(f"{name} {time.monotonic() - t:.1f} s")
            return out

        rel = step("versions", test_versions, work, site)
        step("bad-bytes", test_bad_bytes, work, site)
        step("compression", test_compression, work, site)
        step("failures", test_failures, work, site, rel)
        step("killed", test_killed, work, site)
        step("concurrent", test_concurrent, work, site)
        step("gpgcheck", test_gpgcheck, work, site)
        step("dry-run", test_dry_run, work, site, rel)
        step("progress", test_progress, work, site)
        step("config", test_config_errors, work)
        step("local", test_local_failure, work, site, rel)
        step("import", test_import, work, Site(os.path.join(work, "site-import")))
        step("real-sync", test_real_sync, work, site)
        step("module", test_module, work, site, rel)
        diag(", ".join(steps))
        ok(not sanitizer_reports, "no sanitizer reports from retrace-reposync", "\n".join(sanitizer_reports))
    finally:
        if not os.environ.get("RETRACE_KEEP_STATE"):
            shutil.rmtree(work, ignore_errors=True)


run_tests(main)
