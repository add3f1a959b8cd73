"""Single byte ranges: 206 with exactly the bytes asked for, 416 when
unsatisfiable; several ranges may be answered with the whole file."""

import hashlib

import pytest

import httpraw
from support import curl, media_type

MiB = 1024 * 1024
BIG = 64 * MiB

# (path, Range header value, first, last) -> expect 206 "bytes first-last/size"
SATISFIABLE = [
    ("/f4096.bin", "bytes=0-0", 0, 0),
    ("/f4096.bin", "bytes=0-99", 0, 99),
    ("/f4096.bin", "bytes=100-199", 100, 199),
    ("/f4096.bin", "bytes=4000-4095", 4000, 4095),
    ("/f4096.bin", "bytes=4095-4095", 4095, 4095),
    ("/f4096.bin", "bytes=4000-9999", 4000, 4095),  # last clamped to the size
    ("/f4096.bin", "bytes=4090-", 4090, 4095),  # open-ended
    ("/f4096.bin", "bytes=0-", 0, 4095),
    ("/f4096.bin", "bytes=-100", 3996, 4095),  # suffix
    ("/f4096.bin", "bytes=-1", 4095, 4095),
    ("/f4096.bin", "bytes=-5000", 0, 4095),  # suffix longer than the file
    ("/f1.bin", "bytes=0-0", 0, 0),
    ("/f1.bin", "bytes=-1", 0, 0),
    ("/f1m1.bin", "bytes=1048576-", MiB, MiB),
    ("/f1m1.bin", "bytes=1000-1048575", 1000, MiB - 1),
    ("/f1m1.bin", "bytes=-524288", MiB + 1 - 524288, MiB),
    ("/f64m.bin", "bytes=33554000-33556000", 33554000, 33556000),  # middle of 64 MiB
    ("/f64m.bin", "bytes=20000000-30485759", 20000000, 30485759),  # 10 MiB from the middle
    ("/f64m.bin", f"bytes={BIG - 10}-", BIG - 10, BIG - 1),
    ("/hello.txt", "bytes=0-4", 0, 4),
    # numbers past 2^64 - 1 are still numbers: the end of the file
    ("/f4096.bin", "bytes=0-18446744073709551615", 0, 4095),
    ("/f4096.bin", "bytes=4000-99999999999999999999999", 4000, 4095),
    ("/f4096.bin", "bytes=-99999999999999999999999", 0, 4095),
]

UNSATISFIABLE = [
    ("/f4096.bin", "bytes=4096-"),
    ("/f4096.bin", "bytes=4096-5000"),
    ("/f4096.bin", "bytes=99999-"),
    ("/f1.bin", "bytes=1-"),
    ("/f0.bin", "bytes=0-"),
    ("/f0.bin", "bytes=0-10"),
    ("/f64m.bin", f"bytes={BIG}-"),
    ("/f4096.bin", "bytes=18446744073709551615-"),
    ("/f4096.bin", "bytes=99999999999999999999999-"),
]


def check_206(tree, r, path, first, last):
    size = tree.size_of(path)
    assert r.status == 206, f"{r.status} for {path}"
    assert r.header("content-range") == f"bytes {first}-{last}/{size}"
    assert r.content_length == last - first + 1
    assert r.body_len == last - first + 1
    want = tree.bytes_of(path)[first:last + 1]
    assert r.body_sha256 == hashlib.sha256(want).hexdigest(), "wrong bytes in the range"
    assert r.header("accept-ranges") == "bytes"
    assert r.has_header("etag") and r.has_header("last-modified")


@pytest.mark.parametrize("path,spec,first,last", SATISFIABLE,
                         ids=[f"{p}:{s}" for p, s, _, _ in SATISFIABLE])
def test_range_gives_206_and_exact_bytes(server, tree, path, spec, first, last):
    with httpraw.Client(server.port, timeout=20) as c:
        r = c.request("GET", path, headers={"Range": spec}, hash_only=True)
        check_206(tree, r, path, first, last)
        # The connection carries on after a partial reply.
        r2 = c.request("GET", "/f1.bin")
        assert r2.status == 200 and r2.body == tree.bytes_of("/f1.bin")


@pytest.mark.parametrize("path,spec", UNSATISFIABLE, ids=[f"{p}:{s}" for p, s in UNSATISFIABLE])
def test_unsatisfiable_range_gives_416(server, tree, path, spec):
    with httpraw.Client(server.port) as c:
        r = c.request("GET", path, headers={"Range": spec})
        assert r.status == 416
        assert r.header("content-range") == f"bytes */{tree.size_of(path)}"
        assert r.content_length == r.body_len
        r2 = c.request("GET", "/f1.bin")
        assert r2.status == 200 and r2.body == tree.bytes_of("/f1.bin")


def test_multiple_ranges_answered_whole_or_multipart(server, tree):
    r = httpraw.fetch(server.port, "GET", "/f4096.bin", headers={"Range": "bytes=0-1,3-4"})
    if r.status == 200:
        assert r.body == tree.bytes_of("/f4096.bin")
    else:
        assert r.status == 206
        assert media_type(r) == "multipart/byteranges"


@pytest.mark.parametrize("spec", ["items=0-1", "bytes=abc", "bytes=5-1", "bytes=1-2-3", "bytes="])
def test_invalid_range_is_ignored_or_refused(server, tree, spec):
    r = httpraw.fetch(server.port, "GET", "/f4096.bin", headers={"Range": spec})
    if spec.startswith("items="):
        # RFC 9110 14.2: an unknown range unit MUST be ignored.
        assert r.status == 200
    else:
        assert r.status in (200, 416)
    if r.status == 200:
        assert r.body == tree.bytes_of("/f4096.bin")


def test_head_with_range_has_206_head_and_no_body(server, tree):
    with httpraw.Client(server.port) as c:
        c.send(httpraw.build_request("HEAD", "/f4096.bin", headers={"Range": "bytes=10-19"})
               + httpraw.build_request("GET", "/f1.bin"))
        r = c.read_response("HEAD")
        assert r.status == 206
        assert r.header("content-range") == "bytes 10-19/4096"
        assert r.content_length == 10
        r2 = c.read_response("GET")
        assert r2.status == 200 and r2.body == tree.bytes_of("/f1.bin")


@pytest.mark.parametrize("spec,first,last", [
    ("100-199", 100, 199),
    ("30000000-31048575", 30000000, 31048575),
])
def test_range_via_curl(server, tree, tmp_path, spec, first, last):
    out = tmp_path / "part"
    status = curl(server, "/f64m.bin", out, "-r", spec)
    assert status == 206
    assert out.read_bytes() == tree.bytes_of("/f64m.bin")[first:last + 1]
