"""HEAD answers with GET's head and no body."""

import pytest

import httpraw

PATHS = ["/f0.bin", "/f4096.bin", "/f64m.bin", "/hello.txt", "/page.html", "/blob.zzq",
         "/", "/dir/", "/missing", "/dir"]


def comparable(resp):
    return sorted((k.lower(), v) for k, v in resp.headers if k.lower() != "date")


@pytest.mark.parametrize("path", PATHS)
def test_head_headers_equal_get_headers(server, path):
    with httpraw.Client(server.port, timeout=20) as c:
        get = c.request("GET", path, hash_only=True)
        head = c.request("HEAD", path)
    assert head.status == get.status
    assert comparable(head) == comparable(get)
    assert head.content_length == get.body_len


@pytest.mark.parametrize("path", PATHS)
def test_head_has_no_body_when_pipelined(server, tree, path):
    """A body after HEAD's head would be parsed as the next status line."""
    with httpraw.Client(server.port, timeout=20) as c:
        c.send(httpraw.build_request("HEAD", path) + httpraw.build_request("GET", "/hello.txt"))
        head = c.read_response("HEAD")
        assert head.status in (200, 301, 404)
        nxt = c.read_response("GET")
        assert nxt.status == 200
        assert nxt.body == tree.bytes_of("/hello.txt")
        assert c.is_open(0.1)


def test_head_http10_closes_without_body(server):
    with httpraw.Client(server.port) as c:
        r = c.request("HEAD", "/f4096.bin", version="HTTP/1.0", host=None)
        assert r.status == 200 and r.content_length == 4096
        closed, extra = c.wait_eof(5)
        assert extra == b"", "HEAD reply carried a body"
        assert closed
