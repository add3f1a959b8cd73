"""Persistent connections and pipelining: many requests on one connection,
replies in order, Connection: close and HTTP/1.0 honoured."""

import itertools
import socket
import time

import pytest

import httpraw

SMALL = ["/hello.txt", "/f0.bin", "/f1.bin", "/f4095.bin", "/f4096.bin", "/page.html",
         "/blob.zzq", "/dir/", "/f1m1.bin"]


def test_200_requests_on_one_connection(server, tree):
    with httpraw.Client(server.port, timeout=10) as c:
        for i, path in zip(range(200), itertools.cycle(SMALL)):
            method = "HEAD" if i % 17 == 5 else "GET"
            r = c.request(method, path, hash_only=True)
            assert r.status == 200, f"request {i} {path}: {r.status}"
            want = "/dir/index.html" if path == "/dir/" else path
            if method == "GET":
                assert r.body_sha256 == tree.digest[want], f"request {i} {path}: wrong body"
            assert "close" not in r.connection_tokens(), f"request {i}: server asked to close"
        assert c.is_open(0.2), "connection closed after 200 requests"
        r = c.request("GET", "/hello.txt")
        assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")


def pipeline_plan():
    """30 requests: files of every size, a HEAD, a 404, a range and a 304 in
    the middle. (method, path, headers, expected status, expected body path)."""
    plan = []
    for i in range(30):
        path = SMALL[i % len(SMALL)]
        plan.append(("GET", path, {}, 200, "/dir/index.html" if path == "/dir/" else path))
    plan[7] = ("GET", "/f0.bin", {}, 200, "/f0.bin")
    plan[10] = ("HEAD", "/f4096.bin", {}, 200, None)
    plan[14] = ("GET", "/no/such/file", {}, 404, None)
    plan[15] = ("GET", "/f4096.bin", {"Range": "bytes=10-29"}, 206, None)
    plan[19] = ("GET", "/hello.txt", {"If-None-Match": "*"}, 304, None)
    plan[22] = ("HEAD", "/missing", {}, 404, None)
    return plan


def test_30_pipelined_requests_answered_in_order(server, tree):
    plan = pipeline_plan()
    data = b"".join(httpraw.build_request(m, p, headers=h) for m, p, h, _, _ in plan)
    with httpraw.Client(server.port, timeout=20) as c:
        c.send(data)
        for i, (method, path, headers, status, body_path) in enumerate(plan):
            r = c.read_response(method)
            assert r.status == status, f"reply {i} ({method} {path}): {r.status}"
            if body_path is not None:
                assert r.body == tree.bytes_of(body_path), f"reply {i} ({path}): wrong body"
            if status == 206:
                assert r.body == tree.bytes_of("/f4096.bin")[10:30]
            if method == "HEAD" and status == 200:
                assert r.content_length == 4096
        assert c.is_open(0.2)


def test_pipeline_ending_with_connection_close(server, tree):
    plan = pipeline_plan()
    data = b"".join(httpraw.build_request(m, p, headers=h) for m, p, h, _, _ in plan)
    data += httpraw.build_request("GET", "/hello.txt", headers={"Connection": "close"})
    with httpraw.Client(server.port, timeout=20) as c:
        c.send(data)
        for i, (method, path, headers, status, body_path) in enumerate(plan):
            r = c.read_response(method)
            assert r.status == status, f"reply {i} ({method} {path}): {r.status}"
        r = c.read_response()
        assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")
        closed, extra = c.wait_eof(5)
        assert extra == b"" and closed


def test_many_small_pipelined_requests(server, tree):
    """More request bytes than one read buffer holds: 500 requests, 1 send."""
    n = 500
    data = httpraw.build_request("GET", "/f1.bin", headers={"X-Pad": "p" * 40}) * n
    with httpraw.Client(server.port, timeout=20) as c:
        c.send(data)
        for i in range(n):
            r = c.read_response()
            assert r.status == 200 and r.body == tree.bytes_of("/f1.bin"), f"reply {i}"
        assert c.is_open(0.1)


def test_request_split_across_many_writes(server, tree):
    """The parser is incremental: a head arriving one byte at a time works."""
    data = httpraw.build_request("GET", "/hello.txt", headers={"X-Test": "split"})
    with httpraw.Client(server.port) as c:
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for b in data:
            c.send(bytes([b]))
            time.sleep(0.002)
        r = c.read_response()
        assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")


@pytest.mark.parametrize("value", ["close", "Close", "keep-alive, close", "CLOSE"])
def test_connection_close_is_honoured(server, tree, value):
    with httpraw.Client(server.port) as c:
        r = c.request("GET", "/hello.txt", headers={"Connection": value})
        assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")
        closed, extra = c.wait_eof(5)
        assert extra == b"" and closed, "server did not close after Connection: close"


def test_http11_keeps_alive_by_default(server, tree):
    with httpraw.Client(server.port) as c:
        for _ in range(3):
            r = c.request("GET", "/hello.txt")
            assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")
            assert "close" not in r.connection_tokens()
        assert c.is_open(0.2)


def test_http10_closes_by_default(server, tree):
    with httpraw.Client(server.port) as c:
        r = c.request("GET", "/hello.txt", version="HTTP/1.0", host=None)
        assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")
        assert r.content_length == len(tree.bytes_of("/hello.txt"))
        closed, extra = c.wait_eof(5)
        assert extra == b"" and closed, "HTTP/1.0 connection left open"


def test_http10_keep_alive_when_asked(server, tree):
    with httpraw.Client(server.port) as c:
        for _ in range(3):
            r = c.request("GET", "/hello.txt", version="HTTP/1.0", host=None,
                          headers={"Connection": "keep-alive"})
            assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")
        assert c.is_open(0.2), "HTTP/1.0 keep-alive connection closed"
        r = c.request("GET", "/hello.txt", version="HTTP/1.0", host=None)
        assert r.status == 200
        closed, extra = c.wait_eof(5)
        assert extra == b"" and closed


def test_404_keeps_connection(server, tree):
    with httpraw.Client(server.port) as c:
        r = c.request("GET", "/missing")
        assert r.status == 404
        r = c.request("GET", "/hello.txt")
        assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")


def test_get_with_body_is_framed_by_content_length(server, tree):
    """A body on GET is read and dropped; it must not be taken for the next request."""
    body = b"GET /f0.bin HTTP/1.1\r\nHost: x\r\n\r\n"  # looks like a request, is a body
    with httpraw.Client(server.port) as c:
        c.send(httpraw.build_request("GET", "/hello.txt",
                                     headers={"Content-Length": str(len(body))}, body=body)
               + httpraw.build_request("GET", "/f1.bin"))
        r = c.read_response()
        assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")
        r = c.read_response()
        assert r.status == 200 and r.body == tree.bytes_of("/f1.bin"), "body parsed as a request"
        assert c.is_open(0.1)


def test_higher_http1_minor_version_is_answered_as_http11(server, tree):
    with httpraw.Client(server.port) as c:
        r = c.request("GET", "/hello.txt", version="HTTP/1.2")
        assert r.status == 200 and r.version == "HTTP/1.1"
        assert r.body == tree.bytes_of("/hello.txt")
