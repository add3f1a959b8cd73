"""Memory runs out in a running server.

An address-space limit set on the live process (prlimit --as) makes every
new mapping fail. The admin thread once met the std::bad_alloc of its
one-second tick by logging it and trying again at once, for ever: 100,000
lines in 15 s. A worker that cannot go on must stop the server with a
non-zero status (a supervisor then restarts it); one that can must go on
serving once memory is back."""

import subprocess
import time

import httpraw

PRESSURE_S = 2.0
# The admin thread ticks once a second: a failing tick may be logged once
# per tick, a worker may say it stops, and the drain says what it does.
MAX_LINES = 12


def is_sanitized(binary):
    # AddressSanitizer reserves and maps memory of its own all the time: an
    # address-space limit makes it abort, which is not what this is about.
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def vm_size_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmSize in /proc/PID/status")


def test_out_of_memory_is_logged_sparingly_and_never_ends_in_exit_zero(start_server, opts, tree):
    import pytest

    if is_sanitized(opts["binary"]):
        pytest.skip("an address-space limit makes AddressSanitizer itself abort")
    srv = start_server()
    pid = srv.proc.pid
    assert httpraw.fetch(srv.port, "GET", "/hello.txt").status == 200
    before = len(srv.stderr_lines)
    limit = vm_size_bytes(pid)
    subprocess.run(["prlimit", f"--pid={pid}", f"--as={limit}:"], check=True)
    try:
        # Requests that need memory (new connections, new files) under the
        # limit, while the admin thread ticks.
        end = time.monotonic() + PRESSURE_S
        while time.monotonic() < end and srv.alive():
            try:
                httpraw.fetch(srv.port, "GET", "/index.html", timeout=0.5)
            except OSError:
                pass
            time.sleep(0.05)
    finally:
        if srv.alive():
            subprocess.run(["prlimit", f"--pid={pid}", "--as=unlimited:"], check=True)
    logged = srv.stderr_lines[before:]
    assert len(logged) <= MAX_LINES, (
        f"{len(logged)} lines logged in {PRESSURE_S:.0f} s of memory pressure; the first: "
        + "\n".join(logged[:5]))
    if srv.alive():
        r = httpraw.fetch(srv.port, "GET", "/hello.txt")
        assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")
        return  # the fixture's teardown requires exit 0 on SIGTERM
    rc = srv.wait(15)
    assert rc is not None and rc > 0, (
        f"zcserve stopped under memory pressure with {srv._rc_text(rc)}; a server that cannot "
        "go on must exit non-zero\n" + srv.log_tail(30))
