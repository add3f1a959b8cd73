"""The dpdk engine's system calls, as the kernel counts them: under wrk (1 KiB,
16 connections, in the client namespace), perf stat on the whole server
process. With the mmap sender the worker makes none of its own per
request; what is left is the PMD's transmit kick (af_xdp's sendto, once
per burst), and transmit batching (io.dpdk.tx_delay_us) makes bursts
larger. zcserve's own count (its wrapped calls plus the library calls the
PMD made on the worker) must agree with the kernel's. Counts, not times."""

import json
import os
import shutil
import subprocess
import sys

import pytest

import netns
from conftest import make_root

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "measurement"))
import tracers  # noqa: E402

PERF_TOLERANCE = 0.03


def totals(srv):
    t = json.loads(srv.admin_get("/stats"))["totals"]
    return t["requests"], t["syscalls"] + t["library_syscalls"]


@pytest.mark.parametrize("delay_us,at_most", [(0, 1.0), (50, 0.25)],
                         ids=["kick-per-burst", "tx_delay_us=50"])
def test_kernel_counted_calls_per_request(engine_pair, tmp_path, delay_us, at_most):
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (scripts/setup installs it)")
    if tracers.missing("perf"):
        pytest.skip("perf is not installed (Debian package linux-perf)")
    pair, start = engine_pair
    srv = start(make_root(tmp_path), "mmap", [f"io.dpdk.tx_delay_us={delay_us}"])
    url = f"http://{netns.SERVER_ADDR}/1k.bin"

    def wrk(seconds):
        r = subprocess.run(pair.in_client("wrk", "-t1", "-c16", f"-d{seconds}s", url),
                           capture_output=True, text=True, timeout=seconds + 30)
        assert r.returncode == 0, r.stderr
        assert "Non-2xx" not in r.stdout and "Socket errors" not in r.stdout, r.stdout

    wrk(1)  # warm-up: the file is open, mapped and cached; ARP is done
    req0, self0 = totals(srv)
    try:
        perf = tracers.PerfStat(srv.pid).start()
    except tracers.ToolUnavailable as e:
        pytest.skip(str(e))
    try:
        wrk(3)
    finally:
        kernel = perf.stop()
    req1, self1 = totals(srv)
    requests = req1 - req0
    assert requests > 1000, f"only {requests} requests in 3 s"
    per_request = kernel / requests
    assert per_request <= at_most, (
        f"{per_request:.3f} system calls per request (kernel: {kernel} for {requests}), "
        f"want at most {at_most}")
    own = self1 - self0
    assert abs(own - kernel) <= PERF_TOLERANCE * kernel + 20, (
        f"zcserve counted {own} calls, the kernel {kernel}")
    srv.stop()


def copies(srv):
    t = json.loads(srv.admin_get("/stats"))["totals"]
    return t["requests"], t["copied_bytes"]


@pytest.mark.parametrize("sender", ["read_write", "mmap"])
def test_copies_per_request_where_they_happen(engine_pair, tmp_path, sender):
    """Every copy of a 1 KiB reply, counted where it is made: read_write
    preads the range (kernel to user) and copies it into lwIP's segments;
    mmap references the mapping, so the body's one copy is the frame's
    into a transmit buffer. Both copy every frame into a transmit buffer
    (in_user), where a kernel stack would copy in send()."""
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (scripts/setup installs it)")
    pair, start = engine_pair
    srv = start(make_root(tmp_path), sender)
    url = f"http://{netns.SERVER_ADDR}/1k.bin"
    subprocess.run(pair.in_client("wrk", "-t1", "-c4", "-d1s", url), check=True,
                   capture_output=True, timeout=30)
    req0, c0 = copies(srv)
    subprocess.run(pair.in_client("wrk", "-t1", "-c4", "-d2s", url), check=True,
                   capture_output=True, timeout=30)
    req1, c1 = copies(srv)
    n = req1 - req0
    assert n > 500
    per = {k: (c1[k] - c0[k]) / n for k in ("to_user", "from_user", "in_user", "body")}
    # Every frame of the reply (head, body, headers) into a transmit buffer
    assert per["in_user"] >= 1024 + 100, per
    assert per["body"] <= per["to_user"] + per["in_user"], per
    assert per["from_user"] == 0, per  # no socket: nothing is copied into the kernel
    if sender == "mmap":
        assert per["to_user"] < 1, per  # the file is never read
        assert 1024 <= per["body"] < 1.05 * 1024, per  # its one copy, and rare resends
    else:
        assert per["to_user"] >= 1024, per  # pread
        assert per["body"] >= 2 * 1024, per
    srv.stop()
