"""How a program that starts zcserve learns that it serves, and where: the
one reader of zcserve's ready line, shared by the test suites
(tests/conformance, tests/robustness, tests/measurement) and the load
harness (loadtest/zcload/servers.py, loadtest/anatomy.py).

Once every worker and the admin listener accept connections, zcserve prints
one line on stderr, apart from its log's own format:

    zcserve-ready {"version": "0.1.0", "engine": "epoll", "sender": "sendfile",
                   "workers": 1, "listen": "127.0.0.1:40187", "port": 40187,
                   "admin": "127.0.0.1:37391", "admin_port": 37391,
                   "root": "/srv/www", "pid": 5213}

(on one line; "admin" is "off" and "admin_port" null without an admin
listener).
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from typing import Callable, IO

READY_PREFIX = "zcserve-ready "


def parse_ready(line: str) -> dict | None:
    """The fields of a ready line, or None for any other line."""
    line = line.rstrip("\r\n")
    if not line.startswith(READY_PREFIX):
        return None
    try:
        fields = json.loads(line[len(READY_PREFIX):])
    except json.JSONDecodeError:
        return None
    return fields if isinstance(fields, dict) and "port" in fields else None


class ReadyWatch:
    """Reads a process's stderr to its end in a background thread, hands
    every line to `sink`, and remembers the ready line's fields. Reading to
    the end keeps a chatty server from blocking on a full pipe."""

    def __init__(self, stream: IO, sink: Callable[[str], None] | None = None,
                 on_end: Callable[[], None] | None = None):
        self.fields: dict | None = None
        self._stream = stream
        self._sink = sink
        self._on_end = on_end  # called once the stream has ended
        self._done = threading.Event()  # ready line seen, or the stream ended
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        for raw in self._stream:  # binary or text, line by line as it comes
            line = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
            line = line.rstrip("\n")
            if self._sink is not None:
                self._sink(line)
            if self.fields is None and (fields := parse_ready(line)) is not None:
                self.fields = fields
                self._done.set()
        self._stream.close()
        if self._on_end is not None:
            self._on_end()
        self._done.set()  # wakes the starter if the process died first

    def wait(self, timeout: float) -> dict | None:
        """The ready line's fields once printed; None if the stream ended
        (the process died) or `timeout` seconds passed first."""
        self._done.wait(timeout)
        return self.fields

    def ended(self) -> bool:
        """The stream has ended (the process closed it, or exited)."""
        return self._done.is_set() and self.fields is None or not self._thread.is_alive()

    def join(self, timeout: float = 2.0) -> None:
        self._thread.join(timeout)


class StartError(RuntimeError):
    pass


def _pump_lines(stream: IO, lines: list[str]) -> None:
    for raw in stream:
        lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
    stream.close()


class Process:
    """A zcserve process whose stdout and stderr are kept line by line (to be
    shown when something fails) and whose ready line is awaited."""

    def __init__(self, argv: list[str], preexec_fn: Callable[[], None] | None = None):
        self.stderr_lines: list[str] = []
        self.stdout_lines: list[str] = []
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, preexec_fn=preexec_fn)
        self._watch = ReadyWatch(self.proc.stderr, self.stderr_lines.append)
        self._out = threading.Thread(target=_pump_lines, args=(self.proc.stdout, self.stdout_lines),
                                     daemon=True)
        self._out.start()

    def wait_ready(self, timeout: float) -> dict:
        """The ready line's fields. Raises StartError saying why not (the
        process exited first, or printed nothing within `timeout` seconds,
        and was then killed)."""
        fields = self._watch.wait(timeout)
        if fields is not None:
            return fields
        rc = self.proc.poll()
        if rc is None and self._watch.ended():
            # stderr closed: the process is ending; let it be reaped
            try:
                rc = self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        if rc is None:
            self.proc.kill()
            self.proc.wait()
            why = f"no ready line on stderr within {timeout:.0f} s"
        else:
            why = f"exited with {rc_text(rc)} before listening"
        self.join()
        raise StartError(why)

    def join(self, timeout: float = 2.0) -> None:
        """Waits for the output readers, once the process has ended."""
        self._watch.join(timeout)
        self._out.join(timeout)


def rc_text(rc: int | None) -> str:
    if rc is None:
        return "still running"
    if rc < 0:
        try:
            return f"signal {signal.Signals(-rc).name}"
        except ValueError:
            return f"signal {-rc}"
    return f"exit code {rc}"
