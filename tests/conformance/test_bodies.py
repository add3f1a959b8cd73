"""Files come back byte for byte, whatever their size, through curl and
through a raw socket."""

import pytest

import httpraw
from docroot import SIZED
from support import curl, sha256_file

SIZES = list(SIZED)  # f0.bin, f1.bin, f4095.bin, f4096.bin, f1m1.bin, f64m.bin


@pytest.mark.parametrize("name", SIZES)
def test_exact_bytes_via_curl(server, tree, tmp_path, name):
    out = tmp_path / "body"
    status = curl(server, "/" + name, out)
    assert status == 200
    assert out.stat().st_size == SIZED[name]
    assert sha256_file(out) == tree.digest["/" + name]


@pytest.mark.parametrize("name", SIZES)
def test_exact_bytes_via_raw_socket(server, tree, name):
    with httpraw.Client(server.port, timeout=20) as c:
        r = c.request("GET", "/" + name, hash_only=True)
        assert r.status == 200
        assert r.content_length == SIZED[name]
        assert r.body_len == SIZED[name]
        assert r.body_sha256 == tree.digest["/" + name]
        # Nothing beyond Content-Length, and the connection stays usable.
        r2 = c.request("GET", "/hello.txt")
        assert r2.status == 200 and r2.body == tree.bytes_of("/hello.txt")


def test_all_sizes_back_to_back_on_one_connection(server, tree):
    with httpraw.Client(server.port, timeout=20) as c:
        for name in SIZES + SIZES[::-1]:
            r = c.request("GET", "/" + name, hash_only=True)
            assert r.status == 200, name
            assert r.body_sha256 == tree.digest["/" + name], name
