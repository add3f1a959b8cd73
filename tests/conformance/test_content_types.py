"""Content-Type: the types browsers need (built in, beside the system's
/etc/mime.types), the charset on textual types, and the [mime] settings."""

import subprocess

import pytest

import httpraw
from docroot import TYPED
from support import media_type

import conftest


def params(resp):
    """The Content-Type parameters, lower case, spaces dropped."""
    ct = resp.header("content-type") or ""
    return [p.strip().lower().replace(" ", "") for p in ct.split(";")[1:]]


TEXTUAL = {"text/vtt", "application/rss+xml", "application/yaml", "text/javascript", "text/html"}


@pytest.mark.parametrize("ext", sorted(TYPED), ids=sorted(TYPED))
def test_type_by_extension(server, tree, ext):
    r = httpraw.fetch(server.port, "GET", f"/types/a.{ext}")
    assert r.status == 200
    assert r.body == tree.bytes_of(f"/types/a.{ext}")
    assert media_type(r) == TYPED[ext], r.header("content-type")
    # The default charset on textual types, none on the others.
    assert params(r) == (["charset=utf-8"] if TYPED[ext] in TEXTUAL else [])


def system_type(ext):
    """What /etc/mime.types (Debian's media-types, installed by
    scripts/setup) says for `ext`."""
    with open("/etc/mime.types") as f:
        for line in f:
            words = line.split("#")[0].split()
            if len(words) > 1 and ext in words[1:]:
                return words[0]
    return None


def test_system_mime_types_are_read(server, tree):
    # .odt is in Debian's file, not in the built-in table.
    want = system_type("odt")
    assert want is not None, "/etc/mime.types has no odt: is media-types installed (scripts/setup)?"
    tree.add("types/report.odt", b"PK\x03\x04 not really a document\n")
    r = httpraw.fetch(server.port, "GET", "/types/report.odt")
    assert r.status == 200
    assert media_type(r) == want


def test_curl_and_wget_see_the_type(server, tmp_path):
    p = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{content_type}", "--http1.1",
                        server.url("/types/a.m3u8")], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "application/vnd.apple.mpegurl"
    p = subprocess.run(["wget", "-S", "-O", str(tmp_path / "a.vtt"), server.url("/types/a.vtt")],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert "Content-Type: text/vtt; charset=utf-8" in p.stderr


@pytest.fixture(scope="module")
def _mime_server(opts, tree, tmp_path_factory):
    types = tmp_path_factory.mktemp("mime") / "mime.types"
    types.write_text("# a site's own types file\napplication/x-zc-site zcsite\n"
                     "text/vnd.trolltech.linguist ts\n")
    tree.add("types/a.zcsite", b"site type\n")
    tree.add("types/README", b"no extension\n")
    srv = conftest.Server(opts["binary"], tree.root, opts["engine"], opts["sender"], settings={
        "mime.types_file": str(types),
        "mime.charset": "",
        "mime.default_type": "text/plain",
        "mime.types.zzq": "application/x-zc-blob",
        "mime.types.m3u8": "audio/mpegurl",
    }).start()
    yield srv
    err = srv.stop()
    if err:
        pytest.fail(f"{err}\n{srv.log_tail()}", pytrace=False)


@pytest.fixture
def mime_server(request, _mime_server):
    conftest._register(request, _mime_server)
    return _mime_server


@pytest.mark.parametrize("path,want", [
    ("/blob.zzq", "application/x-zc-blob"),    # [mime.types]: an extension nobody knew
    ("/types/a.m3u8", "audio/mpegurl"),        # [mime.types] over the built-in table
    ("/types/a.zcsite", "application/x-zc-site"),  # mime.types_file
    ("/types/a.ts", "video/mp2t"),             # the built-in table over the types file
    ("/types/README", "text/plain"),           # mime.default_type
    ("/page.html", "text/html"),               # mime.charset = "": no parameter
])
def test_mime_settings(mime_server, path, want):
    r = httpraw.fetch(mime_server.port, "GET", path)
    assert r.status == 200
    assert r.header("content-type") == want

