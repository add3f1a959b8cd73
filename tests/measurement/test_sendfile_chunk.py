"""io.sendfile_chunk_bytes bounds what one sendfile call moves, apart from
io.chunk_bytes (staging buffers and pipes): counted per request over the
same keep-alive load, with the default (2 MiB) and with 16 KiB."""

from __future__ import annotations

import time

import pytest

import rawload
import stats
from server import Server, StartError

pytestmark = pytest.mark.once

SIZE = 256 * 1024
REQUESTS = 200


def sendfile_calls_per_request(opts, docroot, extra_args=()):
    srv = Server(opts["binary"], docroot.root, opts["engine"], "sendfile", extra_args=extra_args)
    try:
        srv.start()
    except StartError as e:
        pytest.fail(str(e), pytrace=False)
    try:
        target = docroot.target(SIZE)
        rawload.run(srv.port, target, SIZE, 3, content=docroot.content[SIZE])
        time.sleep(0.2)
        a = srv.stats()
        rawload.run(srv.port, target, SIZE, REQUESTS)
        time.sleep(0.2)
        b = srv.stats()
    finally:
        err = srv.stop()
    if err:
        pytest.fail(f"{err}\n{srv.log_tail()}", pytrace=False)
    wa, wb = stats.worker(a), stats.worker(b)
    assert stats.delta(wb, wa, "requests") == REQUESTS
    return stats.calls_delta(wb, wa).get("sendfile", 0) / REQUESTS


def test_one_sendfile_moves_up_to_sendfile_chunk_bytes(opts, docroot):
    if opts["engine"] not in ("epoll", "blocking", "asio"):
        pytest.skip(f"{opts['engine']} has no sendfile sender")
    # 16 KiB a call: a 256 KiB body takes at least 16 calls, whatever the
    # socket takes; with the default, loopback takes the body in one.
    small = sendfile_calls_per_request(opts, docroot,
                                       ("--set", "io.sendfile_chunk_bytes=16384"))
    default = sendfile_calls_per_request(opts, docroot)
    assert small >= SIZE / 16384, f"{small} sendfile calls per request with 16 KiB calls"
    assert default < 2, f"{default} sendfile calls per request with 2 MiB calls"
