"""Options and the served engine the dpdk tests share."""

import contextlib
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
# The senders the dpdk engine has (backends/dpdk/dpdk_engine.cc).
SENDERS = ("read_write", "mmap")


def pytest_addoption(parser):
    parser.addoption("--stack-smoke", required=True, help="the stack_smoke binary")
    parser.addoption("--zcserve", required=True, help="the zcserve binary, with the dpdk engine")


class Engine:
    """zcserve --engine dpdk in the server namespace of `pair`, its admin
    listener on the namespace's own loopback (a kernel socket: the stack
    owns the veth)."""

    def __init__(self, zcserve, pair, root, sender, settings=()):
        self.pair, self.root, self.sender = pair, root, sender
        argv = [zcserve, "--root", str(root), "--listen", "127.0.0.1:80", "--admin",
                "127.0.0.1:0", "--engine", "dpdk", "--sender", sender,
                "--set", f"io.dpdk.vdev=net_af_xdp0,iface={pair.server_if},busy_budget=0",
                "--set", f"io.dpdk.address={netns.SERVER_ADDR}/{netns.PREFIX}"]
        for kv in settings:
            argv += ["--set", kv]
        self.launched = Process(pair.in_server(*argv))
        self.proc = self.launched.proc
        self.stderr_lines = self.launched.stderr_lines
        try:
            self.ready = self.launched.wait_ready(30)
        except StartError as e:
            self.proc.kill()
            self.proc.wait()
            if any("did not probe" in line for line in self.stderr_lines):
                pytest.skip("net_af_xdp is unavailable here: " + self.stderr_lines[-1])
            pytest.fail(f"zcserve --engine dpdk did not start: {e}\n" +
                        "\n".join(self.stderr_lines[-20:]))
        assert self.ready["listen"] == f"{netns.SERVER_ADDR}:80"
        self.pid = self.ready["pid"]

    @property
    def _watch(self):
        return self.launched._watch

    def admin_get(self, path):
        """GET on the admin listener, from inside the server namespace."""
        r = subprocess.run(self.pair.in_server("curl", "-sS", "-m", "10",
                                               f"http://127.0.0.1:{self.ready['admin_port']}{path}"),
                           capture_output=True, check=True)
        return r.stdout

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        rc = self.proc.wait(20)
        assert rc == 0, f"exit {rc}:\n" + "\n".join(self.stderr_lines[-20:])


def make_root(tmp_path):
    root = tmp_path / "root"
    (root / "dir").mkdir(parents=True)
    (root / "hello.txt").write_bytes(b"hello through the stack\n")
    (root / "big.bin").write_bytes(random.Random(7).randbytes(BIG))
    (root / "dir" / "index.html").write_bytes(b"<p>index</p>\n")
    (root / "1k.bin").write_bytes(random.Random(1).randbytes(1024))
    return root


@pytest.fixture
def pair():
    """A namespace pair for this test (loadtest/zcload/netns.py), deleted
    after it; skipped with the reason where namespaces cannot be made."""
    why = netns.unavailable()
    if why:
        pytest.skip(why)
    with netns.Pair(f"zd{os.getpid() % 100000}") as p:
        yield p


@pytest.fixture
def engine_pair(request, pair):
    """The namespace pair, and a way to start engines in it."""
    zcserve = request.config.getoption("--zcserve")
    started = []

    def start(root, sender, settings=()):
        e = Engine(zcserve, pair, root, sender, settings)
        started.append(e)
        return e

    try:
        yield pair, start
    finally:
        for e in started:
            with contextlib.suppress(Exception):
                if e.proc.poll() is None:
                    e.proc.kill()
                    e.proc.wait()


@pytest.fixture(params=SENDERS)
def served(request, tmp_path, engine_pair):
    """The engine with one of its senders, serving a small tree; it must
    end with exit code 0 on SIGTERM."""
    pair, start = engine_pair
    root = make_root(tmp_path)
    srv = start(root, request.param)
    yield pair, root, srv
    srv.stop()
