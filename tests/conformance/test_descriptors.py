"""Descriptor pressure: the file cache must stay within a budget derived from
RLIMIT_NOFILE, give back idle descriptors, and never leave the server
answering 503 once the pressure has passed; a connection must cost one
descriptor (its socket), not four, so the limit serves almost as many
connections as it has descriptors."""

import os
import threading

import httpraw

# Distinct small files, each with its own bytes, so a reply from the wrong
# descriptor is caught.
FILES = 2000


def body_of(i):
    return (f"file {i:05d} ".encode() * (1 + i % 7))[: 40 + i % 300]


def make_tree(base):
    d = base / "many"
    d.mkdir(exist_ok=True)
    for i in range(FILES):
        (d / f"f{i:05d}.txt").write_bytes(body_of(i))
    (base / "big.bin").write_bytes(os.urandom(1 << 20))
    return base


def fetch_range(srv, first, last, statuses, lock=None):
    """GETs /many/f<first..last> on one keep-alive connection; records every
    status and fails on a 200 with wrong bytes."""
    with httpraw.Client(srv.port, timeout=20) as c:
        for i in range(first, last):
            r = c.request("GET", f"/many/f{i:05d}.txt")
            if r.status == 200:
                assert r.body == body_of(i), f"f{i:05d}: wrong bytes"
            if lock:
                with lock:
                    statuses.append(r.status)
            else:
                statuses.append(r.status)
            if r.status != 200:
                # A 503 may close; start over on a fresh connection.
                return fetch_range(srv, i + 1, last, statuses, lock)


def open_descriptors(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_distinct_files_under_a_low_descriptor_limit_are_all_served(start_server, tmp_path):
    """nofile=256: a worker's cache used to keep every file it opened until
    it held 4096 of them, so after about 200 distinct files every new one got
    503 for good. With a budget, the cache gives back idle descriptors and
    every file is served, then files never seen before too."""
    root = make_tree(tmp_path)
    srv = start_server(workers=1, nofile=256, root=root)
    statuses = []
    fetch_range(srv, 0, 600, statuses)
    bad = [s for s in statuses if s != 200]
    assert not bad, f"{len(bad)} of {len(statuses)} distinct files not served: {set(bad)}"
    assert open_descriptors(srv.proc.pid) < 256
    # Once the pressure is over: new files, fresh connections.
    statuses = []
    fetch_range(srv, 1500, 1520, statuses)
    assert statuses == [200] * 20, f"new files after the pressure: {statuses}"


def test_many_clients_many_files_leave_no_descriptors_behind(start_server, tmp_path):
    """20 clients fetch 100 distinct files each at once (the blocking engine
    used to keep one cache per connection thread, 20 x 100 descriptors under
    a 1024 limit, and answered 503 to everything once the clients had
    gone). Every reply is 200 with the right bytes, the server holds fewer
    descriptors than its limit afterwards, and new files are served."""
    root = make_tree(tmp_path)
    srv = start_server(workers=1, nofile=1024, root=root)
    statuses = []
    lock = threading.Lock()
    errors = []

    def client(k):
        try:
            fetch_range(srv, k * 100, (k + 1) * 100, statuses, lock)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"client {k}: {e!r}")

    threads = [threading.Thread(target=client, args=(k,)) for k in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    bad = [s for s in statuses if s != 200]
    assert not bad, f"{len(bad)} of {len(statuses)} replies not 200: {set(bad)}"
    assert open_descriptors(srv.proc.pid) < 1024 - 64, "descriptors kept past the clients"
    statuses = []
    fetch_range(srv, 1900, 1950, statuses)
    assert statuses == [200] * 50, f"new files after the clients left: {statuses}"


def test_a_connection_costs_one_descriptor(start_server, tmp_path, opts):
    """nofile=2048 and no configured cap: 1500 keep-alive connections, one
    request each, are all served (four descriptors reserved per connection
    allowed only 496), and the file is right on each. On blocking a
    connection is also a thread, which holds a perf counter of its own
    calls: two descriptors, so 700 there."""
    n = 700 if opts["engine"] == "blocking" else 1500
    root = make_tree(tmp_path)
    srv = start_server(workers=1, nofile=2048, root=root,
                       settings={"server.max_connections": 1_000_000})
    conns = []
    statuses = []
    try:
        for _ in range(n):
            conns.append(httpraw.Client(srv.port, timeout=30))
        req = httpraw.build_request("GET", "/many/f00007.txt")
        for c in conns:
            c.send(req)
        for c in conns:
            try:
                r = c.read_response("GET")
            except httpraw.ClosedError:
                statuses.append("closed")
                continue
            statuses.append(r.status)
            if r.status == 200:
                assert r.body == body_of(7)
    finally:
        for c in conns:
            c.close()
    counts = {s: statuses.count(s) for s in set(statuses)}
    assert counts.get(200, 0) == n, f"of {n} connections: {counts}"


def test_large_replies_in_flight_beyond_the_pipe_pool_are_all_served(start_server, tmp_path):
    """nofile=256 bounds splice's pipe pool to a few pipes: more large
    replies in flight than pipes must still all arrive whole (a reply that
    finds the pool empty takes another path), never fail."""
    root = make_tree(tmp_path)
    want = (root / "big.bin").read_bytes()
    srv = start_server(workers=1, nofile=256, root=root)
    clients = [httpraw.Client(srv.port, timeout=30, rcvbuf=32 * 1024) for _ in range(40)]
    try:
        for c in clients:
            c.send(httpraw.build_request("GET", "/big.bin"))
        # Every reply stalls on a full socket with its pipe (if any) borrowed
        # before any is read to the end.
        for c in clients:
            assert c.read_head().status == 200
        for i, c in enumerate(clients):
            got = c.read_exact(len(want))
            assert got == want, f"client {i}: wrong bytes"
    finally:
        for c in clients:
            c.close()
