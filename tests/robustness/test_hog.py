"""One client pipelines megabytes of requests and never reads its replies;
everyone else must still be served.

On io_uring such a client once took every provided receive buffer: the
worker spun at full CPU and other clients waited for seconds, or for ever
while the hog read slowly. A server must stop reading from a connection
whose replies are not leaving, as epoll does by not reading."""

import socket
import threading
import time

import httpraw
import pytest
from support import assert_serving

HOG_BYTES = 4 * 1024 * 1024
OTHERS = 20
REQUESTS_EACH = 5
# Generous: this checks that nobody starves, not how fast anyone is served.
BOUND = 5.0


def hog_sends(port, stop, sent):
    """Pipelines up to HOG_BYTES of requests without reading a byte, until
    the server stops taking them (its and our buffers are full) or `stop`."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)  # before connect
    s.connect(("127.0.0.1", port))
    s.settimeout(0.2)
    block = httpraw.build_request("GET", "/f4096.bin") * 256
    while sent[0] < HOG_BYTES and not stop.is_set():
        try:
            sent[0] += s.send(block)
        except socket.timeout:
            continue  # the server reads no more for now; ask again until told to stop
        except OSError:
            break
    stop.wait(60)
    return s


def test_pipelining_hog_starves_nobody(start_server, tree):
    check_nobody_starves(start_server(), tree)


def test_hog_cannot_take_a_small_ring(start_server, tree, engine):
    """io_uring's multishot receive fills provided buffers in the kernel
    before the worker sees the first of them and can stop it: with a ring
    of 16 small buffers the hog's first burst took them all, every other
    connection's receive failed with ENOBUFS and stayed stopped until the
    hog was timed out. (With the default ring, the same happened now and
    then under SQPOLL on a busy machine, when the stop landed late.)"""
    if engine != "io_uring":
        pytest.skip("provided receive buffers are io_uring's")
    srv = start_server(settings={"io.uring.buffers": 16, "io.uring.buffer_size": 512})
    check_nobody_starves(srv, tree)


def check_nobody_starves(srv, tree):
    stop = threading.Event()
    sent = [0]
    holder = {}
    hog = threading.Thread(target=lambda: holder.setdefault("s", hog_sends(srv.port, stop, sent)),
                           daemon=True)
    hog.start()
    time.sleep(1.0)  # the hog's requests and unread replies pile up first

    worst = [0.0]
    errors = []

    def other(i):
        try:
            with httpraw.Client(srv.port, timeout=BOUND + 5) as c:
                for _ in range(REQUESTS_EACH):
                    t0 = time.monotonic()
                    r = c.request("GET", "/hello.txt")
                    took = time.monotonic() - t0
                    worst[0] = max(worst[0], took)
                    if r.status != 200 or r.body != tree.bytes_of("/hello.txt"):
                        errors.append(f"client {i}: status {r.status}, {len(r.body)} bytes")
                    elif took > BOUND:
                        errors.append(f"client {i}: answered after {took:.1f} s")
        except Exception as e:  # a timeout here is the starvation under test
            errors.append(f"client {i}: {type(e).__name__}: {e}")

    others = [threading.Thread(target=other, args=(i,)) for i in range(OTHERS)]
    t0 = time.monotonic()
    for t in others:
        t.start()
    for t in others:
        t.join(60)
    elapsed = time.monotonic() - t0
    stop.set()
    hog.join(10)
    srv.check_alive()
    assert not errors, (f"{len(errors)} of {OTHERS * REQUESTS_EACH} requests failed or waited over "
                        f"{BOUND:.0f} s while the hog had sent {sent[0]} bytes (worst {worst[0]:.1f} s, "
                        f"all done in {elapsed:.1f} s):\n" + "\n".join(errors[:10]))

    # The hog goes away without reading; the server keeps serving.
    s = holder.get("s")
    if s is not None:
        s.close()
    time.sleep(0.2)
    assert_serving(srv, tree)
    assert_serving(srv, tree, "/f1m1.bin")
