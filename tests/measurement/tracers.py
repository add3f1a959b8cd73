"""The kernel's own counts, to check zcserve's against: `strace -c` on one
thread, `perf stat -e raw_syscalls:sys_enter` on a whole process, and the
context-switch counts in /proc/PID/task/TID/status.

Every wait here is bounded.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import threading
import time

ATTACH_TIMEOUT = 10.0
STOP_TIMEOUT = 15.0


class ToolError(RuntimeError):
    pass


class ToolUnavailable(ToolError):
    """The tool ran but may not do its job here (permissions, no tracefs)."""


class PerfUnavailable(ToolUnavailable):
    """perf ran but could not count the event here."""


def missing(*tools):
    """The names among `tools` that are not on PATH."""
    return [t for t in tools if shutil.which(t) is None]


# --- strace -c ------------------------------------------------------------

_STRACE_HEADER = re.compile(r"^% time\s+seconds\s+usecs/call\s+calls\s+errors\s+syscall\s*$")


def parse_strace_summary(text):
    """Parses `strace -c` output: returns ({syscall: calls}, {syscall:
    errors}, total calls). Data rows are '% time, seconds, usecs/call,
    calls, [errors], syscall'; the errors column is blank when zero, so
    calls is the fourth field, the name the last, and errors the fifth of
    six. An empty summary (no call seen) is ({}, {}, 0)."""
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if _STRACE_HEADER.match(l)), None)
    if start is None:
        if text.strip() == "":
            return {}, {}, 0
        raise ToolError(f"no strace -c header in:\n{text[:2000]}")
    calls, errors = {}, {}
    total = None
    for line in lines[start + 1:]:
        if line.startswith("---") or not line.strip():
            continue
        fields = line.split()
        if len(fields) not in (5, 6):
            raise ToolError(f"unexpected strace -c row {line!r}")
        n = int(fields[3])
        name = fields[-1]
        if name == "total":
            total = n
            break
        calls[name] = calls.get(name, 0) + n
        if len(fields) == 6:
            errors[name] = errors.get(name, 0) + int(fields[4])
    if total is None:
        raise ToolError(f"no total row in strace -c output:\n{text[:2000]}")
    if total != sum(calls.values()):
        raise ToolError(f"strace -c rows sum to {sum(calls.values())}, its total says {total}")
    return calls, errors, total


class StraceCount:
    """`strace -c -p TID` on one thread (or several, one table). Without -f:
    with -f, strace -p TID attaches every thread of TID's process ("attached
    with 3 threads"), not just the thread named; the worker never forks, so
    -f adds nothing."""

    def __init__(self, tids, summary_path):
        """`tids`: one thread id or a list of them (all summed in one table)."""
        self.tids = [tids] if isinstance(tids, int) else list(tids)
        self.tid = self.tids[0]
        self.summary_path = str(summary_path)
        self.argv = ["strace", "-c", "-o", self.summary_path]
        for t in self.tids:
            self.argv += ["-p", str(t)]
        self.proc = None
        self.stderr_lines = []
        self._attached = threading.Event()
        self._reader = None

    def _attached_all(self):
        seen = set()
        for line in self.stderr_lines:
            m = re.match(r"^strace: Process (\d+) attached\b", line)
            if m:
                seen.add(int(m.group(1)))
        return seen >= set(self.tids)

    def _pump(self):
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.stderr_lines.append(line)
            if self._attached_all():
                self._attached.set()
        self.proc.stderr.close()
        self._attached.set()

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()
        self._attached.wait(ATTACH_TIMEOUT)
        if not self._attached_all():
            self.kill()
            self._reader.join(2)
            if any("Operation not permitted" in l for l in self.stderr_lines):
                # Not root, or Yama's ptrace_scope forbids attaching to a
                # process that is not strace's own descendant.
                raise ToolUnavailable("strace may not attach here:\n" + "\n".join(self.stderr_lines))
            raise ToolError(f"{' '.join(self.argv)} did not attach within {ATTACH_TIMEOUT:.0f} s:\n"
                            + "\n".join(self.stderr_lines))
        return self

    def stop(self):
        """SIGINT (strace detaches and writes its summary); returns the
        parsed summary ({syscall: calls}, {syscall: errors}, total)."""
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ToolError(f"strace did not stop within {STOP_TIMEOUT:.0f} s of SIGINT")
        self._reader.join(2)
        with open(self.summary_path) as f:
            return parse_strace_summary(f.read())

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# --- perf stat --------------------------------------------------------------

PERF_EVENT = "raw_syscalls:sys_enter"


def parse_perf_csv(text, event=PERF_EVENT):
    """The count of `event` in `perf stat -x,` output (value,unit,event,...)."""
    for line in text.splitlines():
        fields = line.split(",")
        if len(fields) >= 3 and fields[2] == event:
            value = fields[0].strip()
            if value.isdigit():
                return int(value)
            raise PerfUnavailable(f"perf reports {value!r} for {event}:\n{text[:2000]}")
    raise ToolError(f"no {event} line in perf stat output:\n{text[:2000]}")


class PerfStat:
    """`perf stat -e raw_syscalls:sys_enter -x, -p PID`: every thread of the
    process. perf prints nothing when it has attached, so start() waits
    `settle` seconds and checks that perf is still running."""

    def __init__(self, pid):
        self.argv = ["perf", "stat", "-e", PERF_EVENT, "-x,", "-p", str(pid)]
        self.proc = None

    def start(self, settle=0.5):
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(settle)
        if self.proc.poll() is not None:
            err = self.proc.stderr.read().decode("utf-8", "replace")
            raise PerfUnavailable(f"{' '.join(self.argv)} exited with {self.proc.returncode}:\n{err}")
        return self

    def stop(self):
        """SIGINT; returns perf's count."""
        self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ToolError(f"perf stat did not stop within {STOP_TIMEOUT:.0f} s of SIGINT")
        return parse_perf_csv(err.decode("utf-8", "replace"))

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


# --- /proc ------------------------------------------------------------------

def task_switches(pid, tid):
    """(voluntary, involuntary) context switches of one thread, from
    /proc/PID/task/TID/status."""
    vol = invol = None
    with open(f"/proc/{pid}/task/{tid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key == "voluntary_ctxt_switches":
                vol = int(value)
            elif key == "nonvoluntary_ctxt_switches":
                invol = int(value)
    if vol is None or invol is None:
        raise ToolError(f"no ctxt_switches lines in /proc/{pid}/task/{tid}/status")
    return vol, invol
