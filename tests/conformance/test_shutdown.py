"""Graceful shutdown on SIGTERM: stop accepting, finish replies in flight,
close idle connections, exit 0."""

import hashlib
import time

import conftest
import httpraw
import support

MiB = 1024 * 1024


def wait_refused(port, within=3.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if httpraw.connect_refused(port):
            return True
        time.sleep(0.05)
    return False


def test_sigterm_finishes_transfer_in_flight(start_server, tree):
    srv = start_server()
    big = httpraw.Client(srv.port, rcvbuf=64 * 1024, timeout=20)
    idle = httpraw.Client(srv.port)
    try:
        big.send(httpraw.build_request("GET", "/f64m.bin"))
        r = big.read_head()
        assert r.status == 200 and r.content_length == 64 * MiB
        h = hashlib.sha256()
        got = 0
        for _ in range(16):  # read slowly for a while
            chunk = big.read_exact(64 * 1024)
            h.update(chunk)
            got += len(chunk)
            time.sleep(0.01)
        r = idle.request("GET", "/hello.txt")
        assert r.status == 200

        srv.terminate()
        assert wait_refused(srv.port), "new connections still accepted 3 s after SIGTERM"
        closed, extra = idle.wait_eof(5)
        assert extra == b"" and closed, "idle keep-alive connection not closed on shutdown"
        assert srv.alive(), "server exited before the transfer in flight was finished"

        for _ in range(8):  # still slow for a bit, then the rest at full speed
            chunk = big.read_exact(64 * 1024)
            h.update(chunk)
            got += len(chunk)
            time.sleep(0.02)
        big.read_exact(64 * MiB - got, sink=h.update)
        assert h.hexdigest() == tree.digest["/f64m.bin"], "body damaged by the shutdown"
        closed, extra = big.wait_eof(5)
        assert extra == b"" and closed, "connection left open after its reply during shutdown"
    finally:
        big.close()
        idle.close()
    rc = srv.wait(15)
    assert rc == 0, f"exit code {rc} after SIGTERM"


def test_sigterm_with_idle_connections_exits_promptly(start_server, tree):
    srv = start_server()
    conns = [httpraw.Client(srv.port) for _ in range(5)]
    try:
        for c in conns:
            assert c.request("GET", "/hello.txt").status == 200
        t0 = time.monotonic()
        srv.terminate()
        rc = srv.wait(5)
        assert rc is not None, "idle keep-alive connections held up shutdown for 5 s"
        assert rc == 0
        for c in conns:
            closed, extra = c.wait_eof(1)
            assert closed and extra == b""
        assert time.monotonic() - t0 < 5
    finally:
        for c in conns:
            c.close()


def test_sigterm_with_stalled_reader_ends_within_drain_limit(start_server, tree):
    """A client that never reads cannot hold the server forever: it exits
    once server.shutdown_timeout has passed."""
    srv = start_server(settings={"server.shutdown_timeout": "1s"})
    c = httpraw.Client(srv.port, rcvbuf=16 * 1024)
    try:
        c.send(httpraw.build_request("GET", "/f64m.bin"))
        r = c.read_head()
        assert r.status == 200
        time.sleep(0.2)
        srv.terminate()
        rc = srv.wait(8)
        assert rc is not None, "stalled client held up shutdown past the drain limit (1 s) + 7 s"
        assert rc == 0
    finally:
        c.close()


def test_sigterm_without_connections(start_server):
    srv = start_server()
    srv.terminate()
    assert srv.wait(5) == 0


def test_sigterm_with_sent_replies_unread_exits_at_once(start_server, tree, opts):
    """Replies handed whole to the kernel, to clients that have not read
    them yet, are finished as far as the server is concerned: SIGTERM ends
    the process at once (not at server.shutdown_timeout), and the clients
    still receive every byte afterwards. With send_zc this is the case the
    kernel still holds the file's pages for."""
    # With SQPOLL and zero-copy sends the kernel cannot let the process go
    # while it holds the file's pages: the drain waits for the readers (up
    # to its limit), then resets them. Checked as that, not as an exit.
    # An engine with its own stack (dpdk) is that case too: what its peers
    # have not acknowledged is in the process, not in the kernel; and a
    # client it gave up on must then see a reset or a close, never a
    # connection that goes silent.
    own_stack = opts["engine"] in support.OWN_STACK_ENGINES
    held = own_stack or (opts["sender"] == "send_zc"
                         and "io.uring.sqpoll=true" in conftest.SESSION_SETTINGS)
    srv = start_server(settings={"server.shutdown_timeout": "3s" if held else "8s"})
    size = len(tree.bytes_of("/f1m1.bin"))
    clients = [httpraw.Client(srv.port, rcvbuf=16 * 1024, timeout=20) for _ in range(3)]
    try:
        for c in clients:
            c.send(httpraw.build_request("GET", "/f1m1.bin", headers={"Connection": "close"}))
        time.sleep(1.0)  # the replies go into the sockets; nobody reads
        t0 = time.monotonic()
        srv.terminate()
        rc = srv.wait(15)
        took = time.monotonic() - t0
        assert rc == 0, f"exit code {rc} after SIGTERM\n{srv.log_tail()}"
        print(f"held={held} took={took:.2f}s")
        if held:
            assert took < 3.0 + 4.0, f"exit took {took:.1f} s with a drain limit of 3 s"
            if own_stack:
                for i, c in enumerate(clients):
                    c.sock.settimeout(5)
                    try:
                        r = c.read_response("GET", hash_only=True)
                    except httpraw.ClosedError:
                        continue  # reset or closed: the client knows
                    except TimeoutError:
                        raise AssertionError(f"client {i}: neither the rest of its reply nor a "
                                             f"reset nor a close in 5 s after the server exited")
                    assert r.status == 200 and r.body_sha256 == tree.digest["/f1m1.bin"], (
                        f"client {i}: a damaged reply")
            return
        assert took < 4.0, (f"exit took {took:.1f} s with every reply already in the kernel "
                            f"(the drain limit is 8 s)")
        for i, c in enumerate(clients):
            r = c.read_response("GET", hash_only=True)
            assert r.status == 200 and r.body_sha256 == tree.digest["/f1m1.bin"], (
                f"client {i}: the reply did not survive the exit")
            assert r.content_length == size
    finally:
        for c in clients:
            c.close()


def test_sigterm_answers_a_request_half_sent(start_server, tree):
    """A request whose head had begun to arrive when SIGTERM came is read to
    its end and answered, with Connection: close, as nginx does (it closes
    only connections idle between requests); the client never sees its
    request dropped half-way."""
    srv = start_server()
    c = httpraw.Client(srv.port, timeout=10)
    try:
        r = c.request("GET", "/hello.txt")  # the connection is served and idle
        assert r.status == 200
        c.send(b"GET /f4096.bin HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.2)
        srv.terminate()
        assert wait_refused(srv.port), "new connections still accepted 3 s after SIGTERM"
        c.send(b"Accept: */*\r\n\r\n")
        r = c.read_response("GET")
        assert r.status == 200 and r.body == tree.bytes_of("/f4096.bin")
        assert "close" in r.connection_tokens(), "the last reply must say Connection: close"
        closed, extra = c.wait_eof(5)
        assert closed and extra == b"", "connection left open after its last reply"
    finally:
        c.close()
    rc = srv.wait(15)
    assert rc == 0, f"exit code {rc} after SIGTERM"
