"""CSV, Markdown, HTML and charts from records."""

import csv
import io
import json
import os

import pytest

from zcload_records import ZC, record, wrk_result
from zcload import aggregate, render

COST = {"untraced": {"function_call": 1.2, "getpid_syscall": 120.0, "clock_gettime_vdso": 22.0,
                     "clock_gettime_syscall": 180.0},
        "traced": {"getpid_syscall": 240.0}}


def runs():
    return [record(repeat=1, wrk=wrk_result(rps=1000.0)),
            record(repeat=2, wrk=wrk_result(rps=3000.0)),
            record(repeat=3, wrk=wrk_result(errors={"timeout": 4})),
            record(server="nginx", label="nginx",
                   perf={"raw_syscalls:sys_enter": {"value": 50000.0, "status": "counted"},
                         "context-switches": {"value": 10.0, "status": "counted"}}),
            record(server="h2o", label="h2o", sender="default", error="RuntimeError: no start",
                   wrk=None, perf=None, cpu_ticks=None)]


def test_csv_one_row_per_run():
    rows = list(csv.DictReader(io.StringIO(render.csv_text(runs()))))
    assert len(rows) == 5
    assert rows[0]["requests_per_sec"] == "1000.0" and rows[0]["failed"] == "false"
    assert rows[0]["p99.9_latency_ms"] == "3.0" and rows[0]["copied_bytes_per_request"] == "272.0"
    assert rows[2]["failed"] == "true" and rows[2]["errors_timeout"] == "4"
    assert rows[3]["copied_bytes_per_request"] == ""  # null for a peer, not 0
    assert rows[4]["failure"] == "RuntimeError: no start" and rows[4]["requests_per_sec"] == ""


def test_markdown_medians_spread_and_failures():
    md = render.markdown_table(aggregate.aggregate(runs()))
    lines = md.splitlines()
    assert lines[0].startswith("| server | backend | size | conns | req/s |")
    zc = next(l for l in lines if l.startswith("| zcserve"))
    assert "| 2000 (1000–3000) |" in zc and "| 2/3 FAILED |" in zc
    nginx = next(l for l in lines if l.startswith("| nginx"))
    assert "| epoll/sendfile |" in nginx and "| 5.00 |" in nginx and "| n/a |" in nginx
    h2o = next(l for l in lines if l.startswith("| h2o"))
    assert h2o.count("failed") == len(aggregate.FIGURES) and "0/1 FAILED" in h2o
    assert "Failed runs (not in the medians)" in md
    assert "epoll/sendfile 1k c=64, repeat 3: wrk errors: timeout 4" in md
    assert "h2o 1k c=64, repeat 1: RuntimeError: no start" in md


def test_cells():
    assert render.fmt_cell(None, 2) == "n/a"
    assert render.fmt_cell({"median": 1.234, "min": 1.2, "max": 1.3, "n": 1}, 2) == "1.23"
    assert render.fmt_cell({"median": 2, "min": 1, "max": 3, "n": 3}, 0) == "2 (1–3)"
    assert render.fmt_number(float("nan"), 1) == "n/a"


def test_syscall_cost_sentence():
    text = render.syscall_cost_text(COST, aggregate.aggregate(runs()))
    assert "~120 ns" in text and "~240 ns while perf counts" in text
    assert "nginx makes 1.0 more calls per request than epoll/sendfile" in text
    assert render.syscall_cost_text(None, []) is None


def test_write_all(tmp_path):
    pytest.importorskip("matplotlib")
    doc = {"command": "loadtest/run --quick", "machine": {"cpu_model": "X", "cpus": 2,
                                                          "kernel": "6", "date": "today"},
           "options": {}, "pinning": {"text": "server on CPU 0"}, "load_text": "wrk",
           "syscall_cost": COST, "runs": runs()}
    out = render.write_all(doc, str(tmp_path))
    data = json.loads((tmp_path / "results.json").read_text())
    assert len(data["runs"]) == 5 and len(data["summary"]) == 3
    assert data["summary"][0]["calls_by_name"]["recv"] == 1.0
    html = (tmp_path / "report.html").read_text()
    assert html.count("<svg") == len(render.CHARTS) and "<?xml" not in html
    assert "server on CPU 0" in html and "loadtest/run --quick" in html and "~120 ns" in html
    for c in out["charts"]:
        assert (tmp_path / c["png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (tmp_path / c["svg"]).stat().st_size > 1000
    assert {c["key"] for c in out["charts"]} == set(render.CHARTS)
    assert "2000 (1000–3000)" in (tmp_path / "results.md").read_text()


# ---------------------------------------------------------------- veth, sweep, profiles

def sweep_runs():
    """epoll read_write and sendfile over 1k..1m; sendfile cheaper from 64k
    on; dpdk over the veth at 1k; nginx at every size."""
    cpu_ticks = {  # per 10000 requests: us/req = ticks * 1e6 / 100 / 10000
        ("read_write", 1024): 10, ("sendfile", 1024): 12,
        ("read_write", 65536): 30, ("sendfile", 65536): 20,
        ("read_write", 1 << 20): 300, ("sendfile", 1 << 20): 150}
    out = []
    for (sender, size), ticks in cpu_ticks.items():
        copied = (2 * size + 272) * 10000 if sender == "read_write" else 272 * 10000
        out.append(record(label=f"epoll/{sender}", sender=sender, file_size=size,
                          wrk=wrk_result(nbytes=10000 * (size + 300)), cpu_ticks=ticks,
                          zc={**ZC, "copied_bytes": copied}))
        if sender == "sendfile":
            out.append(record(server="nginx", label="nginx", file_size=size, cpu_ticks=ticks + 5,
                              wrk=wrk_result(nbytes=10000 * (size + 300))))
    out.append(record(label="dpdk/read_write", engine="dpdk", sender="read_write", path="veth",
                      cpu_ticks=20))
    out[-1]["profile"] = PROFILE
    return out


PROFILE = {"file": "profiles/dpdk-read_write-1k.data", "samples": 1000, "event": "cpu-clock",
           "copy_percent": 1.23,
           "copy_functions": [{"percent": 0.72, "space": "kernel", "symbol": "__pi_memcpy",
                               "copy": True},
                              {"percent": 0.51, "space": "kernel", "symbol": "_copy_to_iter",
                               "copy": True}],
           "top_functions": [{"percent": 10.12, "space": "user",
                              "symbol": "zc::dpdk::device::receive", "copy": False}]}


def sweep_doc():
    return {"command": "loadtest/run --sweep", "machine": {"cpu_model": "X", "cpus": 2,
                                                           "kernel": "6", "date": "today",
                                                           "irq_time_accounting": False},
            "options": {}, "pinning": {"text": "server on CPU 0"}, "load_text": "wrk",
            "skipped": [{"backend": "io_uring/send_zc", "reason": "no reason at all"}],
            "veth": {"backends": ["dpdk/read_write"], "text": "Over the veth: test",
                     "offloads": {"server": {"tx-checksumming": "on"},
                                  "client": {"tx-checksumming": "off"}}},
            "runs": sweep_runs()}


def test_path_and_polling_in_the_table():
    groups = aggregate.aggregate(sweep_runs())
    md = render.markdown_table(groups)
    dpdk = next(l for l in md.splitlines() if "dpdk" in l)
    assert dpdk.startswith("| zcserve | dpdk/read_write (veth) | 1k | 64 |")
    # 20 ticks of 10 ms over 10000 requests: 20 us, marked as a poller's
    assert f"| 20.00{render.POLL_MARK} |" in dpdk
    assert render.POLL_NOTE in md and "100%" in render.POLL_NOTE
    epoll = next(l for l in md.splitlines() if "epoll/sendfile | 1k" in l)
    assert render.POLL_MARK not in epoll
    rows = list(csv.DictReader(io.StringIO(render.csv_text(sweep_runs()))))
    assert {r["path"] for r in rows} == {"loopback", "veth"}
    assert [r["profile_copy_percent"] for r in rows if r["engine"] == "dpdk"] == ["1.23"]


def test_crossover_sentences():
    text = render.crossover_text(aggregate.aggregate(sweep_runs()))
    assert text == ["epoll: sendfile used less CPU per request than read_write from 64k up "
                    "(at 1m: 150.0 us against read_write's 300.0 us)."]
    assert render.crossover_text(aggregate.aggregate(runs())) == []  # one size: nothing


def test_sweep_report(tmp_path):
    pytest.importorskip("matplotlib")
    out = render.write_all(sweep_doc(), str(tmp_path))
    keys = [c["key"] for c in out["charts"]]
    assert keys == render.CHARTS + ["size_" + k for k, _ in render.SIZE_CHARTS]
    size_cpu = next(c for c in out["charts"] if c["key"] == "size_cpu_us_per_request")
    # one line per backend: epoll read_write and sendfile, nginx, dpdk over the veth
    assert size_cpu["lines"] == 4
    size_copy = next(c for c in out["charts"] if c["key"] == "size_copied_bytes_per_request")
    assert size_copy["lines"] == 3  # nginx counts no copies
    for c in out["charts"]:
        assert (tmp_path / c["png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (tmp_path / "report.html").read_text()
    assert html.count("<svg") == len(keys)
    assert "Against file size" in html and "from 64k up" in html
    assert "io_uring/send_zc: no reason at all" in html
    assert "Over the veth: test" in html and "client end tx-checksumming off" in html
    assert "charged to the task it interrupted" in html
    # the profile: copy functions before the others
    assert html.index("__pi_memcpy") < html.index("_copy_to_iter") < \
        html.index("zc::dpdk::device::receive")
    md = (tmp_path / "results.md").read_text()
    assert "![server CPU per request against file size" in md
    assert "- io_uring/send_zc: no reason at all" in md
    assert "dpdk/read_write (veth) 1k c=64:" in md and "copy functions 1.2% of 1000" in md
    data = json.loads((tmp_path / "results.json").read_text())
    assert {g["path"] for g in data["summary"]} == {"loopback", "veth"}
    assert [g["polling"] for g in data["summary"] if g["engine"] == "dpdk"] == [True]


def test_one_size_draws_no_size_chart(tmp_path):
    pytest.importorskip("matplotlib")
    assert render.render_size_charts(aggregate.aggregate(runs()), str(tmp_path)) == []


def test_no_run_at_all(tmp_path):
    """Interrupted before the first run ended: the files are written all the
    same, without charts."""
    pytest.importorskip("matplotlib")
    doc = {**sweep_doc(), "runs": []}
    out = render.write_all(doc, str(tmp_path))
    assert out["charts"] == [] and (tmp_path / "report.html").exists()


def test_the_kernel_side_table(tmp_path):
    tcp = {"out_segs": 80000, "in_segs": 78000, "retrans_segs": 30, "loss_probes": 40,
           "delayed_acks": 500}
    recs = [record(tcp=tcp, softirq_us={"server_cpu": 120000.0, "client_cpu": 30000.0,
                                        "both_cpus_busy": 500000.0}),
            record(server="nginx", label="nginx", tcp={**tcp, "out_segs": 90000})]
    groups = aggregate.aggregate(recs)
    head, rows = render.detail_rows(groups)
    assert head[4:6] == ["segs out/req", "segs in/req"]
    by = {row[0]: row for row in rows}
    assert by["zcserve"][4:] == ["8.00", "7.80", "0.003", "0.004", "0.050", "12.00", "3.00",
                                 "50.00"]
    assert by["nginx"][4] == "9.00" and by["nginx"][-1] == "n/a"
    md = render.markdown_report({"command": "c", "machine": {}, "load_text": "wrk", "runs": recs},
                                groups, render.markdown_table(groups))
    assert "## The kernel's side" in md and "| zcserve | epoll/sendfile | 1k | 64 | 8.00 |" in md
    # runs without the counters (an older results.json) give no such table
    assert render.detail_rows(aggregate.aggregate([record()]))[1] == []
