"""When the process may not open the kernel's syscall counters it still
serves, and says so: in /metrics, in /stats, and once on stderr.

The test runs zcserve as user nobody without capabilities. At
kernel.perf_event_paranoid >= 2 an unprivileged process may not count
kernel events (raw_syscalls:sys_enter is one: zcserve does not set
exclude_kernel), and tracefs, where the tracepoint's id is read, is
root-only; either refusal must be reported.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path

import pytest

import promparse
import rawload

NOBODY = 65534
KiB = 1024
SETPRIV = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all"]


def _world_reachable(path):
    """Every directory above `path` is searchable by others."""
    p = Path(path).resolve()
    for d in [*p.parents]:
        if not os.stat(d).st_mode & stat.S_IXOTH:
            return False, str(d)
    return True, None


def _paranoid():
    try:
        with open("/proc/sys/kernel/perf_event_paranoid") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


@pytest.fixture
def world_readable_root():
    base = tempfile.mkdtemp(prefix="zc-nobody-")
    try:
        ok, where = _world_reachable(base)
        if not ok:
            pytest.skip(f"{where} is not searchable by others, so user nobody cannot reach a root "
                        f"made under {tempfile.gettempdir()}")
        os.chmod(base, 0o755)
        f = Path(base) / "1KiB.bin"
        f.write_bytes(b"n" * KiB)
        os.chmod(f, 0o644)
        yield Path(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def nobody_server(start_server, opts, world_readable_root):
    """zcserve as user nobody, without capabilities, serving /1KiB.bin."""
    if os.geteuid() != 0:
        pytest.skip("needs root, to start the server as user nobody with setpriv")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv is not installed (Debian package util-linux)")
    paranoid = _paranoid()
    if paranoid is None or paranoid <= 1:
        pytest.skip(f"kernel.perf_event_paranoid = {paranoid}: at 1 or below an unprivileged "
                    "process may count kernel tracepoints, so nobody's counters may open")
    ok, where = _world_reachable(opts["binary"])
    if not ok or not os.stat(opts["binary"]).st_mode & stat.S_IXOTH:
        pytest.skip(f"user nobody cannot execute {opts['binary']} ({where or 'not o+x'})")

    srv = start_server(root=world_readable_root, prefix=SETPRIV)
    with open(f"/proc/{srv.pid}/status") as f:
        uids = next(line for line in f if line.startswith("Uid:")).split()[1:]
    assert uids == [str(NOBODY)] * 4, f"setpriv did not make the server nobody: Uid {uids}"
    return srv


def test_kernel_count_unavailable_is_reported(nobody_server):
    srv = nobody_server
    # It serves.
    rawload.run(srv.port, "/1KiB.bin", KiB, 20, content=b"n" * KiB)
    # A reply is counted when the send that finished it has returned: the
    # client can hold the last byte a moment before the count moves.
    time.sleep(0.3)

    # /metrics says so.
    text = srv.metrics()
    families = promparse.parse(text)
    avail = families["zcserve_kernel_count_available"].samples
    assert len(avail) == 1 and avail[0].value == 0, \
        f"want zcserve_kernel_count_available{{...}} 0, got {[(s.labels, s.value) for s in avail]}"
    kernel = families.get("zcserve_kernel_syscalls_total")
    assert kernel is None or not kernel.samples, \
        "zcserve_kernel_syscalls_total has samples although no counter could be opened"
    requests = sum(s.value for s in families["zcserve_requests_total"].samples)
    assert requests == 20

    # /stats says so, and why.
    s = srv.stats()
    assert s["kernel_count_available"] is False
    reason = s["kernel_count_unavailable_reason"]
    assert isinstance(reason, str) and reason.strip(), "kernel_count_unavailable_reason is empty"
    assert all(w["kernel_syscalls"] is None for w in s["workers"]), s["workers"]
    assert s["per_request"]["lifetime"]["kernel_syscalls"] is None

    # stderr says so once, at start-up, not per request or per admin read.
    warnings = [line for line in srv.stderr_lines
                if re.search(r"\bwarn(ing)?\b", line, re.IGNORECASE) and "unavailable" in line]
    assert len(warnings) == 1, f"want one warning about the kernel count, got {warnings}"
    assert "kernel" in warnings[0] and reason in warnings[0], \
        f"the warning does not give the reason {reason!r}: {warnings[0]!r}"


def _tracefs_mounted():
    with open("/proc/self/mounts") as f:
        return any(line.split()[1:3] == ["/sys/kernel/tracing", "tracefs"] for line in f)


def test_kernel_count_unavailable_reason_names_the_real_cause(nobody_server):
    """The reason is what an operator acts on: when tracefs is mounted and
    merely unreadable, the reason must not say it is not mounted."""
    if not _tracefs_mounted():
        pytest.skip("tracefs is not mounted at /sys/kernel/tracing: 'not mounted' would be true")
    reason = nobody_server.stats()["kernel_count_unavailable_reason"]
    assert "not mounted" not in reason, \
        f"tracefs is mounted at /sys/kernel/tracing, yet the reason says: {reason!r}"
