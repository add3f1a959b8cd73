"""Accepting when descriptors have run out.

A reply in flight keeps its file open whatever the file cache's budget,
so clients that each ask for a different large file and never read hold
two descriptors each (their socket, their file), and under a low
RLIMIT_NOFILE, with idle connections taking the rest, the server's accept
then fails with EMFILE for as long as they are held. io_uring once
re-armed its accept at once on that failure: two cores burnt and 170,000
log lines a second. Every engine must pause accepting instead, log the
failure sparingly, and accept again once descriptors are back."""

import os
import socket
import time

import httpraw
from test_descriptors import cpu_seconds

NOFILE = 256
GREEDY = 100  # each holds a socket and, once answered, a file
IDLE = 250  # then connections that send nothing: each holds a socket, or waits
BIG = 8 * 1024 * 1024  # sparse: far more than the socket buffers hold
CPU_BOUND = 0.5  # seconds of server CPU over one second of held pressure
MAX_ACCEPT_LINES = 4  # logged at most once a second, over about two seconds


def greedy_clients(port, n):
    """n connections, each asking for its own big file and reading nothing."""
    socks = []
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append((s, f"/big/s{i}.bin"))
    time.sleep(0.3)
    for s, url in socks:
        try:
            s.send(httpraw.build_request("GET", url))
        except OSError:
            pass  # refused or not yet accepted: it is pressure all the same
    return [s for s, _ in socks]


def test_accept_pauses_when_descriptors_run_out(start_server, tree, engine, tmp_path):
    root = tmp_path / "root"
    (root / "big").mkdir(parents=True)
    for i in range(GREEDY):
        with open(root / "big" / f"s{i}.bin", "wb") as f:
            f.truncate(BIG)
    (root / "small.txt").write_bytes(b"served again\n")
    settings = {}
    if engine == "io_uring":
        settings["io.uring.sq_thread_idle"] = "20ms"  # see test_descriptors
    srv = start_server(root=root, nofile=NOFILE, settings=settings)
    held = greedy_clients(srv.port, GREEDY)
    try:
        # Idle connections take what descriptors are left; the rest wait
        # in the listen backlog, and the server's accept fails with EMFILE
        # for as long as they are held.
        for _ in range(IDLE):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", srv.port))
            held.append(s)
        time.sleep(0.5)
        lines_before = sum("accept" in line for line in srv.stderr_lines)
        before = cpu_seconds(srv.proc.pid)
        time.sleep(1.0)
        used = cpu_seconds(srv.proc.pid) - before
        time.sleep(0.5)
        accept_lines = sum("accept" in line for line in srv.stderr_lines) - lines_before
        srv.check_alive()
        assert used < CPU_BOUND, (
            f"the server used {used:.2f} s of CPU in 1 s with its descriptors exhausted: it "
            f"spins\n{srv.log_tail(10)}")
        assert accept_lines <= MAX_ACCEPT_LINES, (
            f"{accept_lines} lines about accept in 1.5 s: the failure must be logged at most "
            f"once a second\n{srv.log_tail(10)}")
    finally:
        for s in held:
            s.close()
    # Descriptors come back as the replies are cut off: the server must
    # accept and serve again.
    deadline = time.monotonic() + 10
    while True:
        try:
            r = httpraw.fetch(srv.port, "GET", "/small.txt", timeout=2)
            if r.status == 200:
                assert r.body == b"served again\n"
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "not serving 10 s after the pressure ended"
        time.sleep(0.2)
