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


# Request fields that change the status or the head: each pair of GET and
# HEAD with them must still agree. "{etag}" is the file's current ETag.
VARIANTS = {
    "range": [("Range", "bytes=10-99")],
    "suffix-range": [("Range", "bytes=-5")],
    "unsatisfiable-range": [("Range", "bytes=99999-")],
    "if-none-match": [("If-None-Match", "{etag}")],
    "if-match-fails": [("If-Match", '"not-it"')],
    "if-unmodified-since-fails": [("If-Unmodified-Since", "Thu, 01 Jan 1970 00:00:00 GMT")],
    "if-range-stale": [("Range", "bytes=0-9"), ("If-Range", '"stale"')],
    "http10-keep-alive": [("Connection", "keep-alive")],
    "close": [("Connection", "close")],
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_head_headers_equal_get_headers_with_request_fields(server, variant):
    with httpraw.Client(server.port, timeout=20) as c:
        etag = c.request("HEAD", "/f4096.bin").header("etag")
    fields = [(k, v.replace("{etag}", etag)) for k, v in VARIANTS[variant]]
    version = "HTTP/1.0" if variant.startswith("http10") else "HTTP/1.1"
    replies = []
    for method in ("GET", "HEAD"):
        with httpraw.Client(server.port, timeout=20) as c:
            replies.append(c.request(method, "/f4096.bin", headers=fields, version=version))
    get, head = replies
    assert get.status != 200 or variant in ("if-range-stale", "http10-keep-alive", "close"), \
        f"{variant}: the fields had no effect ({get.status})"
    assert head.status == get.status
    assert comparable(head) == comparable(get)
    assert head.body == b""


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
