"""io.uring.fixed_files: connections accepted straight into the ring's file
table never become process descriptors, and serving them takes no per
connection system call (no accept4, close, shutdown or getpeername), which
the kernel's own view confirms: /proc/PID/fd and strace on the worker."""

from __future__ import annotations

import os
import socket
import time

import pytest

import rawload
import stats
import tracers

CONNECTIONS = 20
CLOSE_REQUESTS = 300


@pytest.fixture(autouse=True)
def _io_uring_only(opts):
    if opts["engine"] != "io_uring":
        pytest.skip("registered (fixed) descriptors are an io_uring engine setting")


def _sockets(pid):
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return n


def _ring_files(pid):
    """The registered files of the process's io_uring instances, as the
    kernel lists them in the ring's fdinfo ("  slot: name" after UserFiles)."""
    names = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if "io_uring" not in os.readlink(f"/proc/{pid}/fd/{fd}"):
                continue
        except OSError:
            continue
        # The table is listed only when the kernel gets the ring's lock at
        # once (a busy SQPOLL thread may hold it): ask until it is.
        for _ in range(200):
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                lines = f.read().splitlines()
            start = next((i for i, l in enumerate(lines) if l.startswith("UserFiles:")), None)
            if start is not None:
                break
            time.sleep(0.01)
        else:
            raise AssertionError(f"/proc/{pid}/fdinfo/{fd} never listed the ring's files")
        for line in lines[start + 1:]:
            slot, sep, name = line.strip().partition(": ")
            if not sep or not slot.isdigit():
                break
            names.append(name)
    return names


def _while_connected(srv, docroot):
    """(sockets the server holds with CONNECTIONS keep-alive clients connected
    beyond those it holds with none, the rings' registered files then)."""
    time.sleep(0.2)
    idle = _sockets(srv.pid)
    clients = []
    try:
        for _ in range(CONNECTIONS):
            c = rawload.KeepAlive(srv.port)
            status, length, _ = c.get(docroot.target(1024))
            assert status == 200 and length == 1024
            clients.append(c)
        return _sockets(srv.pid) - idle, _ring_files(srv.pid)
    finally:
        for c in clients:
            c.close()


@pytest.mark.parametrize("fixed", [False, True], ids=["descriptors", "fixed_files"])
def test_connections_hold_no_process_descriptor(start_server, docroot, opts, fixed):
    """With fixed files the connections are in no /proc/PID/fd listing but
    in the ring's file table (its fdinfo), and so is the served file where
    the sender reads it by descriptor; without, every connection is a
    process descriptor and the table is empty (the same checks, shown able
    to count)."""
    srv = start_server(settings=[f"io.uring.fixed_files={'true' if fixed else 'false'}"])
    held, registered = _while_connected(srv, docroot)
    sockets = sum(n.startswith("socket:") for n in registered)
    if not fixed:
        assert held == CONNECTIONS, f"/proc shows {held} sockets for {CONNECTIONS} connections"
        assert not registered, f"files registered without io.uring.fixed_files: {registered}"
        return
    assert held == 0, f"{held} of {CONNECTIONS} served connections hold process descriptors"
    assert sockets == CONNECTIONS, (f"the ring's table holds {sockets} sockets for "
                                    f"{CONNECTIONS} connections: {registered}")
    path = os.path.realpath(os.path.join(docroot.root, docroot.target(1024).lstrip("/")))
    if opts["sender"] in ("read_write", "readv_writev", "splice"):
        assert path in registered, f"{path} is not in the ring's file table: {registered}"


def _close_request(port, target):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(b"GET " + target.encode() + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        got = b""
        while chunk := s.recv(65536):
            got += chunk
        assert got.startswith(b"HTTP/1.1 200 "), got[:100]
    finally:
        s.close()


@pytest.mark.parametrize("access_log", ["off", "stderr"])
def test_connection_per_request_makes_no_descriptor_calls(start_server, docroot, opts, tmp_path,
                                                          access_log):
    """300 one-request connections: strace on the worker sees io_uring_enter
    and nothing that accepts, closes, shuts down or names a socket (with the
    access log on, the peer's address comes with the accept, not from
    getpeername); the file was registered once, before the window
    (io_uring_register is absent)."""
    if tracers.missing("strace"):
        pytest.skip("strace is not installed (Debian package strace)")
    srv = start_server(settings=["io.uring.fixed_files=true", f"log.access_log={access_log}"])
    target = docroot.target(1024)
    _close_request(srv.port, target)  # warm-up: the file is cached and registered
    time.sleep(0.2)
    try:
        strace = tracers.StraceCount(srv.worker_tid(0), tmp_path / "strace-c.txt").start()
    except tracers.ToolUnavailable as e:
        pytest.skip(str(e))
    try:
        for _ in range(CLOSE_REQUESTS):
            _close_request(srv.port, target)
        time.sleep(0.3)
    finally:
        calls, _errors, _total = strace.stop()
    print(f"{CLOSE_REQUESTS} connections, one request each: {calls}")
    if stats.is_sanitized(opts["binary"]):
        # AddressSanitizer's allocator maps fresh memory where glibc reuses
        # freed blocks (stats.SANITIZER_ALLOCATOR_CALLS): not zcserve's calls.
        calls = {k: v for k, v in calls.items() if k not in stats.SANITIZER_ALLOCATOR_CALLS}
    per_connection = {k: v for k, v in calls.items()
                      if k in ("accept", "accept4", "close", "shutdown", "getpeername", "openat2",
                               "io_uring_register", "setsockopt")}
    assert not per_connection, f"descriptor calls with fixed files: {per_connection}"
    # All that is left: entering the ring, and (access log on) the futex that
    # wakes the log's writer thread.
    allowed = {"io_uring_enter"} | ({"futex"} if access_log != "off" else set())
    if opts["sender"] in ("mmap", "send_zc"):
        # Their truncation guard: one fstat per step, whatever the descriptors.
        allowed |= {"fstat", "newfstatat"}
        calls_per_step = calls.get("fstat", 0) + calls.get("newfstatat", 0)
        assert calls_per_step <= CLOSE_REQUESTS, f"{calls_per_step} fstat calls"
    assert calls.get("io_uring_enter", 0) > 0 and set(calls) <= allowed, (
        f"calls other than {sorted(allowed)}: {calls}")
