"""Options and progress."""

import pytest

from zcload import cli


def test_quick_defaults_and_explicit_options_win():
    a = cli.parse_args(["--quick"])
    assert (a.size_list, a.conn_list, a.repeats, a.duration) == ([1024], [64], 1, 2.0)
    a = cli.parse_args(["--quick", "--sizes", "64k", "--repeats", "2"])
    assert a.size_list == [65536] and a.repeats == 2 and a.duration == 2.0


def test_full_defaults():
    a = cli.parse_args([])
    assert a.size_list == [1024, 65536, 1 << 20] and a.conn_list == [64] and a.repeats == 3
    assert a.peers is None and a.pairs is None


def test_sweeps_and_backends():
    a = cli.parse_args(["--connections", "16,64,256", "--backends", "epoll/sendfile",
                        "--no-peers", "--duration", "1.2"])
    assert a.conn_list == [16, 64, 256] and a.pairs == [("epoll", "sendfile")]
    assert a.peers is False and a.duration == 2.0  # wrk runs whole seconds


@pytest.mark.parametrize("argv", [["--sizes", "big"], ["--connections", "0"],
                                  ["--backends", "epoll"], ["--repeats", "0"]])
def test_bad_options(argv):
    with pytest.raises(SystemExit):
        cli.parse_args(argv)


def test_progress_line():
    assert cli.progress_line(3, 12, "epoll/sendfile", 1024, 64, 1, 3, 80) == \
        "[3/12] epoll/sendfile 1k c=64 rep 1/3 — about 1m20s left"
    assert cli.fmt_duration(5) == "5s" and cli.fmt_duration(3725) == "1h02m"
