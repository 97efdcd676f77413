"""The index page as a person sees it: Debian's Chromium, headless, loads
it from a real httpd with mod_retrace (two supported releases, one task
queued), takes a screenshot and dumps the DOM it built.

Checked: the page is well-formed HTML5 (every element closed in order,
doctype, language, charset); the rendered DOM shows the supported
releases, the load, the limits, how long data is kept and who can read
it, and how to run the client against this very server; the screenshot
is a PNG of the window's size that is not blank. The screenshot and the
DOM are kept with the test output: tests/integration/index-page.png and
index-page.dom.html in the build directory.
"""

import html.parser
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rtest import ok, eq, diag, run_tests, Server, crash_archive, TOP_BUILDDIR  # noqa: E402

WIDTH, HEIGHT = 1200, 1600
OUT_DIR = os.path.join(TOP_BUILDDIR, "tests", "integration")
SCREENSHOT = os.path.join(OUT_DIR, "index-page.png")
DOM = os.path.join(OUT_DIR, "index-page.dom.html")
# Debian's is chromium, Fedora's chromium-browser.
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Structure(html.parser.HTMLParser):
    """Elements opened and closed in order (void ones excepted), and the
    text outside <style>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.problems, self.text, self.decl = [], [], [], None
        self.tags = []

    def handle_decl(self, decl):
        self.decl = decl

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            self.problems.append(f"</{tag}> closes a void element")
        elif not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> while {self.stack[-1:] or 'nothing'} is open")
        else:
            self.stack.pop()

    def handle_data(self, data):
        if "style" not in self.stack:
            self.text.append(data)

    def words(self):
        return " ".join(" ".join(self.text).split())


def check_html(body):
    s = Structure()
    s.feed(body)
    s.close()
    eq(s.decl, "DOCTYPE html", "the page starts with the HTML5 doctype")
    ok(not s.problems and not s.stack, "every element is closed, in order",
       "\n".join(s.problems) + f"\nleft open: {s.stack}")
    ok(("html", {"lang": "en"}) in s.tags, "the page names its language")
    ok(("meta", {"charset": "utf-8"}) in s.tags, "the page names its charset")
    return s


def png_facts(path):
    """(width, height, distinct colours in the first rows, share of pixels
    unlike the top-left one there) of an 8-bit RGB or RGBA PNG, decoded
    here (zlib and the five row filters)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    pos, idat, ihdr = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat.append(chunk)
        pos += 12 + length
    width, height, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        return width, height, None, None
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows = min(height, 400)         # the heading and the first sections
    prev = bytearray(stride)
    colours = {}
    for y in range(rows):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if ftype == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif ftype == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 255
        elif ftype == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif ftype == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        for x in range(0, stride, bpp * 2):    # every other pixel
            px = bytes(line[x:x + 3])
            colours[px] = colours.get(px, 0) + 1
        prev = line
    total = sum(colours.values())
    background = max(colours.values())
    return width, height, len(colours), 1 - background / total


def chromium(args, url, work, log):
    profile = tempfile.mkdtemp(prefix="profile-", dir=work)
    env = dict(os.environ, HOME=work, XDG_CONFIG_HOME=os.path.join(work, "config"),
               XDG_CACHE_HOME=os.path.join(work, "cache"))
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", f"--user-data-dir={profile}", *args, url]
    with open(log, "ab") as err:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                           env=env, timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def main():
    if not ok(CHROMIUM, "Chromium is installed (Debian's and Fedora's package chromium)"):
        return
    work = tempfile.mkdtemp(prefix="retrace-index-page-")
    try:
        run(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work):
    srv = Server("index-page", settings={"limits": {"MaxPackedSize": "42", "MaxUnpackedSize": "777",
                                                    "MaxParallelTasks": "6"},
                                         "worker": {"DeleteTaskAfter": "96",
                                                    "DeleteFailedTaskAfter": "12"}})
    srv.add_release("fedora-40-x86_64", [])
    srv.add_release("rhel-9-aarch64", [])
    eq(srv.create(crash_archive()).status, 201, "a task is queued")
    url = f"http://127.0.0.1:{srv.port}/"

    r = srv.get("/")
    eq((r.status, r.header("content-type")), (200, "text/html; charset=utf-8"), "/ is an HTML page")
    check_html(r.text)

    log = os.path.join(work, "chromium.log")
    rc, dom = chromium(["--dump-dom"], url, work, log)
    ok(rc == 0 and "<h1>Retrace Server</h1>" in dom, "Chromium loads the page and builds its DOM",
       open(log, errors="replace").read()[-3000:])
    with open(DOM, "w") as f:
        f.write(dom)
    text = check_html(dom).words() if dom else ""
    for want, what in [
            ("fedora-40-x86_64", "the first supported release"),
            ("rhel-9-aarch64", "the second supported release"),
            ("1 of 6 task slots in use (1 queued, 0 running)", "the current load"),
            ("Upload (compressed): 42 MiB", "the upload limit"),
            ("Unpacked: 777 MiB", "the unpacked limit"),
            ("Tasks queued or running at once: 6", "the task limit"),
            ("application/x-xz-compressed-tar", "the accepted formats"),
            ("deleted 96 hours after it finished (12 hours for a failed task)", "how long data is kept"),
            ("only the holder of a task's password", "who can read a task"),
            ("administrators", "that the administrators can read the data"),
            (f"retrace-client batch --url http://127.0.0.1:{srv.port} -d /var/spool/abrt/<problem "
             "directory>", "the client command with this server's URL"),
            ("analyze_RetraceServer", "ABRT's event")]:
        ok(want in text, f"the rendered page shows {what}", text[:3000])

    if os.path.exists(SCREENSHOT):
        os.unlink(SCREENSHOT)
    rc, _ = chromium([f"--screenshot={SCREENSHOT}", f"--window-size={WIDTH},{HEIGHT}"], url, work,
                     log)
    ok(rc == 0 and os.path.exists(SCREENSHOT), "Chromium takes a screenshot",
       open(log, errors="replace").read()[-3000:])
    if os.path.exists(SCREENSHOT):
        size = os.path.getsize(SCREENSHOT)
        facts = png_facts(SCREENSHOT)
        ok(facts is not None, "the screenshot is a PNG")
        if facts:
            w, h, colours, ink = facts
            eq((w, h), (WIDTH, HEIGHT), "the screenshot has the window's size")
            ok(size > 10000, "the screenshot is not trivial in size", size)
            ok(colours is not None and colours >= 8 and ink > 0.005,
               "the screenshot is not blank: text in several colours on the background",
               (colours, ink))
        diag(f"screenshot kept: {SCREENSHOT} ({size} bytes); DOM: {DOM}")
    srv.finish()


run_tests(main)
