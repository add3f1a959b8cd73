"""Parsing what the tools print: wrk's JSON line, perf stat's CSV, /proc
stat, zcserve's /stats and --list-backends, Google Benchmark's JSON."""

import json

import pytest

from zcload import launch, measure, servers, syscall_cost, tree, wrk


# ---------------------------------------------------------------- wrk

def test_wrk_json_line(sample):
    r = wrk.parse_output(sample("wrk_ok.txt"))
    assert r["requests"] > 0 and r["requests_per_sec"] > 0
    assert r["errors"] == {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0,
                           "non_2xx": 0}
    assert r["error_total"] == 0
    lat = r["latency_ms"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99.9"] <= lat["max"]


def test_wrk_non_2xx_counts_as_errors(sample):
    r = wrk.parse_output(sample("wrk_404.txt"))
    assert r["errors"]["status"] == r["requests"] == r["errors"]["non_2xx"] == 47298
    assert r["error_total"] == 47298


def test_wrk_without_json_line_is_an_error(sample):
    with pytest.raises(ValueError, match="no result line"):
        wrk.parse_output(sample("wrk_refused.txt"))


def test_wrk_null_latency_when_nothing_completed():
    line = ('ZCLOAD_WRK_JSON {"requests":0,"bytes":0,"duration_s":1,"requests_per_sec":0,'
            '"errors":{"connect":64,"read":0,"write":0,"status":0,"timeout":0},"non_2xx":0,'
            '"latency_ms":{"mean":null,"max":0,"p50":0,"p90":0,"p99":0,"p99.9":0}}')
    r = wrk.parse_output("Running 1s test\n" + line + "\n")
    assert r["errors"]["connect"] == 64 and r["error_total"] == 64
    assert r["latency_ms"]["mean"] is None


def test_wrk_command_pins_and_rounds_up_to_whole_seconds():
    cmd = wrk.command("http://127.0.0.1:1/1k.bin", 64, 1.5, cpu=1)
    assert cmd[:3] == ["taskset", "-c", "1"]
    assert "-t1" in cmd and "-c64" in cmd and "-d2s" in cmd
    assert cmd[cmd.index("-s") + 1] == wrk.SCRIPT
    assert wrk.command("http://x/", 1, 3, cpu=None)[0] == "wrk"
    assert [wrk.whole_seconds(s) for s in (0.2, 1, 1.0001, 5)] == [1, 1, 2, 5]


# ---------------------------------------------------------------- perf stat

def test_perf_counted_and_not_supported(sample):
    c = measure.parse_perf_csv(sample("perf_counted.csv"))
    assert c["raw_syscalls:sys_enter"] == {"value": 144.0, "status": "counted",
                                           "percent_running": 100.0}
    assert c["context-switches"]["value"] == 0.0
    assert c["cycles"]["value"] is None and c["cycles"]["status"] == "not supported"


def test_perf_not_counted_skips_comments_and_notes(sample):
    text = sample("perf_not_counted.csv") + "Events enabled\nEvents disabled\n"
    c = measure.parse_perf_csv(text)
    assert set(c) == {"raw_syscalls:sys_enter", "context-switches"}
    assert all(v["value"] is None and v["status"] == "not counted" for v in c.values())


def test_perf_empty_output():
    assert measure.parse_perf_csv("") == {}
    assert measure.parse_perf_csv("# started on ...\n\n") == {}


# ---------------------------------------------------------------- /proc

def test_proc_stat(sample):
    assert measure.parse_proc_stat(sample("proc_stat_self.txt")) == (0, 0)


def test_proc_stat_with_spaces_and_parentheses_in_the_name(sample):
    assert measure.parse_proc_stat(sample("proc_stat_odd_comm.txt")) == (1234, 567)


def test_cpu_ticks_of_this_process():
    import os
    assert measure.cpu_ticks(os.getpid()) >= 0


# ---------------------------------------------------------------- /stats

def test_stats_delta(sample):
    before, after = json.loads(sample("stats_before.json")), json.loads(sample("stats_after.json"))
    d = measure.stats_delta(before, after)
    assert d["requests"] == after["totals"]["requests"] - before["totals"]["requests"] == 44642
    assert d["wrapper_syscalls"] == 194781
    assert d["kernel_syscalls"] == (after["totals"]["kernel_syscalls"]
                                    - before["totals"]["kernel_syscalls"])
    assert d["process_kernel_syscalls"] > 0
    # read_write copies the 1 KiB body in (pread) and out (write), and the head
    assert d["copied_bytes"] / d["requests"] > 2048
    assert d["body_copied_bytes"] / d["requests"] == pytest.approx(2048, rel=0.01)
    assert d["syscalls_by_call"]["pread"] == pytest.approx(d["requests"], rel=0.01)
    assert all(v > 0 for v in d["syscalls_by_call"].values())


def test_stats_delta_without_kernel_count(sample):
    before, after = json.loads(sample("stats_before.json")), json.loads(sample("stats_after.json"))
    after["kernel_count_available"] = False
    d = measure.stats_delta(before, after)
    assert d["kernel_syscalls"] is None and d["process_kernel_syscalls"] is None
    assert d["wrapper_syscalls"] == 194781


# ---------------------------------------------------------------- zcserve's output

def test_list_backends():
    text = ("+ engine=epoll sender=read_write\n+ engine=epoll sender=sendfile\n"
            "- engine=blocking sender=* (not compiled in)\n"
            "- engine=io_uring sender=splice (kernel too old)\n")
    assert servers.parse_list_backends(text) == [("epoll", "read_write"), ("epoll", "sendfile")]


def test_ready_line():
    line = ('zcserve-ready {"version": "0.1.0", "engine": "epoll", "sender": "sendfile", '
            '"workers": 1, "listen": "127.0.0.1:40187", "port": 40187, "admin": "off", '
            '"admin_port": null, "root": "/tmp/a \\"b", "pid": 5213}\n')
    fields = launch.parse_ready(line)
    assert fields["port"] == 40187 and fields["admin_port"] is None and fields["pid"] == 5213
    assert fields["root"] == '/tmp/a "b'
    assert launch.parse_ready("2026-11-22T06:35:13.782 info zcserve 0.1.0 started: ...") is None
    assert launch.parse_ready('zcserve-ready {"port": ') is None  # cut short: not ready


def test_ready_watch_reads_to_the_end(tmp_path):
    import io
    text = "log line\n" + 'zcserve-ready {"port": 1, "pid": 2}\n' + "after\n"
    seen, ended = [], []
    watch = launch.ReadyWatch(io.BytesIO(text.encode()), seen.append, lambda: ended.append(1))
    assert watch.wait(5) == {"port": 1, "pid": 2}
    watch.join()
    assert seen == ["log line", 'zcserve-ready {"port": 1, "pid": 2}', "after"] and ended == [1]


def test_backends_option():
    assert servers.parse_backends_option("epoll/sendfile, io_uring/splice,") == [
        ("epoll", "sendfile"), ("io_uring", "splice")]
    for bad in ("epoll", "epoll/", "/sendfile"):
        with pytest.raises(ValueError):
            servers.parse_backends_option(bad)


# ---------------------------------------------------------------- Google Benchmark

def test_syscall_cost_json(sample):
    cost = syscall_cost.parse_json(sample("syscall_cost.json"))
    assert set(cost) == {"function_call", "getpid_syscall", "clock_gettime_vdso",
                         "clock_gettime_syscall"}
    assert 0 < cost["function_call"] < cost["getpid_syscall"]
    assert cost["clock_gettime_vdso"] < cost["clock_gettime_syscall"]


def test_syscall_cost_units_and_aggregates():
    text = json.dumps({"benchmarks": [
        {"name": "a", "run_type": "iteration", "cpu_time": 0.5, "time_unit": "us"},
        {"name": "a_mean", "run_type": "aggregate", "cpu_time": 9, "time_unit": "ns"}]})
    assert syscall_cost.parse_json(text) == {"a": 500.0}


# ---------------------------------------------------------------- sizes

def test_sizes():
    assert tree.parse_sizes("1k,64k,1m") == [1024, 65536, 1 << 20]
    assert tree.parse_sizes("1k, 1KiB ,100") == [1024, 100]
    assert [tree.size_label(s) for s in (1024, 65536, 1 << 20, 1000)] == ["1k", "64k", "1m", "1000"]
    for bad in ("", "x", "1q", "0", "-1k"):
        with pytest.raises(ValueError):
            tree.parse_sizes(bad)


def test_make_tree(tmp_path):
    paths = tree.make_tree(str(tmp_path), [1024, 65536])
    assert paths == {1024: "/1k.bin", 65536: "/64k.bin"}
    first = (tmp_path / "1k.bin").read_bytes()
    assert len(first) == 1024
    (tmp_path / "1k.bin").write_bytes(b"short")
    tree.make_tree(str(tmp_path), [1024])
    assert (tmp_path / "1k.bin").read_bytes() == first  # same seed, same bytes


# ---------------------------------------------------------------- machine

def test_proc_stat_cpu_line(sample):
    from zcload import machine
    busy, total = machine.parse_proc_stat_cpu(sample("proc_stat_cpu.txt") + "cpu0 1 2 3 4\n")
    # user nice system idle iowait irq softirq steal
    assert total == 229430 + 29230 + 266209 + 421263 + 19067 + 0 + 77125 + 706
    assert busy == total - 421263 - 19067


def test_cpuinfo():
    from zcload import machine
    text = ("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse hypervisor\n\n"
            "processor\t: 1\nmodel name\t: AMD EPYC\n")
    assert machine.parse_cpuinfo(text) == {"cpu_model": "AMD EPYC", "virtualised": True}
    assert machine.parse_cpuinfo("model name : X\nflags : fpu\n")["virtualised"] is False


# ---------------------------------------------------------------- TCP counters

def test_snmp_tables(sample):
    snmp = measure.parse_snmp_text(sample("proc_net_snmp.txt"))
    assert snmp[("Tcp", "OutSegs")] == 469365296 and snmp[("Tcp", "RetransSegs")] == 2831374
    assert snmp[("Tcp", "MaxConn")] == -1 and snmp[("Udp", "OutDatagrams")] == 12
    ext = measure.parse_snmp_text(sample("proc_net_netstat.txt"))
    assert ext[("TcpExt", "DelayedACKs")] == 3120 and ext[("TcpExt", "TCPLossProbes")] == 880


def test_tcp_counters_of_a_live_process_and_their_delta():
    import os
    import socket
    before = measure.tcp_counters(os.getpid())
    assert set(before) == set(measure.TCP_COUNTERS.values())
    # a connection over loopback moves the namespace's counters
    srv = socket.create_server(("127.0.0.1", 0))
    cli = socket.create_connection(srv.getsockname())
    conn, _ = srv.accept()
    cli.sendall(b"x" * 1000)
    assert conn.recv(1000)
    for s in (cli, conn, srv):
        s.close()
    delta = measure.tcp_delta(before, measure.tcp_counters(os.getpid()))
    assert delta["out_segs"] >= 4 and delta["in_segs"] >= 4  # SYN, SYN-ACK, ACK, data
    assert measure.tcp_counters(2 ** 22 + 1) is None  # no such process
    assert measure.tcp_delta(None, before) is None


def test_busy_time_of_the_pinned_cpus():
    before = {0: dict(user=10, nice=0, system=20, idle=100, iowait=5, irq=1, softirq=4),
              1: dict(user=0, nice=0, system=0, idle=100, iowait=0, irq=0, softirq=0)}
    after = {0: dict(user=15, nice=0, system=30, idle=150, iowait=9, irq=1, softirq=9),
             1: dict(user=30, nice=1, system=9, idle=110, iowait=0, irq=0, softirq=10)}
    tick_us = 1e6 / measure.CLK_TCK
    assert measure.busy_delta_us(before, after, [0]) == 20 * tick_us  # idle, iowait left out
    assert measure.busy_delta_us(before, after, [0, 1]) == 70 * tick_us
    assert measure.busy_delta_us(before, after, [0, None]) is None  # not pinned
    assert measure.busy_delta_us(before, after, [0, 7]) is None
