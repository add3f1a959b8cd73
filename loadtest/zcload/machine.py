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


def machine_info() -> dict:
    info = parse_cpuinfo(_read("/proc/cpuinfo"))
    info.update({
        "cpus": os.cpu_count(),
        "cpus_usable": sorted(os.sched_getaffinity(0)),
        "kernel": platform.release(),
        "os": _os_name(),
        "memory_gib": _memory_gib(),
        "mitigations": _read("/sys/devices/system/cpu/vulnerabilities/spectre_v2").strip() or None,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "tools": {
            "wrk": tool_version(["wrk", "-v"], r"wrk (?:debian/)?(\d+\.\d+\.\d+)"),
            "perf": tool_version(["perf", "--version"]),
        },
    })
    return info
