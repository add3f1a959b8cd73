"""loadtest/run --perf-record: where each backend spends its CPU, with the
copies made visible.

After repeat 1's measured window, on the same server, the harness runs a
second wrk load of --perf-record-seconds under `perf record -g -p PID`
(started disabled and switched on and off around that load through perf's
control FIFO, as perf stat is around the measured one). The counted figures
come from the measured window alone, so the profile's sampling never
perturbs them. The profile is stored as profiles/<backend>-<size>.data
(`perf report -i` reads it, call graphs included), and
`perf report --stdio --no-children --sort symbol -g none` of it as
profiles/<backend>-<size>.txt; the report lists each profile's copy
functions first (the bytes moved by the CPU: the kernel's copy_user and
copy-to/from-iter helpers, memcpy and memmove in user space, skb copies,
page copies, checksumming copies), then its top functions.

Self time only (--no-children): a function's share is the samples taken in
it, not in what it called, so the shares add up to 100% and a copy is
charged to the copy routine, not to the sendmsg that led there.
"""

from __future__ import annotations

import os
import re
import subprocess

from . import procs
from .measure import PerfStat

# The routines that move bytes with the CPU, kernel and user space alike.
COPY_RE = re.compile(
    r"copy_user|rep_movs|rep_stos_alternative|memcpy|memmove|copy_page|skb_copy|"
    r"copy_to_user|copy_from_user|_copy_to_iter|_copy_from_iter|copy_mc|copyout|copyin|"
    r"csum_partial_copy|csum_and_copy|chksum_copy|copy_splice_read|filemap_copy|__memcpy")
LINE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)%\s+\[(.)\]\s+(.+?)\s*$")
SAMPLES_RE = re.compile(r"^# Samples: (\S+)\s+of event '([^']+)'", re.M)
SAMPLE_FREQ = 999  # Hz: not a multiple of the 100 Hz tick, so no lock-step with it


class Record(PerfStat):
    """perf record -g on one process, disabled until enable(); the data
    file is written when it is stopped (result())."""

    def __init__(self, pid: int, path: str):
        super().__init__(pid)
        self.path = path

    def command_line(self) -> list[str]:
        return ["perf", "record", "-g", "-F", str(SAMPLE_FREQ), "-D", "-1",
                "--control", f"fifo:{self.ctl},{self.ack}", "-p", str(self.pid),
                "-o", self.path, "--quiet"]

    def __enter__(self) -> "Record":
        super().__enter__()
        self.enable()
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.disable()
            err = self._stop_and_stderr()  # SIGINT: perf writes its file
            if self.proc.returncode not in (0, -2, 130) and exc[0] is None:
                raise RuntimeError(f"perf record exited {self.proc.returncode}: {err[-300:]}")
        super().__exit__(*exc)


def report(path: str, timeout: float = 120) -> str:
    """perf report's self-time table by symbol, as text."""
    # --fields: the share and the symbol only (perf adds an IPC column where
    # it has branch data); the rows then come in symbol order, so
    # parse_report sorts them by share
    p = procs.run(["perf", "report", "-i", path, "--stdio", "--no-children", "--sort", "symbol",
                   "--fields", "overhead,sym", "-g", "none", "--percent-limit", "0.1"],
                  timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0 or not p.stdout.strip():
        raise RuntimeError(f"perf report exited {p.returncode}: {p.stderr.strip()[-300:]}")
    return p.stdout


def parse_report(text: str) -> dict:
    """{'samples': N or None, 'event': name, 'functions': [{'percent',
    'space' ('kernel'|'user'), 'symbol', 'copy'}]}, largest share first."""
    funcs = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = LINE_RE.match(line)
        if not m:
            continue
        # perf pads the column, and may add an IPC column ("-  -") after it
        symbol = re.split(r"\s{2,}", m.group(3))[0]
        funcs.append({"percent": float(m.group(1)),
                      "space": "kernel" if m.group(2) == "k" else "user",
                      "symbol": symbol, "copy": bool(COPY_RE.search(symbol))})
    funcs.sort(key=lambda f: -f["percent"])
    samples = event = None
    m = SAMPLES_RE.search(text)
    if m:
        event = m.group(2)
        n = m.group(1)
        mult = {"K": 1e3, "M": 1e6}.get(n[-1:].upper(), 1)
        try:
            samples = int(float(n.rstrip("KkMm")) * mult)
        except ValueError:
            samples = None
    return {"samples": samples, "event": event, "functions": funcs}


def summarise(parsed: dict, file: str, top: int) -> dict:
    """The report's view of one profile: its copy functions (all of them,
    largest first) and their total share, then the `top` largest others."""
    funcs = parsed["functions"]
    copies = [f for f in funcs if f["copy"]]
    others = [f for f in funcs if not f["copy"]][:top]
    return {"file": file, "samples": parsed["samples"], "event": parsed["event"],
            "copy_percent": round(sum(f["percent"] for f in copies), 2),
            "copy_functions": copies, "top_functions": others}


def text_lines(prof: dict) -> list[str]:
    """A profile as a few lines of text (results.md)."""
    if prof.get("error"):
        return [f"profile failed: {prof['error']}"]
    lines = [f"copy functions {prof['copy_percent']:.1f}% of {prof.get('samples') or '?'} "
             f"samples ({prof.get('event') or '?'}); `perf report -i {prof['file']}`"]
    for f in prof["copy_functions"]:
        lines.append(f"  copy  {f['percent']:6.2f}%  [{f['space'][0]}] {f['symbol']}")
    for f in prof["top_functions"]:
        lines.append(f"        {f['percent']:6.2f}%  [{f['space'][0]}] {f['symbol']}")
    return lines


def available() -> str:
    """'' if perf record can sample here, else why not."""
    p = subprocess.run(["perf", "record", "-q", "-o", "/dev/null", "--", "true"],
                       capture_output=True, text=True)
    return "" if p.returncode == 0 else f"perf record failed: {p.stderr.strip()[-300:]}"
