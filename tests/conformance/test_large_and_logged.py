"""Offsets past 2 GiB and 4 GiB travel exactly, and the access log records
what was served."""

import os
import time

import httpraw

GiB = 1 << 30


def test_ranges_beyond_4_gib_of_a_sparse_file(start_server, tmp_path):
    # A sparse 5 GiB file costs no disk: a few marked blocks, holes between.
    root = tmp_path / "big"
    root.mkdir()
    path = root / "sparse.bin"
    marks = {2 * GiB - 3: b"before-2GiB|", 4 * GiB + 5: b"past-4GiB|", 5 * GiB - 8: b"the-end!"}
    with open(path, "wb") as f:
        f.truncate(5 * GiB)
        for off, data in marks.items():
            f.seek(off)
            f.write(data)
    srv = start_server(root=str(root))
    with httpraw.Client(srv.port, timeout=20) as c:
        for off, data in marks.items():
            last = off + len(data) - 1
            r = c.request("GET", "/sparse.bin", headers={"Range": f"bytes={off}-{last}"})
            assert r.status == 206, off
            assert r.header("Content-Range") == f"bytes {off}-{last}/{5 * GiB}"
            assert r.body == data, off
        # Straddling a hole and a mark: zeros, then the mark.
        off = 4 * GiB + 5 - 4
        r = c.request("GET", "/sparse.bin", headers={"Range": f"bytes={off}-{off + 7}"})
        assert r.status == 206
        assert r.body == b"\0" * 4 + b"past"
        r = c.request("HEAD", "/sparse.bin")
        assert r.status == 200 and r.content_length == 5 * GiB


def test_access_log_records_every_request(start_server, tree, tmp_path):
    log = tmp_path / "access.log"
    srv = start_server(settings={"log.access_log": str(log)})
    with httpraw.Client(srv.port, timeout=10) as c:
        client_addr = c.sock.getsockname()[0]  # as the server sees it
        assert c.request("GET", "/hello.txt").status == 200
        assert c.request("GET", "/no-such-file").status == 404
        assert c.request("HEAD", "/hello.txt").status == 200
    err = srv.stop()
    assert err is None, err
    # Written asynchronously: flushed at the latest when the server exits.
    lines = log.read_text().splitlines()
    assert len(lines) == 3, lines
    assert '"GET /hello.txt HTTP/1.1" 200' in lines[0]
    assert '"GET /no-such-file HTTP/1.1" 404' in lines[1]
    assert '"HEAD /hello.txt HTTP/1.1" 200 0' in lines[2]
    assert all(line.startswith(f"{client_addr} - - [") for line in lines)
