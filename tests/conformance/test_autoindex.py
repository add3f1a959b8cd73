"""server.autoindex: a directory without index is listed (off by default:
403). Every link, requested back, serves that very file, whatever bytes
its name holds."""

import html.parser
import os
import subprocess
import shutil
import urllib.parse

import pytest

import docroot
import httpraw
from support import media_type


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links = []  # (href, text)
        self._href = None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href = dict(attrs)["href"]
            self._text = ""

    def handle_data(self, data):
        if self._href is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links.append((self._href, self._text))
            self._href = None


def links_of(body):
    p = Links()
    p.feed(body.decode("utf-8"))
    return p.links


def listed_names(tree):
    d = os.fsencode(tree.root / "listing")
    return {n for n in os.listdir(d) if not n.startswith(b".") and n != b"fifo"}


def test_off_by_default(server):
    with httpraw.Client(server.port) as c:
        assert c.request("GET", "/listing/").status == 403


def test_listing_links_every_name_back_to_its_file(start_server, tree):
    srv = start_server(settings={"server.autoindex": True})
    with httpraw.Client(srv.port) as c:
        r = c.request("GET", "/listing/")
        head = c.request("HEAD", "/listing/")
        assert r.status == 200
        assert r.header("content-type") == "text/html; charset=utf-8"
        assert head.status == 200 and head.content_length == len(r.body)
        assert sorted((k.lower(), v) for k, v in head.headers if k.lower() != "date") == \
            sorted((k.lower(), v) for k, v in r.headers if k.lower() != "date")
        links = links_of(r.body)
        assert links[0] == ("../", "../")
        hrefs = [h for h, _ in links[1:]]
        # Directories first, then names in byte order; no dotfile, no fifo.
        raw = [urllib.parse.unquote_to_bytes(h) for h in hrefs]
        assert raw[0] == b"sub dir/"
        assert raw[1:] == sorted(listed_names(tree) - {b"sub dir"})
        for (href, text), name in zip(links[1:], raw):
            if not name.endswith(b"/"):
                got = c.request("GET", "/listing/" + href)
                assert got.status == 200, href
                assert got.body == (tree.root / "listing").joinpath(os.fsdecode(name)).read_bytes()
            try:
                assert text == name.decode("utf-8").replace("\n", "\ufffd")
            except UnicodeDecodeError:
                assert "\ufffd" in text
        sub = c.request("GET", "/listing/" + hrefs[0])
        assert sub.status == 200
        assert [h for h, _ in links_of(sub.body)] == ["../", "inner.txt"]
    for name in docroot.AWKWARD:
        assert urllib.parse.quote(name, safe="").encode() in r.body, name


@pytest.mark.skipif(shutil.which("wget") is None, reason="no wget (scripts/setup installs it)")
def test_wget_mirrors_a_listed_directory(start_server, tree, tmp_path):
    srv = start_server(settings={"server.autoindex": True})
    out = tmp_path / "mirror"
    p = subprocess.run(["wget", "-r", "-np", "-nH", "-q", "-e", "robots=off", "-P", str(out),
                        "--timeout=30", srv.url("/listing/")], capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr
    got = []
    for dirpath, _, files in os.walk(out):
        for f in files:
            with open(os.path.join(dirpath, f), "rb") as fh:
                got.append(fh.read())
    want = []
    for dirpath, _, files in os.walk(tree.root / "listing"):
        for f in files:
            path = os.path.join(dirpath, f)
            if not f.startswith(".") and f != "fifo":
                with open(path, "rb") as fh:
                    want.append(fh.read())
    missing = [w for w in want if w not in got]
    assert not missing, f"wget did not fetch {len(missing)} of {len(want)} files"
    assert not any(g == tree.bytes_of("/listing/.hidden") for g in got)


def test_dotfiles_are_listed_only_where_they_are_served(start_server):
    hidden = start_server(settings={"server.autoindex": True})
    with httpraw.Client(hidden.port) as c:
        assert ".hidden" not in [h for h, _ in links_of(c.request("GET", "/listing/").body)]
    # Started after the first is asked: with a fixed listen port (the dpdk
    # engine) starting it stops the first.
    shown = start_server(settings={"server.autoindex": True, "server.dotfiles": "allow"})
    with httpraw.Client(shown.port) as c:
        hrefs = [h for h, _ in links_of(c.request("GET", "/listing/").body)]
        assert ".hidden" in hrefs
        assert c.request("GET", "/listing/.hidden").body == b"a dotfile\n"
