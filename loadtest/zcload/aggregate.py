"""One record per run, and the medians and spreads over repeats.

A run that had any wrk error (connect, read, write, timeout), any non-2xx
reply, replies shorter than the file, or that the harness could not carry
out, is marked failed. A failed run keeps its record (with its errors) in
results.json and results.csv, but is never part of a median: the table
shows how many runs failed instead of quietly averaging them in.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

# Every figure the table, the CSV and the charts show, in order.
#   key, column title, unit, decimals, who has it
# "all": measured from outside for every server alike (wrk, perf, /proc);
# "zcserve": zcserve's own count from /stats, null for the peers.
FIGURES = [
    ("requests_per_sec", "req/s", "requests per second", 0, "all"),
    ("server_cpu_percent", "server CPU %", "server CPU use, % of one CPU", 0, "all"),
    ("p99_latency_ms", "p99 ms", "99th percentile latency, ms", 2, "all"),
    ("syscalls_per_request", "syscalls/req", "system calls per request", 2, "all"),
    ("context_switches_per_request", "switches/req", "context switches per request", 3, "all"),
    ("cpu_us_per_request", "CPU us/req", "CPU microseconds per request", 2, "all"),
    ("copied_bytes_per_request", "copied B/req", "bytes copied through user space per request",
     0, "zcserve"),
    ("wrapper_syscalls_per_request", "zc calls/req", "system calls per request (zcserve's count)",
     2, "zcserve"),
]
FIGURE_KEYS = [f[0] for f in FIGURES]

# Where the kernel's work per request goes, in a table of its own (not the
# charts): TCP segments and their accidents from the server's network
# namespace's counters (/proc/PID/net/snmp and netstat), and softirq time
# on each pinned CPU.
#   key, column title, decimals
DETAIL_FIGURES = [
    ("tcp_out_segs_per_request", "segs out/req", 2),
    ("tcp_in_segs_per_request", "segs in/req", 2),
    ("tcp_retrans_segs_per_request", "retrans/req", 3),
    ("tcp_loss_probes_per_request", "loss probes/req", 3),
    ("tcp_delayed_acks_per_request", "delayed ACKs/req", 3),
    ("softirq_us_per_request_server_cpu", "softirq us/req, server CPU", 2),
    ("softirq_us_per_request_client_cpu", "softirq us/req, wrk CPU", 2),
    ("machine_cpu_us_per_request", "both CPUs us/req", 2),
]
DETAIL_KEYS = [f[0] for f in DETAIL_FIGURES]

# Engines whose worker polls without ever sleeping: 100% of a CPU, busy or
# idle, so their CPU per request is that CPU over the requests served.
POLLING_ENGINES = frozenset({"dpdk"})


def _per(value, requests):
    if value is None or not requests:
        return None
    return value / requests


def build_record(*, server: str, engine: str, sender: str, label: str, file_size: int,
                 connections: int, repeat: int, wrk: dict | None, perf: dict | None,
                 cpu_ticks: int | None, clk_tck: int, zc: dict | None,
                 error: str | None = None, path: str = "loopback",
                 softirq_us: dict | None = None, tcp: dict | None = None) -> dict:
    """One run's record from what was measured. wrk is wrk.parse_output's
    dict, perf is measure.parse_perf_csv's, cpu_ticks the utime+stime
    difference, zc is measure.stats_delta's (None for a peer). error is a
    failure the harness met (server did not start, wrk crashed...). path is
    where the server listened ("loopback" or "veth"); softirq_us the softirq
    time on the server's and wrk's CPUs over the window ({"server_cpu",
    "client_cpu"}, from /proc/stat), when they were pinned; tcp the
    server's network namespace's TCP counters over the window
    (measure.tcp_delta's)."""
    wrk = wrk or {}
    requests = int(wrk.get("requests") or 0)
    if engine in POLLING_ENGINES and server == "zcserve":
        tcp = None  # its TCP is its own stack's, which the kernel's counters never see
    errors = dict(wrk.get("errors") or {})
    latency = wrk.get("latency_ms") or {}
    reasons = [error] if error else []
    if wrk and wrk.get("error_total", 0):
        reasons.append("wrk errors: " + ", ".join(f"{k} {v}" for k, v in errors.items() if v))
    if wrk and requests == 0:
        reasons.append("no request completed")
    bytes_per_request = _per(wrk.get("bytes"), requests)
    if bytes_per_request is not None and bytes_per_request < file_size:
        reasons.append(f"replies averaged {bytes_per_request:.0f} bytes, "
                       f"less than the {file_size}-byte file")

    def perf_value(event):
        entry = (perf or {}).get(event)
        return entry["value"] if entry else None

    syscalls = perf_value("raw_syscalls:sys_enter")
    switches = perf_value("context-switches")
    cpu_us = None if cpu_ticks is None else cpu_ticks * 1e6 / clk_tck
    zc = zc or None
    return {
        "server": server,
        "engine": engine,
        "sender": sender,
        "label": label,
        "path": path,
        # the worker polls without sleeping: its CPU is 100% busy or idle
        "polling": engine in POLLING_ENGINES and server == "zcserve",
        "file_size": file_size,
        "connections": connections,
        "repeat": repeat,
        "requests": requests,
        "duration_s": wrk.get("duration_s"),
        "requests_per_sec": wrk.get("requests_per_sec"),
        "latency_ms": latency,
        "p99_latency_ms": latency.get("p99"),
        "bytes_per_request": bytes_per_request,
        "syscalls": syscalls,
        "syscalls_per_request": _per(syscalls, requests),
        "context_switches": switches,
        "context_switches_per_request": _per(switches, requests),
        "cpu_us": cpu_us,
        "cpu_us_per_request": _per(cpu_us, requests),
        # How busy the server's CPU was: near 100 the server was the
        # bottleneck; well below, wrk was, or something else took the CPU
        # (then req/s and latency say little, the per-request counts still do).
        "server_cpu_percent": (None if cpu_us is None or not wrk.get("duration_s")
                               else cpu_us / (wrk["duration_s"] * 1e6) * 100),
        # zcserve's own figures, per request it counted itself
        "copied_bytes_per_request": _per(zc["copied_bytes"], zc["requests"]) if zc else None,
        "body_copied_bytes_per_request": (_per(zc["body_copied_bytes"], zc["requests"])
                                          if zc else None),
        "wrapper_syscalls_per_request": _per(zc["wrapper_syscalls"], zc["requests"]) if zc else None,
        # zcserve's own kernel count (tracepoint counters it opens itself):
        # on its workers, and on the whole process (inherited by every
        # thread, io_uring's kernel threads included): a check on perf's
        "self_kernel_syscalls_per_request": _per(zc["kernel_syscalls"], zc["requests"]) if zc else None,
        "self_process_kernel_syscalls_per_request": (_per(zc["process_kernel_syscalls"],
                                                          zc["requests"]) if zc else None),
        "syscalls_by_call_per_request": ({k: v / zc["requests"] for k, v in
                                          sorted(zc["syscalls_by_call"].items(),
                                                 key=lambda kv: -kv[1])}
                                         if zc and zc["requests"] else None),
        "server_requests": zc["requests"] if zc else None,
        # softirq time on each pinned CPU, per request: TCP receive and veth
        # delivery run there in whatever task is current (see docs/measuring.md)
        "softirq_us_per_request_server_cpu": _per((softirq_us or {}).get("server_cpu"), requests),
        "softirq_us_per_request_client_cpu": _per((softirq_us or {}).get("client_cpu"), requests),
        # busy time of both pinned CPUs (server and wrk) per request: the
        # whole cost of a request, wherever the kernel charged its TCP work
        "machine_cpu_us_per_request": _per((softirq_us or {}).get("both_cpus_busy"), requests),
        # TCP segments per request in the server's namespace: over loopback
        # both ends' (wrk's ACKs too), over the veth the server's end only
        **{f"tcp_{k}_per_request": _per((tcp or {}).get(k), requests)
           for k in ("out_segs", "in_segs", "retrans_segs", "loss_probes", "delayed_acks")},
        "errors": errors,
        "failed": bool(reasons),
        "failure": "; ".join(reasons) or None,
    }


@dataclass
class Stat:
    median: float
    low: float
    high: float
    n: int


def summarise(values: list[float | None]) -> Stat | None:
    """Median and min-max spread of the finite values; None if there are none."""
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return None
    return Stat(statistics.median(vals), min(vals), max(vals), len(vals))


GROUP_FIELDS = ("server", "engine", "sender", "label", "path", "file_size", "connections")


def aggregate(records: list[dict]) -> list[dict]:
    """Groups runs of the same server, backend, file size and connection
    count (in the order they first ran), and gives each figure's median and
    spread over the runs that did not fail."""
    groups: dict[tuple, dict] = {}
    for rec in records:
        rec.setdefault("path", "loopback")  # results.json from before paths
        key = tuple(rec[f] for f in GROUP_FIELDS)
        g = groups.setdefault(key, {**{f: rec[f] for f in GROUP_FIELDS},
                                    "runs": 0, "failed_runs": 0, "failures": [], "_ok": []})
        g["runs"] += 1
        if rec["failed"]:
            g["failed_runs"] += 1
            g["failures"].append(f"repeat {rec['repeat']}: {rec['failure']}")
        else:
            g["_ok"].append(rec)
    out = []
    for g in groups.values():
        ok = g.pop("_ok")
        g["ok_runs"] = len(ok)
        g["polling"] = g["engine"] in POLLING_ENGINES and g["server"] == "zcserve"
        g["figures"] = {}
        for key in FIGURE_KEYS + DETAIL_KEYS:
            s = summarise([r.get(key) for r in ok])
            g["figures"][key] = (None if s is None else
                                 {"median": s.median, "min": s.low, "max": s.high, "n": s.n})
        out.append(g)
    return out


def display_label(group: dict) -> str:
    """The backend as tables and charts name it: its label, with the path
    when it is not loopback."""
    return group["label"] if group.get("path", "loopback") == "loopback" \
        else f"{group['label']} (veth)"


def median_of(group: dict, key: str) -> float | None:
    f = group["figures"].get(key)
    return None if f is None else f["median"]
