"""Header and idle timeouts close connections that hold a slot without
finishing a request."""

import socket
import time

import pytest

import httpraw
from support import (assert_serving, counts_sockets, server_sockets, slots_free,
                     sockets_settle, turned_away)

SETTINGS = {"server.header_timeout": "500ms", "server.idle_timeout": "1s"}


@pytest.fixture
def tserver(start_server):
    return start_server(settings=SETTINGS)


def check_closed_by_server(c, within, what):
    t0 = time.monotonic()
    closed, extra = c.wait_eof(within)
    elapsed = time.monotonic() - t0
    assert closed, f"{what}: connection still open after {within} s"
    # The server may say 408 before closing; nothing else is acceptable.
    assert extra == b"" or extra.startswith(b"HTTP/1.1 408"), f"{what}: unexpected {extra[:100]!r}"
    return elapsed


def test_partial_head_closed_after_header_timeout(tserver, tree):
    with httpraw.Client(tserver.port) as c:
        c.send(b"GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        check_closed_by_server(c, 3.0, "partial head")
    assert_serving(tserver, tree)


def test_dripping_head_closed_after_header_timeout(tserver, tree):
    """Slowloris: a byte every 100 ms never completes a head; the header
    timeout runs from the first byte, not from the last."""
    data = b"GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: " + b"s" * 1000
    with httpraw.Client(tserver.port) as c:
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t0 = time.monotonic()
        closed = False
        for b in data:
            try:
                c.send(bytes([b]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            done, extra = c.wait_eof(0.1)
            assert extra == b"" or extra.startswith(b"HTTP/1.1 408")
            if done:
                closed = True
                break
            if time.monotonic() - t0 > 4.0:
                break
        assert closed, "a head dripping one byte per 100 ms was not cut off within 4 s"
    assert_serving(tserver, tree)


def test_silent_connection_closed(tserver, tree):
    """Connected, never a byte: closed by the header or idle timeout."""
    with httpraw.Client(tserver.port) as c:
        check_closed_by_server(c, 5.0, "silent connection")
    assert_serving(tserver, tree)


def test_idle_keep_alive_closed_after_idle_timeout(tserver, tree):
    with httpraw.Client(tserver.port) as c:
        r = c.request("GET", "/hello.txt")
        assert r.status == 200
        elapsed = check_closed_by_server(c, 5.0, "idle keep-alive")
        assert elapsed > 0.3, f"idle connection closed after {elapsed:.2f} s, before the 1 s timeout"
    assert_serving(tserver, tree)


def test_active_connection_outlives_timeouts(tserver, tree):
    """Requests 300 ms apart for 3 s: each one restarts the idle timer."""
    with httpraw.Client(tserver.port) as c:
        for _ in range(10):
            r = c.request("GET", "/hello.txt")
            assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")
            time.sleep(0.3)


def test_slow_reader_of_large_body_is_not_cut_by_header_or_idle_timeout(tserver, tree):
    """A reply taking longer than both timeouts to drain is still sent whole."""
    with httpraw.Client(tserver.port, rcvbuf=64 * 1024, timeout=20) as c:
        c.send(httpraw.build_request("GET", "/f1m1.bin"))
        r = c.read_head()
        assert r.status == 200
        body = bytearray()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.8:
            body += c.read_exact(64 * 1024)
            time.sleep(0.12)
        body += c.read_exact(r.content_length - len(body))
        assert bytes(body) == tree.bytes_of("/f1m1.bin")


def test_stalled_reader_is_released_after_send_timeout(start_server, tree, opts):
    """Readers that stop mid-body hold nothing once server.send_timeout has
    passed: every socket the server had for them (descriptor or io_uring
    file table slot, zero-copy pages in flight or not) is gone, and the
    server still serves. Where the connections are no sockets of the
    server's (the dpdk engine's own stack), their connection slots are
    counted instead: all four are free again."""
    if not counts_sockets(opts):
        return _stalled_readers_free_their_slots(start_server, tree)
    srv = start_server(settings={"server.send_timeout": "1s"})
    pid = srv.proc.pid
    time.sleep(0.3)
    before = server_sockets(pid)
    stalled = []
    try:
        for _ in range(4):
            c = httpraw.Client(srv.port, rcvbuf=16 * 1024, timeout=10)
            c.send(httpraw.build_request("GET", "/f64m.bin"))
            assert c.read_head().status == 200
            c.read_exact(32 * 1024)
            stalled.append(c)  # and never read again
        held = server_sockets(pid)
        assert held >= before + len(stalled), (
            f"the check sees {held - before} sockets for {len(stalled)} stalled readers")
        after = sockets_settle(pid, before, timeout=8.0)
        assert after <= before, (f"{after - before} of {len(stalled)} stalled readers still hold a "
                                 f"socket in the server 8 s after a 1 s send timeout")
        assert_serving(srv, tree)
    finally:
        for c in stalled:
            c.close()


def _stalled_readers_free_their_slots(start_server, tree):
    n = 4
    srv = start_server(settings={"server.send_timeout": "1s", "server.max_connections": n})
    stalled = []
    try:
        for _ in range(n):
            c = httpraw.Client(srv.port, rcvbuf=16 * 1024, timeout=10)
            c.send(httpraw.build_request("GET", "/f64m.bin"))
            assert c.read_head().status == 200
            c.read_exact(32 * 1024)
            stalled.append(c)  # and never read again
        assert turned_away(srv), (f"a connection beyond {n} stalled readers was served with "
                                  f"server.max_connections = {n}")
        assert slots_free(srv, n, timeout=8.0), (
            f"the {n} stalled readers still hold connection slots 8 s after a 1 s send timeout")
        assert_serving(srv, tree)
    finally:
        for c in stalled:
            c.close()
