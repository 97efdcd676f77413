"""retrace-reposync's fetcher, metadata reader and signature checker,
driven through tests/tools/fetch-tool:

- downloads from a loopback HTTP server of our own that misbehaves on
  purpose (error statuses, a body cut short, a stall, a server that ignores
  Range, corrupt bytes once), and from file:// URLs: parallel transfers,
  retries with back-off, resuming a .part with a Range request, checksum
  and size checks, nothing left at dest or as .part after a failure;
- the real RPM-MD fixtures served by `python3 -m http.server` and read
  through file://, gzip as published and recompressed here to xz and zstd
  (createrepo_c 0.17 cannot write zstd) with repomd.xml fixed to match;
  createrepo_c's repo_01, whose primary does not match its repomd.xml, must
  be reported naming the file;
- RPM signatures against keys of our own (a throwaway GnuPG key, rpmbuild,
  rpmsign) and a real signed Fedora 16 package.

The server, the recompression and the signing helpers are in
tests/lib/repotools.py (test-reposync.py uses them too).
"""

import glob
import gzip
import hashlib
import lzma
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rtest import ok, eq, run_tests, free_port, TOP_BUILDDIR, TESTDATA  # noqa: E402
from repotools import (Misbehaving, start_http_server, recompress, recompress_fix,  # noqa: E402
                       gpg_key, rpmsign, gpg_stop)

TOOL = os.path.join(TOP_BUILDDIR, "tests", "tools", "fetch-tool")
FIXTURES = os.path.join(TESTDATA, "repodata-fixtures")
ABIGAIL = os.path.join(TESTDATA, "libabigail-real-fedora-rhel-rpms-with-debuginfo")

sanitizer_reports = []


def tool(*args, timeout=120):
    """Runs fetch-tool; returns (exit status, stdout lines, stderr)."""
    p = subprocess.run([TOOL, *[str(a) for a in args]], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    err = p.stderr.decode("utf-8", "replace")
    if "Sanitizer" in err or "runtime error" in err:
        sanitizer_reports.append(f"{args}: {err}")
    return p.returncode, p.stdout.decode("utf-8", "replace").splitlines(), err


def jobs_of(lines):
    """{index: (ok, tries, message)} from `fetch` output."""
    out = {}
    for line in lines:
        m = re.match(r"job (\d+) (ok|fail) tries=(\d+)(?: code=\d+: (.*))?$", line)
        if m:
            out[int(m.group(1))] = (m.group(2) == "ok", int(m.group(3)), m.group(4) or "")
    return out


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# --- downloads ----------------------------------------------------------------

def test_fetch(work):
    srv = Misbehaving()
    dest = os.path.join(work, "dest")
    os.makedirs(dest)
    files = {f"pkg{i}.rpm": os.urandom(65536 + 1000 * i) for i in range(12)}
    files["big.rpm"] = os.urandom(3 << 20)
    srv.files.update(files)

    def d(name):
        return os.path.join(dest, name)

    def job(url, name, data=None, ctype="sha256", csum=None, size=None):
        data = data if data is not None else files.get(name, b"")
        return [url, d(name), ctype if ctype else "-",
                (csum or hashlib.new(ctype, data).hexdigest()) if ctype else "-",
                len(data) if size is None else size]

    def clean():
        for p in glob.glob(os.path.join(dest, "*")):
            os.unlink(p)
        srv.reset()

    def leftovers():
        return sorted(os.path.basename(p) for p in glob.glob(os.path.join(dest, "*.part")))

    try:
        # Parallel transfers, every file checked and in place.
        args = []
        names = [f"pkg{i}.rpm" for i in range(12)]
        for n in names:
            args += job(srv.url(f"/slow/{n}"), n)
        rc, out, err = tool("-p", 4, "fetch", *args)
        jobs = jobs_of(out)
        eq(rc, 0, "parallel: fetch-tool exits 0")
        ok(all(jobs.get(i, (False,))[0] and jobs[i][1] == 1 for i in range(12)),
           "parallel: 12 jobs done, each on the first try", out)
        ok(all(open(d(n), "rb").read() == files[n] for n in names), "parallel: every file is complete")
        eq(leftovers(), [], "parallel: no .part left behind")
        ok(1 < srv.max_active <= 4, f"parallel: transfers overlap, at most 4 at once "
           f"(saw {srv.max_active})")
        eq(len([x for x in out if x.startswith("done ")]), 12, "parallel: the done callback ran per job")
        ok(not any(x.endswith("MISSING") for x in out), "parallel: dest exists when done is called")
        m = [x for x in out if x.startswith("progress ")]
        total = sum(len(files[n]) for n in names)
        ok(m and re.search(rf"bytes={total} ok=12 failed=0", m[0]) and
           int(re.search(r"calls=(\d+)", m[0]).group(1)) > 1,
           "parallel: progress was reported with the byte and job counts", m)
        eq(out[-1], "result 0", "parallel: fetch_run returns 0")

        # A larger file, streamed (and again from file://).
        clean()
        rc, out, _ = tool("fetch", *job(srv.url("/files/big.rpm"), "big.rpm"))
        ok(rc == 0 and open(d("big.rpm"), "rb").read() == files["big.rpm"], "a 3 MiB file arrives whole", out)

        # 404 and 403: final at once, the message names status and URL.
        clean()
        rc, out, _ = tool("-r", 3, "-b", 50, "fetch",
                          *job(srv.url("/status/404/pkg0.rpm"), "pkg0.rpm"),
                          *job(srv.url("/status/403/pkg1.rpm"), "pkg1.rpm"))
        jobs = jobs_of(out)
        eq(jobs.get(0), (False, 1, f"HTTP 404 for {srv.url('/status/404/pkg0.rpm')}"),
           "404: not retried, the message names the status and the URL")
        eq(jobs.get(1), (False, 1, f"HTTP 403 for {srv.url('/status/403/pkg1.rpm')}"),
           "403: not retried either")
        ok(rc != 0 and out[-1] == "result -2", "two failed jobs: fetch_run returns -2", out)
        ok(not os.path.exists(d("pkg0.rpm")) and leftovers() == [], "404: no file, no .part")

        # A .part left from before, and the file is gone upstream: the
        # Range request's 404 is final and the stale .part is removed.
        clean()
        with open(d("pkg0.rpm") + ".part", "wb") as f:
            f.write(b"x" * 100)
        rc, out, _ = tool("-r", 3, "-b", 50, "fetch", *job(srv.url("/status/404/pkg0.rpm"), "pkg0.rpm"))
        eq(jobs_of(out).get(0), (False, 1, f"HTTP 404 for {srv.url('/status/404/pkg0.rpm')}"),
           "404 to a Range request: not retried")
        eq(srv.seen("/status/404/pkg0.rpm"), ["bytes=100-"], "404 to a Range request: one request")
        eq(leftovers(), [], "404 to a Range request: the stale .part is removed")

        # 500 until the retries run out; back-off doubles (50 + 100 + 200 ms).
        clean()
        t0 = time.monotonic()
        rc, out, _ = tool("-r", 3, "-b", 50, "fetch", *job(srv.url("/status/500/pkg0.rpm"), "pkg0.rpm"))
        took = time.monotonic() - t0
        eq(jobs_of(out).get(0), (False, 4, f"HTTP 500 for {srv.url('/status/500/pkg0.rpm')}"),
           "500: tried 1 + 3 times, then failed")
        ok(took >= 0.35, f"500: the tries were spaced by a doubling back-off ({took:.2f} s)")
        eq(len(srv.seen("/status/500/pkg0.rpm")), 4, "500: the server saw 4 requests")

        # 500 once, then fine.
        clean()
        rc, out, _ = tool("-b", 10, "fetch", *job(srv.url("/fail500/1/pkg2.rpm"), "pkg2.rpm"))
        eq(jobs_of(out).get(0), (True, 2, ""), "500 once: the second try succeeds")
        ok(open(d("pkg2.rpm"), "rb").read() == files["pkg2.rpm"], "500 once: the file is right")

        # A body cut short: the next try resumes where it stopped.
        clean()
        rc, out, _ = tool("-b", 10, "fetch", *job(srv.url("/truncate/pkg3.rpm"), "pkg3.rpm"))
        eq(jobs_of(out).get(0), (True, 2, ""), "truncated body: retried and done")
        half = len(files["pkg3.rpm"]) // 2
        eq(srv.seen("/truncate/pkg3.rpm"), [None, f"bytes={half}-"],
           "truncated body: the second request asks for the rest (Range)")
        ok(open(d("pkg3.rpm"), "rb").read() == files["pkg3.rpm"] and leftovers() == [],
           "truncated body: the file is whole, no .part")

        # A stall longer than the timeout fails the try; the next resumes.
        clean()
        t0 = time.monotonic()
        rc, out, _ = tool("-t", 1, "-b", 10, "fetch", *job(srv.url("/stall/pkg4.rpm"), "pkg4.rpm"))
        took = time.monotonic() - t0
        eq(jobs_of(out).get(0), (True, 2, ""), "stall: the try times out, the next succeeds")
        ok(took < 3.9, f"stall: the timeout did not wait for the server ({took:.2f} s)")
        eq(srv.seen("/stall/pkg4.rpm"), [None, f"bytes={len(files['pkg4.rpm']) // 2}-"],
           "stall: the second try resumes")
        ok(open(d("pkg4.rpm"), "rb").read() == files["pkg4.rpm"], "stall: the file is whole")

        # A .part from an interrupted run is continued with Range.
        clean()
        with open(d("pkg5.rpm") + ".part", "wb") as f:
            f.write(files["pkg5.rpm"][:1000])
        rc, out, _ = tool("fetch", *job(srv.url("/files/pkg5.rpm"), "pkg5.rpm"))
        eq(jobs_of(out).get(0), (True, 1, ""), "resume: done on the first try")
        eq(srv.seen("/files/pkg5.rpm"), ["bytes=1000-"], "resume: the server saw Range: bytes=1000-")
        ok(open(d("pkg5.rpm"), "rb").read() == files["pkg5.rpm"] and leftovers() == [],
           "resume: the file is whole, the .part is gone")

        # Same without a size and checksum in the job: still a Range request.
        clean()
        with open(d("pkg5.rpm") + ".part", "wb") as f:
            f.write(files["pkg5.rpm"][:777])
        rc, out, _ = tool("fetch", srv.url("/files/pkg5.rpm"), d("pkg5.rpm"), "-", "-", 0)
        ok(rc == 0 and srv.seen("/files/pkg5.rpm") == ["bytes=777-"] and
           open(d("pkg5.rpm"), "rb").read() == files["pkg5.rpm"],
           "resume without size or checksum", out)

        # A complete .part left by a killed run (size known): no transfer.
        clean()
        with open(d("pkg6.rpm") + ".part", "wb") as f:
            f.write(files["pkg6.rpm"])
        rc, out, _ = tool("fetch", *job(srv.url("/files/pkg6.rpm"), "pkg6.rpm"))
        ok(rc == 0 and srv.seen("/files/pkg6.rpm") == [] and
           open(d("pkg6.rpm"), "rb").read() == files["pkg6.rpm"],
           "complete .part: checked and renamed without a request", out)

        # Complete .part, size unknown: the server answers 416, the .part is checked.
        clean()
        with open(d("pkg6.rpm") + ".part", "wb") as f:
            f.write(files["pkg6.rpm"])
        rc, out, _ = tool("fetch", *job(srv.url("/files/pkg6.rpm"), "pkg6.rpm", size=0))
        ok(rc == 0 and open(d("pkg6.rpm"), "rb").read() == files["pkg6.rpm"] and leftovers() == [],
           "complete .part, size unknown: 416 to the Range request, the checksum holds", out)

        # A server that ignores Range: the .part (wrong bytes here) is
        # replaced by the whole file from the start.
        clean()
        with open(d("pkg7.rpm") + ".part", "wb") as f:
            f.write(b"x" * 1000)
        rc, out, _ = tool("fetch", *job(srv.url("/norange/pkg7.rpm"), "pkg7.rpm"))
        jobs = jobs_of(out)
        ok(jobs.get(0, (False,))[0], "Range ignored: the job succeeds", out)
        seen = srv.seen("/norange/pkg7.rpm")
        ok(seen[0] == "bytes=1000-" and all(r is None for r in seen[1:]),
           "Range ignored: asked with Range once, then without", seen)
        ok(open(d("pkg7.rpm"), "rb").read() == files["pkg7.rpm"] and leftovers() == [],
           "Range ignored: the file is right (restarted from zero), no .part")

        # Corrupt bytes once: the checksum catches it, the retry is clean.
        clean()
        rc, out, _ = tool("-b", 10, "fetch", *job(srv.url("/corrupt-once/pkg8.rpm"), "pkg8.rpm"))
        eq(jobs_of(out).get(0), (True, 2, ""), "corrupt once: checksum mismatch retried, then done")
        eq(srv.seen("/corrupt-once/pkg8.rpm"), [None, None],
           "corrupt once: the second try starts from zero (the bad .part was deleted)")
        ok(open(d("pkg8.rpm"), "rb").read() == files["pkg8.rpm"], "corrupt once: the file is right")

        # A checksum that never matches: retried, failed, nothing left.
        clean()
        wrong = "0" * 64
        rc, out, _ = tool("-r", 2, "-b", 10, "fetch",
                          *job(srv.url("/files/pkg9.rpm"), "pkg9.rpm", csum=wrong))
        j = jobs_of(out).get(0, (True, 0, ""))
        ok(not j[0] and j[1] == 3 and "checksum mismatch" in j[2] and srv.url("/files/pkg9.rpm") in j[2]
           and sha256(files["pkg9.rpm"]) in j[2] and wrong in j[2],
           "checksum mismatch: tried 3 times, the message names URL, got and expected", j)
        ok(not os.path.exists(d("pkg9.rpm")) and leftovers() == [],
           "checksum mismatch: no file at dest and no .part")

        # md5 and sha512 in jobs.
        clean()
        rc, out, _ = tool("fetch", *job(srv.url("/files/pkg0.rpm"), "pkg0.rpm", ctype="md5"),
                          *job(srv.url("/files/pkg1.rpm"), "pkg1.rpm", ctype="sha512"),
                          *job(srv.url("/files/pkg2.rpm"), "pkg2.rpm", ctype="sha1"))
        eq(rc, 0, "md5, sha512 and sha1 checksums in jobs")

        # More bytes than the expected size: stopped, retried, failed.
        clean()
        rc, out, _ = tool("-r", 1, "-b", 10, "fetch",
                          *job(srv.url("/files/pkg10.rpm"), "pkg10.rpm", size=1000))
        j = jobs_of(out).get(0, (True, 0, ""))
        ok(not j[0] and j[1] == 2 and "more than the expected 1000 bytes" in j[2],
           "too many bytes: the transfer is cut off and counted as a failed try", j)
        ok(leftovers() == [] and not os.path.exists(d("pkg10.rpm")), "too many bytes: nothing left")

        # Redirects are followed.
        clean()
        rc, out, _ = tool("fetch", *job(srv.url("/redirect/pkg11.rpm"), "pkg11.rpm"))
        ok(rc == 0 and open(d("pkg11.rpm"), "rb").read() == files["pkg11.rpm"], "a redirect is followed")

        # Connection refused: curl's message, retried, failed.
        clean()
        port = free_port()
        url = f"http://127.0.0.1:{port}/pkg0.rpm"
        rc, out, _ = tool("-r", 2, "-b", 20, "fetch", *job(url, "pkg0.rpm"))
        j = jobs_of(out).get(0, (True, 0, ""))
        ok(not j[0] and j[1] == 3 and j[2].startswith(f"cannot fetch {url}: ") and
           "onnect" in j[2], "connection refused: retried, the message is curl's and names the URL", j)

        # file:// URLs.
        clean()
        src = os.path.join(work, "src")
        os.makedirs(src)
        with open(os.path.join(src, "pkg0.rpm"), "wb") as f:
            f.write(files["pkg0.rpm"])
        rc, out, _ = tool("fetch", *job("file://" + os.path.join(src, "pkg0.rpm"), "pkg0.rpm"),
                          *job("file://" + os.path.join(src, "missing.rpm"), "missing.rpm", data=b"x"))
        jobs = jobs_of(out)
        ok(jobs.get(0, (False,))[0] and open(d("pkg0.rpm"), "rb").read() == files["pkg0.rpm"],
           "file://: fetched", out)
        j = jobs.get(1, (True, 0, ""))
        ok(not j[0] and j[1] == 1 and "missing.rpm" in j[2], "file://: a missing file fails at once", j)
        clean()
        with open(d("pkg0.rpm") + ".part", "wb") as f:
            f.write(files["pkg0.rpm"][:5000])
        rc, out, _ = tool("fetch", *job("file://" + os.path.join(src, "pkg0.rpm"), "pkg0.rpm"))
        ok(rc == 0 and open(d("pkg0.rpm"), "rb").read() == files["pkg0.rpm"] and leftovers() == [],
           "file://: a .part is resumed", out)

        # fetch_to_memory.
        clean()
        mem = os.path.join(work, "mem")
        rc, out, _ = tool("get", srv.url("/files/pkg1.rpm"), 1 << 20, mem)
        ok(rc == 0 and out == [f"ok {len(files['pkg1.rpm'])}"] and
           open(mem, "rb").read() == files["pkg1.rpm"], "fetch_to_memory: the data, NUL-terminated", out)
        rc, out, _ = tool("get", srv.url("/files/pkg1.rpm"), 1000, mem)
        ok(rc == 1 and out and "is larger than 1000 bytes" in out[0] and srv.url("/files/pkg1.rpm") in out[0],
           "fetch_to_memory: over the limit is an error naming the URL", out)
        rc, out, _ = tool("-b", 10, "get", srv.url("/status/404/x"), 1000, mem)
        eq(out, [f"error code=2: HTTP 404 for {srv.url('/status/404/x')}"], "fetch_to_memory: 404")
        rc, out, _ = tool("-b", 10, "get", srv.url("/fail500/1/pkg2.rpm"), 1 << 20, mem)
        ok(rc == 0 and open(mem, "rb").read() == files["pkg2.rpm"], "fetch_to_memory: retries a 500", out)
        rc, out, _ = tool("-b", 10, "get", srv.url("/truncate/pkg3.rpm"), 1 << 20, mem)
        ok(rc == 0 and open(mem, "rb").read() == files["pkg3.rpm"],
           "fetch_to_memory: retries a body cut short", out)
        rc, out, _ = tool("get", "ftp://127.0.0.1/x", 1000, mem)
        ok(rc == 1 and out and "ftp://127.0.0.1/x" in out[0], "fetch_to_memory: ftp:// is refused", out)
    finally:
        srv.stop()

    # file_checksum against hashlib.
    p = os.path.join(work, "sum")
    with open(p, "wb") as f:
        f.write(files["pkg0.rpm"])
    for t in ("sha256", "sha512", "sha1", "sha224", "sha384", "md5"):
        rc, out, _ = tool("checksum", t, p)
        eq(out, [hashlib.new(t, files["pkg0.rpm"]).hexdigest()], f"file_checksum {t}")
    rc, out, _ = tool("checksum", "crc32", p)
    ok(rc == 1 and "unknown checksum type 'crc32'" in out[0], "file_checksum: unknown type refused", out)


# --- metadata -------------------------------------------------------------------

def expected_packages(repo_dir):
    """What primary says, read with Python: sorted output lines."""
    root = ET.fromstring(open(os.path.join(repo_dir, "repodata", "repomd.xml"), "rb").read())
    ns = {"r": "http://linux.duke.edu/metadata/repo"}
    for data in root.findall("r:data", ns):
        if data.get("type") == "primary":
            href = data.find("r:location", ns).get("href")
    raw = open(os.path.join(repo_dir, href), "rb").read()
    if href.endswith(".gz"):
        raw = gzip.decompress(raw)
    elif href.endswith(".xz"):
        raw = lzma.decompress(raw)
    elif href.endswith(".zst"):
        raw = subprocess.run(["zstd", "-dc"], input=raw, stdout=subprocess.PIPE, check=True).stdout
    c = "{http://linux.duke.edu/metadata/common}"
    lines = []
    for pkg in ET.fromstring(raw).findall(f"{c}package"):
        v = pkg.find(f"{c}version")
        epoch = v.get("epoch") or "0"
        evr = ("" if epoch == "0" else epoch + ":") + f"{v.get('ver')}-{v.get('rel')}"
        nevra = f"{pkg.find(c + 'name').text}-{evr}.{pkg.find(c + 'arch').text}"
        loc = pkg.find(f"{c}location").get("href")
        ck = pkg.find(f"{c}checksum")
        ctype = {"sha": "sha1"}.get(ck.get("type"), ck.get("type"))
        size = pkg.find(f"{c}size").get("package")
        lines.append(f"package {nevra} {loc} {loc.split('/')[-1]} {ctype} {ck.text.strip()} {size}")
    return sorted(lines)


def test_metadata(work):
    root = os.path.join(work, "repos")
    os.makedirs(root)
    for name in ("librepo-yum_mock-01-complete-repo", "createrepo_c-repo_koji_01",
                 "librepo-repo_yum_03-thirdparty-metadata", "createrepo_c-repo_01"):
        shutil.copytree(os.path.join(FIXTURES, name), os.path.join(root, name))
    variants = {}
    for base in ("createrepo_c-repo_koji_01", "librepo-repo_yum_03-thirdparty-metadata"):
        for kind in ("xz", "zst", "plain"):
            name = f"{base}-{kind}"
            variants[name] = recompress(os.path.join(root, base), os.path.join(root, name), kind)
    # A primary whose checksum is right but whose content is not XML.
    bad = os.path.join(root, "garbage")
    href = recompress(os.path.join(root, "createrepo_c-repo_koji_01"), bad, "plain")
    with open(os.path.join(bad, href), "wb") as f:
        f.write(b"<metadata><package><oops")
    recompress_fix(bad, href)

    proc, port = start_http_server(root)
    try:
        base = f"http://127.0.0.1:{port}"
        repos = ["librepo-yum_mock-01-complete-repo", "createrepo_c-repo_koji_01",
                 "librepo-repo_yum_03-thirdparty-metadata"] + sorted(variants)
        for name in repos:
            want = expected_packages(os.path.join(root, name))
            for url in (f"{base}/{name}", f"{base}/{name}/", f"file://{root}/{name}"):
                rc, out, _ = tool("repo", url)
                got = sorted(x for x in out if x.startswith("package "))
                ok(rc == 0 and got == want and out[-1].startswith(f"count {len(want)} "),
                   f"metadata: {name} via {url.split(':')[0]}{' (trailing /)' if url.endswith('/') else ''}: "
                   f"{len(want)} packages as primary lists them", "\n".join(out[-3:] + want[:2]))
        rc, out, _ = tool("repo", f"{base}/librepo-yum_mock-01-complete-repo")
        ok(any(" sha1 1687a3a01942475aeeddbf36a4a9b0ff714c046d 1057084" in x for x in out),
           "metadata: sha1 package checksum and download size of the real F16 package", out)

        # createrepo_c's repo_01: primary does not match repomd.xml.
        for url in (f"{base}/createrepo_c-repo_01", f"file://{root}/createrepo_c-repo_01"):
            rc, out, _ = tool("repo", url)
            ok(rc == 1 and out and out[0].startswith(
                f"error code=74: primary at {url}/repodata/6c662d665c24de9a0f62c17d8fa50622307739d7376f0d19097ca96c6d7f5e3e-primary.xml.gz: checksum mismatch"),
               f"metadata: repo_01's inconsistent primary is reported naming the file ({url.split(':')[0]})", out)

        rc, out, _ = tool("repo", f"{base}/garbage")
        ok(rc == 1 and out and f"primary at {base}/garbage/{href} does not parse: " in out[0],
           "metadata: a primary that is not XML does not parse (named)", out)
        rc, out, _ = tool("-b", 10, "repo", f"{base}/nothere")
        eq(out, [f"error code=2: HTTP 404 for {base}/nothere/repodata/repomd.xml"],
           "metadata: a missing repomd.xml is a 404 naming its URL")
        rc, out, _ = tool("repo", f"{base}/librepo-yum_mock-01-complete-repo/repodata")
        ok(rc == 1 and "HTTP 404" in out[0], "metadata: a wrong baseurl is a 404", out)
        # A repomd.xml that is not XML.
        os.makedirs(os.path.join(root, "badrepomd", "repodata"))
        with open(os.path.join(root, "badrepomd", "repodata", "repomd.xml"), "w") as f:
            f.write("<repomd><data type='primary'")
        rc, out, _ = tool("repo", f"{base}/badrepomd")
        ok(rc == 1 and f"repomd.xml at {base}/badrepomd/repodata/repomd.xml does not parse" in out[0],
           "metadata: a repomd.xml that does not parse", out)
        # A repomd.xml that points outside the repository.
        os.makedirs(os.path.join(root, "escape", "repodata"))
        repomd = open(os.path.join(root, "createrepo_c-repo_koji_01", "repodata", "repomd.xml")).read()
        repomd = re.sub(r'(<data type="primary">.*?<location href=")[^"]+', r"\g<1>../../etc/passwd",
                        repomd, flags=re.S)
        with open(os.path.join(root, "escape", "repodata", "repomd.xml"), "w") as f:
            f.write(repomd)
        rc, out, _ = tool("repo", f"{base}/escape")
        ok(rc == 1 and "unusable primary location '../../etc/passwd'" in out[0],
           "metadata: a primary location with .. is refused", out)
    finally:
        proc.terminate()
        proc.wait()


# --- signatures -------------------------------------------------------------------

SPEC = """Name: rtest-signed
Version: 1.0
Release: 1.fc40
Summary: a package to sign
License: MIT
BuildArch: noarch
%description
A package to sign.
%install
mkdir -p %{buildroot}/usr/share/rtest
echo hello > %{buildroot}/usr/share/rtest/hello.txt
%files
/usr/share/rtest/hello.txt
"""


def test_signatures(work):
    sig = os.path.join(work, "sig")
    top = os.path.join(sig, "top")
    os.makedirs(top)
    homes = {n: os.path.join(sig, f"gnupg-{n}") for n in ("ours", "other")}
    try:
        keys = {n: gpg_key(h, f"rtest-{n}") for n, h in homes.items()}
        key_files = {}
        for n, k in keys.items():
            key_files[n] = os.path.join(sig, f"{n}.asc")
            with open(key_files[n], "wb") as f:
                f.write(k)
        both = os.path.join(sig, "both.asc")
        with open(both, "wb") as f:
            f.write(keys["other"] + b"\n" + keys["ours"])
        spec = os.path.join(sig, "t.spec")
        with open(spec, "w") as f:
            f.write(SPEC)
        p = subprocess.run(["rpmbuild", "-bb", "--nodeps", "--define", f"_topdir {top}", spec],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if p.returncode != 0:
            raise RuntimeError("rpmbuild failed: " + p.stdout.decode(errors="replace")[-2000:])
        built = glob.glob(os.path.join(top, "RPMS", "noarch", "*.rpm"))[0]
        pkgs = {}
        for n in ("signed", "unsigned", "other", "tampered"):
            pkgs[n] = os.path.join(sig, f"{n}.rpm")
            shutil.copy(built, pkgs[n])
        rpmsign(pkgs["signed"], homes["ours"], "rtest-ours")
        rpmsign(pkgs["tampered"], homes["ours"], "rtest-ours")
        rpmsign(pkgs["other"], homes["other"], "rtest-other")
        data = bytearray(open(pkgs["tampered"], "rb").read())
        data[-20] ^= 0xFF               # in the compressed payload
        with open(pkgs["tampered"], "wb") as f:
            f.write(data)
        hdr = os.path.join(sig, "tampered-header.rpm")
        data = bytearray(open(pkgs["signed"], "rb").read())
        at = data.index(b"A package to sign.")
        data[at] = ord("a")             # the description, in the signed header
        with open(hdr, "wb") as f:
            f.write(data)
        truncated = os.path.join(sig, "truncated.rpm")
        with open(truncated, "wb") as f:
            f.write(open(pkgs["signed"], "rb").read()[:3000])
        notrpm = os.path.join(sig, "notrpm.rpm")
        with open(notrpm, "wb") as f:
            f.write(b"not an rpm at all\n" * 100)

        def verify(keyfiles, path):
            rc, out, _ = tool("verify", ",".join(keyfiles), path)
            return out[0] if out else f"(nothing, exit {rc})"

        ours = [key_files["ours"]]
        eq(verify(ours, pkgs["signed"]), f"ok {pkgs['signed']}", "signature: signed by our key is accepted")
        r = verify(ours, pkgs["unsigned"])
        ok(r == f"refused code=1: package '{pkgs['unsigned']}' is not signed",
           "signature: an unsigned package is refused as unsigned", r)
        r = verify(ours, pkgs["other"])
        ok(r.startswith(f"refused code=1: package '{pkgs['other']}' is signed with a key that is not "
                        "among the repository's keys") and "Key ID" in r,
           "signature: another key's signature is refused as an unknown key", r)
        r = verify(ours, pkgs["tampered"])
        ok(r.startswith(f"refused code=1: package '{pkgs['tampered']}' has a bad signature or digest") and
           "Payload" in r and "BAD" in r,
           "signature: a tampered payload is refused (bad payload digest)", r)
        r = verify(ours, hdr)
        ok(r.startswith(f"refused code=1: package '{hdr}' has a bad signature or digest") and "BAD" in r,
           "signature: a tampered header is refused (bad header digest)", r)
        eq(verify([key_files["other"], key_files["ours"]], pkgs["other"]), f"ok {pkgs['other']}",
           "signature: several key files, the other key is one of them")
        eq(verify([both], pkgs["signed"]), f"ok {pkgs['signed']}",
           "signature: a key file with two armored keys holds both (1)")
        eq(verify([both], pkgs["other"]), f"ok {pkgs['other']}",
           "signature: a key file with two armored keys holds both (2)")
        r = verify(ours, truncated)
        ok(r.startswith("refused code=1:") and "truncated.rpm" in r, "signature: a truncated package", r)
        r = verify(ours, notrpm)
        ok(r.startswith("refused") and "is not an RPM package" in r, "signature: not an RPM at all", r)
        rc, out, _ = tool("verify", notrpm, pkgs["signed"])
        ok(rc == 1 and "holds no ASCII-armored public key" in out[0], "signature: a key file without a key", out)
        rc, out, _ = tool("verify", os.path.join(sig, "missing.asc"), pkgs["signed"])
        ok(rc == 1 and "cannot open key file" in out[0], "signature: a missing key file", out)

        # Real packages: Fedora 16's filesystem, signed with Fedora's key
        # (0x067f00b6a82ba4b7), which we do not have; librepo's repomd key
        # is another key again. And a real unsigned Fedora 34 package.
        f16 = os.path.join(FIXTURES, "librepo-yum_mock-01-complete-repo", "filesystem-2.4.44-1.fc16.i686.rpm")
        for keyset in (ours, [os.path.join(FIXTURES, "librepo-yum_mock-01-complete-repo", "repodata",
                                           "repomd.xml.key")]):
            r = verify(keyset, f16)
            ok("signed with a key that is not among the repository's keys" in r and
               "067f00b6a82ba4b7" in r, "signature: real F16 package, Fedora's key not given", r)
        sshpass = glob.glob(os.path.join(ABIGAIL, "sshpass-1.07-1.fc34.x86_64.rpm"))[0]
        r = verify(ours, sshpass)
        ok(r.endswith("is not signed"), "signature: a real unsigned Fedora package is refused", r)

        # verify_readable: header and digests only.
        rc, out, _ = tool("readable", pkgs["signed"], pkgs["unsigned"], pkgs["other"], f16, sshpass)
        ok(rc == 0 and all(x.startswith("ok ") for x in out),
           "readable: signed, unsigned and foreign-key packages all read", out)
        rc, out, _ = tool("readable", truncated, notrpm)
        ok(rc == 1 and len(out) == 2 and out[0].startswith("refused code=22:") and
           out[1] == f"refused code=22: '{notrpm}' is not an RPM package",
           "readable: a truncated package and a non-package are refused (-EINVAL)", out)
    finally:
        for h in homes.values():
            gpg_stop(h)


def main():
    ok(os.access(TOOL, os.X_OK), f"fetch-tool is built ({TOOL})")
    work = tempfile.mkdtemp(prefix="retrace-fetch-")
    try:
        test_fetch(work)
        test_metadata(work)
        test_signatures(work)
        ok(not sanitizer_reports, "no sanitizer reports from fetch-tool", "\n".join(sanitizer_reports))
    finally:
        shutil.rmtree(work, ignore_errors=True)


run_tests(main)
