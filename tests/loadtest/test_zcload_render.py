"""CSV, Markdown, HTML and charts from records."""

import csv
import io
import json
import os

import pytest

from zcload_records import record, wrk_result
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
