"""Conditional GET: If-None-Match and If-Modified-Since give 304 with no
body; anything that does not match gives the file."""

import os
import time

import pytest

import httpraw
from support import ETAG, assert_serving, http_date

PATHS = ["/hello.txt", "/f4096.bin", "/f0.bin", "/dir/"]


def validators(port, path):
    r = httpraw.fetch(port, "GET", path)
    assert r.status == 200
    etag, lm = r.header("etag"), r.header("last-modified")
    assert etag is not None and ETAG.match(etag), f"bad ETag {etag!r}"
    assert lm is not None
    return etag, lm


def expect_304_then_next(c, tree, method, path, headers):
    """Pipelines the conditional request with a GET: a body after 304 breaks the next reply."""
    c.send(httpraw.build_request(method, path, headers=headers)
           + httpraw.build_request("GET", "/f1.bin"))
    r = c.read_response(method)
    assert r.status == 304, f"{r.status} for {path} {headers}"
    nxt = c.read_response("GET")
    assert nxt.status == 200 and nxt.body == tree.bytes_of("/f1.bin"), "a 304 carried a body"
    return r


@pytest.mark.parametrize("path", PATHS)
def test_if_none_match_with_etag_gives_304(server, tree, path):
    etag, _ = validators(server.port, path)
    with httpraw.Client(server.port) as c:
        r = expect_304_then_next(c, tree, "GET", path, {"If-None-Match": etag})
        # RFC 9110 15.4.5: a 304 carries the ETag and Date a 200 would.
        assert r.header("etag") == etag
        assert r.has_header("date")


@pytest.mark.parametrize("path", PATHS)
def test_if_none_match_star_gives_304(server, tree, path):
    with httpraw.Client(server.port) as c:
        expect_304_then_next(c, tree, "GET", path, {"If-None-Match": "*"})


def test_if_none_match_list_containing_etag_gives_304(server, tree):
    etag, _ = validators(server.port, "/hello.txt")
    with httpraw.Client(server.port) as c:
        expect_304_then_next(c, tree, "GET", "/hello.txt",
                             {"If-None-Match": f'"nope-1", {etag}, "nope-2"'})


def test_if_none_match_on_head_gives_304(server, tree):
    etag, _ = validators(server.port, "/f4096.bin")
    with httpraw.Client(server.port) as c:
        expect_304_then_next(c, tree, "HEAD", "/f4096.bin", {"If-None-Match": etag})


@pytest.mark.parametrize("path", PATHS)
def test_if_modified_since_equal_gives_304(server, tree, path):
    _, lm = validators(server.port, path)
    with httpraw.Client(server.port) as c:
        expect_304_then_next(c, tree, "GET", path, {"If-Modified-Since": lm})


@pytest.mark.parametrize("inm", ['"no-such-etag"', 'W/"no-such-etag"', '"x", "y"'])
def test_non_matching_etag_gives_200(server, tree, inm):
    r = httpraw.fetch(server.port, "GET", "/hello.txt", headers={"If-None-Match": inm})
    assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")


def test_if_modified_since_before_last_modified_gives_200(server, tree):
    mtime = tree.path("/hello.txt").stat().st_mtime
    r = httpraw.fetch(server.port, "GET", "/hello.txt",
                      headers={"If-Modified-Since": http_date(mtime - 3600)})
    assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")


def test_invalid_if_modified_since_is_ignored(server, tree):
    r = httpraw.fetch(server.port, "GET", "/hello.txt", headers={"If-Modified-Since": "yesterday"})
    assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")


def test_if_none_match_takes_precedence_over_if_modified_since(server, tree):
    # RFC 9110 13.2.2: If-Modified-Since is ignored when If-None-Match is present.
    _, lm = validators(server.port, "/hello.txt")
    r = httpraw.fetch(server.port, "GET", "/hello.txt",
                      headers={"If-None-Match": '"no-such-etag"', "If-Modified-Since": lm})
    assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")


def test_etag_is_stable_and_differs_between_files(server):
    a1, _ = validators(server.port, "/f4095.bin")
    a2, _ = validators(server.port, "/f4095.bin")
    b, _ = validators(server.port, "/f4096.bin")
    assert a1 == a2
    assert a1 != b


def test_changed_file_gets_new_etag_and_old_etag_no_longer_matches(start_server, tree):
    srv = start_server(settings={"server.cache_revalidate": "0ms"})
    p = tree.root / "changing.txt"
    p.write_bytes(b"version one\n")
    try:
        old_etag, _ = validators(srv.port, "/changing.txt")
        p.write_bytes(b"version two, longer\n")
        st = p.stat()
        os.utime(p, (st.st_atime, st.st_mtime + 5))  # a different second, whatever the clock did
        time.sleep(0.05)
        r = httpraw.fetch(srv.port, "GET", "/changing.txt", headers={"If-None-Match": old_etag})
        assert r.status == 200
        assert r.body == b"version two, longer\n"
        assert r.header("etag") != old_etag
    finally:
        p.unlink()


def test_if_none_match_uses_weak_comparison(server, tree):
    # RFC 9110 13.1.2: If-None-Match compares weakly, so W/"x" matches "x" and back.
    etag, _ = validators(server.port, "/hello.txt")
    other = etag[2:] if etag.startswith("W/") else "W/" + etag
    with httpraw.Client(server.port) as c:
        expect_304_then_next(c, tree, "GET", "/hello.txt", {"If-None-Match": other})


def test_etag_changes_when_a_file_is_rewritten_within_the_same_second(start_server, tmp_path):
    # Same size, same mtime second: only the nanoseconds (an edit in place)
    # or the inode (a new file renamed over the old) tell the versions
    # apart, and a strong ETag must.
    root = tmp_path / "root"
    root.mkdir()
    f = root / "v.txt"
    f.write_bytes(b"version 1\n")
    sec = int(time.time()) - 10
    os.utime(f, ns=(sec * 10**9 + 1000, sec * 10**9 + 1000))
    srv = start_server(root=root, settings={"server.cache_revalidate": "0ms"})

    def etag():
        r = httpraw.fetch(srv.port, "GET", "/v.txt")
        assert r.status == 200
        return r.header("etag"), r.body

    first, body = etag()
    assert body == b"version 1\n"
    with open(f, "r+b") as out:  # edited in place: same inode
        out.write(b"version 2\n")
    os.utime(f, ns=(sec * 10**9 + 2000, sec * 10**9 + 2000))
    second, body = etag()
    assert body == b"version 2\n"
    assert second != first, f"ETag {first} kept across an edit within the same second"

    new = root / "v.new"
    new.write_bytes(b"version 3\n")
    os.utime(new, ns=(sec * 10**9 + 2000, sec * 10**9 + 2000))
    os.rename(new, f)  # a new inode, the very same size and mtime
    third, body = etag()
    assert body == b"version 3\n"
    assert third != second, f"ETag {second} kept across a file replaced by rename"


# RFC 9110 §13.1.1, §13.1.4 and the order of §13.2.2.
def status_with(server, headers, path="/hello.txt", method="GET"):
    r = httpraw.fetch(server.port, method, path, headers=headers)
    return r


@pytest.mark.parametrize("value_of,want", [
    (lambda etag: etag, 200),
    (lambda etag: f'"nope", {etag}', 200),
    (lambda etag: "*", 200),
    (lambda etag: '"nope"', 412),
    (lambda etag: "W/" + etag, 412),  # If-Match compares strongly: a weak tag never matches
])
def test_if_match(server, tree, value_of, want):
    etag, _ = validators(server.port, "/hello.txt")
    r = status_with(server, {"If-Match": value_of(etag)})
    assert r.status == want, f"If-Match {value_of(etag)!r}: {r.status}"
    if want == 200:
        assert r.body == tree.bytes_of("/hello.txt")
    assert_serving(server, tree)


def test_if_unmodified_since(server, tree):
    _, lm = validators(server.port, "/hello.txt")
    assert status_with(server, {"If-Unmodified-Since": lm}).status == 200
    assert status_with(server, {"If-Unmodified-Since": http_date(time.time() + 3600)}).status == 200
    r = status_with(server, {"If-Unmodified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"})
    assert r.status == 412
    # An invalid date is ignored (§13.1.4).
    assert status_with(server, {"If-Unmodified-Since": "yesterday"}).status == 200


def test_precondition_order(server, tree):
    etag, lm = validators(server.port, "/hello.txt")
    old = "Sun, 06 Nov 1994 08:49:37 GMT"
    # If-Match is evaluated first, and when present If-Unmodified-Since is not.
    assert status_with(server, {"If-Match": etag, "If-Unmodified-Since": old}).status == 200
    assert status_with(server, {"If-Match": '"nope"', "If-None-Match": etag}).status == 412
    # Then If-None-Match: a match is 304 for GET and HEAD.
    assert status_with(server, {"If-Match": etag, "If-None-Match": etag}).status == 304
    assert status_with(server, {"If-Unmodified-Since": old, "If-None-Match": etag}).status == 412
    r = status_with(server, {"If-Match": etag, "If-None-Match": etag}, method="HEAD")
    assert r.status == 304
    # If-Modified-Since only without If-None-Match; If-Range after all of them.
    r = status_with(server, {"If-Match": etag, "Range": "bytes=0-0", "If-Range": etag})
    assert r.status == 206
    r = status_with(server, {"If-Match": '"nope"', "Range": "bytes=0-0"})
    assert r.status == 412
