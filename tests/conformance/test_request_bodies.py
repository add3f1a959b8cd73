"""Request bodies on a GET: announced with Expect: 100-continue, framed by
Content-Length or by chunked transfer coding. The server reads and drops
them within server.max_body and keeps the connection in step: the next
request on it is served, never read as the previous one's body."""

import socket
import subprocess
import time

import pytest

import httpraw
from support import assert_serving

H = b"Host: 127.0.0.1\r\n"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def get(path="/hello.txt", fields=b"", version=b"HTTP/1.1"):
    return b"GET " + path.encode() + b" " + version + b"\r\n" + H + fields + b"\r\n"


def read_final(c, method="GET"):
    """The final reply, and how many 100 (Continue) replies preceded it."""
    interim = 0
    while True:
        r = c.read_response(method)
        if r.status != 100:
            return r, interim
        interim += 1


# --- Expect: 100-continue -------------------------------------------------


def test_expect_continue_with_curl_keeps_the_connection_in_step(server, tree, tmp_path):
    """curl waits for 100 (Continue) before it sends the body; a final reply
    in its place made it skip the body, and the next request on the
    connection was then read as that body."""
    out1, out2 = tmp_path / "one", tmp_path / "two"
    cmd = ["curl", "-s", "--http1.1", "--max-time", "20", "-X", "GET", "--data-binary", "abc",
           "-H", "Expect: 100-continue", "-w", "%{http_code} %{num_connects}\n",
           "-o", str(out1), server.url("/hello.txt"), "-o", str(out2), server.url("/f4096.bin")]
    p = subprocess.run(cmd, capture_output=True, timeout=40)
    assert p.returncode == 0, f"curl failed rc={p.returncode} {p.stderr!r}"
    lines = p.stdout.decode().split()
    assert lines == ["200", "1", "200", "0"], f"curl -w: {lines!r}"
    assert out1.read_bytes() == tree.bytes_of("/hello.txt")
    assert out2.read_bytes() == tree.bytes_of("/f4096.bin")


def test_expect_continue_gets_100_before_the_body_is_sent(server, tree):
    with httpraw.Client(server.port) as c:
        c.send(get(fields=b"Content-Length: 3\r\nExpect: 100-continue\r\n"))
        r = c.read_head()
        assert r.status == 100, f"want 100 (Continue) first, got {r.status}"
        assert r.head == CONTINUE
        c.send(b"abc")
        r, interim = read_final(c)
        assert interim == 0
        assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")
        assert "close" not in r.connection_tokens()
        r = c.request("GET", "/f4096.bin")
        assert r.status == 200 and r.body == tree.bytes_of("/f4096.bin")


def test_expect_continue_case_insensitive_with_pipelined_body(server, tree):
    """The body and the next request sent together after the 100."""
    with httpraw.Client(server.port) as c:
        c.send(get(fields=b"Content-Length: 5\r\nExpect: 100-Continue\r\n"))
        assert c.read_head().status == 100
        c.send(b"hello" + get("/f1.bin"))
        r, _ = read_final(c)
        assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")
        r, interim = read_final(c)
        assert interim == 0
        assert r.status == 200 and r.body == tree.bytes_of("/f1.bin")


def test_expect_continue_over_the_body_limit_gets_413_and_close_without_100(server, tree):
    with httpraw.Client(server.port) as c:
        c.send(get(fields=b"Content-Length: %d\r\nExpect: 100-continue\r\n" % (2 << 20)))
        r = c.read_response()
        assert r.status == 413, f"want 413 and no 100 before it, got {r.status}"
        assert "close" in r.connection_tokens()
        closed, extra = c.wait_eof(5)
        assert closed and extra == b""
    assert_serving(server, tree)


def test_expect_continue_without_a_body_gets_no_100(server, tree):
    with httpraw.Client(server.port) as c:
        c.send(get(fields=b"Expect: 100-continue\r\n"))
        r = c.read_response()
        assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")
        assert c.is_open()


def test_expect_continue_on_http10_gets_no_100(server, tree):
    """RFC 9110 §10.1.1: an HTTP/1.0 client cannot expect 100 (Continue)."""
    with httpraw.Client(server.port) as c:
        c.send(get(fields=b"Connection: keep-alive\r\nContent-Length: 3\r\n"
                          b"Expect: 100-continue\r\n", version=b"HTTP/1.0"))
        r = c.read_response()
        assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")
        c.send(b"abc" + get("/f1.bin", b"Connection: keep-alive\r\n", b"HTTP/1.0"))
        r = c.read_response()
        assert r.status == 200 and r.body == tree.bytes_of("/f1.bin")


def test_expect_continue_with_body_already_sent_stays_in_step(server, tree):
    """A client that did not wait: a 100 is optional, the next request is served."""
    with httpraw.Client(server.port) as c:
        c.send(get(fields=b"Content-Length: 3\r\nExpect: 100-continue\r\n") + b"abc"
               + get("/f1.bin"))
        r, interim = read_final(c)
        assert interim <= 1
        assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")
        r, interim = read_final(c)
        assert interim == 0
        assert r.status == 200 and r.body == tree.bytes_of("/f1.bin")


# --- chunked request bodies ------------------------------------------------

CHUNKED = b"Transfer-Encoding: chunked\r\n"
BODY = (b"5\r\nhello\r\n"
        b"1A;name=value;other=\"quoted; string\"\r\n" + b"x" * 26 + b"\r\n"
        b"0;last\r\nX-Trailer: yes\r\nX-Other:\r\n\r\n")


def test_chunked_body_is_read_and_the_pipelined_request_served(server, tree):
    with httpraw.Client(server.port) as c:
        c.send(get(fields=CHUNKED) + BODY + get("/f4096.bin"))
        r, interim = read_final(c)
        assert interim == 0
        assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")
        assert "close" not in r.connection_tokens()
        r = c.read_response()
        assert r.status == 200 and r.body == tree.bytes_of("/f4096.bin")
        assert c.is_open()


def test_chunked_body_trickled_byte_by_byte(server, tree):
    with httpraw.Client(server.port) as c:
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        data = get(fields=CHUNKED) + BODY + get("/f1.bin")
        for i in range(len(data)):
            c.send(data[i:i + 1])
            if i % 8 == 0:
                time.sleep(0.002)
        r = c.read_response()
        assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")
        r = c.read_response()
        assert r.status == 200 and r.body == tree.bytes_of("/f1.bin")


def test_chunked_body_with_expect_continue(server, tree):
    with httpraw.Client(server.port) as c:
        c.send(get(fields=CHUNKED + b"Expect: 100-continue\r\n"))
        r = c.read_head()
        assert r.status == 100 and r.head == CONTINUE
        c.send(BODY + get("/f1.bin"))
        r, interim = read_final(c)
        assert interim == 0
        assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")
        r = c.read_response()
        assert r.status == 200 and r.body == tree.bytes_of("/f1.bin")


def test_head_with_chunked_body(server, tree):
    with httpraw.Client(server.port) as c:
        c.send(get(fields=CHUNKED).replace(b"GET", b"HEAD", 1) + BODY + get("/f1.bin"))
        r = c.read_response("HEAD")
        assert r.status == 200
        assert r.content_length == len(tree.bytes_of("/hello.txt"))
        r = c.read_response()
        assert r.status == 200 and r.body == tree.bytes_of("/f1.bin")


BAD_CHUNKED = {
    "size_not_hex": b"zz\r\nhello\r\n0\r\n\r\n",
    "size_empty": b"\r\nhello\r\n0\r\n\r\n",
    "size_negative": b"-5\r\nhello\r\n0\r\n\r\n",
    "size_with_0x": b"0x5\r\nhello\r\n0\r\n\r\n",
    "size_overflows_64_bits": b"10000000000000005\r\nhello\r\n0\r\n\r\n",
    "size_bare_lf": b"5\nhello\r\n0\r\n\r\n",
    "data_longer_than_size": b"3\r\nhello\r\n0\r\n\r\n",
    "space_inside_size": b"1 2\r\nhello\r\n0\r\n\r\n",
    "control_char_in_extension": b"5;a=\x01\r\nhello\r\n0\r\n\r\n",
    "trailer_without_colon": b"5\r\nhello\r\n0\r\nNoColon\r\n\r\n",
    "trailer_folded": b"5\r\nhello\r\n0\r\nA: b\r\n c\r\n\r\n",
}


@pytest.mark.parametrize("name", list(BAD_CHUNKED))
def test_malformed_chunked_body_gives_400_and_close(server, tree, name):
    with httpraw.Client(server.port) as c:
        c.send(get(fields=CHUNKED) + BAD_CHUNKED[name] + get("/f1.bin"))
        r = c.read_response()
        assert r.status == 400, f"want 400, got {r.status}"
        assert "close" in r.connection_tokens()
        closed, extra = c.wait_eof(5)
        assert closed and extra == b"", "served a request after a malformed body"
    assert_serving(server, tree)


@pytest.mark.parametrize("fields", [
    b"Transfer-Encoding: gzip\r\n",
    b"Transfer-Encoding: gzip, chunked\r\n",
    b"Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n",
])
def test_unknown_transfer_coding_gives_501_and_close(server, tree, fields):
    with httpraw.Client(server.port) as c:
        c.send(get(fields=fields) + b"5\r\nhello\r\n0\r\n\r\n")
        r = c.read_response()
        assert r.status == 501
        assert "close" in r.connection_tokens()
        closed, extra = c.wait_eof(5)
        assert closed and extra == b""
    assert_serving(server, tree)


@pytest.mark.parametrize("fields", [
    b"Transfer-Encoding: chunked, gzip\r\n",
    b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: \r\n",
    b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
])
def test_ambiguous_framing_gives_400_and_close(server, tree, fields):
    """RFC 9112 §6.3: chunked not last, twice, or beside Content-Length
    leaves the body's end in doubt: the way requests are smuggled."""
    with httpraw.Client(server.port) as c:
        c.send(get(fields=fields) + b"0\r\n\r\n" + get("/f1.bin"))
        r = c.read_response()
        assert r.status == 400
        assert "close" in r.connection_tokens()
        closed, extra = c.wait_eof(5)
        assert closed and extra == b"", "served the smuggled request"
    assert_serving(server, tree)


def test_chunked_on_http10_gives_400_and_close(server, tree):
    """RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing."""
    with httpraw.Client(server.port) as c:
        c.send(get(fields=b"Connection: keep-alive\r\n" + CHUNKED, version=b"HTTP/1.0")
               + b"0\r\n\r\n" + get("/f1.bin"))
        r = c.read_response()
        assert r.status == 400
        closed, extra = c.wait_eof(5)
        assert closed and extra == b""


@pytest.mark.parametrize("body", [
    b"3e9\r\n" + b"x" * 1001 + b"\r\n0\r\n\r\n",  # one chunk over the limit
    (b"190\r\n" + b"x" * 400 + b"\r\n") * 3 + b"0\r\n\r\n",  # three that add up to more
], ids=["one_chunk", "sum_of_chunks"])
def test_chunked_body_over_the_limit_gives_413_and_close(start_server, tree, body):
    srv = start_server(settings={"server.max_body": 1000})
    with httpraw.Client(srv.port) as c:
        try:
            c.send(get(fields=CHUNKED) + body + get("/f1.bin"))
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = c.read_response()
        assert r.status == 413
        assert "close" in r.connection_tokens()
        closed, extra = c.wait_eof(5)
        assert closed and extra == b""
    # Exactly at the limit is fine.
    with httpraw.Client(srv.port) as c:
        c.send(get(fields=CHUNKED) + b"3e8\r\n" + b"x" * 1000 + b"\r\n0\r\n\r\n" + get("/f1.bin"))
        assert c.read_response().status == 200
        r = c.read_response()
        assert r.status == 200 and r.body == tree.bytes_of("/f1.bin")


def test_chunked_body_larger_than_the_input_buffer(server, tree):
    """A body of many reads' worth (within 1 MiB) is dropped as it arrives."""
    body = b"".join(b"%x\r\n" % 60000 + b"y" * 60000 + b"\r\n" for _ in range(16)) + b"0\r\n\r\n"
    with httpraw.Client(server.port, timeout=20) as c:
        c.send(get(fields=CHUNKED) + body + get("/f4096.bin"))
        r = c.read_response()
        assert r.status == 200 and r.body == tree.bytes_of("/hello.txt")
        r = c.read_response()
        assert r.status == 200 and r.body == tree.bytes_of("/f4096.bin")
