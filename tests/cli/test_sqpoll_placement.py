"""Where the io_uring engine's submission-queue polling thread runs. A
poller that shares its CPU with a worker takes turns with it and costs more
than the calls it saves (docs/backends/io_uring.md), so with
io.uring.sq_thread_cpu left at -1 it goes to a CPU no worker is pinned to,
and when the process has none, start-up says so. Checked on the real
threads: the kernel's poller is a thread of the process, iou-sqp-PID."""

import glob
import http.client
import os
import re
import shutil
import signal
import subprocess

import pytest


def start(zcserve, root, *extra, prefix=()):
    proc = subprocess.Popen(
        [*prefix, zcserve, "--root", str(root), "--listen", "127.0.0.1:0", "--admin", "off",
         "--engine", "io_uring", "--sender", "readv_writev", "--set", "io.uring.sqpoll=true",
         *extra],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines, ready = [], None
    for line in proc.stderr:
        lines.append(line)
        if line.startswith("zcserve-ready "):
            ready = line
            break
    if ready is None:
        proc.wait(timeout=15)
        text = "".join(lines)
        if "refuses IORING_SETUP_SQPOLL" in text or "io_uring" in text and "not usable" in text:
            pytest.skip("this kernel gives no SQPOLL ring here:\n" + text)
        pytest.fail("zcserve did not start:\n" + text)
    port = int(re.search(r'"port": (\d+)', ready).group(1))
    return proc, port, lines


def pollers(pid):
    """{tid: Cpus_allowed_list} of the process's iou-sqp threads."""
    out = {}
    for task in glob.glob(f"/proc/{pid}/task/*"):
        try:
            with open(f"{task}/comm") as f:
                comm = f.read().strip()
            if not comm.startswith("iou-sqp"):
                continue
            with open(f"{task}/status") as f:
                allowed = re.search(r"^Cpus_allowed_list:\s*(\S+)", f.read(), re.M).group(1)
        except OSError:
            continue
        out[int(os.path.basename(task))] = allowed
    return out


def the_poller(pid):
    """The one polling thread's allowed CPUs. The start-up probe's own
    SQPOLL ring (made to learn whether the kernel allows one, and closed at
    once) may leave its thread behind for a moment while the kernel tears
    the ring down: wait for it to go."""
    import time
    deadline = time.monotonic() + 5
    while True:
        found = pollers(pid)
        if len(found) == 1 or time.monotonic() > deadline:
            assert len(found) == 1, found
            return next(iter(found.values()))
        time.sleep(0.05)


def get(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/f.txt")
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=15)
    assert proc.returncode == 0


@pytest.fixture
def root(tmp_path):
    (tmp_path / "f.txt").write_bytes(b"polled\n")
    return tmp_path


@pytest.fixture
def cpus():
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        pytest.skip("needs two CPUs")
    return allowed


def test_the_poller_takes_a_cpu_no_worker_is_pinned_to(zcserve, root, cpus):
    worker_cpu, spare = cpus[0], cpus[1]
    proc, port, lines = start(zcserve, root, "--set", f"server.cpu_affinity=[{worker_cpu}]",
                              prefix=("taskset", "-c", f"{worker_cpu},{spare}"))
    try:
        assert get(port) == (200, b"polled\n")
        assert the_poller(proc.pid) == str(spare)
        assert any(f"polling thread on CPU {spare}" in l for l in lines), "".join(lines)
    finally:
        stop(proc)


def test_no_cpu_of_its_own_is_said_at_start(zcserve, root, cpus):
    if not shutil.which("taskset"):
        pytest.skip("needs taskset (util-linux)")
    cpu = cpus[0]
    proc, port, lines = start(zcserve, root, "--set", f"server.cpu_affinity=[{cpu}]",
                              prefix=("taskset", "-c", str(cpu)))
    try:
        assert get(port) == (200, b"polled\n")
        assert the_poller(proc.pid) == str(cpu)
        warned = [l for l in lines if "every CPU this process may run on" in l]
        assert len(warned) == 1 and " warning " in warned[0], "".join(lines)
    finally:
        stop(proc)


def test_a_cpu_named_for_the_poller_is_kept(zcserve, root, cpus):
    proc, port, lines = start(zcserve, root, "--set", f"server.cpu_affinity=[{cpus[1]}]",
                              "--set", f"io.uring.sq_thread_cpu={cpus[1]}")
    try:
        assert get(port) == (200, b"polled\n")
        assert the_poller(proc.pid) == str(cpus[1])
        assert not any("polling thread" in l or "every CPU" in l for l in lines), "".join(lines)
    finally:
        stop(proc)
