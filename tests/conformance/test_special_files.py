"""Files that are not regular files nor directories, planted under the root:
they are refused with 403 and never block or confuse a worker."""

import os
import socket

import httpraw
from support import assert_serving


def test_unix_socket_in_the_root_gives_403(start_server, tree, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "ok.txt").write_bytes(b"ok\n")
    # open() on a socket fails with ENXIO: no file behind it, as for a FIFO
    # refused by the cache, the answer is "not served here".
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(str(root / "sock"))
        s.listen(1)
        srv = start_server(root=root)
        for method in ("GET", "HEAD"):
            r = httpraw.fetch(srv.port, method, "/sock")
            assert r.status == 403, f"{method} /sock: {r.status}"
        r = httpraw.fetch(srv.port, "GET", "/ok.txt")
        assert r.status == 200 and r.body == b"ok\n"
    finally:
        s.close()


def test_fifo_in_the_root_gives_403(start_server, tree, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    os.mkfifo(root / "fifo")
    srv = start_server(root=root)
    with httpraw.Client(srv.port) as c:
        r = c.request("GET", "/fifo")
        assert r.status == 403
        r = c.request("GET", "/fifo")
        assert r.status == 403


def test_shared_server_still_serves(server, tree):
    assert_serving(server, tree)
