"""The dpdk engine's device and lwIP stack, before the engine: stack_smoke
brings up net_af_xdp on the server end of a veth pair and answers HTTP with
a fixed reply; real clients (curl, a raw socket) in the other namespace
talk to it through the kernel. Root only; skipped with the reason
otherwise, never passed silently."""

import os
import socket
import subprocess
import time

import pytest

import netns

REPLY_BODY = b"stack\n"


@pytest.fixture
def smoke(request):
    why = netns.unavailable()
    if why:
        pytest.skip(why)
    binary = request.config.getoption("--stack-smoke")
    with netns.Pair(f"zc{os.getpid() % 100000}") as pair:
        vdev = f"net_af_xdp0,iface={pair.server_if},busy_budget=0"
        proc = subprocess.Popen(
            pair.in_server(binary, "--vdev", vdev, "--ip", f"{netns.SERVER_ADDR}/{netns.PREFIX}",
                           "--seconds", "60"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        if line.strip() != "stack_smoke-ready":
            proc.kill()
            err = proc.stderr.read()
            code = proc.wait()
            if "did not probe" in err:
                # The PMD could not open an AF_XDP socket on the veth: the
                # kernel or the sandbox withholds XDP here.
                pytest.skip("net_af_xdp is unavailable here: " + err.strip().splitlines()[-1])
            pytest.fail(f"stack_smoke did not start (exit {code}):\n{err[-2000:]}")
        try:
            yield pair
        finally:
            proc.terminate()
            out, err = proc.communicate(timeout=10)
            assert proc.returncode == 0, f"stack_smoke exit {proc.returncode}:\n{err[-2000:]}"


def test_curl_through_the_veth(smoke):
    for _ in range(20):
        r = subprocess.run(smoke.in_client("curl", "-s", "-m", "5", f"http://{netns.SERVER_ADDR}/"),
                           capture_output=True)
        assert r.returncode == 0, r.stderr
        assert r.stdout == REPLY_BODY


CLIENT = r"""
import socket, sys
addr, n = sys.argv[1], int(sys.argv[2])
socks = []
for i in range(n):
    s = socket.create_connection((addr, 80), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    socks.append(s)
for s in socks:
    got = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        got += b
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    assert body == b"stack\n", body
print("ok", n)
"""


def test_many_connections_at_once(smoke):
    """50 connections open together: the listener's backlog, ARP once, and
    every reply whole on its own connection."""
    r = subprocess.run(smoke.in_client("python3", "-c", CLIENT, netns.SERVER_ADDR, "50"),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "ok 50"


def test_the_client_has_no_other_address(smoke):
    """The client's namespace holds loopback and the test's own address,
    nothing else: whatever the client sends can only reach the veth."""
    out = subprocess.run(smoke.in_client("ip", "-4", "-o", "addr"), capture_output=True,
                         text=True, check=True).stdout
    addrs = [f.split()[3] for f in out.splitlines()]
    assert sorted(addrs) == sorted(["127.0.0.1/8", f"{netns.CLIENT_ADDR}/{netns.PREFIX}"])
