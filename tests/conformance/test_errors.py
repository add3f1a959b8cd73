"""Refused requests: 405 for other methods, 400 for malformed requests, 414
for a long request line, 431 for a large or crowded head. After 400/414/431
the server closes that connection, and it keeps serving everyone else."""

import pytest

import httpraw
from support import assert_serving

H = b"Host: 127.0.0.1\r\n"


def send_raw(port, data, timeout=10):
    """Sends `data` on a fresh connection; returns (reply, closed_after)."""
    with httpraw.Client(port, timeout=timeout) as c:
        try:
            c.send(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may stop reading once it has decided
        r = c.read_response("GET")
        closed, extra = c.wait_eof(3)
        assert extra == b"", f"bytes after the error reply (bad Content-Length?): {extra[:100]!r}"
        return r, closed


def check_error_reply(r, status):
    assert r.status == status, f"want {status}, got {r.status} {r.reason}"
    assert r.content_length is not None, "error reply without Content-Length"
    assert r.content_length == r.body_len
    assert r.body_len < 4096, "error bodies are small"
    assert r.has_header("date") and r.has_header("server")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"])
def test_other_methods_give_405_with_allow(server, tree, method):
    with httpraw.Client(server.port) as c:
        body = b"hello" if method in ("POST", "PUT", "PATCH") else b""
        headers = {"Content-Length": str(len(body))} if body else {}
        c.send(httpraw.build_request(method, "/hello.txt", headers=headers, body=body))
        r = c.read_response(method)
        check_error_reply(r, 405)
        allow = {t.strip().upper() for t in (r.header("allow") or "").split(",") if t.strip()}
        assert allow == {"GET", "HEAD"}, f"Allow: {r.header('allow')!r}"
        # A 405 need not close; if the connection stays, it must still work.
        if "close" not in r.connection_tokens():
            r2 = c.request("GET", "/hello.txt")
            assert r2.status == 200 and r2.body == tree.bytes_of("/hello.txt")
    assert_serving(server, tree)


BAD_REQUESTS = {
    "garbage_line": b"GARBAGE\r\n\r\n",
    "no_version": b"GET /hello.txt\r\n" + H + b"\r\n",
    "extra_token": b"GET /hello.txt HTTP/1.1 extra\r\n" + H + b"\r\n",
    "bad_protocol": b"GET /hello.txt HTXP/1.1\r\n" + H + b"\r\n",
    "relative_target": b"GET hello.txt HTTP/1.1\r\n" + H + b"\r\n",
    "control_char_in_target": b"GET /hel\x01lo.txt HTTP/1.1\r\n" + H + b"\r\n",
    "missing_host_http11": b"GET /hello.txt HTTP/1.1\r\n\r\n",
    "two_hosts": b"GET /hello.txt HTTP/1.1\r\n" + H + H + b"\r\n",
    # RFC 9112 §3.2: an invalid Host is a 400 (uri-host [ ":" port ]).
    "host_port_not_digits": b"GET /hello.txt HTTP/1.1\r\nHost: a:1.2\r\n\r\n",
    "host_unclosed_bracket": b"GET /hello.txt HTTP/1.1\r\nHost: [::1\r\n\r\n",
    "host_port_too_big": b"GET /hello.txt HTTP/1.1\r\nHost: a:65536\r\n\r\n",
    "host_two_colons": b"GET /hello.txt HTTP/1.1\r\nHost: a:1:2\r\n\r\n",
    "host_userinfo": b"GET /hello.txt HTTP/1.1\r\nHost: u@a\r\n\r\n",
    "host_bad_ip_literal": b"GET /hello.txt HTTP/1.1\r\nHost: [zz::1]:80\r\n\r\n",
    # bytes an IP literal may hold, not in an IPv6 address's shape
    "host_ipv6_two_gaps": b"GET /hello.txt HTTP/1.1\r\nHost: [1::2::3]\r\n\r\n",
    "host_ipv6_bad_ipv4_tail": b"GET /hello.txt HTTP/1.1\r\nHost: [::1.2.3.256]\r\n\r\n",
    "host_bad_percent": b"GET /hello.txt HTTP/1.1\r\nHost: a%zz\r\n\r\n",
    "space_before_colon": b"GET /hello.txt HTTP/1.1\r\nHost : 127.0.0.1\r\n\r\n",
    "tab_before_colon": b"GET /hello.txt HTTP/1.1\r\n" + H + b"X-A\t: 1\r\n\r\n",
    "no_colon": b"GET /hello.txt HTTP/1.1\r\n" + H + b"NoColonHere\r\n\r\n",
    "empty_name": b"GET /hello.txt HTTP/1.1\r\n" + H + b": value\r\n\r\n",
    "cl_and_te": (b"GET /hello.txt HTTP/1.1\r\n" + H
                  + b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    "cl_not_a_number": b"GET /hello.txt HTTP/1.1\r\n" + H + b"Content-Length: abc\r\n\r\n",
    "cl_negative": b"GET /hello.txt HTTP/1.1\r\n" + H + b"Content-Length: -1\r\n\r\n",
    "cl_conflicting": (b"GET /hello.txt HTTP/1.1\r\n" + H
                       + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nxx"),
}


@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_malformed_request_gives_400_and_close(server, tree, name):
    r, closed = send_raw(server.port, BAD_REQUESTS[name])
    check_error_reply(r, 400)
    assert closed, "server kept the connection open after a 400"
    assert_serving(server, tree)


def test_request_line_over_limit_gives_414(server, tree):
    target = "/" + "a" * 9000
    r, closed = send_raw(server.port, f"GET {target} HTTP/1.1\r\n".encode() + H + b"\r\n")
    check_error_reply(r, 414)
    assert closed
    assert_serving(server, tree)


def test_request_line_under_limit_is_served(server, tree):
    # The length is in the query: a path this long would exceed PATH_MAX.
    target = "/hello.txt?" + "q" * 8100
    r = httpraw.fetch(server.port, "GET", target)
    assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")


def test_header_block_over_limit_gives_431(server, tree):
    filler = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"v" * 1000) for i in range(20))  # ~20 KB
    r, closed = send_raw(server.port, b"GET /hello.txt HTTP/1.1\r\n" + H + filler + b"\r\n")
    check_error_reply(r, 431)
    assert closed
    assert_serving(server, tree)


def test_single_huge_header_gives_431(server, tree):
    r, closed = send_raw(server.port, b"GET /hello.txt HTTP/1.1\r\n" + H
                         + b"X-Big: " + b"b" * 17000 + b"\r\n\r\n")
    check_error_reply(r, 431)
    assert closed
    assert_serving(server, tree)


def test_too_many_headers_gives_431(server, tree):
    filler = b"".join(b"X-H%d: v\r\n" % i for i in range(100))
    r, closed = send_raw(server.port, b"GET /hello.txt HTTP/1.1\r\n" + H + filler + b"\r\n")
    check_error_reply(r, 431)
    assert closed
    assert_serving(server, tree)


def test_limits_are_inclusive(server, tree):
    """64 fields (Host + 63) and a 15 KB head are within the limits."""
    filler = b"".join(b"X-H%d: v\r\n" % i for i in range(63))
    with httpraw.Client(server.port) as c:
        c.send(b"GET /hello.txt HTTP/1.1\r\n" + H + filler + b"\r\n")
        r = c.read_response()
        assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")
        filler = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"v" * 1000) for i in range(15))
        c.send(b"GET /hello.txt HTTP/1.1\r\n" + H + filler + b"\r\n")
        r = c.read_response()
        assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")


def test_65_headers_gives_431(server, tree):
    filler = b"".join(b"X-H%d: v\r\n" % i for i in range(64))
    r, closed = send_raw(server.port, b"GET /hello.txt HTTP/1.1\r\n" + H + filler + b"\r\n")
    check_error_reply(r, 431)
    assert closed
    assert_serving(server, tree)


def test_error_after_good_requests_on_same_connection(server, tree):
    """A bad request later in a keep-alive connection: the good replies
    before it are intact, then 400, then close."""
    good = httpraw.build_request("GET", "/hello.txt")
    with httpraw.Client(server.port) as c:
        c.send(good + good + b"GET /hello.txt HTTP/1.1\r\nHost : x\r\n\r\n" + good)
        for _ in range(2):
            r = c.read_response()
            assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")
        r = c.read_response()
        check_error_reply(r, 400)
        closed, extra = c.wait_eof(3)
        assert extra == b"", "server answered a request after the bad one"
        assert closed
    assert_serving(server, tree)


def test_http10_without_host_is_fine(server, tree):
    with httpraw.Client(server.port) as c:
        r = c.request("GET", "/hello.txt", version="HTTP/1.0", host=None)
        assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")


def test_body_over_limit_gives_413(server, tree):
    """A GET body over server.max_body (1 MiB by default) is refused."""
    with httpraw.Client(server.port) as c:
        c.send(httpraw.build_request("GET", "/hello.txt", headers={"Content-Length": str(2 << 20)}))
        r = c.read_response()
        check_error_reply(r, 413)
    assert_serving(server, tree)


@pytest.mark.parametrize("version", ["HTTP/2.0", "HTTP/3.0", "HTTP/0.9"])
def test_unsupported_major_version_is_refused(server, tree, version):
    r, _ = send_raw(server.port, f"GET /hello.txt {version}\r\n".encode() + H + b"\r\n")
    assert r.status in (400, 505), f"{r.status} for {version}"
    assert_serving(server, tree)
