"""Reply heads: Date, Server, Content-Type, Content-Length, Last-Modified,
ETag, Accept-Ranges, and the formats they must have."""

import email.utils
import time

import pytest

import httpraw
from support import ETAG, IMF_FIXDATE, http_date, media_type

# (method, target, headers, expected status)
KINDS = [
    ("GET", "/hello.txt", {}, 200),
    ("GET", "/f4096.bin", {"Range": "bytes=0-9"}, 206),
    ("GET", "/f4096.bin", {"Range": "bytes=5000-"}, 416),
    ("GET", "/hello.txt", {"If-None-Match": "*"}, 304),
    ("GET", "/dir", {}, 301),
    ("GET", "/noindex/", {}, 403),
    ("GET", "/missing", {}, 404),
    ("POST", "/hello.txt", {"Content-Length": "0"}, 405),
    ("HEAD", "/hello.txt", {}, 200),
]


@pytest.mark.parametrize("method,target,headers,status", KINDS,
                         ids=[f"{k[3]}-{k[0]}" for k in KINDS])
def test_date_and_server_on_every_reply(server, method, target, headers, status):
    before = time.time()
    with httpraw.Client(server.port) as c:
        c.send(httpraw.build_request(method, target, headers=headers))
        r = c.read_response(method)
    after = time.time()
    assert r.status == status
    assert r.version == "HTTP/1.1"
    date = r.header("date")
    assert date is not None, "no Date"
    assert IMF_FIXDATE.match(date), f"Date not an IMF-fixdate: {date!r}"
    ts = email.utils.parsedate_to_datetime(date).timestamp()
    assert before - 2 <= ts <= after + 2, f"Date {date!r} is not now"
    assert len(r.header_all("date")) == 1
    server_hdr = r.header("server")
    assert server_hdr, "no Server"
    assert len(r.header_all("server")) == 1
    if status != 304:
        assert r.content_length is not None, f"{status} without Content-Length"


@pytest.mark.parametrize("path", ["/hello.txt", "/f4096.bin", "/page.html", "/f0.bin", "/dir/"])
def test_200_head_fields(server, tree, path):
    r = httpraw.fetch(server.port, "GET", path)
    assert r.status == 200
    for name in ("date", "server", "content-type", "content-length", "last-modified",
                 "etag", "accept-ranges"):
        assert r.has_header(name), f"no {name}"
    assert r.header("accept-ranges") == "bytes"
    assert ETAG.match(r.header("etag")), f"bad ETag {r.header('etag')!r}"
    lm = r.header("last-modified")
    assert IMF_FIXDATE.match(lm), f"Last-Modified not an IMF-fixdate: {lm!r}"
    file_path = "/dir/index.html" if path == "/dir/" else path
    assert lm == http_date(int(tree.path(file_path).stat().st_mtime))
    assert r.content_length == len(tree.bytes_of(file_path))


@pytest.mark.parametrize("path,want", [
    ("/page.html", "text/html"),
    ("/index.html", "text/html"),
    ("/", "text/html"),
    ("/hello.txt", "text/plain"),
    ("/dir/inner.txt", "text/plain"),
    ("/blob.zzq", "application/octet-stream"),
])
def test_content_type_by_extension(server, path, want):
    r = httpraw.fetch(server.port, "GET", path)
    assert r.status == 200
    assert media_type(r) == want, f"Content-Type {r.header('content-type')!r}"
    if want == "text/plain":
        params = r.header("content-type").split(";")[1:]
        assert all(p.strip().lower() in ("charset=utf-8", "charset=\"utf-8\"") for p in params)


def test_each_header_once(server):
    r = httpraw.fetch(server.port, "GET", "/hello.txt")
    names = [k.lower() for k, _ in r.headers]
    dup = {n for n in names if names.count(n) > 1}
    assert not dup, f"repeated header fields: {dup}"
