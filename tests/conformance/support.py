"""Helpers shared by the conformance tests: curl, checks that the server still
serves, header formats."""

from __future__ import annotations

import email.utils
import hashlib
import os
import re
import time
import subprocess

import httpraw

IMF_FIXDATE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (0[1-9]|[12]\d|3[01]) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d GMT$")
ETAG = re.compile(r'^(W/)?"[\x21\x23-\x7e\x80-\xff]*"$')


def assert_serving(srv, tree, path="/hello.txt"):
    """A fresh connection gets a correct reply: the server still serves."""
    srv.check_alive()
    r = httpraw.fetch(srv.port, "GET", path, timeout=10)
    assert r.status == 200, f"server no longer serves {path}: got {r.status}"
    assert r.body == tree.bytes_of(path), f"wrong body for {path} after the error case"


def media_type(resp):
    ct = resp.header("content-type")
    return ct.split(";")[0].strip().lower() if ct is not None else None


def http_date(ts):
    return email.utils.formatdate(ts, usegmt=True)


def curl(srv, path, out_file, *args, timeout=60):
    """curl -s -o OUT --http1.1 -w '%{http_code}' [args] URL -> status; the body is in OUT."""
    cmd = ["curl", "-s", "-o", str(out_file), "--http1.1", "-w", "%{http_code}",
           "--max-time", str(timeout), *args, srv.url(path)]
    p = subprocess.run(cmd, capture_output=True, timeout=timeout + 10)
    code = p.stdout.decode().strip()
    assert p.returncode == 0, f"{' '.join(cmd)} failed rc={p.returncode} code={code} {p.stderr!r}"
    if not out_file.exists():
        out_file.write_bytes(b"")  # curl writes nothing for an empty body
    return int(code)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _ring_sockets(pid, fd):
    """Sockets in the file table of the io_uring instance `fd` of `pid`, as
    the kernel lists them in its fdinfo (lines "  slot: name" after
    UserFiles). The kernel lists the table only if it can take the ring's
    lock at once, which a busy SQPOLL thread often holds: then it is asked
    again."""
    for _ in range(200):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                lines = f.read().splitlines()
        except OSError:
            return 0
        if any(line.startswith("UserFiles:") for line in lines):
            break
        time.sleep(0.01)
    else:
        raise AssertionError(f"/proc/{pid}/fdinfo/{fd} never listed the ring's files")
    n = 0
    listing = False
    for line in lines:
        if line.startswith("UserFiles:"):
            listing = True
            continue
        if listing:
            slot, sep, name = line.strip().partition(": ")
            if not sep or not slot.isdigit():
                break
            n += name.startswith("socket:")
    return n


def server_sockets(pid):
    """Every socket the server holds, from the kernel's view: its process
    descriptors (/proc/PID/fd) and the slots of its io_uring file tables
    (io.uring.fixed_files), where connections have no descriptor."""
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue  # closed while we looked
        if target.startswith("socket:"):
            n += 1
        elif "io_uring" in target:
            n += _ring_sockets(pid, fd)
    return n


def sockets_settle(pid, at_most, timeout=10.0):
    """Waits until the server holds at most `at_most` sockets; returns its count."""
    deadline = time.monotonic() + timeout
    n = server_sockets(pid)
    while n > at_most and time.monotonic() < deadline:
        time.sleep(0.1)
        n = server_sockets(pid)
    return n


# Engines whose connections are not kernel sockets of the process: the dpdk
# engine's are lwIP's, in its own memory, so /proc shows none of them. A
# test that counts the server's sockets counts its connection slots there
# instead: with server.max_connections = N, a connection the server still
# holds shows as one more turned away.
OWN_STACK_ENGINES = ("dpdk",)


def counts_sockets(opts):
    """The server's connections can be counted in /proc (server_sockets)."""
    return opts["engine"] not in OWN_STACK_ENGINES


def turned_away(srv, timeout=5.0):
    """Whether one more connection is turned away now (a 503 or a close:
    server.max_connections are held) rather than served."""
    with httpraw.Client(srv.port, timeout=timeout) as c:
        try:
            c.send(httpraw.build_request("GET", "/hello.txt", headers={"Connection": "close"}))
            r = c.read_response()
        except (httpraw.ClosedError, BrokenPipeError, ConnectionResetError):
            return True
    assert r.status in (200, 503), f"{r.status} for a connection at the limit"
    return r.status == 503


def slots_free(srv, n, timeout=10.0):
    """Waits until n connections held at once are all served (n slots of
    server.max_connections free); True then, False after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        conns = []
        served = 0
        try:
            for _ in range(n):
                conns.append(httpraw.Client(srv.port, timeout=5))
            for c in conns:
                c.send(httpraw.build_request("GET", "/hello.txt"))
            for c in conns:
                try:
                    served += c.read_response().status == 200
                except (httpraw.ClosedError, ConnectionResetError):
                    pass
        finally:
            for c in conns:
                c.close()
        if served == n:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
