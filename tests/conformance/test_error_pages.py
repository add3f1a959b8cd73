"""[error_pages]: a file beneath the root as the body of an error, which
keeps its status; the built-in body when the file is missing."""

import httpraw
from support import assert_serving, media_type

PAGES = {"error_pages.404": "/errors/404.html", "error_pages.403": "/errors/403.html",
         "error_pages.405": "/errors/missing.html"}


def comparable(resp):
    return sorted((k.lower(), v) for k, v in resp.headers if k.lower() != "date")


def test_pages_replace_the_built_in_bodies(start_server, tree):
    srv = start_server(settings=PAGES)
    with httpraw.Client(srv.port) as c:
        missing = c.request("GET", "/no/such/file")
        head = c.request("HEAD", "/no/such/file")
        forbidden = c.request("GET", "/noindex/")
        # A page that does not exist: the built-in body, no loop.
        not_allowed = c.request("POST", "/hello.txt", headers=[("Content-Length", "0")])
        page_itself = c.request("GET", "/errors/404.html")
    assert missing.status == 404
    assert missing.body == tree.bytes_of("/errors/404.html")
    assert media_type(missing) == "text/html"
    assert missing.header("etag") is None and missing.header("last-modified") is None
    assert head.status == 404 and head.body == b""
    assert comparable(head) == comparable(missing)
    assert forbidden.status == 403 and forbidden.body == tree.bytes_of("/errors/403.html")
    assert not_allowed.status == 405 and b"405 Method Not Allowed" in not_allowed.body
    assert not_allowed.header("allow") == "GET, HEAD"
    assert page_itself.status == 200 and page_itself.body == tree.bytes_of("/errors/404.html")
    assert_serving(srv, tree)


def test_without_pages_the_built_in_bodies_stay(server):
    with httpraw.Client(server.port) as c:
        r = c.request("GET", "/no/such/file")
    assert r.status == 404 and b"404 Not Found" in r.body


def test_a_hidden_dotfile_gets_the_404_page_like_any_missing_file(start_server, tree):
    """A dotfile is hidden as if absent: its 404 carries the configured page
    and is indistinguishable from a file that does not exist, HEAD too, so
    an error page never tells a dotfile from a missing path."""
    srv = start_server(settings=PAGES)
    with httpraw.Client(srv.port) as c:
        missing = c.request("GET", "/no/such/file")
        hidden = [c.request("GET", p) for p in ("/.env", "/.git/config", "/users/.htpasswd",
                                                "/.hidden/")]
        head_hidden = c.request("HEAD", "/.env")
        head_missing = c.request("HEAD", "/no/such/file")
    for r in hidden:
        assert r.status == 404
        assert r.body == tree.bytes_of("/errors/404.html")
        assert comparable(r) == comparable(missing)
    assert head_hidden.status == 404 and head_hidden.body == b""
    assert comparable(head_hidden) == comparable(head_missing)
    assert_serving(srv, tree)


def _turned_away_reply(port):
    """The reply a connection past server.max_connections gets, at once,
    before any request: none is sent, so the close that follows the 503
    finds nothing unread (a stack that closes over unread input resets the
    connection instead, lwIP's and Linux's alike, and the 503 is lost)."""
    with httpraw.Client(port, timeout=5) as c:
        return c.read_response()


def test_the_503_page_is_what_a_connection_past_the_limit_gets(start_server, tree):
    """error_pages.503 is read at start and sent, from memory, to a
    connection over server.max_connections, with its type."""
    srv = start_server(settings={"server.max_connections": 1,
                                 "error_pages.503": "/errors/503.html"})
    with httpraw.Client(srv.port) as held:
        assert held.request("GET", "/hello.txt").status == 200
        r = _turned_away_reply(srv.port)
        assert r.status == 503
        assert r.body == tree.bytes_of("/errors/503.html")
        assert media_type(r) == "text/html"
        assert r.header("retry-after") == "1" and r.header("connection") == "close"
        assert held.request("GET", "/hello.txt").status == 200


def test_a_503_page_too_big_to_send_at_once_keeps_the_built_in_body(start_server, tree):
    srv = start_server(settings={"server.max_connections": 1,
                                 "error_pages.503": "/errors/big.html"})
    assert any("error_pages.503" in l and "16 KiB" in l for l in srv.stderr_lines), \
        "".join(srv.stderr_lines)
    with httpraw.Client(srv.port) as held:
        assert held.request("GET", "/hello.txt").status == 200
        r = _turned_away_reply(srv.port)
        assert r.status == 503 and b"server at capacity" in r.body
