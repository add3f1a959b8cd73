"""Cache-Control from [cache_control]: the longest path rule, else the
extension's, else the default; on 200, 206 and 304 (RFC 9110 §15.4.5), on
HEAD as on GET, and never on an error."""

import pytest

import httpraw

import conftest

SETTINGS = {
    "cache_control.default": "max-age=60",
    "cache_control.extensions.html": "no-cache",
    "cache_control.paths./cc/assets": "max-age=31536000, immutable",
    "cache_control.paths./cc/assets/live/": "no-store",
    "cache_control.paths./cc/quiet": "",
}

IMMUTABLE = "max-age=31536000, immutable"


@pytest.fixture(scope="module")
def _cc_server(opts, tree):
    srv = conftest.Server(opts["binary"], tree.root, opts["engine"], opts["sender"],
                          settings=SETTINGS).start()
    yield srv
    err = srv.stop()
    if err:
        pytest.fail(f"{err}\n{srv.log_tail()}", pytrace=False)


@pytest.fixture
def cc(request, _cc_server):
    conftest._register(request, _cc_server)
    return _cc_server


@pytest.mark.parametrize("path,want", [
    ("/cc/plain.css", "max-age=60"),               # the default
    ("/cc/page.html", "no-cache"),                 # the extension over the default
    ("/cc/assets/app.js", IMMUTABLE),              # a path
    ("/cc/assets/page.html", IMMUTABLE),           # the path over the extension
    ("/cc/assets/live/feed.json", "no-store"),     # the longest path
    ("/cc/quiet/notes.txt", None),                 # "": none at all
    ("/", "no-cache"),                             # index.html, by the file served
])
def test_rule_precedence(cc, path, want):
    for method in ("GET", "HEAD"):
        r = httpraw.fetch(cc.port, method, path)
        assert r.status == 200
        assert r.header_all("cache-control") == ([want] if want else []), method


def test_on_206_and_304(cc, tree):
    with httpraw.Client(cc.port) as c:
        r = c.request("GET", "/cc/assets/app.js", headers={"Range": "bytes=2-9"})
        assert r.status == 206
        assert r.body == tree.bytes_of("/cc/assets/app.js")[2:10]
        assert r.header_all("cache-control") == [IMMUTABLE]
        etag = r.header("etag")
        r = c.request("GET", "/cc/page.html", headers={"If-Modified-Since": r.header("date")})
        assert r.status == 304
        assert r.header_all("cache-control") == ["no-cache"]
        r = c.request("HEAD", "/cc/assets/app.js", headers={"If-None-Match": etag})
        assert r.status == 304
        assert r.header_all("cache-control") == [IMMUTABLE]


@pytest.mark.parametrize("method,target,headers,status", [
    ("GET", "/cc/missing.html", {}, 404),
    ("GET", "/cc/assets/app.js", {"Range": "bytes=99999-"}, 416),
    ("GET", "/cc/assets", {}, 301),
    ("GET", "/cc/assets/app.js", {"If-Match": '"nope"'}, 412),
])
def test_not_on_errors_or_redirects(cc, method, target, headers, status):
    r = httpraw.fetch(cc.port, method, target, headers=headers)
    assert r.status == status
    assert not r.has_header("cache-control")


def test_none_by_default(server):
    r = httpraw.fetch(server.port, "GET", "/cc/assets/app.js")
    assert r.status == 200
    assert not r.has_header("cache-control")
