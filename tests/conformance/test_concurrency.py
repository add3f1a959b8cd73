"""Many connections at once, a connection limit, several workers."""

import threading
import time

import pytest

import httpraw
from support import assert_serving


def test_300_concurrent_connections(server, tree):
    """300 connections open at the same time, each with a request in
    flight; every one gets its full reply."""
    n = 300
    paths = ["/hello.txt", "/f4096.bin", "/f0.bin", "/page.html", "/f4095.bin"]
    conns = []
    try:
        for _ in range(n):
            conns.append(httpraw.Client(server.port, timeout=20))
        for i, c in enumerate(conns):
            c.send(httpraw.build_request("GET", paths[i % len(paths)]))
        for i, c in enumerate(conns):
            r = c.read_response()
            assert r.status == 200, f"connection {i}: {r.status}"
            assert r.body == tree.bytes_of(paths[i % len(paths)]), f"connection {i}: wrong body"
        # all still open: a second round on every connection
        for i, c in enumerate(conns):
            c.send(httpraw.build_request("GET", "/f1.bin"))
        for i, c in enumerate(conns):
            r = c.read_response()
            assert r.status == 200 and r.body == tree.bytes_of("/f1.bin"), f"connection {i}"
    finally:
        for c in conns:
            c.close()
    assert_serving(server, tree)


def test_concurrent_clients_in_threads(server, tree):
    """32 threads, each doing fresh-connection and keep-alive requests at once."""
    errors = []
    paths = ["/hello.txt", "/f4096.bin", "/f1m1.bin", "/dir/", "/f0.bin"]

    def client(k):
        try:
            for j in range(10):
                path = paths[(k + j) % len(paths)]
                want = "/dir/index.html" if path == "/dir/" else path
                r = httpraw.fetch(server.port, "GET", path, hash_only=True, timeout=20)
                if r.status != 200 or r.body_sha256 != tree.digest[want]:
                    errors.append(f"thread {k} fresh {path}: {r.status}")
            with httpraw.Client(server.port, timeout=20) as c:
                for j in range(10):
                    path = paths[(k * 3 + j) % len(paths)]
                    want = "/dir/index.html" if path == "/dir/" else path
                    r = c.request("GET", path, hash_only=True)
                    if r.status != 200 or r.body_sha256 != tree.digest[want]:
                        errors.append(f"thread {k} keep-alive {path}: {r.status}")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"thread {k}: {e!r}")

    threads = [threading.Thread(target=client, args=(k,)) for k in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "client threads hung"
    assert not errors, "\n".join(errors[:20])


def _refused_or_503(port):
    """What the server does with a connection over the limit: 'closed',
    '503', or 'served'. Anything else (silence) raises."""
    c = httpraw.Client(port, timeout=5)
    try:
        try:
            c.send(httpraw.build_request("GET", "/hello.txt"))
        except (BrokenPipeError, ConnectionResetError):
            return "closed"
        try:
            r = c.read_response()
        except httpraw.ClosedError:
            return "closed"
        except TimeoutError:
            raise AssertionError("connection over the limit got neither a 503 nor a close in 5 s")
        if r.status == 503:
            return "503"
        assert r.status == 200, f"unexpected {r.status} over the connection limit"
        return "served"
    finally:
        c.close()


def test_connection_limit(start_server, tree):
    srv = start_server(workers=1, settings={"server.max_connections": 4})
    held = [httpraw.Client(srv.port) for _ in range(4)]
    try:
        for c in held:
            r = c.request("GET", "/hello.txt")
            assert r.status == 200
        # the fifth is turned away
        assert _refused_or_503(srv.port) in ("closed", "503")
        # the first four still work
        for i, c in enumerate(held):
            r = c.request("GET", "/f4096.bin")
            assert r.status == 200 and r.body == tree.bytes_of("/f4096.bin"), f"held {i}"
        # closing one frees a slot (once the server has seen the close)
        held.pop(0).close()
        deadline = time.monotonic() + 5
        outcome = None
        while time.monotonic() < deadline:
            outcome = _refused_or_503(srv.port)
            if outcome == "served":
                break
            time.sleep(0.05)
        assert outcome == "served", "a closed connection did not free its slot"
        for c in held:
            r = c.request("GET", "/hello.txt")
            assert r.status == 200
    finally:
        for c in held:
            c.close()


def _one_worker_only(opts):
    if opts["engine"] == "dpdk":
        pytest.skip("dpdk: server.workers must be 1 (lwIP is one stack per process; the engine "
                    "refuses more)")


def test_two_workers_via_flag(start_server, tree, opts):
    _one_worker_only(opts)
    srv = start_server(workers=2)
    _exercise(srv, tree)


def test_two_workers_via_set(start_server, tree, opts):
    _one_worker_only(opts)
    srv = start_server(settings={"server.workers": 2})
    _exercise(srv, tree)


def _exercise(srv, tree):
    for i in range(60):
        path = ["/hello.txt", "/f4096.bin", "/f1m1.bin", "/f0.bin"][i % 4]
        r = httpraw.fetch(srv.port, "GET", path, hash_only=True)
        assert r.status == 200 and r.body_sha256 == tree.digest[path]
    r = httpraw.fetch(srv.port, "GET", "/f64m.bin", hash_only=True, timeout=20)
    assert r.status == 200 and r.body_sha256 == tree.digest["/f64m.bin"]
    conns = [httpraw.Client(srv.port) for _ in range(20)]
    try:
        for c in conns:
            c.send(httpraw.build_request("GET", "/f4095.bin"))
        for c in conns:
            r = c.read_response()
            assert r.status == 200 and r.body == tree.bytes_of("/f4095.bin")
    finally:
        for c in conns:
            c.close()


def test_more_connections_than_descriptors_are_turned_away_not_broken(start_server, tree):
    """With RLIMIT_NOFILE at 64 (hard, so zcserve cannot raise it), the
    server lowers its connection limit to what the descriptors allow and
    says so; 100 clients at once then get the file or the over-capacity 503,
    never a 500 from a file it could not open, and it serves on."""
    srv = start_server(workers=1, nofile=64)
    assert any("server.max_connections = 10000 lowered to" in l for l in srv.stderr_lines), (
        "no warning that the descriptor limit lowered the connection limit")
    # The file is in the cache, as a busy server's files are: a multishot
    # accept (io_uring, above all with SQPOLL) can take every descriptor for
    # a moment before the limit turns the surplus away, and a cold open
    # would then fail (with a 503, not a 500).
    assert_serving(srv, tree)
    clients = [httpraw.Client(srv.port, timeout=20) for _ in range(100)]
    statuses = []
    try:
        for c in clients:
            c.send(httpraw.build_request("GET", "/hello.txt", headers={"Connection": "close"}))
        for i, c in enumerate(clients):
            try:
                r = c.read_response("GET")
            except httpraw.ClosedError:
                statuses.append("closed")  # turned away before the 503 fitted
                continue
            statuses.append(r.status)
            if r.status == 200:
                assert r.body == tree.bytes_of("/hello.txt"), f"client {i}: wrong body"
    finally:
        for c in clients:
            c.close()
    print({s: statuses.count(s) for s in set(statuses)})
    assert set(statuses) <= {200, 503, "closed"}, f"statuses: {statuses}"
    # How many are served depends on the engine: a multishot accept can
    # take every descriptor for a moment, and a sender that needs more of
    # them (splice's pipe) then ends its connection. The first in line is
    # always served.
    assert statuses[0] == 200, f"not even the first client was served: {statuses}"
    assert_serving(srv, tree)
