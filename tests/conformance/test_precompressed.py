"""Precompressed files (server.precompressed, on by default): app.js.br or
app.js.gz is sent for app.js when Accept-Encoding allows it, as a file like
any other, with Content-Encoding, the original's Content-Type and
Vary: Accept-Encoding."""

import gzip
import json
import subprocess
import urllib.request

import pytest

import httpraw
from support import media_type

JS = "/app.js"


def get(c, path, ae=None, method="GET", extra=()):
    headers = [] if ae is None else [("Accept-Encoding", ae)]
    return c.request(method, path, headers=headers + list(extra))


def sibling(tree, coding):
    return tree.bytes_of(JS + {"gzip": ".gz", "br": ".br"}[coding])


def test_accepted_sibling_is_sent_with_its_coding(server, tree):
    with httpraw.Client(server.port) as c:
        plain = get(c, JS)
        gz = get(c, JS, "gzip")
        br = get(c, JS, "gzip, br")
    assert plain.status == gz.status == br.status == 200
    assert plain.body == tree.bytes_of(JS) and plain.header("content-encoding") is None
    assert gz.header("content-encoding") == "gzip" and gz.body == sibling(tree, "gzip")
    assert gzip.decompress(gz.body) == tree.bytes_of(JS)
    # br before gzip at equal weight: the server's order.
    assert br.header("content-encoding") == "br" and br.body == sibling(tree, "br")
    for r in (plain, gz, br):
        assert r.header("content-type") == plain.header("content-type")
        assert media_type(r) == "text/javascript"
        assert r.header_all("vary") == ["Accept-Encoding"]
    # Each representation has its own validator.
    assert len({plain.header("etag"), gz.header("etag"), br.header("etag")}) == 3


# (Accept-Encoding lines, what is sent). identity is app.js itself.
NEGOTIATION = [
    ([], "identity"),
    ([""], "identity"),
    (["gzip;q=0.5, br;q=0.4"], "gzip"),
    (["br;q=0.9, gzip;q=0.899"], "br"),
    (["br;q=0, gzip;q=0"], "identity"),
    (["identity;q=0"], "identity"),  # nothing fits: the file itself, as nginx does
    (["identity;q=0, gzip;q=0.001"], "gzip"),
    (["*"], "br"),
    (["*;q=0.5, br;q=0"], "gzip"),
    (["*;q=0"], "identity"),
    (["gzip;q=0.5, identity"], "identity"),
    (["gzip;q=0.5, identity;q=0.5"], "gzip"),
    (["GZIP;Q=1"], "gzip"),
    (["x-gzip"], "gzip"),
    (["deflate, compress"], "identity"),
    (["gzip;q=1.5, br;q=0.7000"], "identity"),  # malformed elements count for nothing
    (["  gzip ;  q=0.2 ,, br;q=0.1 "], "gzip"),
    (["br;q=0.3", "gzip;q=0.6"], "gzip"),  # two lines, one list
]


def test_negotiation_follows_weights(server, tree):
    want = {"identity": tree.bytes_of(JS), "gzip": sibling(tree, "gzip"),
            "br": sibling(tree, "br")}
    with httpraw.Client(server.port) as c:
        for lines, coding in NEGOTIATION:
            r = c.request("GET", JS, headers=[("Accept-Encoding", v) for v in lines])
            assert r.status == 200, lines
            got = r.header("content-encoding") or "identity"
            assert got == coding, f"Accept-Encoding {lines}: sent {got}, want {coding}"
            assert r.body == want[coding], lines
            assert r.header_all("vary") == ["Accept-Encoding"], lines


def test_only_existing_siblings_are_offered(server, tree):
    with httpraw.Client(server.port) as c:
        gz = get(c, "/style.css", "br, gzip")
        none = get(c, "/style.css", "br")
        plain = get(c, "/hello.txt", "br, gzip")
    assert gz.header("content-encoding") == "gzip"
    assert gz.body == tree.bytes_of("/style.css.gz")
    assert media_type(gz) == "text/css"
    assert none.header("content-encoding") is None and none.body == tree.bytes_of("/style.css")
    assert none.header_all("vary") == ["Accept-Encoding"]
    # No sibling: nothing varies, nothing to say.
    assert plain.header("content-encoding") is None and plain.header("vary") is None
    assert plain.body == tree.bytes_of("/hello.txt")


def test_range_applies_to_the_encoded_representation(server, tree):
    gz = sibling(tree, "gzip")
    with httpraw.Client(server.port) as c:
        r = get(c, JS, "gzip", extra=[("Range", "bytes=10-29")])
        tail = get(c, JS, "gzip", extra=[("Range", "bytes=-5")])
    assert r.status == 206
    assert r.header("content-encoding") == "gzip"
    assert r.header("content-range") == f"bytes 10-29/{len(gz)}"
    assert r.body == gz[10:30]
    assert tail.status == 206 and tail.body == gz[-5:]


def test_conditional_requests_use_the_variants_validator(server, tree):
    with httpraw.Client(server.port) as c:
        gz = get(c, JS, "gzip")
        tag = gz.header("etag")
        again = get(c, JS, "gzip", extra=[("If-None-Match", tag)])
        other = get(c, JS, "br", extra=[("If-None-Match", tag)])
        ims = get(c, JS, "gzip", extra=[("If-Modified-Since", gz.header("last-modified"))])
    assert again.status == 304 and again.body == b""
    assert again.header("etag") == tag
    assert again.header_all("vary") == ["Accept-Encoding"]
    # Another representation: the gzip tag does not match it.
    assert other.status == 200 and other.header("content-encoding") == "br"
    assert other.body == sibling(tree, "br")
    assert ims.status == 304


@pytest.mark.parametrize("ae", ["gzip", "br", ""])
def test_head_headers_equal_get_headers(server, ae):
    def comparable(resp):
        return sorted((k.lower(), v) for k, v in resp.headers if k.lower() != "date")

    with httpraw.Client(server.port) as c:
        g = get(c, JS, ae)
        h = get(c, JS, ae, method="HEAD")
    assert h.status == g.status == 200
    assert comparable(h) == comparable(g)
    assert h.content_length == len(g.body)


def test_off_when_configured_empty(start_server, tree):
    srv = start_server(extra_args=["--set", "server.precompressed=[]"])
    with httpraw.Client(srv.port) as c:
        r = get(c, JS, "gzip, br")
    assert r.header("content-encoding") is None and r.header("vary") is None
    assert r.body == tree.bytes_of(JS)


def test_configured_order_is_the_servers_preference(start_server, tree):
    srv = start_server(extra_args=["--set", 'server.precompressed=["zstd", "gzip"]'])
    with httpraw.Client(srv.port) as c:
        zst = get(c, JS, "gzip, br, zstd")
        gz = get(c, JS, "br, gzip")
        br = get(c, JS, "br")
    assert zst.header("content-encoding") == "zstd" and zst.body == tree.bytes_of(JS + ".zst")
    assert gz.header("content-encoding") == "gzip" and gz.body == sibling(tree, "gzip")
    # br is not configured: its sibling is not offered.
    assert br.header("content-encoding") is None and br.body == tree.bytes_of(JS)


def test_curl_compressed_decodes_the_original(server, tree, tmp_path):
    out, hdr = tmp_path / "body", tmp_path / "head"
    p = subprocess.run(["curl", "-s", "--http1.1", "--compressed", "-D", str(hdr), "-o", str(out),
                        "--max-time", "30", server.url(JS)], capture_output=True, timeout=40)
    assert p.returncode == 0, p.stderr
    if not tree.has_brotli:
        pytest.skip("no brotli CLI: app.js.br is not real brotli (scripts/setup installs it)")
    assert "content-encoding: br" in hdr.read_text().lower()
    assert out.read_bytes() == tree.bytes_of(JS)


def _stats(srv):
    assert srv.admin_port, "the server's ready line named no admin port"
    with urllib.request.urlopen(srv.admin_url("/stats"), timeout=10) as r:
        return json.load(r)["totals"]


def test_missing_siblings_cost_no_system_call_per_request(start_server, opts):
    """Which siblings are missing is remembered with the file until it is
    revalidated: a plain file costs no open per request for looking."""
    srv = start_server(settings={"server.cache_revalidate": "1m"})
    with httpraw.Client(srv.port) as c:
        for path in ("/hello.txt", JS):
            assert get(c, path, "gzip, br").status == 200
        before = _stats(srv)
        for _ in range(10):
            for path in ("/hello.txt", JS):
                assert get(c, path, "gzip, br").status == 200
        after = _stats(srv)
    opened = after["syscalls_by_call"].get("openat2", 0) - before["syscalls_by_call"].get("openat2", 0)
    assert opened == 0
    if opts["sender"] in ("sendfile", "splice"):
        # The sibling is a file range: the zero-copy senders copy none of it.
        assert after["copied_bytes"]["body"] == before["copied_bytes"]["body"]


def test_several_ranges_of_a_sibling_are_multipart_with_its_coding(server, tree):
    from test_multipart import parse_multipart
    gz = sibling(tree, "gzip")
    with httpraw.Client(server.port) as c:
        r = get(c, JS, "gzip", extra=[("Range", "bytes=0-3,10-19")])
    assert r.status == 206
    assert r.header("content-encoding") == "gzip"
    assert r.header_all("vary") == ["Accept-Encoding"]
    parts = parse_multipart(r.header("content-type"), r.body)
    assert [data for _, data in parts] == [gz[0:4], gz[10:20]]
    assert all(f["content-range"].endswith(f"/{len(gz)}") for f, _ in parts)


def test_a_sibling_takes_the_originals_cache_control(start_server, tree):
    srv = start_server(settings={"cache_control.extensions.js": "max-age=60",
                                 "cache_control.extensions.gz": "no-store"})
    with httpraw.Client(srv.port) as c:
        plain = get(c, JS)
        gz = get(c, JS, "gzip")
        tag = gz.header("etag")
        not_modified = get(c, JS, "gzip", extra=[("If-None-Match", tag)])
    assert plain.header("cache-control") == "max-age=60"
    assert gz.header("content-encoding") == "gzip"
    assert gz.header("cache-control") == "max-age=60"
    assert not_modified.status == 304 and not_modified.header("cache-control") == "max-age=60"
