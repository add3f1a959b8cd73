"""Dotfiles: with server.dotfiles = "deny" (the default) a path with any
segment starting with '.' is 404, however it is spelled, whether or not it
exists; /.well-known/ is served; "allow" serves them all."""

import pytest

import httpraw
from docroot import DOTFILES, WELL_KNOWN

import conftest

# Raw targets: curl would resolve the dot segments itself.
HIDDEN = [
    "/.env",
    "/%2eenv",
    "/%2Eenv",
    "/.git/config",
    "/.git/%63onfig",
    "/.git",          # a directory: 404, not the 301 to /.git/
    "/.git/",
    "/.hidden/",      # a directory with an index
    "/.hidden/index.html",
    "/users/.htpasswd",
    "/users/%2ehtpasswd",
    "/.well-known/../.env",
    "/.well-known/%2e%2e/.env",
    "/users/../.env",
    "/./.env",
    "//.env",
    "/.nothere",      # the same 404 whether it exists or not
    "/.well-known/.nothere",
]


@pytest.mark.parametrize("target", HIDDEN)
def test_hidden(server, target):
    with httpraw.Client(server.port) as c:
        for method in ("GET", "HEAD"):
            r = c.request(method, target)
            assert r.status == 404, method
            assert not r.has_header("location")
            assert not any(data in r.body for data in DOTFILES.values())


@pytest.mark.parametrize("path", sorted(WELL_KNOWN) + ["/users/readme.txt"])
def test_well_known_and_neighbours_are_served(server, tree, path):
    r = httpraw.fetch(server.port, "GET", path)
    assert r.status == 200
    assert r.body == tree.bytes_of(path)


@pytest.fixture(scope="module")
def _allow_server(opts, tree):
    srv = conftest.Server(opts["binary"], tree.root, opts["engine"], opts["sender"],
                          settings={"server.dotfiles": "allow"}).start()
    yield srv
    err = srv.stop()
    if err:
        pytest.fail(f"{err}\n{srv.log_tail()}", pytrace=False)


@pytest.fixture
def allow_server(request, _allow_server):
    conftest._register(request, _allow_server)
    return _allow_server


def test_allow_serves_dotfiles(allow_server, tree):
    with httpraw.Client(allow_server.port) as c:
        for path in sorted(DOTFILES) + ["/%2eenv", "/.hidden/"]:
            r = c.request("GET", path)
            assert r.status == 200, path
            want = "/.hidden/index.html" if path == "/.hidden/" else path.replace("%2e", ".")
            assert r.body == tree.bytes_of(want), path
        r = c.request("GET", "/.git")
        assert r.status == 301
        assert r.header("location") == "/.git/"
        r = c.request("GET", "/.nothere")
        assert r.status == 404
