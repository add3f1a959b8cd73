"""A machine whose only IPv4 address is loopback's (a container started
with --network none, a namespace whose NIC a userspace stack owns: the
dpdk engine's) must still be able to listen on 127.0.0.1. The resolver's
AI_ADDRCONFIG does not count loopback: with an interface that has only an
IPv6 link-local address, it answered 127.0.0.1 with "Address family for
hostname not supported"."""

import os
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "loadtest"))
from zcload.launch import Process, StartError  # noqa: E402


def test_listens_where_loopback_is_the_only_interface(zcserve, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("a network namespace of its own needs root")
    for tool in ("unshare", "nsenter", "ip", "curl"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    (tmp_path / "a.txt").write_bytes(b"only loopback here\n")
    srv = Process(["unshare", "--net", "sh", "-c",
                   'ip link set lo up && ip link add zcv0 type veth peer name zcv1 && '
                   'ip link set zcv0 up && ip link set zcv1 up && '
                   'exec "$0" "$@"', zcserve, "--root", str(tmp_path),
                   "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"])
    try:
        try:
            ready = srv.wait_ready(10)
        except StartError as e:
            pytest.fail(f"zcserve did not start: {e}\n" + "\n".join(srv.stderr_lines[-5:]))
        for port, path, want in ((ready["port"], "/a.txt", b"only loopback here\n"),
                                 (ready["admin_port"], "/stats", b"{")):
            got = subprocess.run(["nsenter", "-t", str(srv.proc.pid), "-n", "curl", "-sS",
                                  f"http://127.0.0.1:{port}{path}"],
                                 capture_output=True, timeout=10)
            assert got.returncode == 0, got.stderr
            assert got.stdout.startswith(want)
    finally:
        if srv.proc.poll() is None:
            srv.proc.terminate()
            assert srv.proc.wait(15) == 0
