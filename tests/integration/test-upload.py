"""Uploads as streams: a 1 GiB upload in bounded memory (and its
throughput against cat to the same disk, reported, not asserted), clients
that disconnect or stall mid-upload leave nothing behind, a body shorter or
longer than its Content-Length, and a graceful restart during an upload."""

import http.client
import os
import socket
import subprocess
import sys
import tarfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rtest import Server, ok, eq, diag, run_tests, crash_archive, parse_status_line  # noqa: E402

GIB = 1024 * 1024 * 1024
CHUNK = 1024 * 1024


def tar_stream(size, extra=True):
    """A plain tar with a `size`-byte coredump (zeros) and ABRT's small
    members, as (length, generator): nothing of it is held in memory."""
    head = tarfile.TarInfo("coredump")
    head.size = size
    head.mode = 0o644
    pieces = [head.tobuf(format=tarfile.GNU_FORMAT)]
    tail = []
    pad = (512 - size % 512) % 512
    tail.append(b"\0" * pad)
    if extra:
        for name, data in (("executable", b"/usr/bin/sleep\n"), ("package", b"coreutils-8.12-6.fc16\n")):
            t = tarfile.TarInfo(name)
            t.size = len(data)
            tail.append(t.tobuf(format=tarfile.GNU_FORMAT) + data + b"\0" * ((512 - len(data) % 512) % 512))
    tail.append(b"\0" * 1024)
    length = len(pieces[0]) + size + sum(len(t) for t in tail)

    def gen():
        yield pieces[0]
        zeros = b"\0" * CHUNK
        left = size
        while left:
            n = min(left, CHUNK)
            yield zeros if n == CHUNK else zeros[:n]
            left -= n
        for t in tail:
            yield t
    return length, gen


def proc_status(pid, field):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def reset_peak(pid):
    """Writing 5 to clear_refs resets VmHWM (Linux >= 4.0)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def wait_until(cond, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def test_big_upload():
    srv = Server("upload", settings={"limits": {"MaxPackedSize": "2048", "MaxUnpackedSize": "2048",
                                                "MinStorageLeft": "0"}})
    # Warm every child up so what follows measures the upload alone.
    for _ in range(20):
        srv.get("/settings")
    pids = srv.httpd_pids()
    for pid in pids:
        reset_peak(pid)
    base = {pid: proc_status(pid, "VmRSS") for pid in pids}

    length, gen = tar_stream(GIB)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=300)
    t0 = time.monotonic()
    conn.request("POST", "/create", body=gen(), headers={
        "Content-Type": "application/x-tar", "Content-Length": str(length)})
    resp = conn.getresponse()
    resp.read()
    upload_s = time.monotonic() - t0
    conn.close()
    eq(resp.status, 201, "a 1 GiB upload is accepted")
    task = resp.getheader("X-Task-Id")

    growth = {}
    for pid in pids:
        peak = proc_status(pid, "VmHWM")
        if peak is not None and base.get(pid) is not None:
            growth[pid] = peak - base[pid]
    worst = max(growth.values()) if growth else None
    ok(worst is not None and worst <= 16 * 1024 * 1024,
       "no httpd process grew by more than 16 MiB during the 1 GiB upload",
       {p: f"{g / 1048576:.1f} MiB" for p, g in growth.items()})
    diag(f"largest httpd RSS growth during the 1 GiB upload: {worst / 1048576:.1f} MiB")
    core = srv.task_path(task, "crash", "coredump")
    eq(os.path.getsize(core) if os.path.exists(core) else None, GIB, "the 1 GiB core arrived whole")
    os.unlink(core)

    # Throughput against cat to the same disk, for the record (timings are
    # never asserted: the machine is shared).
    src = os.path.join(srv.state, "upload.tar")
    with open(src, "wb") as f:
        for piece in gen():
            f.write(piece)
    subprocess.run(["sync"])
    dst = os.path.join(srv.spool, "cat-copy")
    t0 = time.monotonic()
    subprocess.run(["sh", "-c", f"cat '{src}' > '{dst}'"], check=True)
    cat_s = time.monotonic() - t0
    os.unlink(dst)
    t0 = time.monotonic()
    p = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-T", src, "-X", "POST",
                        "-H", "Content-Type: application/x-tar", f"http://127.0.0.1:{srv.port}/create"],
                       stdout=subprocess.PIPE)
    curl_s = time.monotonic() - t0
    eq(p.stdout.decode(), "201", "the same 1 GiB archive uploaded with curl -T is accepted")
    os.unlink(src)
    diag(f"1 GiB: upload {upload_s:.2f} s (python client), curl -T {curl_s:.2f} s "
         f"({GIB / curl_s / 1048576:.0f} MiB/s), cat to the spool disk {cat_s:.2f} s "
         f"({GIB / cat_s / 1048576:.0f} MiB/s); upload/cat time ratio {curl_s / cat_s:.2f}")
    for t in srv.task_dirs():
        subprocess.run(["rm", "-rf", srv.task_path(t)])
    srv.finish()


def headers_for(length, ctype="application/x-tar"):
    return (f"POST /create HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def test_disconnect_and_stall():
    srv = Server("abort", local_conf="Timeout 3")
    before = srv.spool_entries()
    length, gen = tar_stream(32 * CHUNK)

    # The client vanishes after 8 MiB of 32.
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.sendall(headers_for(length))
    sent = 0
    for piece in gen():
        s.sendall(piece)
        sent += len(piece)
        if sent > 8 * CHUNK:
            break
    ok(wait_until(lambda: len(srv.task_dirs()) == 1, 5), "a task directory exists while the upload runs")
    s.close()
    ok(wait_until(lambda: srv.spool_entries() == before, 10),
       "a client that disconnects mid-upload leaves nothing in the spool", srv.spool_entries())

    # Content-Length longer than the body, then silence: the request
    # timeout ends it.
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
    s.sendall(headers_for(length))
    s.sendall(next(gen()))
    s.sendall(b"\0" * CHUNK)
    t0 = time.monotonic()
    reply = b""
    try:
        while True:
            c = s.recv(4096)
            if not c:
                break
            reply += c
    except OSError:
        pass
    s.close()
    ok(parse_status_line(reply) in (None, 408, 400), "a stalled upload is cut off by the request timeout",
       reply[:200])
    ok(time.monotonic() - t0 < 15, "... within the configured timeout, not the default one")
    ok(wait_until(lambda: srv.spool_entries() == before, 10),
       "a stalled upload leaves nothing in the spool", srv.spool_entries())

    # Content-Length shorter than the body: the archive is cut short (415),
    # and the surplus is not taken as a task.
    body = crash_archive(core=os.urandom(CHUNK), compression=None)
    reply = srv.raw(headers_for(len(body) // 2) + body, timeout=10)
    eq(parse_status_line(reply), 415, "a body cut short by its Content-Length is not a valid archive (415)")
    ok(wait_until(lambda: srv.spool_entries() == before, 5),
       "... and leaves nothing in the spool", srv.spool_entries())
    eq(srv.get("/settings").status, 200, "httpd still answers")
    srv.expect_log(r"AH01382|AH01387|AH02607|AH10244|AH00566|AH01384")   # timeouts, bad requests
    srv.finish()


def test_graceful_restart():
    srv = Server("graceful")
    body = crash_archive(core=os.urandom(2 * CHUNK), compression=None)
    result = {}

    def slow_upload():
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        s.sendall(headers_for(len(body)))
        for i in range(0, len(body), 256 * 1024):
            s.sendall(body[i:i + 256 * 1024])
            time.sleep(0.1)
        reply = b""
        while True:
            c = s.recv(4096)
            if not c:
                break
            reply += c
            if b"\r\n\r\n" in reply:
                break
        s.close()
        result["reply"] = reply

    t = threading.Thread(target=slow_upload)
    t.start()
    time.sleep(0.3)
    srv.graceful()
    t.join(60)
    eq(parse_status_line(result.get("reply", b"")), 201,
       "an upload running through a graceful restart completes (201)")
    eq(len(srv.task_dirs()), 1, "... and its task is in the spool")
    ok(wait_until(lambda: srv.get("/settings").status == 200, 10), "httpd answers after the restart")
    srv.finish()


def main():
    test_disconnect_and_stall()
    test_graceful_restart()
    test_big_upload()


run_tests(main)
