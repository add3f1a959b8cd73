"""Several byte ranges in one request (RFC 9110 §14): a multipart/byteranges
body whose every part is checked, headers and bytes, against the file; the
ranges coalesced where they overlap or touch but kept in the client's order;
one range left is a plain 206; none satisfiable is 416; too many, or more
bytes than the file, is the whole file with 200."""

import re
import subprocess

import pytest

import httpraw
from support import media_type

SMALL = "/f4096.bin"
BIG = "/f1m1.bin"  # 1 MiB + 1: its parts span several io.chunk_bytes (256 KiB)

_CT = re.compile(r"multipart/byteranges; boundary=([0-9A-Za-z'()+_,./:=?-]{1,70})")
_CR = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


def parse_multipart(content_type, body):
    """[(part headers dict (lower-case names), part bytes)] of a
    multipart/byteranges body, read strictly: every delimiter where RFC 2046
    puts it, each part exactly as long as its Content-Range says, nothing
    after the closing delimiter but its CRLF."""
    m = _CT.fullmatch(content_type or "")
    assert m, f"not multipart/byteranges with a boundary: {content_type!r}"
    delim = b"--" + m.group(1).encode()
    # An empty preamble: the body opens with the delimiter, or with the CRLF
    # that belongs to it.
    pos = 2 if body.startswith(b"\r\n" + delim) else 0
    assert body.startswith(delim, pos), f"body does not open with the delimiter: {body[:80]!r}"
    pos += len(delim)
    parts = []
    while True:
        if body.startswith(b"--", pos):
            assert body[pos + 2:] in (b"", b"\r\n"), f"bytes after the close: {body[pos + 2:][:80]!r}"
            return parts
        assert body.startswith(b"\r\n", pos), f"no CRLF after a delimiter at {pos}"
        end = body.index(b"\r\n\r\n", pos)
        fields = {}
        for line in body[pos + 2:end].split(b"\r\n"):
            name, sep, value = line.partition(b":")
            assert sep, f"bad part header line {line!r}"
            fields[name.decode().strip().lower()] = value.decode().strip()
        cr = _CR.fullmatch(fields.get("content-range", ""))
        assert cr, f"part without a byte Content-Range: {fields!r}"
        first, last = int(cr.group(1)), int(cr.group(2))
        start = end + 4
        data = body[start:start + last - first + 1]
        assert len(data) == last - first + 1, "body ends inside a part"
        parts.append((fields, data))
        pos = start + len(data)
        assert body.startswith(b"\r\n" + delim, pos), f"no delimiter after part {len(parts)}"
        pos += 2 + len(delim)


def check_multipart(tree, r, path, want, file_type=None):
    """`r` is a 206 multipart reply to `path` whose parts are the ranges
    `want` [(first, last)], in that order, each byte the file's, each with
    the file's Content-Type (`file_type`, when given)."""
    size = tree.size_of(path)
    data = tree.bytes_of(path)
    assert r.status == 206, r
    assert media_type(r) == "multipart/byteranges"
    assert r.header("content-range") is None, "Content-Range belongs to the parts"
    assert r.content_length == len(r.body)
    assert r.header("accept-ranges") == "bytes"
    assert r.has_header("etag") and r.has_header("last-modified")
    parts = parse_multipart(r.header("content-type"), r.body)
    assert [f.get("content-range") for f, _ in parts] == [f"bytes {a}-{b}/{size}" for a, b in want]
    for (fields, got), (a, b) in zip(parts, want):
        assert fields.get("content-type") == (file_type or parts[0][0].get("content-type"))
        assert got == data[a:b + 1], f"wrong bytes in part {a}-{b}"


# (path, Range value, the parts expected, in order)
MULTIPART = [
    ("disjoint", SMALL, "bytes=0-9,20-29,4000-4095", [(0, 9), (20, 29), (4000, 4095)]),
    ("overlap", SMALL, "bytes=0-9,5-19,100-109", [(0, 19), (100, 109)]),
    ("adjacent", SMALL, "bytes=0-9,10-19,30-39", [(0, 19), (30, 39)]),
    ("unsorted", SMALL, "bytes=200-299,0-99", [(200, 299), (0, 99)]),
    ("suffix-and-open", SMALL, "bytes=-10,0-4,4050-", [(4050, 4095), (0, 4)]),
    ("one-unsatisfiable", SMALL, "bytes=0-0,9999-,50-60", [(0, 0), (50, 60)]),
    ("chunks", BIG, "bytes=0-299999,300001-300001,400000-",
     [(0, 299999), (300001, 300001), (400000, 1048576)]),
]


@pytest.mark.parametrize("path,spec,want", [c[1:] for c in MULTIPART], ids=[c[0] for c in MULTIPART])
def test_several_ranges_give_multipart_with_exact_parts(server, tree, path, spec, want):
    with httpraw.Client(server.port, timeout=20) as c:
        file_type = c.request("HEAD", path).header("content-type")
        r = c.request("GET", path, headers={"Range": spec})
        check_multipart(tree, r, path, want, file_type)


def test_ranges_coalesced_into_one_give_a_plain_206(server, tree):
    with httpraw.Client(server.port) as c:
        r = c.request("GET", SMALL, headers={"Range": "bytes=10-19,0-9,5-12"})
    assert r.status == 206
    assert media_type(r) != "multipart/byteranges"
    assert r.header("content-range") == "bytes 0-19/4096"
    assert r.body == tree.bytes_of(SMALL)[0:20]


def test_no_satisfiable_range_gives_416(server, tree):
    with httpraw.Client(server.port) as c:
        r = c.request("GET", SMALL, headers={"Range": "bytes=5000-,6000-7000"})
        assert r.status == 416
        assert r.header("content-range") == "bytes */4096"
        assert r.content_length == r.body_len


@pytest.mark.parametrize("spec", [
    "bytes=" + ",".join(f"{i * 10}-{i * 10 + 1}" for i in range(17)),  # over the cap of 16
    "bytes=0-,0-",  # twice the file
    "bytes=0-3000,1000-4095",  # more bytes than the file, though they coalesce
], ids=["17-ranges", "file-twice", "overlap-over-size"])
def test_abusive_range_sets_get_the_whole_file(server, tree, spec):
    with httpraw.Client(server.port) as c:
        r = c.request("GET", SMALL, headers={"Range": spec})
        assert r.status == 200
        assert r.header("content-range") is None
        assert r.body == tree.bytes_of(SMALL)


def test_sixteen_ranges_are_served(server, tree):
    want = [(i * 10, i * 10 + 1) for i in range(16)]
    spec = "bytes=" + ",".join(f"{a}-{b}" for a, b in want)
    with httpraw.Client(server.port) as c:
        check_multipart(tree, c.request("GET", SMALL, headers={"Range": spec}), SMALL, want)


def test_if_range_applies_to_the_whole_set(server, tree):
    spec = "bytes=0-9,20-29"
    with httpraw.Client(server.port) as c:
        etag = c.request("HEAD", SMALL).header("etag")
        r = c.request("GET", SMALL, headers={"Range": spec, "If-Range": etag})
        check_multipart(tree, r, SMALL, [(0, 9), (20, 29)])
        r = c.request("GET", SMALL, headers={"Range": spec, "If-Range": '"stale"'})
        assert r.status == 200 and r.body == tree.bytes_of(SMALL)


def comparable(r):
    """Header fields that must agree between GET and HEAD: all but Date,
    and the boundary, which is new for every reply."""
    out = []
    for k, v in r.headers:
        if k.lower() == "date":
            continue
        if k.lower() == "content-type":
            v = re.sub(r"boundary=\S+", "boundary=B", v)
        out.append((k.lower(), v))
    return sorted(out)


def test_head_has_gets_headers_and_no_body(server, tree):
    spec = "bytes=0-9,100-199,-5"
    with httpraw.Client(server.port) as c:
        get = c.request("GET", SMALL, headers={"Range": spec})
        # HEAD then GET in one write: a body after HEAD's head would be
        # read as the next reply's status line.
        c.send(httpraw.build_request("HEAD", SMALL, headers={"Range": spec})
               + httpraw.build_request("GET", "/f1.bin"))
        head = c.read_response("HEAD")
        after = c.read_response("GET")
    check_multipart(tree, get, SMALL, [(0, 9), (100, 199), (4091, 4095)])
    assert head.status == 206
    assert comparable(head) == comparable(get)
    assert head.content_length == len(get.body)
    assert after.status == 200 and after.body == tree.bytes_of("/f1.bin")


def test_keep_alive_and_pipelining_after_multipart(server, tree):
    """Requests pipelined behind multipart replies, small and spanning
    chunks, are answered in order on the same connection: each multipart
    reply ends exactly where its Content-Length says."""
    big = [(0, 299999), (700000, 1048575)]
    reqs = [
        ("GET", BIG, {"Range": "bytes=0-299999,700000-1048575"}),
        ("GET", "/f1.bin", {}),
        ("GET", SMALL, {"Range": "bytes=1-2,8-9"}),
        ("GET", SMALL, {"Range": "bytes=100-199"}),
        ("GET", "/hello.txt", {}),
    ]
    with httpraw.Client(server.port, timeout=20) as c:
        c.send(b"".join(httpraw.build_request(m, p, headers=h) for m, p, h in reqs))
        replies = [c.read_response(m) for m, _, _ in reqs]
        check_multipart(tree, replies[0], BIG, big)
        assert replies[1].status == 200 and replies[1].body == tree.bytes_of("/f1.bin")
        check_multipart(tree, replies[2], SMALL, [(1, 2), (8, 9)])
        assert replies[3].status == 206 and replies[3].body == tree.bytes_of(SMALL)[100:200]
        assert replies[4].status == 200 and replies[4].body == tree.bytes_of("/hello.txt")
        # ... and the connection is still good afterwards.
        check_multipart(tree, c.request("GET", BIG, headers={"Range": "bytes=5-6,-3"}), BIG,
                        [(5, 6), (1048574, 1048576)])


def test_multipart_via_curl(server, tree, tmp_path):
    out, heads = tmp_path / "body", tmp_path / "heads"
    p = subprocess.run(["curl", "-s", "--http1.1", "--max-time", "20", "-r", "0-9,20-29",
                        "-D", str(heads), "-o", str(out), server.url(SMALL)],
                       capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    lines = heads.read_bytes().decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 206")
    ctype = next(v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])
                 if k.lower() == "content-type")
    parts = parse_multipart(ctype, out.read_bytes())
    data = tree.bytes_of(SMALL)
    assert [(f["content-range"], b) for f, b in parts] == [
        ("bytes 0-9/4096", data[0:10]), ("bytes 20-29/4096", data[20:30])]


def test_max_ranges_setting_caps_the_set_and_the_log_has_the_whole_body(start_server, tree,
                                                                         tmp_path):
    log = tmp_path / "access.log"
    srv = start_server(settings={"server.max_ranges": 2, "log.access_log": str(log)})
    with httpraw.Client(srv.port) as c:
        multi = c.request("GET", SMALL, headers={"Range": "bytes=0-1,3-4"})
        check_multipart(tree, multi, SMALL, [(0, 1), (3, 4)])
        r = c.request("GET", SMALL, headers={"Range": "bytes=0-1,3-4,6-7"})
        assert r.status == 200 and r.body == tree.bytes_of(SMALL)
    assert srv.stop() is None
    # The bytes logged are the body's, every part of it, not the last part's.
    lines = log.read_text().splitlines()
    assert f'" 206 {multi.content_length}' in lines[0], lines
    assert '" 200 4096' in lines[1], lines
