"""The dpdk engine: zcserve serving files through net_af_xdp on one end of
a veth pair, its own TCP/IP stack (lwIP) answering for 198.18.0.1, and real
clients (curl, raw sockets) in the other namespace checking every byte.
Root only; skipped with the reason otherwise, or when the kernel refuses an
AF_XDP socket here, never passed silently."""

import hashlib
import os
import random
import subprocess
import sys

import pytest

import netns

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "loadtest"))
from zcload.launch import Process, StartError  # noqa: E402

BIG = 3 * 1024 * 1024 + 7
HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture
def served(request, tmp_path):
    why = netns.unavailable()
    if why:
        pytest.skip(why)
    zcserve = request.config.getoption("--zcserve")
    root = tmp_path / "root"
    (root / "dir").mkdir(parents=True)
    (root / "hello.txt").write_bytes(b"hello through the stack\n")
    (root / "big.bin").write_bytes(random.Random(7).randbytes(BIG))
    (root / "dir" / "index.html").write_bytes(b"<p>index</p>\n")
    with netns.Pair(f"zd{os.getpid() % 100000}") as pair:
        srv = Process(pair.in_server(
            zcserve, "--root", str(root), "--listen", "127.0.0.1:80", "--admin", "off",
            "--engine", "dpdk",
            "--set", f"io.dpdk.vdev=net_af_xdp0,iface={pair.server_if},busy_budget=0",
            "--set", f"io.dpdk.address={netns.SERVER_ADDR}/{netns.PREFIX}"))
        try:
            ready = srv.wait_ready(30)
        except StartError as e:
            srv.proc.kill()
            srv.proc.wait()
            if any("did not probe" in line for line in srv.stderr_lines):
                pytest.skip("net_af_xdp is unavailable here: " + srv.stderr_lines[-1])
            pytest.fail(f"zcserve --engine dpdk did not start: {e}")
        assert ready["listen"] == f"{netns.SERVER_ADDR}:80"
        try:
            yield pair, root, srv
        finally:
            if srv.proc.poll() is None:
                srv.proc.terminate()
            rc = srv.proc.wait(20)
            assert rc == 0, f"exit {rc}:\n" + "\n".join(srv.stderr_lines[-20:])


def client(pair, script, *args, timeout=120):
    r = subprocess.run(pair.in_client(sys.executable, "-c", script, HERE, netns.SERVER_ADDR,
                                      *map(str, args)),
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def test_curl_gets_files_ranges_and_errors(served):
    pair, root, _ = served
    def curl(*args):
        return subprocess.run(pair.in_client("curl", "-s", "-m", "20", *args),
                              capture_output=True, check=True).stdout
    base = f"http://{netns.SERVER_ADDR}"
    assert curl(f"{base}/hello.txt") == (root / "hello.txt").read_bytes()
    big = (root / "big.bin").read_bytes()
    assert hashlib.sha256(curl(f"{base}/big.bin")).digest() == hashlib.sha256(big).digest()
    assert curl("-r", "1000-1999", f"{base}/big.bin") == big[1000:2000]
    assert curl(f"{base}/dir/") == b"<p>index</p>\n"
    assert curl("-o", "/dev/null", "-w", "%{http_code}", f"{base}/nope") == b"404"
    assert curl("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                f"{base}/dir") == f"301 {base}/dir/".encode()


PIPELINE = r"""
import sys
sys.path.insert(0, sys.argv.pop(1))
from httpclient import read_reply
import socket
addr, root = sys.argv[1], sys.argv[2]
files = {p: open(root + p, "rb").read() for p in ("/hello.txt", "/big.bin")}


s = socket.create_connection((addr, 80), timeout=30)
buf = b""
plan = ["/hello.txt", "/big.bin", "/hello.txt"] * 4
s.sendall(b"".join(f"GET {p} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for p in plan))
for p in plan:
    body, buf = read_reply(s, buf)
    assert body == files[p], f"wrong bytes for {p}"
many = [socket.create_connection((addr, 80), timeout=30) for _ in range(50)]
for c in many:
    c.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
for c in many:
    body, _ = read_reply(c, b"")
    assert body == files["/hello.txt"]
    c.close()
print("ok")
"""


def test_pipelined_large_replies_and_many_connections(served):
    """Twelve requests pipelined on one connection, four of them 3 MiB,
    every byte compared with the file; then 50 connections at once."""
    pair, root, _ = served
    assert client(pair, PIPELINE, root).strip() == "ok"


def test_bursts_of_connections_every_reply_checked(served):
    """Three bursts of 3,000 connections opened at once, each a request with
    Connection: close, every reply compared with the file. The server
    closes first, so each burst meets the last one's connections in lwIP's
    TIME_WAIT: with lwIP's own 60 s there, clients whose port came round
    again were answered with an ACK instead of a SYN-ACK and waited for
    minutes."""
    pair, root, _ = served
    for _ in range(3):
        r = subprocess.run(pair.in_client(sys.executable, os.path.join(HERE, "httpclient.py"),
                                          "burst", netns.SERVER_ADDR, "3000", "/hello.txt",
                                          str(root / "hello.txt")),
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-3000:]
        assert r.stdout.strip() == "ok 3000", r.stdout


def test_sigterm_ends_cleanly_with_the_figures(served):
    pair, root, srv = served
    client(pair, "import socket,sys; s=socket.create_connection((sys.argv[2],80),timeout=10); "
           "s.sendall(b'GET /hello.txt HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'); s.recv(4096)")
    srv.proc.terminate()
    assert srv.proc.wait(20) == 0
    srv._watch.join()
    text = "\n".join(srv.stderr_lines)
    assert "requests in" in text, text[-2000:]
    assert "pread" in text, "the exit table names the calls read_write made"
