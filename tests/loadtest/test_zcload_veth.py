"""loadtest/run over the veth, for real: the dpdk engine (net_af_xdp and
its own TCP/IP stack on one end of a veth pair) beside epoll/sendfile on
the same veth, wrk in the client namespace. Root only, and skipped with
the reason when the kernel refuses an AF_XDP socket; never passed
silently. Counts are asserted, timings never.

    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/loadtest/test_zcload_veth.py \\
        --zcserve build/zcserve
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from zcload import netns

HERE = os.path.dirname(os.path.abspath(__file__))
LOADTEST = os.path.join(os.path.dirname(os.path.dirname(HERE)), "loadtest")


@pytest.fixture(scope="module")
def zcserve(pytestconfig):
    path = pytestconfig.getoption("zcserve") or os.path.join(LOADTEST, "..", "build", "zcserve")
    if not os.access(path, os.X_OK):
        pytest.skip(f"no zcserve binary at {path} (--zcserve PATH)")
    why = netns.unavailable()
    if why:
        pytest.skip(why)
    for tool in ("wrk", "perf", "taskset"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed")
    listed = subprocess.run([path, "--list-backends"], capture_output=True, text=True).stdout
    if "+ engine=dpdk sender=read_write" not in listed:
        pytest.skip("this zcserve is built without the dpdk engine")
    return os.path.abspath(path)


def namespaces_of(pid):
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [l.split()[0] for l in out.splitlines() if re.match(rf"zh{pid}-[sc]\b", l)]


@pytest.fixture(scope="module")
def veth_run(zcserve, tmp_path_factory):
    out = tmp_path_factory.mktemp("loadtest") / "veth"
    p = subprocess.Popen(["/usr/bin/python3", os.path.join(LOADTEST, "run"), "--zcserve", zcserve,
                          "--backends", "dpdk/read_write,epoll/sendfile", "--path", "veth",
                          "--no-peers", "--sizes", "1k", "--repeats", "1", "--duration", "2",
                          "--warmup", "1", "--syscall-cost", "off", "--out", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    stdout, _ = p.communicate(timeout=300)
    doc = json.loads((out / "results.json").read_text())
    skipped = {s["backend"]: s["reason"] for s in doc["skipped"]}
    if "dpdk/read_write" in skipped:
        pytest.skip("dpdk skipped by the harness: " + skipped["dpdk/read_write"])
    assert p.returncode == 0, stdout
    return out, doc, stdout, p.pid


def test_dpdk_over_the_veth_counts(veth_run):
    out, doc, _, _ = veth_run
    r = next(r for r in doc["runs"] if r["engine"] == "dpdk")
    assert r["failed"] is False, r["failure"]
    assert r["path"] == "veth" and r["polling"] is True
    assert r["requests"] > 0 and r["errors"]["non_2xx"] == 0
    # the kernel's count: a pread per reply (zcserve's wrapper counts it)
    # and the PMD's sendto kicks (it does not)
    assert r["syscalls_per_request"] > 0
    assert r["wrapper_syscalls_per_request"] >= 0.99
    assert r["syscalls_by_call_per_request"]["pread"] >= 0.99
    assert r["syscalls_per_request"] >= 0.9 * r["wrapper_syscalls_per_request"]
    assert r["cpu_us_per_request"] > 0
    # every body byte three times: pread (kernel to user), into lwIP's
    # segments and into a transmit buffer (in user space); plus the head
    # twice, the frames' headers and the request read out of the frames
    assert 3 * 1024 <= r["copied_bytes_per_request"] < 3 * 1024 + 2048
    assert 2 * 1024 <= r["body_copied_bytes_per_request"] < 3 * 1024


def test_kernel_engine_over_the_same_veth(veth_run):
    out, doc, _, _ = veth_run
    r = next(r for r in doc["runs"] if r["engine"] == "epoll")
    assert r["failed"] is False, r["failure"]
    assert r["path"] == "veth" and r["polling"] is False and r["requests"] > 0
    assert r["syscalls_per_request"] >= 2.9  # recv, send, sendfile
    assert r["copied_bytes_per_request"] < 1024
    assert doc["veth"]["backends"] == ["dpdk/read_write", "epoll/sendfile"]
    assert doc["veth"]["offloads"]["client"]["tx-checksumming"] == "off"


def test_report_names_the_path_and_the_poller(veth_run):
    out, doc, stdout, _ = veth_run
    from zcload import render
    md = (out / "results.md").read_text()
    assert "| zcserve | dpdk/read_write (veth) | 1k | 64 |" in md
    assert "| zcserve | epoll/sendfile (veth) | 1k | 64 |" in md
    assert render.POLL_NOTE in md and render.POLL_MARK in md
    assert "Over the veth" in (out / "report.html").read_text()
    assert "[1/2] dpdk/read_write (veth) 1k c=64 rep 1/1" in stdout


def test_namespaces_deleted(veth_run):
    assert namespaces_of(veth_run[3]) == []


def test_interrupted_run_deletes_its_namespaces(zcserve, tmp_path):
    """SIGINT in the middle of a run over the veth: the harness stops its
    server and wrk and deletes its namespace pair."""
    p = subprocess.Popen(["/usr/bin/python3", os.path.join(LOADTEST, "run"), "--zcserve", zcserve,
                          "--backends", "epoll/sendfile", "--path", "veth", "--no-peers",
                          "--sizes", "1k", "--repeats", "1", "--duration", "20", "--warmup", "0",
                          "--syscall-cost", "off", "--out", str(tmp_path / "out")],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not namespaces_of(p.pid) and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.1)
        assert namespaces_of(p.pid), "the harness made no namespace pair"
        time.sleep(3)  # into the measured load
        p.send_signal(signal.SIGINT)
        stdout, _ = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 130, stdout
    assert namespaces_of(p.pid) == []
    left = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout
    assert left.strip() == ""
