"""Slowloris: many connections each send a header byte a second and never
finish their head. The server keeps serving everyone else, and closes each
slow one at server.header_timeout (counted from the first byte of the
head, so trickling does not extend it)."""

import socket
import time

import httpraw

SLOW = 200
HEADER_TIMEOUT = 2.0
SLACK = 3.0  # for timers that fire on a coarse tick, and a busy machine
BOUND = 5.0  # the others: not starved, not timed


def test_slowloris_closed_at_header_timeout(start_server, tree):
    srv = start_server(settings={"server.header_timeout": f"{int(HEADER_TIMEOUT * 1000)}ms"})
    slow = []
    for _ in range(SLOW):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        s.setblocking(False)
        s.send(b"GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        slow.append(s)
    began = time.monotonic()
    closed_at = {}
    worst = 0.0
    while len(closed_at) < SLOW and time.monotonic() - began < HEADER_TIMEOUT + SLACK:
        for i, s in enumerate(slow):
            if i in closed_at:
                continue
            try:
                data = s.recv(4096)  # a 408 or nothing, then the close
                if not data:
                    closed_at[i] = time.monotonic() - began
                    continue
            except BlockingIOError:
                pass
            except OSError:
                closed_at[i] = time.monotonic() - began
                continue
            try:
                s.send(b"X")  # one more byte of a header name that never ends
            except BlockingIOError:
                pass
            except OSError:
                closed_at[i] = time.monotonic() - began
        t0 = time.monotonic()
        r = httpraw.fetch(srv.port, "GET", "/hello.txt", timeout=BOUND + 5)
        took = time.monotonic() - t0
        worst = max(worst, took)
        assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")
        assert took < BOUND, f"a normal client waited {took:.1f} s among {SLOW} slow ones"
        time.sleep(max(0.0, 1.0 - (time.monotonic() - t0)))
    for s in slow:
        s.close()
    srv.check_alive()
    still = SLOW - len(closed_at)
    assert still == 0, (f"{still} of {SLOW} slow connections still open "
                        f"{HEADER_TIMEOUT + SLACK:.0f} s after their first byte "
                        f"(server.header_timeout = {HEADER_TIMEOUT:.0f} s)")
