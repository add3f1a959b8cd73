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
from conftest import make_root

HERE = os.path.dirname(os.path.abspath(__file__))


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
    if srv.sender == "read_write":
        assert "pread" in text, "the exit table names the calls read_write made"


SHRINK_CLIENT = r"""
import socket, sys
addr, out = sys.argv[1], sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # the server's window closes early
s.settimeout(30)
s.connect((addr, 80))
s.sendall(b"GET /shrink.bin HTTP/1.1\r\nHost: x\r\n\r\n")
got = b""
while len(got) < 300000:
    b = s.recv(65536)
    assert b, "EOF before the stall"
    got += b
print("stalled", flush=True)
sys.stdin.readline()
try:
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        got += b
except (ConnectionResetError, socket.timeout):
    pass
open(out, "wb").write(got)
print("done", flush=True)
"""


def test_a_file_that_shrinks_while_referenced_is_never_sent_wrong(engine_pair, tmp_path):
    """The mmap sender hands the stack references into the file cache's
    mapping. A client stops reading a 32 MiB reply after 300 KB, with up to
    the stack's 1 MiB send buffer referenced beyond what it took; the file
    is then truncated, so those pages are gone. The copy into a transmit
    buffer meets SIGBUS there: the server must stay up, reset that
    connection, and every byte the client got must be the file's."""
    pair, start = engine_pair
    root = make_root(tmp_path)
    original = random.Random(3).randbytes(32 << 20)
    (root / "shrink.bin").write_bytes(original)
    srv = start(root, "mmap")
    out = tmp_path / "got.bin"
    client = subprocess.Popen(pair.in_client(sys.executable, "-c", SHRINK_CLIENT,
                                             netns.SERVER_ADDR, str(out)),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert client.stdout.readline().strip() == "stalled"
        os.truncate(root / "shrink.bin", 0)
        client.stdin.write("go\n")
        client.stdin.flush()
        assert client.stdout.readline().strip() == "done"
        assert client.wait(30) == 0
    finally:
        if client.poll() is None:
            client.kill()
    head, _, body = out.read_bytes().partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert 300000 - len(head) <= len(body) < len(original), len(body)
    assert body == original[:len(body)], "a byte that is not the file's was sent"
    assert srv.proc.poll() is None, "the server died:\n" + "\n".join(srv.stderr_lines[-20:])
    assert any("a file shrank while its pages were being sent" in line for line in srv.stderr_lines)
    r = subprocess.run(pair.in_client("curl", "-s", "-m", "20",
                                      f"http://{netns.SERVER_ADDR}/hello.txt"),
                       capture_output=True, check=True)
    assert r.stdout == (root / "hello.txt").read_bytes()
    srv.stop()


def test_a_mac_the_device_cannot_take_is_refused_with_the_reason(engine_pair, tmp_path,
                                                                 request):
    """io.dpdk.mac is set on the device at start; net_af_xdp takes its
    interface's address and refuses another: start-up stops with exit 1,
    naming the setting and what to do instead, never a stack that answers
    ARP with an address the link does not deliver to it."""
    pair, _ = engine_pair
    r = subprocess.run(pair.in_server(
        request.config.getoption("--zcserve"), "--root", str(make_root(tmp_path)), "--listen",
        "127.0.0.1:80", "--admin", "off", "--engine", "dpdk",
        "--set", f"io.dpdk.vdev=net_af_xdp0,iface={pair.server_if},busy_budget=0",
        "--set", f"io.dpdk.address={netns.SERVER_ADDR}/{netns.PREFIX}",
        "--set", "io.dpdk.mac=02:00:00:00:00:01"), capture_output=True, text=True, timeout=60)
    if "did not probe" in r.stderr:
        pytest.skip("net_af_xdp is unavailable here")
    assert r.returncode == 1, r.stderr[-2000:]
    assert "io.dpdk.mac" in r.stderr and "ip link set dev" in r.stderr, r.stderr[-2000:]
