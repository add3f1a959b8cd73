"""Runs loadtest/syscall_cost (Google Benchmark), untraced and then under
the same perf stat the load runs use, and reads its JSON."""

from __future__ import annotations

import json
import os
import subprocess

from . import procs
from .measure import PERF_EVENTS

_UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def find(zcserve: str) -> str | None:
    """syscall_cost built beside zcserve: build/loadtest/syscall_cost or
    build/syscall_cost."""
    d = os.path.dirname(os.path.abspath(zcserve))
    for path in (os.path.join(d, "loadtest", "syscall_cost"), os.path.join(d, "syscall_cost")):
        if os.access(path, os.X_OK):
            return path
    return None


def parse_json(text: str) -> dict[str, float]:
    """{benchmark name: CPU nanoseconds per iteration}. Aggregate rows
    (mean, median, stddev of --benchmark_repetitions) are skipped."""
    data = json.loads(text)
    out = {}
    for b in data.get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration":
            continue
        out[b["name"]] = float(b["cpu_time"]) * _UNIT_NS.get(b.get("time_unit", "ns"), 1.0)
    return out


def run(binary: str, min_time_s: float = 0.2) -> dict:
    """{'untraced': {...}, 'traced': {...}}: traced is the same program
    under perf stat -e raw_syscalls:sys_enter,context-switches, i.e. what
    a system call costs while the harness measures a server."""
    args = [binary, "--benchmark_format=json", f"--benchmark_min_time={min_time_s:g}"]
    result = {}
    for name, prefix in (("untraced", []),
                         ("traced", ["perf", "stat", "-e", ",".join(PERF_EVENTS), "-x,",
                                     "-o", os.devnull, "--"])):
        p = procs.run(prefix + args, timeout=120, stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{binary} exited {p.returncode}: {p.stderr.strip()[-300:]}")
        result[name] = parse_json(p.stdout)
    return result
