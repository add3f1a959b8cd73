"""A raw HTTP/1.1 client for the conformance tests.

curl normalises paths, retries, and hides framing mistakes; this client does
none of that. It sends exactly the bytes it is given and reads replies the way
a strict client must: the head up to CRLFCRLF, then exactly Content-Length
body bytes, none at all for HEAD, 1xx, 204 and 304. Bytes past one reply stay
buffered for the next, so pipelined replies are read in order and a server
that sends a stray body (for HEAD, or longer than its Content-Length) is caught
when the next reply fails to parse.
"""

from __future__ import annotations

import errno
import hashlib
import re
import socket
import struct
import time

MAX_HEAD = 64 * 1024
# The server's address when a caller names only its port; conftest sets it
# from --server-listen (198.18.0.1 when the server runs its own stack in
# another network namespace).
DEFAULT_HOST = "127.0.0.1"
_STATUS_LINE = re.compile(rb"^HTTP/(\d)\.(\d) (\d{3})(?: (.*))?$")
_TOKEN = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class ProtocolError(AssertionError):
    """The server sent something a strict HTTP/1.1 client cannot accept."""


class ClosedError(ProtocolError):
    """The connection ended before a complete reply arrived."""


class Response:
    def __init__(self, version, status, reason, headers, head):
        self.version = version  # e.g. "HTTP/1.1"
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value), wire order, names as sent
        self.head = head  # raw head bytes, including the final CRLFCRLF
        self.body = b""  # None when the body was only hashed
        self.body_len = 0
        self.body_sha256 = hashlib.sha256(b"").hexdigest()

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def has_header(self, name):
        return self.header(name) is not None

    @property
    def content_length(self):
        values = self.header_all("content-length")
        if not values:
            return None
        if len(set(values)) != 1 or not values[0].isdigit():
            raise ProtocolError(f"bad Content-Length {values!r}")
        return int(values[0])

    def connection_tokens(self):
        out = set()
        for v in self.header_all("connection"):
            out.update(t.strip().lower() for t in v.split(",") if t.strip())
        return out

    def __repr__(self):
        return f"<Response {self.status} {self.reason!r} len={self.body_len}>"


def build_request(method="GET", target="/", version="HTTP/1.1", headers=None,
                  host="127.0.0.1", body=b""):
    """Request bytes. `headers` is a list of (name, value) or a dict; Host comes
    first unless `host` is None. Nothing is added or fixed up beyond that."""
    lines = [f"{method} {target} {version}".encode("latin-1")]
    if host is not None:
        lines.append(b"Host: " + host.encode("latin-1"))
    items = headers.items() if isinstance(headers, dict) else (headers or [])
    for k, v in items:
        lines.append(f"{k}: {v}".encode("latin-1"))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def no_body_expected(method, status):
    return method == "HEAD" or status in (204, 304) or 100 <= status < 200


class Client:
    """One TCP connection to the server, with its own read buffer."""

    def __init__(self, port, host=None, timeout=10.0, rcvbuf=None,
                 linger0=False, connect=True):
        self.addr = (host or DEFAULT_HOST, port)
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            # Must be set before connect: the window scale is fixed by the SYN.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if linger0:
            self.set_linger0()
        self.sock.settimeout(timeout)
        self.buf = bytearray()
        self.eof = False
        if connect:
            self.sock.connect(self.addr)

    # --- plumbing -------------------------------------------------------

    def set_linger0(self):
        # close() then sends RST instead of FIN.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _recv(self, n=256 * 1024):
        """Appends up to n bytes to the buffer. False on EOF (or RST)."""
        if self.eof:
            return False
        try:
            chunk = self.sock.recv(n)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def recv_some(self, n=65536):
        """Up to n bytes (buffered first); b"" at EOF."""
        if not self.buf:
            self._recv(n)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_exact(self, n, sink=None):
        """Reads exactly n bytes. Returns them, or feeds them to `sink` and
        returns None. Never reads past n, so pipelined data stays queued."""
        out = None
        if sink is None:
            out = bytearray()
            sink = out.extend
        remaining = n
        if self.buf:
            take = min(len(self.buf), remaining)
            sink(bytes(self.buf[:take]))
            del self.buf[:take]
            remaining -= take
        scratch = bytearray(min(max(remaining, 1), 1 << 20))
        view = memoryview(scratch)
        while remaining > 0:
            try:
                k = self.sock.recv_into(scratch, min(len(scratch), remaining))
            except ConnectionResetError:
                k = 0
            if k == 0:
                self.eof = True
                raise ClosedError(f"connection closed after {n - remaining} of {n} bytes")
            sink(view[:k])
            remaining -= k
        return bytes(out) if out is not None else None

    # --- HTTP -----------------------------------------------------------

    def read_head(self):
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(self.buf) > MAX_HEAD:
                raise ProtocolError(f"reply head over {MAX_HEAD} bytes")
            if not self._recv():
                if self.buf:
                    raise ClosedError(f"connection closed inside a reply head: {bytes(self.buf[:200])!r}")
                raise ClosedError("connection closed before a reply")
        head = bytes(self.buf[:end + 4])
        del self.buf[:end + 4]
        lines = head[:-4].split(b"\r\n")
        m = _STATUS_LINE.match(lines[0])
        if not m:
            raise ProtocolError(f"bad status line {lines[0][:200]!r}")
        version = f"HTTP/{m.group(1).decode()}.{m.group(2).decode()}"
        status = int(m.group(3))
        reason = (m.group(4) or b"").decode("latin-1")
        headers = []
        for line in lines[1:]:
            if b"\n" in line or b"\r" in line:
                raise ProtocolError(f"bare CR or LF in reply head: {line!r}")
            name, sep, value = line.partition(b":")
            if not sep or not _TOKEN.match(name):
                raise ProtocolError(f"bad reply header line {line!r}")
            headers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
        return Response(version, status, reason, headers, head)

    def read_response(self, method="GET", hash_only=False):
        """Reads one complete reply to a request made with `method`.
        With hash_only the body is not kept: body is None, body_sha256 is set."""
        resp = self.read_head()
        if no_body_expected(method, resp.status):
            return resp
        if resp.header("transfer-encoding") is not None:
            raise ProtocolError(f"unexpected Transfer-Encoding: {resp.header('transfer-encoding')}")
        length = resp.content_length
        h = hashlib.sha256()
        count = 0
        kept = bytearray() if not hash_only else None

        def sink(chunk):
            nonlocal count
            h.update(chunk)
            count += len(chunk)
            if kept is not None:
                kept.extend(chunk)

        if length is None:
            # Delimited by close (HTTP/1.0 style). The server always sends
            # Content-Length; tests check that separately.
            while True:
                if self.buf:
                    sink(bytes(self.buf))
                    self.buf.clear()
                if not self._recv():
                    break
        else:
            self.read_exact(length, sink)
        resp.body = bytes(kept) if kept is not None else None
        resp.body_len = count
        resp.body_sha256 = h.hexdigest()
        return resp

    def request(self, method="GET", target="/", hash_only=False, **kw):
        self.send(build_request(method, target, **kw))
        return self.read_response(method, hash_only=hash_only)

    def read_until_eof(self, timeout, limit=None):
        """Everything until the server closes: returns (data, eof). eof is
        False if `timeout` s passed first, or `limit` bytes arrived first."""
        deadline = time.monotonic() + timeout
        data = bytearray(self.buf)
        self.buf.clear()
        scratch = bytearray(1 << 20)
        try:
            while not self.eof:
                if limit is not None and len(data) >= limit:
                    return data, False
                left = deadline - time.monotonic()
                if left <= 0:
                    return data, False
                self.sock.settimeout(left)
                try:
                    k = self.sock.recv_into(scratch)
                except socket.timeout:
                    return data, False
                except ConnectionResetError:
                    k = 0
                if k == 0:
                    self.eof = True
                    break
                data += scratch[:k]
        finally:
            self.sock.settimeout(self.timeout)
        return data, True

    def wait_eof(self, timeout):
        """Waits up to `timeout` s for the server to close. Returns
        (closed, extra) where extra is any bytes that arrived meanwhile."""
        deadline = time.monotonic() + timeout
        extra = bytes(self.buf)
        self.buf.clear()
        if self.eof:
            return True, extra
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False, extra
                self.sock.settimeout(left)
                try:
                    chunk = self.sock.recv(65536)
                except socket.timeout:
                    return False, extra
                except ConnectionResetError:
                    chunk = b""
                if not chunk:
                    self.eof = True
                    return True, extra
                extra += chunk
        finally:
            self.sock.settimeout(self.timeout)

    def is_open(self, wait=0.05):
        """True if the server has neither closed nor sent anything within `wait` s."""
        closed, extra = self.wait_eof(wait)
        if extra:
            raise ProtocolError(f"unexpected bytes from server: {extra[:200]!r}")
        return not closed


def fetch(port, method="GET", target="/", hash_only=False, timeout=10.0, **kw):
    """One request on a fresh connection."""
    with Client(port, timeout=timeout) as c:
        return c.request(method, target, hash_only=hash_only, **kw)


def connect_refused(port, host=None, timeout=1.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((host or DEFAULT_HOST, port))
    except ConnectionRefusedError:
        return True
    except (ConnectionResetError, socket.timeout):
        return False  # the listener went away during the handshake; ask again
    except OSError as e:
        if e.errno == errno.ECONNREFUSED:
            return True
        raise
    finally:
        s.close()
    return False
