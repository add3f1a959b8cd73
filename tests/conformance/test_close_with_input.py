"""A reply the server closes after (Connection: close) must arrive whole,
even when the client sends more while it is going out. A close with unread
input makes the kernel answer with RST and drop whatever of the reply still
waits in the socket's send queue: the client then sees a complete-looking
start and a reset instead of the end. The server must shut down its side,
read and drop what comes, and close after the peer (a lingering close, as
nginx's lingering_close does)."""

import hashlib
import socket
import time

import pytest

import httpraw

BIG = "/f64m.bin"


@pytest.mark.parametrize("late", [False, True], ids=["pipelined", "sent-while-replying"])
def test_closing_reply_arrives_whole_with_input_behind_it(server, tree, late):
    want = tree.bytes_of(BIG)
    s = socket.create_connection((server.host, server.port), timeout=20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    first = httpraw.build_request("GET", BIG, headers={"Connection": "close"})
    extra = httpraw.build_request("GET", "/hello.txt") * 8
    try:
        if late:
            s.sendall(first)
            # The reply is under way and the server's send queue full; the
            # next bytes reach a socket it is not reading.
            head = s.recv(65536)
            time.sleep(0.3)
            s.sendall(extra)
            got = bytearray(head)
        else:
            s.sendall(first + extra)
            got = bytearray()
        while True:
            try:
                b = s.recv(1 << 20)
            except ConnectionResetError:
                pytest.fail(f"reset after {len(got)} bytes of a {len(want)}-byte reply "
                            "(closed with input unread)")
            if not b:
                break
            got += b
    finally:
        s.close()
    head, sep, body = bytes(got).partition(b"\r\n\r\n")
    assert sep, "no complete head"
    assert head.startswith(b"HTTP/1.1 200 ")
    assert len(body) == len(want), f"{len(body)} of {len(want)} body bytes, then EOF"
    assert hashlib.sha256(body).digest() == hashlib.sha256(want).digest(), "wrong bytes"
