"""docker/demo.py's default backends come from zcserve --list-backends, not
from a list of sender names of its own."""

import importlib.util
import os

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "docker_demo", os.path.join(HERE, "..", "..", "docker", "demo.py"))
demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo)

# A listing as zcserve prints it, with a sender this kernel lacks.
LISTING = """\
+ engine=blocking sender=read_write
+ engine=blocking sender=sendfile (default)
+ engine=epoll sender=read_write
+ engine=epoll sender=sendfile (default)
+ engine=epoll sender=splice
+ engine=io_uring sender=read_write
- engine=io_uring sender=sendfile (io_uring has no sendfile operation (splice does the same))
+ engine=io_uring sender=splice (default)
- engine=io_uring sender=send_zc (this kernel's io_uring has no IORING_OP_SEND_ZC (6.0+))
+ engine=asio sender=sendfile (default)
- engine=dpdk sender=* (not compiled in)
- kernel syscall counter (perf_event_open: Permission denied)
"""


def test_every_sender_of_epoll_and_io_uring_then_the_others_defaults():
    assert demo.default_backends(LISTING) == [
        ("epoll", "read_write"), ("epoll", "sendfile"), ("epoll", "splice"),
        ("io_uring", "read_write"), ("io_uring", "sendfile"), ("io_uring", "splice"),
        ("io_uring", "send_zc"), ("blocking", "sendfile"), ("asio", "sendfile")]


def test_a_pair_not_usable_is_skipped_with_the_listings_reason():
    wanted = [demo.servers.Backend("zcserve", e, s) for e, s in demo.default_backends(LISTING)]
    keep, notes = demo.usable(wanted, LISTING)
    assert ("io_uring", "send_zc") not in [(b.engine, b.sender) for b in keep]
    assert len(keep) == len(wanted) - 2
    assert any(n.startswith("io_uring/send_zc skipped: ") and "SEND_ZC" in n for n in notes)
    assert "kernel syscall counter (perf_event_open: Permission denied)" in notes
