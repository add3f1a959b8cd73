"""Keep-alive load over one raw TCP connection: a request, then its whole
reply, then the next request. No pipelining, so every request costs the
server the same calls; every reply is read in full and checked (status 200,
Content-Length equal to the file's size, exactly that many body bytes).

A small relative of tests/conformance/httpraw.py, made for speed: body
bytes land in one reusable buffer and are not kept.
"""

from __future__ import annotations

import re
import socket
import time

MAX_HEAD = 64 * 1024
_STATUS = re.compile(rb"^HTTP/1\.[01] (\d{3})")
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)[ \t]*\r\n", re.IGNORECASE)


def request_bytes(target):
    """The GET this load sends for `target`."""
    return b"GET " + target.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


class LoadError(AssertionError):
    pass


class KeepAlive:
    def __init__(self, port, host="127.0.0.1", timeout=10.0, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            # Before connect: the window scale is fixed by the SYN. A small
            # window makes the server's writes partial (EAGAIN, then wait).
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.buf = bytearray()
        self.scratch = bytearray(1 << 20)
        self.view = memoryview(self.scratch)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read_head(self):
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                head = bytes(self.buf[:end + 4])
                del self.buf[:end + 4]
                return head
            if len(self.buf) > MAX_HEAD:
                raise LoadError(f"reply head over {MAX_HEAD} bytes")
            chunk = self.sock.recv(65536)
            if not chunk:
                raise LoadError(f"connection closed before a full head: {bytes(self.buf[:200])!r}")
            self.buf += chunk

    def get(self, target, keep_body=False, stall=0.0):
        """One GET; returns (status, content_length, body or None). With
        `stall`, waits that long after sending before reading."""
        self.sock.sendall(request_bytes(target))
        if stall:
            time.sleep(stall)
        head = self._read_head()
        m = _STATUS.match(head)
        if not m:
            raise LoadError(f"bad status line in {head[:200]!r}")
        status = int(m.group(1))
        cl = _CONTENT_LENGTH.search(head)
        if not cl:
            raise LoadError(f"no Content-Length in {head[:400]!r}")
        length = int(cl.group(1))
        kept = bytearray() if keep_body else None
        take = min(len(self.buf), length)
        if kept is not None:
            kept += self.buf[:take]
        del self.buf[:take]
        left = length - take
        while left > 0:
            n = self.sock.recv_into(self.view, min(left, len(self.scratch)))
            if n == 0:
                raise LoadError(f"connection closed {length - left} bytes into a {length}-byte body")
            if kept is not None:
                kept += self.view[:n]
            left -= n
        return status, length, (bytes(kept) if kept is not None else None)


def run(port, target, size, requests, content=None, rcvbuf=None, stall_every=0, stall=0.0):
    """`requests` keep-alive GETs of `target` on one connection, which is
    closed at the end. Every reply must be 200 with `size` body bytes; the
    first one's body must equal `content` when given. With stall_every=N,
    every Nth reply is left unread for `stall` seconds after its request
    went out, so the server fills the socket and must wait."""
    with KeepAlive(port, rcvbuf=rcvbuf) as c:
        for i in range(requests):
            pause = stall if stall_every and i % stall_every == 0 else 0.0
            status, length, body = c.get(target, keep_body=(i == 0 and content is not None),
                                         stall=pause)
            if status != 200 or length != size:
                raise LoadError(f"request {i + 1} of {requests} for {target}: status {status}, "
                                f"Content-Length {length} (want 200 and {size})")
            if body is not None and body != content:
                raise LoadError(f"the body of {target} is not the file's content")
