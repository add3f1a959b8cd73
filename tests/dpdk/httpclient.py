"""What the dpdk tests' clients share. They run in the client's network
namespace (`ip netns exec ... python3`), so they are scripts that import
this file by path rather than pytest code.

    python3 httpclient.py burst ADDR N PATH FILE
        N connections at once, each `GET PATH` with Connection: close,
        every reply compared with FILE; prints "ok N" when all are whole."""

import resource
import selectors
import socket
import sys
import time


def read_reply(s, buf):
    """One 200 reply from socket `s`, after the bytes already in `buf`:
    (its body, the bytes received past it)."""
    while b"\r\n\r\n" not in buf:
        b = s.recv(65536)
        assert b, "EOF before a whole head"
        buf += b
    head, _, rest = buf.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    n = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(rest) < n:
        b = s.recv(1 << 20)
        assert b, f"EOF after {len(rest)} of {n} body bytes"
        rest += b
    return rest[:n], rest[n:]


def burst(addr, n, path, want, within=60.0):
    """n non-blocking connections opened together, one request each, read
    to the server's close; returns (whole replies, wrong or cut ones)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 64), hard))
    sel = selectors.DefaultSelector()
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex((addr, 80))
        sel.register(s, selectors.EVENT_WRITE, {"got": b"", "sent": False})
    good = bad = 0
    deadline = time.monotonic() + within
    while good + bad < n and time.monotonic() < deadline:
        for key, ev in sel.select(1):
            s, st = key.fileobj, key.data
            if not st["sent"]:
                try:
                    s.sendall(request)
                    st["sent"] = True
                    sel.modify(s, selectors.EVENT_READ, st)
                    continue
                except OSError:
                    b = None
            else:
                try:
                    b = s.recv(65536)
                except OSError:
                    b = None
                if b:
                    st["got"] += b
                    continue
            sel.unregister(s)
            s.close()
            head, _, body = st["got"].partition(b"\r\n\r\n")
            if head.startswith(b"HTTP/1.1 200 ") and body == want:
                good += 1
            else:
                bad += 1
    return good, bad


if __name__ == "__main__" and sys.argv[1] == "burst":
    addr, n, path, file = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    with open(file, "rb") as f:
        want = f.read()
    good, bad = burst(addr, n, path, want)
    print("ok", good) if good == n else print(f"{good} whole, {bad} wrong or cut, "
                                              f"{n - good - bad} unanswered of {n}")
