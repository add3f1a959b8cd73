"""Records, medians and spreads; failed runs kept out of the medians."""

import math

import pytest

from zcload import aggregate

from zcload_records import PERF, ZC, record, wrk_result  # noqa: F401


def test_per_request_figures():
    r = record()
    assert not r["failed"] and r["failure"] is None
    assert r["syscalls_per_request"] == 4.0
    assert r["context_switches_per_request"] == 0.01
    assert r["cpu_us_per_request"] == pytest.approx(10.0)  # 10 ticks = 0.1 s over 10k requests
    assert r["copied_bytes_per_request"] == 272.0
    assert r["wrapper_syscalls_per_request"] == 3.9
    assert r["self_kernel_syscalls_per_request"] == pytest.approx(4.01)
    assert list(r["syscalls_by_call_per_request"])[-1] == "epoll_wait"
    assert r["requests_per_sec"] == 5000.0 and r["p99_latency_ms"] == 1.5
    assert r["bytes_per_request"] == 1300


def test_peer_has_no_zcserve_figures():
    r = record(server="nginx", label="nginx")
    assert r["copied_bytes_per_request"] is None and r["wrapper_syscalls_per_request"] is None
    assert r["syscalls_per_request"] == 4.0 and not r["failed"]


@pytest.mark.parametrize("errors", [{"connect": 1}, {"read": 3}, {"write": 1}, {"timeout": 2},
                                    {"status": 5, "non_2xx": 5}])
def test_any_wrk_error_fails_the_run(errors):
    r = record(wrk=wrk_result(errors=errors))
    assert r["failed"] and "wrk errors" in r["failure"]
    assert all(r["errors"][k] == v for k, v in errors.items())


def test_short_replies_fail_the_run():
    r = record(wrk=wrk_result(nbytes=10000 * 500))
    assert r["failed"] and "less than the 1024-byte file" in r["failure"]


def test_harness_error_fails_the_run_with_null_figures():
    r = record(wrk=None, perf=None, cpu_ticks=None, zc=None, error="RuntimeError: did not start")
    assert r["failed"] and r["failure"] == "RuntimeError: did not start"
    assert r["requests_per_sec"] is None and r["syscalls_per_request"] is None


def test_no_request_fails_the_run():
    r = record(wrk=wrk_result(requests=0, rps=0.0, nbytes=0))
    assert r["failed"] and "no request completed" in r["failure"]
    assert r["syscalls_per_request"] is None  # never divided by zero


def test_perf_not_counted_gives_null_not_zero():
    perf = {"raw_syscalls:sys_enter": {"value": None, "status": "not counted"},
            "context-switches": {"value": 3.0, "status": "counted"}}
    r = record(perf=perf)
    assert r["syscalls_per_request"] is None and r["context_switches_per_request"] == 0.0003


def test_summarise_median_and_spread():
    s = aggregate.summarise([3.0, 1.0, 2.0, None, math.nan])
    assert (s.median, s.low, s.high, s.n) == (2.0, 1.0, 3.0, 3)
    assert aggregate.summarise([1.0, 4.0]).median == 2.5
    assert aggregate.summarise([None]) is None and aggregate.summarise([]) is None


def test_failed_runs_are_not_in_the_medians():
    runs = [record(repeat=1, wrk=wrk_result(rps=1000.0)),
            record(repeat=2, wrk=wrk_result(rps=3000.0)),
            # a failed run with a wild figure: must not move the median
            record(repeat=3, wrk=wrk_result(rps=1e9, errors={"read": 1}))]
    (g,) = aggregate.aggregate(runs)
    assert (g["runs"], g["ok_runs"], g["failed_runs"]) == (3, 2, 1)
    assert g["figures"]["requests_per_sec"] == {"median": 2000.0, "min": 1000.0,
                                                 "max": 3000.0, "n": 2}
    assert g["failures"] == ["repeat 3: wrk errors: read 1"]


def test_all_runs_failed():
    runs = [record(repeat=i, error="boom", wrk=None) for i in (1, 2)]
    (g,) = aggregate.aggregate(runs)
    assert g["ok_runs"] == 0 and g["failed_runs"] == 2
    assert all(v is None for v in g["figures"].values())


def test_groups_keep_their_order_and_split_by_size_and_connections():
    runs = [record(label="b"), record(label="a"), record(label="b", file_size=65536,
                                                         wrk=wrk_result(nbytes=10000 * 70000)),
            record(label="b", connections=16), record(label="b", repeat=2)]
    groups = aggregate.aggregate(runs)
    assert [(g["label"], g["file_size"], g["connections"], g["runs"]) for g in groups] == [
        ("b", 1024, 64, 2), ("a", 1024, 64, 1), ("b", 65536, 64, 1), ("b", 1024, 16, 1)]
    assert aggregate.median_of(groups[0], "syscalls_per_request") == 4.0


def test_paths_are_groups_of_their_own():
    from zcload_records import record
    recs = [record(), record(path="veth"), record(path="veth", repeat=2)]
    groups = aggregate.aggregate(recs)
    assert [(g["path"], g["runs"]) for g in groups] == [("loopback", 1), ("veth", 2)]
    assert [aggregate.display_label(g) for g in groups] == ["epoll/sendfile",
                                                            "epoll/sendfile (veth)"]
    old = record()
    del old["path"]  # a results.json written before paths existed
    assert aggregate.aggregate([old])[0]["path"] == "loopback"


def test_polling_engines_are_marked():
    from zcload_records import record
    rec = record(label="dpdk/read_write", engine="dpdk", sender="read_write", path="veth")
    assert rec["polling"] is True and record()["polling"] is False
    assert aggregate.aggregate([rec])[0]["polling"] is True


TCP = {"out_segs": 80000, "in_segs": 78000, "retrans_segs": 30, "loss_probes": 40,
       "delayed_acks": 500}


def test_tcp_counters_per_request():
    r = record(tcp=TCP)
    assert r["tcp_out_segs_per_request"] == 8.0 and r["tcp_in_segs_per_request"] == 7.8
    assert r["tcp_retrans_segs_per_request"] == 0.003
    assert r["tcp_loss_probes_per_request"] == 0.004
    assert r["tcp_delayed_acks_per_request"] == 0.05
    assert record()["tcp_out_segs_per_request"] is None  # not measured: null, not 0


def test_no_tcp_counters_for_an_engine_with_its_own_stack():
    r = record(engine="dpdk", sender="mmap", label="dpdk/mmap", tcp=TCP)
    assert r["tcp_out_segs_per_request"] is None


def test_tcp_counters_have_medians():
    g = aggregate.aggregate([record(repeat=i, tcp={**TCP, "out_segs": 10000 * i})
                             for i in (1, 2, 3)])[0]
    assert g["figures"]["tcp_out_segs_per_request"]["median"] == 2.0
