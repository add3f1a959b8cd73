"""The context switches /stats reports for a worker are the kernel's own
count for that thread, as /proc/PID/task/TID/status shows it."""

from __future__ import annotations

import time

import pytest

import rawload
import stats
import tracers

REQUESTS = 2000
KiB = 1024
# The admin thread reads the worker's /proc status while the worker runs
# on; /stats and our own read of the same file are two moments, not one.
# An idle worker can still wake between them (an idle-timer expiry, a
# late close): each wake is one voluntary switch as it sleeps again in
# epoll_wait, and on a busy machine perhaps one involuntary. Allow two.
SLACK = 2


def _switches(srv, tids):
    per = [tracers.task_switches(srv.pid, t) for t in tids]
    return tuple(sum(p[i] for p in per) for i in (0, 1))


def test_context_switches_match_proc(start_server, docroot):
    srv = start_server()
    size = 1 * KiB
    target = docroot.target(size)
    # With the blocking engine, the connection threads' switches are the
    # worker's too: warm up so the load's thread exists (and is reused).
    rawload.run(srv.port, target, size, 2)
    time.sleep(0.3)
    tids = srv.serving_tids(0)
    before = _switches(srv, tids)
    rawload.run(srv.port, target, size, REQUESTS, content=docroot.content[size])
    time.sleep(0.3)  # the worker handles the close and goes idle
    assert srv.serving_tids(0) == tids, "a serving thread started or ended during the load"

    # /proc first, /stats, /proc again: the figure /stats read (from the
    # same file, on the admin thread) must lie between the two, and the
    # two may differ only by wake-ups of an idle worker.
    p0 = _switches(srv, tids)
    s = srv.stats()
    p1 = _switches(srv, tids)
    cs = stats.worker(s)["context_switches"]
    reported = (cs["voluntary"], cs["involuntary"])

    for kind, i in (("voluntary", 0), ("involuntary", 1)):
        assert p0[i] <= reported[i] <= p1[i], (
            f"{kind}: /stats says {reported[i]}, /proc said {p0[i]} just before and {p1[i]} "
            f"just after")
        assert p1[i] - reported[i] <= SLACK, (
            f"{kind}: /stats says {reported[i]}, /proc says {p1[i]} right after")
    # A request-then-reply client makes the worker wait in epoll_wait
    # between requests: the load must show as voluntary switches.
    assert p1[0] > before[0], f"no voluntary switch during {REQUESTS} requests: {before} -> {p1}"
    # The per-request total is the sum of its two kinds (each printed to
    # six significant digits, hence approx).
    lifetime = s["per_request"]["lifetime"]
    assert lifetime["context_switches"] == pytest.approx(
        lifetime["voluntary_switches"] + lifetime["involuntary_switches"], rel=1e-5)
