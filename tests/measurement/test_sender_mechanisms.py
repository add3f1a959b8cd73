"""What each sender's mechanism must cost, in counts, for the same load:
500 keep-alive requests for a 256 KiB file on one connection, one server
per sender, figures from the deltas of two /stats reads around the load.

- read_write: pread into a buffer (a copy to user memory), write it out (a
  copy back): the body is copied twice.
- readv_writev: the same two copies, but the head rides in the body's
  writev: fewer calls per request than read_write.
- mmap: writev straight from the mapping: one copy (user to kernel).
- sendfile, splice: the body never enters user memory: no body copy, and
  only heads (a few hundred bytes) and request lines cross.

Independent of --sender: runs once (see conftest.py).
"""

from __future__ import annotations

import time

import pytest

import rawload
import stats
from server import Server, StartError

pytestmark = pytest.mark.once

SIZE = 256 * 1024
REQUESTS = 500
WARMUP = 3
SENDERS = ("read_write", "readv_writev", "mmap", "sendfile", "splice")
BODY_COPIES = {"read_write": 2, "readv_writev": 2, "mmap": 1, "sendfile": 0, "splice": 0}
HEADS_ONLY_LIMIT = 1024  # bytes copied per request when no body is copied


@pytest.fixture(scope="module")
def measured(opts, docroot):
    """{sender: figures} for the same load against each sender."""
    out = {}
    target = docroot.target(SIZE)
    for sender in SENDERS:
        srv = Server(opts["binary"], docroot.root, opts["engine"], sender)
        try:
            srv.start()
        except StartError as e:
            pytest.fail(str(e), pytrace=False)
        try:
            rawload.run(srv.port, target, SIZE, WARMUP, content=docroot.content[SIZE])
            time.sleep(0.2)
            a = srv.stats()
            rawload.run(srv.port, target, SIZE, REQUESTS)
            time.sleep(0.2)
            b = srv.stats()
        finally:
            err = srv.stop()
        if err:
            pytest.fail(f"{sender}: {err}\n{srv.log_tail()}", pytrace=False)
        wa, wb = stats.worker(a), stats.worker(b)
        out[sender] = {
            "requests": stats.delta(wb, wa, "requests"),
            "calls": stats.delta(wb, wa, "syscalls"),
            "by_call": stats.calls_delta(wb, wa),
            "body": stats.delta(wb, wa, "copied_bytes", "body"),
            "copied": (stats.delta(wb, wa, "copied_bytes", "to_user")
                       + stats.delta(wb, wa, "copied_bytes", "from_user")),
            "totals_body": stats.delta(b["totals"], a["totals"], "copied_bytes", "body"),
            "to_user": stats.delta(wb, wa, "copied_bytes", "to_user"),
        }
        print(f"{sender}: {out[sender]}")
        assert out[sender]["requests"] == REQUESTS, f"{sender}: worker counted {out[sender]}"
    return out


@pytest.mark.parametrize("sender", SENDERS)
def test_every_request_byte_is_counted_as_copied_in(measured, docroot, sender):
    """Whoever reads the request (zcserve's wrapper, io_uring's provided
    buffers, Asio's own recvmsg) copies its bytes from the kernel: at least
    the requests' length is counted as copied to user space."""
    request = len(rawload.request_bytes(docroot.target(SIZE)))
    got = measured[sender]["to_user"]
    assert got >= REQUESTS * request, (
        f"{sender}: {got} bytes copied to user space for {REQUESTS} requests of {request} bytes")


def test_readv_writev_makes_fewer_calls_per_request_than_read_write(measured):
    rw, rv = measured["read_write"], measured["readv_writev"]
    assert rv["calls"] / REQUESTS < rw["calls"] / REQUESTS, (
        f"readv_writev {rv['calls'] / REQUESTS:.2f} calls per request {rv['by_call']}, "
        f"read_write {rw['calls'] / REQUESTS:.2f} {rw['by_call']}")


@pytest.mark.parametrize("sender", ["sendfile", "splice"])
def test_zero_copy_sender_copies_no_body_bytes(measured, sender):
    m = measured[sender]
    assert m["body"] == 0, f"{sender} copied {m['body']} body bytes for {REQUESTS} requests"
    assert m["totals_body"] == 0, f"{sender}: totals show {m['totals_body']} body bytes copied"
    per_request = m["copied"] / REQUESTS
    assert per_request < HEADS_ONLY_LIMIT, (
        f"{sender} copied {per_request:.0f} bytes per request; only request and reply heads "
        f"should cross (< {HEADS_ONLY_LIMIT})")


@pytest.mark.parametrize("sender", ["read_write", "readv_writev", "mmap"])
def test_copying_sender_copies_the_body_exactly_as_its_mechanism_says(measured, sender):
    m = measured[sender]
    copies = BODY_COPIES[sender]
    want = copies * SIZE * REQUESTS
    assert m["body"] == want, (
        f"{sender}: {m['body']} body bytes copied for {REQUESTS} x {SIZE}; want {copies} x body "
        f"= {want}")
    assert m["totals_body"] == want
    # Heads and request lines are copied too, but never more than a few
    # hundred bytes each.
    heads = m["copied"] - m["body"]
    assert 0 < heads / REQUESTS < HEADS_ONLY_LIMIT, \
        f"{sender}: {heads / REQUESTS:.0f} non-body bytes copied per request"
