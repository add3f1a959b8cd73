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


def test_sweep_sizes_and_paths():
    a = cli.parse_args(["--sweep"])
    assert a.size_list == [1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20]
    assert a.path == "loopback" and not a.perf_record and not a.veth_tx_off
    a = cli.parse_args(["--quick", "--sweep", "--path", "both", "--perf-record"])
    assert len(a.size_list) == 7 and a.repeats == 1 and a.path == "both" and a.perf_record
    with pytest.raises(SystemExit):
        cli.parse_args(["--sweep", "--sizes", "1k"])
    with pytest.raises(SystemExit):
        cli.parse_args(["--path", "wire"])


def test_paths_planned(monkeypatch, tmp_path):
    """dpdk runs over the veth only, and is skipped with the reason where
    namespaces cannot be made; the kernel's servers go where --path says."""
    from zcload import netns, servers
    dpdk, epoll = servers.Backend("zcserve", "dpdk", "read_write"), \
        servers.Backend("zcserve", "epoll", "sendfile")
    nginx = servers.peer_backend("nginx")
    monkeypatch.setattr(netns, "unavailable", lambda: "network namespaces and XDP need root")
    h = cli.Harness(cli.parse_args(["--out", str(tmp_path)]))
    assert h.plan_paths([dpdk, epoll, nginx]) == [(epoll, "loopback"), (nginx, "loopback")]
    assert h.skipped == [{"backend": "dpdk/read_write",
                          "reason": "network namespaces and XDP need root"}]
    with pytest.raises(SystemExit, match="need root"):
        cli.Harness(cli.parse_args(["--path", "veth", "--out", str(tmp_path)])).plan_paths([epoll])

    monkeypatch.setattr(netns, "unavailable", lambda: "")
    monkeypatch.setattr(cli.Harness, "dpdk_unavailable", lambda self, b: "")
    h = cli.Harness(cli.parse_args(["--path", "both", "--out", str(tmp_path)]))
    assert h.plan_paths([dpdk, epoll, nginx]) == [
        (dpdk, "veth"), (epoll, "loopback"), (epoll, "veth"), (nginx, "loopback"), (nginx, "veth")]
    monkeypatch.setattr(cli.Harness, "dpdk_unavailable",
                        lambda self, b: "net_af_xdp is unavailable here: did not probe")
    h = cli.Harness(cli.parse_args(["--path", "veth", "--out", str(tmp_path)]))
    assert h.plan_paths([dpdk, epoll]) == [(epoll, "veth")]
    assert "did not probe" in h.skipped[0]["reason"]


def test_run_names():
    from zcload import servers
    h = cli.Harness(cli.parse_args(["--out", "/nonexistent"]))
    assert h.run_name(servers.Backend("zcserve", "dpdk", "read_write"), "veth", 1024) == \
        "dpdk-read_write-1k"
    assert h.run_name(servers.Backend("zcserve", "epoll", "sendfile"), "veth", 1 << 20) == \
        "epoll-sendfile-1m-veth"
    assert h.run_name(servers.peer_backend("h2o"), "loopback", 65536) == "h2o-64k"
