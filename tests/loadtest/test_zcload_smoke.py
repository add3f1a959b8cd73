"""The whole pipeline for a few seconds: two zcserve backends, no peers,
one repeat; every output file is there and every figure finite and
positive."""

import csv
import json
import math
import os
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LOADTEST = os.path.join(REPO, "loadtest")

FIGURES_POSITIVE = ("requests_per_sec", "p99_latency_ms", "syscalls_per_request",
                    "cpu_us_per_request", "copied_bytes_per_request",
                    "wrapper_syscalls_per_request")


@pytest.fixture(scope="module")
def zcserve(pytestconfig):
    path = pytestconfig.getoption("zcserve") or os.path.join(REPO, "build", "zcserve")
    if not os.access(path, os.X_OK):
        pytest.skip(f"no zcserve binary at {path} (--zcserve PATH)")
    return os.path.abspath(path)


@pytest.fixture(scope="module")
def run(zcserve, tmp_path_factory):
    for tool in ("wrk", "perf", "taskset"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed")
    from zcload import measure
    why = measure.perf_check()
    if why:
        pytest.skip(why)
    out = tmp_path_factory.mktemp("loadtest") / "out"
    cmd = ["/usr/bin/python3", os.path.join(LOADTEST, "run"), "--quick",
           "--zcserve", zcserve, "--backends", "epoll/sendfile,epoll/read_write",
           "--no-peers", "--repeats", "1", "--duration", "1", "--warmup", "1",
           "--out", str(out)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return out, p.stdout


def finite_positive(x):
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_results_json(run):
    out, _ = run
    doc = json.loads((out / "results.json").read_text())
    assert doc["machine"]["cpu_model"] and doc["machine"]["kernel"]
    assert doc["options"]["repeats"] == 1 and doc["options"]["peers"] == []
    assert [r["label"] for r in doc["runs"]] == ["epoll/sendfile", "epoll/read_write"]
    for r in doc["runs"]:
        assert r["failed"] is False, r["failure"]
        assert r["requests"] > 0 and r["errors"]["non_2xx"] == 0
        for key in FIGURES_POSITIVE:
            assert finite_positive(r[key]), (r["label"], key, r[key])
        assert math.isfinite(r["context_switches_per_request"])
        assert r["context_switches_per_request"] >= 0
        # the kernel saw at least the calls zcserve counted itself, give or
        # take the few requests in flight at either end of the window
        assert r["syscalls_per_request"] >= 0.9 * r["wrapper_syscalls_per_request"]
        # a reply is at least one segment out and the request one in, over
        # loopback both counted in the one namespace
        assert r["tcp_out_segs_per_request"] >= 1 and r["tcp_in_segs_per_request"] >= 1
    by = {r["label"]: r for r in doc["runs"]}
    # read_write copies the body twice through user space, sendfile never
    assert by["epoll/read_write"]["copied_bytes_per_request"] > 2048
    assert by["epoll/sendfile"]["copied_bytes_per_request"] < 1024
    assert len(doc["summary"]) == 2


def test_syscall_cost_when_built(run, zcserve):
    out, _ = run
    from zcload import syscall_cost
    doc = json.loads((out / "results.json").read_text())
    if not syscall_cost.find(zcserve):
        assert doc["syscall_cost"] is None and "not built" in doc["syscall_cost_note"]
        pytest.skip("syscall_cost is not built beside zcserve")
    for mode in ("untraced", "traced"):
        cost = doc["syscall_cost"][mode]
        assert all(finite_positive(cost[k]) for k in ("function_call", "getpid_syscall",
                                                       "clock_gettime_vdso",
                                                       "clock_gettime_syscall"))
        assert cost["function_call"] < cost["getpid_syscall"]
    assert "A system call here costs" in (out / "report.html").read_text()


def test_csv_markdown_and_report(run):
    out, stdout = run
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len(rows) == 2
    for row in rows:
        for key in FIGURES_POSITIVE:
            assert finite_positive(float(row[key])), (key, row[key])
    md = (out / "results.md").read_text()
    assert "| zcserve | epoll/sendfile | 1k | 64 |" in md
    assert "| zcserve | epoll/read_write | 1k | 64 |" in md
    html = (out / "report.html").read_text()
    assert "<table>" in html and "epoll/read_write" in html
    # the table and the report's path are printed at the end
    assert "| zcserve | epoll/sendfile |" in stdout
    assert f"report:  {out}/report.html" in stdout
    assert "[1/2] epoll/sendfile 1k c=64 rep 1/1" in stdout


def test_charts(run):
    pytest.importorskip("matplotlib")
    out, _ = run
    from zcload import render
    html = (out / "report.html").read_text()
    assert html.count("<svg") == len(render.CHARTS)
    for key in render.CHARTS:
        png, svg = out / "charts" / f"{key}.png", out / "charts" / f"{key}.svg"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in svg.read_text()


def test_no_process_left_behind(run):
    out, _ = run
    # every server's pid file or log is under out/runs; none may still run
    left = subprocess.run(["pgrep", "-f", str(out)], capture_output=True, text=True).stdout
    assert left.strip() == ""


# ---------------------------------------------------------------- a small sweep, profiled

@pytest.fixture(scope="module")
def sweep(zcserve, tmp_path_factory):
    """Two senders at two sizes, each profiled: the size charts and the
    profiles from a real run."""
    for tool in ("wrk", "perf", "taskset"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed")
    from zcload import measure, profile
    why = measure.perf_check() or profile.available()
    if why:
        pytest.skip(why)
    out = tmp_path_factory.mktemp("loadtest") / "sweep"
    cmd = ["/usr/bin/python3", os.path.join(LOADTEST, "run"), "--zcserve", zcserve,
           "--backends", "epoll/read_write,epoll/sendfile", "--no-peers", "--sizes", "1k,256k",
           "--repeats", "1", "--duration", "1", "--warmup", "1", "--syscall-cost", "off",
           "--perf-record", "--perf-record-seconds", "1", "--out", str(out)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return out


def test_sweep_records_and_size_charts(sweep):
    doc = json.loads((sweep / "results.json").read_text())
    assert doc["options"]["sizes"] == [1024, 256 << 10] and doc["options"]["perf_record"]
    by = {(r["label"], r["file_size"]): r for r in doc["runs"]}
    assert len(by) == 4 and not any(r["failed"] for r in by.values())
    for (label, size), r in by.items():
        assert r["path"] == "loopback" and finite_positive(r["cpu_us_per_request"])
        copied = r["copied_bytes_per_request"]
        # + the request and the head (~300 bytes), + the bytes of replies in
        # flight at either end of the window, counted as they are copied,
        # not as their requests complete
        if label == "epoll/read_write":  # the body in with pread, out with write
            assert 2 * size <= copied < 2 * size + 4096, (label, size, copied)
        else:  # the request and the head only, whatever the size
            assert copied < 1024, (label, size, copied)
    pytest.importorskip("matplotlib")
    from zcload import render
    for key, _ in render.SIZE_CHARTS:
        assert (sweep / "charts" / f"size_{key}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (sweep / "charts" / f"size_{key}.svg").read_text()
    html = (sweep / "report.html").read_text()
    assert "Against file size" in html
    assert "![server CPU per request against file size" in (sweep / "results.md").read_text()


def test_profiles_stored_and_parsed(sweep):
    doc = json.loads((sweep / "results.json").read_text())
    for r in doc["runs"]:
        prof = r["profile"]
        assert "error" not in prof, prof
        name = f"{r['label'].replace('/', '-')}-{'1k' if r['file_size'] == 1024 else '256k'}"
        assert prof["file"] == f"profiles/{name}.data"
        assert (sweep / prof["file"]).stat().st_size > 0
        assert (sweep / "profiles" / f"{name}.txt").read_text().count("%") > 5
        assert prof["samples"] > 0 and prof["top_functions"]
        shares = [f["percent"] for f in prof["copy_functions"] + prof["top_functions"]]
        assert all(0 < s <= 100 for s in shares) and sum(shares) <= 100.5
    # read_write copies 512 KiB through user space per 256 KiB reply: the
    # profile shows copy functions; which share they take is a timing, not
    # asserted
    rw = next(r for r in doc["runs"] if r["label"] == "epoll/read_write"
              and r["file_size"] == 256 << 10)
    assert rw["profile"]["copy_functions"]
    assert "Profiles" in (sweep / "report.html").read_text()
