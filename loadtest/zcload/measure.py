"""Measuring a server from outside, the same way for every server.

zcserve counts itself (its /stats), but nginx, lighttpd and h2o do not, and
a comparison is only fair when every column is measured the same way. So
the comparison table's system calls, context switches and CPU come from the
kernel, for every server alike:

  - perf stat -e raw_syscalls:sys_enter,context-switches -p PID: every
    system call entered and every switch, in every thread of the process,
    counted only while wrk runs (perf starts disabled and is switched on
    and off through its control FIFO, so the start-up, the warm-up and the
    harness's own /stats reads fall outside the window);
  - utime + stime of the process from /proc/PID/stat before and after (all
    its threads, ended ones included; clock ticks of 10 ms).

Beside them, for the kernel's side of a request: the TCP counters of the
server's network namespace (segments, retransmissions, tail loss probes,
delayed ACKs, from /proc/PID/net/snmp and netstat) and softirq time per
pinned CPU (/proc/stat), both read before and after the window.

zcserve's own figures (bytes copied through user space, the wrapper count,
calls by name) come from /stats and are extra columns only it can have.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import tempfile
import urllib.request

from . import procs

PERF_EVENTS = ("raw_syscalls:sys_enter", "context-switches")
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- perf stat

def parse_perf_csv(text: str) -> dict[str, dict]:
    """perf stat -x, output: 'value,unit,event,run time,percent,...' per
    event. '<not counted>' (the counter never ran: the task was not
    scheduled while it was enabled) and '<not supported>' (the kernel
    refused the event) give value None with the reason in 'status'.
    Comment lines, blank lines and perf's 'Events enabled/disabled' notes
    are skipped."""
    out: dict[str, dict] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#") or "," not in line:
            continue
        fields = line.split(",")
        if len(fields) < 3:
            continue
        raw, event = fields[0].strip(), fields[2].strip()
        if not event:
            continue
        entry: dict = {"value": None, "status": "counted"}
        if raw.startswith("<"):
            entry["status"] = raw.strip("<>")
        else:
            try:
                entry["value"] = float(raw)
            except ValueError:
                continue
        if len(fields) > 4 and fields[4].strip():
            try:
                entry["percent_running"] = float(fields[4])
            except ValueError:
                pass
        out[event] = entry
    return out


class PerfStat:
    """perf stat attached to a process, started disabled (-D -1) and
    switched on and off through a control FIFO, so the window is exactly
    the wrk run. Use as a context manager: perf always ends."""

    def __init__(self, pid: int, events=PERF_EVENTS):
        self.pid = pid
        self.events = events
        self.dir = tempfile.mkdtemp(prefix="zcload-perf-")
        self.ctl = os.path.join(self.dir, "ctl")
        self.ack = os.path.join(self.dir, "ack")
        self.out = os.path.join(self.dir, "perf.csv")
        self.proc: subprocess.Popen | None = None
        self._ctl_fd = self._ack_fd = -1

    def __enter__(self) -> "PerfStat":
        os.mkfifo(self.ctl)
        os.mkfifo(self.ack)
        # Open both FIFOs read-write here, so neither open blocks waiting
        # for perf, and perf's own opens find the other end present.
        self._ctl_fd = os.open(self.ctl, os.O_RDWR)
        self._ack_fd = os.open(self.ack, os.O_RDWR)
        self.proc = procs.spawn(self.command_line(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return self

    def command_line(self) -> list[str]:
        return ["perf", "stat", "-e", ",".join(self.events), "-x,", "-D", "-1",
                "--control", f"fifo:{self.ctl},{self.ack}", "-p", str(self.pid), "-o", self.out]

    def _command(self, word: str, timeout: float = 10) -> None:
        os.write(self._ctl_fd, (word + "\n").encode())
        got = b""
        while b"ack" not in got:
            ready, _, _ = select.select([self._ack_fd], [], [], timeout)
            if not ready:
                err = self._stop_and_stderr()
                raise RuntimeError(f"perf stat did not acknowledge {word!r}: {err}")
            got += os.read(self._ack_fd, 64)

    def enable(self) -> None:
        self._command("enable")

    def disable(self) -> None:
        self._command("disable")

    def _stop_and_stderr(self) -> str:
        if self.proc is None:
            return ""
        procs.stop(self.proc, sig=2, grace=10)  # SIGINT: perf writes its counts
        return (self.proc.stderr.read() or b"").decode(errors="replace").strip()

    def result(self) -> dict[str, dict]:
        """Stops perf and returns its counts."""
        err = self._stop_and_stderr()
        try:
            with open(self.out) as f:
                text = f.read()
        except OSError:
            text = ""
        counts = parse_perf_csv(text)
        if not counts:
            raise RuntimeError(f"perf stat gave no counts: {err or text.strip()}")
        return counts

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            procs.stop(self.proc, sig=2, grace=5)
        for fd in (self._ctl_fd, self._ack_fd):
            if fd >= 0:
                os.close(fd)
        for path in (self.ctl, self.ack, self.out):
            try:
                os.unlink(path)
            except OSError:
                pass
        try:
            os.rmdir(self.dir)
        except OSError:
            pass


def perf_check() -> str | None:
    """None when perf can count both events here, else why not."""
    try:
        p = procs.run(["perf", "stat", "-e", ",".join(PERF_EVENTS), "-x,", "--", "true"],
                      timeout=30, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except FileNotFoundError:
        return "perf is not installed (Debian: linux-perf)"
    except subprocess.TimeoutExpired:
        return "perf stat did not finish"
    counts = parse_perf_csv(p.stderr)
    for event in PERF_EVENTS:
        if event not in counts or counts[event]["status"] == "not supported":
            return (f"perf cannot count {event} here (needs root or CAP_PERFMON and "
                    f"tracefs): {p.stderr.strip()[-300:]}")
    return None


# ---------------------------------------------------------------- /proc

def parse_proc_stat(text: str) -> tuple[int, int]:
    """(utime, stime) in clock ticks from /proc/PID/stat. The command name
    (field 2) is in parentheses and may hold spaces and parentheses itself,
    so the fields are counted from the last ')'. For a process (not a
    thread) these are the sums over all its threads, ended ones included."""
    rest = text[text.rindex(")") + 2:].split()
    # rest[0] is field 3 (state); utime and stime are fields 14 and 15
    return int(rest[11]), int(rest[12])


def cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        utime, stime = parse_proc_stat(f.read())
    return utime + stime


def parse_proc_stat_cpus(text: str) -> dict[int, dict[str, int]]:
    """Per-CPU times from /proc/stat, in clock ticks: {cpu: {user, nice,
    system, idle, iowait, irq, softirq}}."""
    names = ("user", "nice", "system", "idle", "iowait", "irq", "softirq")
    out = {}
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0].startswith("cpu") and fields[0][3:].isdigit():
            out[int(fields[0][3:])] = dict(zip(names, map(int, fields[1:8])))
    return out


def cpu_times() -> dict[int, dict[str, int]]:
    with open("/proc/stat") as f:
        return parse_proc_stat_cpus(f.read())


def softirq_delta_us(before: dict, after: dict, cpu: int | None) -> float | None:
    """Softirq time on one CPU between two cpu_times() reads, in
    microseconds. Where TCP receive processing and veth delivery land: on
    the CPU that sent the packet, in whatever task was running there."""
    if cpu is None or cpu not in before or cpu not in after:
        return None
    return (after[cpu]["softirq"] - before[cpu]["softirq"]) * 1e6 / CLK_TCK


def busy_delta_us(before: dict, after: dict, cpus: list[int | None]) -> float | None:
    """Busy time (user, nice, system, irq, softirq) summed over `cpus`
    between two cpu_times() reads, in microseconds; None unless every CPU
    is known. Over the two pinned CPUs it is what a request cost the
    machine, server and client together, wherever the kernel charged it."""
    if not cpus or any(c is None or c not in before or c not in after for c in cpus):
        return None
    keys = ("user", "nice", "system", "irq", "softirq")
    ticks = sum(after[c][k] - before[c][k] for c in cpus for k in keys)
    return ticks * 1e6 / CLK_TCK


def irq_time_accounting() -> bool | None:
    """Whether this kernel keeps softirq and irq time out of the task that
    happened to be running (CONFIG_IRQ_TIME_ACCOUNTING); None if unknown.
    Without it, a softirq tick is charged to that task's stime as well as
    counted as softirq in /proc/stat."""
    import gzip
    import platform
    texts = []
    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            texts.append(f.read())
    except OSError:
        pass
    try:
        with open(f"/boot/config-{platform.release()}") as f:
            texts.append(f.read())
    except OSError:
        pass
    for text in texts:
        if "CONFIG_IRQ_TIME_ACCOUNTING=y" in text:
            return True
        if "CONFIG_IRQ_TIME_ACCOUNTING is not set" in text:
            return False
    return None


# ---------------------------------------------------------------- TCP counters

# The counters read, by (file, group, name) -> the record's name.
TCP_COUNTERS = {
    ("snmp", "Tcp", "OutSegs"): "out_segs",
    ("snmp", "Tcp", "InSegs"): "in_segs",
    ("snmp", "Tcp", "RetransSegs"): "retrans_segs",
    ("netstat", "TcpExt", "TCPLossProbes"): "loss_probes",
    ("netstat", "TcpExt", "DelayedACKs"): "delayed_acks",
}


def parse_snmp_text(text: str) -> dict[tuple[str, str], int]:
    """/proc/net/snmp or /proc/net/netstat: pairs of lines, 'Group: names'
    then 'Group: values'. Returns {(group, name): value}."""
    out: dict[tuple[str, str], int] = {}
    lines = text.splitlines()
    for names, values in zip(lines[::2], lines[1::2]):
        group, _, names = names.partition(":")
        vgroup, _, values = values.partition(":")
        if group != vgroup:
            continue
        for n, v in zip(names.split(), values.split()):
            try:
                out[(group, n)] = int(v)
            except ValueError:
                pass
    return out


def tcp_counters(pid: int) -> dict[str, int] | None:
    """The TCP counters of the network namespace process `pid` is in (its
    /proc/PID/net), or None when they cannot be read. Counters are per
    namespace, not per process: over loopback they hold wrk's segments as
    well as the server's, and anything else talking over loopback then."""
    tables = {}
    try:
        for name in ("snmp", "netstat"):
            with open(f"/proc/{pid}/net/{name}") as f:
                tables[name] = parse_snmp_text(f.read())
    except OSError:
        return None
    return {out: tables[file].get((group, name)) for (file, group, name), out
            in TCP_COUNTERS.items() if tables[file].get((group, name)) is not None}


def tcp_delta(before: dict | None, after: dict | None) -> dict[str, int] | None:
    if before is None or after is None:
        return None
    return {k: after[k] - before[k] for k in after if k in before}


# ---------------------------------------------------------------- zcserve /stats

def read_stats(admin_port: int, timeout: float = 10, ns: str | None = None) -> dict:
    """zcserve's /stats from its admin listener on 127.0.0.1, in network
    namespace `ns` when the server runs in one (the veth path)."""
    if ns is None:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/stats",
                                    timeout=timeout) as r:
            return json.load(r)
    from .servers import NsHTTPConnection
    conn = NsHTTPConnection(ns, "127.0.0.1", admin_port, timeout=timeout)
    try:
        conn.request("GET", "/stats")
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    if resp.status != 200:
        raise RuntimeError(f"/stats answered {resp.status}")
    return json.loads(body)


def stats_delta(before: dict, after: dict) -> dict:
    """zcserve's own figures over the window between two /stats reads:
    requests, wrapper-counted calls (all threads), the kernel's count on the
    workers and on the whole process, bytes copied through user space, and
    calls by name. None where the server could not open its kernel
    counters."""
    b, a = before["totals"], after["totals"]

    def diff(x, y):
        return None if x is None or y is None else y - x

    calls = {name: a["syscalls_by_call"].get(name, 0) - b["syscalls_by_call"].get(name, 0)
             for name in a.get("syscalls_by_call", {})}
    kernel_ok = bool(after.get("kernel_count_available", True))
    return {
        "requests": a["requests"] - b["requests"],
        "wrapper_syscalls": a["syscalls"] - b["syscalls"],
        "kernel_syscalls": diff(b.get("kernel_syscalls"), a.get("kernel_syscalls")) if kernel_ok else None,
        "process_kernel_syscalls": (diff(before.get("process", {}).get("kernel_syscalls"),
                                         after.get("process", {}).get("kernel_syscalls"))
                                    if kernel_ok else None),
        # Across the user/kernel line both ways, and within user space into
        # a userspace stack's buffers (in_user, the dpdk engine's; absent
        # from the /stats of an older zcserve).
        "copied_bytes": sum(a["copied_bytes"].get(k, 0) - b["copied_bytes"].get(k, 0)
                            for k in ("to_user", "from_user", "in_user")),
        "body_copied_bytes": a["copied_bytes"]["body"] - b["copied_bytes"]["body"],
        "syscalls_by_call": {k: v for k, v in calls.items() if v},
    }
