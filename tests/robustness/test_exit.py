"""How the server ends: 0 when told to stop, non-zero when it cannot run.

A worker that fails at run time makes the process exit 1 (server/program/main.cc:
a worker whose run() throws calls stop_server_fatally()), so a supervisor
restarts it. Nothing outside the process can make a worker throw on every
engine alike without a fault-injection hook (an address-space limit set on
the running server makes some engines' workers fail and leaves others
running), so that case is not here; these check the two ends a supervisor
sees most: a clean stop, and a start that cannot bind."""

import socket
import subprocess

import conformance_conftest
import httpraw


def test_sigterm_exits_zero(start_server, tree):
    srv = start_server()
    r = httpraw.fetch(srv.port, "GET", "/hello.txt")
    assert r.status == 200
    srv.terminate()
    rc = srv.wait(15)
    assert rc == 0, f"zcserve ended with {srv._rc_text(rc)} on SIGTERM (want exit code 0)"


def test_port_in_use_exits_nonzero(opts, tree):
    # A listener without SO_REUSEPORT: zcserve's own (with it) cannot join.
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    argv = [opts["binary"], "--root", str(tree.root), "--listen", f"127.0.0.1:{port}",
            "--admin", "off", "--engine", opts["engine"], "--sender", opts["sender"]]
    for kv in conformance_conftest.SESSION_SETTINGS:
        argv += ["--set", kv]
    try:
        p = subprocess.run(argv, capture_output=True, timeout=15, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"zcserve kept running on a port already in use: {' '.join(argv)}")
    finally:
        taken.close()
    err = p.stderr.decode(errors="replace")
    assert p.returncode != 0, f"zcserve exited 0 on a port already in use:\n{err}"
    assert p.returncode > 0, f"zcserve died of signal {-p.returncode} on a port in use:\n{err}"
