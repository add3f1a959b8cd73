"""Many connections at once from one thread: each sends one GET and reads
its whole reply, every body byte compared with the file as it arrives.

One thread with non-blocking sockets and epoll (selectors) rather than
threads: 3000 connections are opened in a few tens of milliseconds, which
is the burst the server must survive, and nothing here needs a lock.
"""

from __future__ import annotations

import errno
import os
import re
import selectors
import signal
import socket
import struct
import time

_STATUS = re.compile(rb"^HTTP/1\.[01] (\d{3}) ")
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)[ \t]*\r\n", re.I)
MAX_HEAD = 16 * 1024
# SO_LINGER 0: the client closes first once its reply is in, and a reset
# leaves no TIME_WAIT behind, so thousands of connections a test do not
# eat the ephemeral ports of the sessions ctest runs beside this one.
LINGER0 = struct.pack("ii", 1, 0)


class Conn:
    __slots__ = ("sock", "url", "want", "request", "sent", "head", "status", "length", "got",
                 "body_start", "done", "error")

    def __init__(self, sock, url, want):
        self.sock = sock
        self.url = url
        self.want = want
        self.request = f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        self.sent = 0
        self.head = bytearray()
        self.status = None
        self.length = None
        self.got = 0  # body bytes checked so far
        self.done = False
        self.error = None


class Result:
    def __init__(self):
        self.ok = 0
        self.statuses = {}  # status -> count
        self.errors = []  # (kind, text)
        self.unfinished = 0
        self.seconds = 0.0

    def kinds(self):
        out = {}
        for kind, _ in self.errors:
            out[kind] = out.get(kind, 0) + 1
        return out

    def summary(self, n):
        lines = [f"{self.ok} of {n} replies right in {self.seconds:.1f} s; statuses {self.statuses}; "
                 f"errors by kind {self.kinds()}; unfinished {self.unfinished}"]
        lines += [f"  {kind}: {text}" for kind, text in self.errors[:12]]
        return "\n".join(lines)


def run(port, urls, contents, timeout=60.0, explain=None, stop_pid=None):
    """Opens len(urls) connections at once to 127.0.0.1:port, connection i
    asking for urls[i]; contents maps a URL to its bytes. Returns a Result.
    explain(url, got_chunk, start) says why a body chunk is wrong.

    With stop_pid, that process (the server) is stopped (SIGSTOP) while the
    connections are made and the requests sent, and continued after: the
    kernel completes the handshakes and queues the requests meanwhile, so
    the server wakes to every connection and every request at once, as
    after a pause of any kind (a busy CPU, a page fault storm, a debugger).
    Otherwise a server that keeps up sees them a few dozen at a time."""
    sel = selectors.DefaultSelector()
    conns = []
    result = Result()
    scratch = bytearray(1 << 20)
    view = memoryview(scratch)
    start = time.monotonic()
    deadline = start + timeout

    def fail(c, kind, text):
        c.error = (kind, text)
        result.errors.append((kind, f"{c.url}: {text}"))
        finish(c)

    def finish(c):
        nonlocal pending
        c.done = True
        pending -= 1
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        try:
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
        except OSError:
            pass
        c.sock.close()

    def on_body(c, chunk):
        n = min(len(chunk), c.length - c.got)
        part = bytes(chunk[:n])
        if part != c.want[c.got:c.got + n]:
            text = explain(c.url, part, c.got) if explain else f"wrong bytes at {c.got}"
            fail(c, "wrong bytes", text)
            return
        c.got += n
        if c.got == c.length:
            result.ok += 1
            finish(c)

    def on_head(c, chunk):
        c.head += chunk
        end = c.head.find(b"\r\n\r\n")
        if end < 0:
            if not _STATUS.match(bytes(c.head[:13])) and len(c.head) >= 13:
                fail(c, "not a reply head", f"the reply starts with {bytes(c.head[:40])!r}")
            elif len(c.head) > MAX_HEAD:
                fail(c, "head too long", f"{len(c.head)} bytes without CRLFCRLF")
            return
        head = bytes(c.head[:end + 4])
        m = _STATUS.match(head)
        if not m:
            fail(c, "not a reply head", f"the reply starts with {head[:40]!r}")
            return
        c.status = int(m.group(1))
        result.statuses[c.status] = result.statuses.get(c.status, 0) + 1
        lengths = _CONTENT_LENGTH.findall(head)
        if len(lengths) != 1:
            fail(c, "framing", f"Content-Length headers {lengths!r} in {head[:200]!r}")
            return
        c.length = int(lengths[0])
        if c.status != 200:
            fail(c, f"status {c.status}", f"status {c.status}")
            return
        if c.length != len(c.want):
            fail(c, "framing", f"Content-Length {c.length}, the file has {len(c.want)} bytes")
            return
        rest = bytes(c.head[end + 4:])
        c.head = bytearray()
        if c.length == 0:
            result.ok += 1
            finish(c)
        elif rest:
            on_body(c, rest)

    def connect_and_send():
        for url in urls:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            c = Conn(s, url, contents[url])
            rc = s.connect_ex(("127.0.0.1", port))
            if rc not in (0, errno.EINPROGRESS):
                conns.append(c)
                fail(c, "connect", errno.errorcode.get(rc, str(rc)))
                continue
            sel.register(s, selectors.EVENT_WRITE, c)
            conns.append(c)

        # Every connection is established first and only then does each send
        # its request, in one tight loop: the server finds thousands of
        # requests waiting at once and must queue thousands of replies in one
        # turn of its loop, which is what overflows a submission queue.
        # Loopback handshakes complete in the kernel even while the server
        # is stopped; 10 s is room for the few SYNs a full backlog drops.
        connect_deadline = min(deadline, time.monotonic() + 10)
        connecting = pending
        while connecting and time.monotonic() < connect_deadline:
            for key, _ in sel.select(timeout=0.5):
                c = key.data
                if c.done or c.sent:
                    continue
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    fail(c, "connect", errno.errorcode.get(err, str(err)))
                else:
                    sel.modify(c.sock, selectors.EVENT_READ, c)
                    c.sent = -1  # connected, request not sent yet
                connecting -= 1
        for c in conns:
            if c.done:
                continue
            if c.sent != -1:
                fail(c, "connect", "not established within 10 s")
                continue
            try:
                c.sent = c.sock.send(c.request)
            except OSError as e:
                fail(c, "send", str(e))
                continue
            if c.sent != len(c.request):
                fail(c, "send", f"only {c.sent} request bytes fit in an empty socket buffer")

    pending = len(urls)
    if stop_pid is not None:
        os.kill(stop_pid, signal.SIGSTOP)
    try:
        connect_and_send()
    finally:
        if stop_pid is not None:
            os.kill(stop_pid, signal.SIGCONT)

    while pending and time.monotonic() < deadline:
        for key, events in sel.select(timeout=min(1.0, max(0.0, deadline - time.monotonic()))):
            c = key.data
            if c.done:
                continue
            if events & selectors.EVENT_READ:
                try:
                    k = c.sock.recv_into(scratch)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    k = 0
                if k == 0:
                    where = "before a reply" if c.status is None and not c.head else \
                        f"after {c.got} of {c.length} body bytes" if c.length is not None else \
                        f"inside the head {bytes(c.head[:60])!r}"
                    fail(c, "closed early", f"connection closed {where}")
                    continue
                if c.length is None:
                    on_head(c, view[:k])
                else:
                    on_body(c, view[:k])
    result.seconds = time.monotonic() - start
    for c in conns:
        if not c.done:
            result.unfinished += 1
            what = "no reply head" if c.length is None else f"{c.got} of {c.length} body bytes"
            result.errors.append(("unfinished", f"{c.url}: {what} after {timeout:.0f} s"))
            finish(c)
    sel.close()
    return result
