"""What the machine is: every report states it, since every figure depends
on it (a system call costs what this CPU, this kernel and its mitigations
make it cost)."""

from __future__ import annotations

import datetime
import os
import platform
import re
import shutil
import subprocess
import time


def parse_cpuinfo(text: str) -> dict:
    """CPU model and whether a hypervisor is underneath, from /proc/cpuinfo."""
    model = None
    hypervisor = False
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model is None:
            model = value.strip()
        elif key == "flags" and "hypervisor" in value.split():
            hypervisor = True
    return {"cpu_model": model or platform.processor() or "unknown", "virtualised": hypervisor}


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _os_name() -> str:
    m = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', _read("/etc/os-release"), re.M)
    return m.group(1) if m else platform.system()


def _memory_gib() -> float | None:
    m = re.search(r"^MemTotal:\s+(\d+) kB", _read("/proc/meminfo"), re.M)
    return round(int(m.group(1)) / (1 << 20), 1) if m else None


def tool_version(cmd: list[str], pattern: str = r"(\d+\.\d+(?:\.\d+)?)") -> str | None:
    """First version-looking string a tool prints about itself, or None."""
    if not shutil.which(cmd[0]):
        return None
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(pattern, p.stdout + p.stderr)
    return m.group(1) if m else None


def parse_proc_stat_cpu(text: str) -> tuple[int, int]:
    """(busy, total) jiffies from the 'cpu' line of /proc/stat; idle and
    iowait are not busy."""
    for line in text.splitlines():
        if line.startswith("cpu "):
            vals = [int(v) for v in line.split()[1:]]
            total = sum(vals[:8])  # guest time is already in user
            idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
            return total - idle, total
    raise ValueError("no cpu line in /proc/stat")


def cpu_busy_percent(seconds: float = 1.0) -> float | None:
    """How busy all CPUs were over the next few seconds, 0-100: unlike the
    load average, which lags by minutes, it says whether something else is
    running now."""
    try:
        b1, t1 = parse_proc_stat_cpu(_read("/proc/stat"))
        time.sleep(seconds)
        b2, t2 = parse_proc_stat_cpu(_read("/proc/stat"))
    except ValueError:
        return None
    return round(100.0 * (b2 - b1) / (t2 - t1), 1) if t2 > t1 else None


def load_average() -> list[float] | None:
    """1, 5 and 15-minute load averages: a busy machine makes noisy figures,
    so the report says how busy it was."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine_info() -> dict:
    info = parse_cpuinfo(_read("/proc/cpuinfo"))
    info.update({
        "cpus": os.cpu_count(),
        "cpus_usable": sorted(os.sched_getaffinity(0)),
        "kernel": platform.release(),
        "os": _os_name(),
        "memory_gib": _memory_gib(),
        "mitigations": _read("/sys/devices/system/cpu/vulnerabilities/spectre_v2").strip() or None,
        "load_average_at_start": load_average(),
        "cpu_busy_percent_at_start": cpu_busy_percent(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "tools": {
            "wrk": tool_version(["wrk", "-v"], r"wrk (?:debian/)?(\d+\.\d+\.\d+)"),
            "perf": tool_version(["perf", "--version"]),
        },
    })
    return info
