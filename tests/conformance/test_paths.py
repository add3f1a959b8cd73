"""Path handling: 404, directory index, 301 to the slash form, 403 without an
index, and no way out of the root (traversal, encodings, symlinks)."""

from urllib.parse import urlsplit

import pytest

import httpraw
from docroot import SECRET
from support import assert_serving, media_type


def get(port, target):
    # Raw socket: curl would normalise the path before sending it.
    return httpraw.fetch(port, "GET", target)


@pytest.mark.parametrize("target", ["/missing", "/missing/", "/dir/missing.txt",
                                    "/missing/deeper/x", "/hello.txt/x", "/f0.bin.gz"])
def test_missing_gives_404(server, target):
    r = get(server.port, target)
    assert r.status == 404
    assert r.content_length == r.body_len


@pytest.mark.parametrize("target,want", [
    ("/", "/index.html"),
    ("/dir/", "/dir/index.html"),
    ("/dir/sub/", "/dir/sub/index.html"),
    ("/dir/index.html", "/dir/index.html"),
    ("/hello.txt?x=1&y=2", "/hello.txt"),
    ("/dir/?q", "/dir/index.html"),
    ("/hell%6f.txt", "/hello.txt"),
    ("/dir/./inner.txt", "/dir/inner.txt"),
    ("/dir/sub/../inner.txt", "/dir/inner.txt"),
])
def test_file_and_index_served(server, tree, target, want):
    r = get(server.port, target)
    assert r.status == 200
    assert r.body == tree.bytes_of(want)
    if want.endswith(".html"):
        assert media_type(r) == "text/html"


@pytest.mark.parametrize("target,want", [("/dir", "/dir/"), ("/dir/sub", "/dir/sub/"),
                                         ("/noindex", "/noindex/")])
def test_directory_without_slash_redirects(server, target, want):
    r = get(server.port, target)
    assert r.status == 301
    loc = r.header("location")
    assert loc is not None
    assert urlsplit(loc).path == want
    assert r.content_length == r.body_len


@pytest.mark.parametrize("target", ["/noindex/", "/a/"])
def test_directory_without_index_gives_403(server, target):
    r = get(server.port, target)
    assert r.status == 403
    assert b"file.txt" not in r.body and b"b.txt" not in r.body, "directory listed"


TRAVERSALS = [
    "/../secret",
    "/%2e%2e/secret",
    "/%2E%2E/secret",
    "/.%2e/secret",
    "/a/%2f..%2fsecret",
    "/a/..%2f..%2fsecret",
    "/a/%2f%2e%2e%2fsecret",
    "/dir/../../secret",
    "/./../secret",
    "/a/b.txt/../../../secret",
    "/..%5csecret",
    "/%2e%2e%5csecret",
    "//../secret",
    "/..",
    "/../",
    "/../root/../secret",
    "/%2e%2e%2fsecret",
    "/hello.txt%00",
    "/%00/../secret",
    "/%zz",
    "/%2",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_traversal_never_leaves_root(server, tree, target):
    r = get(server.port, target)
    assert r.status in (400, 403, 404), f"{target} -> {r.status}"
    assert SECRET not in r.body and b"TOP-SECRET" not in r.body
    assert_serving(server, tree)


def test_symlink_inside_root_is_served(server, tree):
    r = get(server.port, "/link_in")
    assert r.status == 200 and r.body == tree.bytes_of("/f4096.bin")
    r = get(server.port, "/dir/link_up")
    assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")


@pytest.mark.parametrize("target", ["/link_out", "/link_out_abs", "/linkdir_out/secret",
                                    "/linkdir_out/"])
def test_symlink_leaving_root_is_refused(server, tree, target):
    r = get(server.port, target)
    assert r.status in (403, 404), f"{target} -> {r.status}"
    assert b"TOP-SECRET" not in r.body
    assert_serving(server, tree)


@pytest.mark.parametrize("target", ["/" + "n" * 300, "/dir/" + "n" * 1000 + ".txt",
                                    "/" + "/".join(["d"] * 2100)],
                         ids=["name300", "name1000", "path4200"])
def test_overlong_names_are_client_errors(server, tree, target):
    """ENAMETOOLONG is the client's doing: 4xx, not 500."""
    r = get(server.port, target)
    assert r.status in (400, 403, 404, 414), f"{r.status} for a {len(target)}-byte path"
    assert_serving(server, tree)


def test_symlink_loop_is_a_client_error(server, tree):
    r = get(server.port, "/loop")
    assert r.status in (403, 404), f"{r.status} for a symlink loop"
    assert_serving(server, tree)


def test_absolute_form_target_is_accepted(server, tree):
    # RFC 9112 3.2.2: a server MUST accept the absolute-form.
    port = server.port
    r = httpraw.fetch(port, "GET", f"http://{server.host}:{port}/hello.txt")
    assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")


@pytest.mark.parametrize("target,want", [
    ("/sp%20ace.txt", "/sp ace.txt"),
    ("/%2541.txt", "/%41.txt"),  # decoded once: not /A.txt
    ("/%41.txt", "/A.txt"),
    ("/a+b.txt", "/a+b.txt"),  # '+' is a plus in a path, not a space
    ("/a%2bb.txt", "/a+b.txt"),
    ("/d%20ir/", "/d ir/index.html"),
])
def test_percent_decoding_is_done_once(server, tree, target, want):
    r = get(server.port, target)
    assert r.status == 200
    assert r.body == tree.bytes_of(want)


def test_redirect_location_is_percent_encoded(server, tree):
    r = get(server.port, "/d%20ir")
    assert r.status == 301
    loc = r.header("location")
    assert " " not in loc, f"raw space in Location: {loc!r}"
    path = urlsplit(loc).path
    assert path == "/d%20ir/", f"Location {loc!r}"
    r = get(server.port, path)
    assert r.status == 200 and r.body == tree.bytes_of("/d ir/index.html")


def test_redirect_query_is_kept_and_encoded(server, tree):
    # The query follows the redirect, its own escapes as they came; bytes a
    # browser would never send raw are encoded, never copied into the header.
    r = get(server.port, "/dir?a=1&b=%20x")
    assert r.status == 301 and r.header("location") == "/dir/?a=1&b=%20x"
    r = get(server.port, '/dir?q=<script>"x"\xc3\xa9')
    assert r.status == 301
    assert r.header("location") == "/dir/?q=%3Cscript%3E%22x%22%C3%A9", r.header("location")


def test_redirect_cannot_inject_headers(server, tree):
    r = get(server.port, "/inj%0d%0aX-Injected:%20yes")
    assert r.header("x-injected") is None, "header injected through Location"
    assert r.status in (301, 400, 404)
    if r.status == 301:
        loc = r.header("location")
        assert "\r" not in loc and "\n" not in loc
        assert urlsplit(loc).path.lower() == "/inj%0d%0ax-injected%3a%20yes/" or \
            urlsplit(loc).path.lower() == "/inj%0d%0ax-injected:%20yes/"
    assert_serving(server, tree)


@pytest.mark.parametrize("target,want", [
    ("//dir", "/dir/"),
    ("///dir/sub", "/dir/sub/"),
    ("//evil.example/../dir", "/dir/"),
    ("/dir//sub", "/dir/sub/"),
    ("/./dir", "/dir/"),
])
def test_redirect_never_names_another_host(server, target, want):
    # A Location that starts with "//" is a network-path reference: a
    # browser would follow "//dir/" to the host "dir".
    r = get(server.port, target)
    assert r.status == 301, f"{target}: {r.status}"
    loc = r.header("location")
    assert loc.startswith("/") and not loc.startswith("//"), f"{target}: Location {loc!r}"
    assert "\\" not in loc
    assert urlsplit(loc).netloc == "" and urlsplit(loc).path == want, f"{target}: {loc!r}"


@pytest.mark.parametrize("target", ["/%2Fdir", "/%2fevil.example/dir", "/\\evil.example/dir"])
def test_encoded_or_backslash_separators_are_refused(server, tree, target):
    r = get(server.port, target)
    assert r.status in (400, 404), f"{target}: {r.status} Location {r.header('location')!r}"
    assert r.header("location") is None
    assert_serving(server, tree)


@pytest.mark.parametrize("target", ["/index.html/", "/hello.txt/", "/hello.txt/.",
                                    "/dir/inner.txt/"])
def test_a_file_named_with_a_trailing_slash_is_404(server, tree, target):
    r = get(server.port, target)
    assert r.status == 404, f"{target}: {r.status}"
    assert r.body != tree.bytes_of("/hello.txt")
