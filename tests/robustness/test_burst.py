"""A burst of connections opened at once, every reply checked byte for byte.

io_uring once split a sender's linked chain (read -> head -> body) when the
submission queue filled in the middle of it: replies came body first, or
with correct framing and another reply's bytes. A small ring makes the
queue fill on every loop."""

import pytest

import burst
import httpraw
import pattern
from conftest import nofile

# Connection i asks for file i mod len(FILES): every size is in flight at
# once, next to its neighbours, so a body sent on the wrong socket or from
# the wrong offset shows.
FILES = ["/burst/" + name for name in pattern.BURST]
DEFAULT_RING_CONNS = 3000
SMALL_RING_CONNS = 1500
# At the default ring size a chain is cut only when the queue fills right
# inside one, so the server is stopped while the burst arrives (see
# burst.run) and wakes to all of it at once; and several bursts on one
# server, about a second each, make a miss unlikely. A small ring cuts
# chains in every burst.
DEFAULT_RING_ROUNDS = 4


def burst_urls(n):
    # Fewer 1 MiB replies than the others: the client reads every byte in
    # Python, and 300 MiB is enough to keep the server's sends partial.
    urls = []
    for i in range(n):
        url = FILES[i % len(FILES)]
        if url == "/burst/b1m.bin" and i % 2:
            url = "/burst/b1k.bin"
        urls.append(url)
    return urls


@pytest.mark.parametrize("ring", ["default", "small"])
def test_burst_every_byte_right(start_server, ptree, engine, ring):
    settings = {}
    n = DEFAULT_RING_CONNS
    rounds = DEFAULT_RING_ROUNDS
    if ring == "small":
        if engine != "io_uring":
            pytest.skip("io.uring.entries exists on io_uring only")
        # 8 entries: a three-step chain finds the queue full most of the time
        settings["io.uring.entries"] = 8
        n = SMALL_RING_CONNS
        rounds = 1
    srv = start_server(settings=settings, root=ptree.root, nofile=nofile())
    urls = burst_urls(n)
    contents = {url: ptree.bytes_of(url) for url in set(urls)}
    for i in range(rounds):
        result = burst.run(srv.port, urls, contents, timeout=60, explain=ptree.explain,
                           stop_pid=srv.proc.pid)
        srv.check_alive()
        assert result.ok == n, f"burst {i + 1} of {rounds}: " + result.summary(n)
    # and the server is still whole after it
    r = httpraw.fetch(srv.port, "GET", "/burst/b1m.bin", timeout=10)
    assert r.status == 200 and r.body == ptree.bytes_of("/burst/b1m.bin")
