"""wrk: the command line, and the JSON line loadtest/wrk_report.lua prints."""

from __future__ import annotations

import json
import math
import os
import subprocess

from . import procs

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "wrk_report.lua")
MARKER = "ZCLOAD_WRK_JSON "
ERROR_KINDS = ("connect", "read", "write", "status", "timeout")
# A reply that takes longer than this counts as a wrk timeout error (and
# fails the run); wrk's default is 2 s.
REQUEST_TIMEOUT_S = 10


def whole_seconds(duration_s: float) -> int:
    return max(1, math.ceil(duration_s - 1e-9))


def command(url: str, connections: int, duration_s: float, cpu: int | None = None,
            ns: str | None = None) -> list[str]:
    """One wrk thread: with the server on one CPU and wrk on another, a
    second wrk thread would only share wrk's CPU. wrk takes whole seconds
    (its parser knows s, m and h, not ms), so a duration is rounded up.
    In network namespace `ns` (the client side of the veth path) if given."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{whole_seconds(duration_s)}s",
           f"--timeout", f"{REQUEST_TIMEOUT_S}s", "-s", SCRIPT, url]
    cmd = (["taskset", "-c", str(cpu)] if cpu is not None else []) + cmd
    return (["ip", "netns", "exec", ns] if ns else []) + cmd


def parse_output(stdout: str) -> dict:
    """The JSON line among wrk's output, with the error counts completed
    and a total. Raises ValueError when wrk printed none (it failed before
    done() ran, e.g. could not resolve or connect at all)."""
    for line in stdout.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER):])
            break
    else:
        raise ValueError("wrk printed no result line (" + MARKER.strip() + ")")
    errors = {kind: int(data.get("errors", {}).get(kind, 0)) for kind in ERROR_KINDS}
    errors["non_2xx"] = int(data.get("non_2xx", errors["status"]))
    data["errors"] = errors
    # status errors are the non-2xx replies; count them once in the total
    data["error_total"] = sum(errors[k] for k in ERROR_KINDS)
    return data


def run(url: str, connections: int, duration_s: float, cpu: int | None,
        ns: str | None = None) -> tuple[dict, str]:
    """Runs wrk, bounded well past its duration. Returns (parsed, raw output)."""
    cmd = command(url, connections, duration_s, cpu, ns)
    p = procs.run(cmd, timeout=duration_s + REQUEST_TIMEOUT_S + 30, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE, text=True)
    raw = p.stdout + p.stderr
    if p.returncode != 0:
        lines = [l for l in raw.strip().splitlines() if l.strip()]
        raise RuntimeError(f"wrk exited {p.returncode}: " + " / ".join(lines[:3]))
    return parse_output(p.stdout), raw
