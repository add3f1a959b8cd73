"""One zcserve process for the measurement tests: started on free loopback
ports (the service and the admin port), its stderr kept, its threads and
its admin endpoints at hand. Its ready line is read by the reader every
suite shares (loadtest/zcload/launch.py).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "loadtest"))
from zcload import launch  # noqa: E402
from zcload.launch import StartError, rc_text  # noqa: E402,F401

START_TIMEOUT = 10.0
STOP_TIMEOUT = 15.0
ADMIN_TIMEOUT = 5.0


class Server:
    """A zcserve process. `prefix` runs it under another command that execs
    it (setpriv), so the pid on its ready line is still ours to signal."""

    def __init__(self, binary, root, engine, sender, workers=1, prefix=(), extra_args=()):
        self.argv = [*prefix, binary, "--root", str(root), "--listen", "127.0.0.1:0",
                     "--admin", "127.0.0.1:0", "--engine", engine, "--sender", sender,
                     "--workers", str(workers), *extra_args]
        self.engine = engine
        self.sender = sender
        self.workers = workers
        self.proc = None
        self.port = None
        self.admin_port = None
        self.pid = None
        self.stderr_lines = []
        self.stdout_lines = []
        self._launched = None
        self.stopped = False

    def describe(self):
        return " ".join(self.argv)

    # --- life cycle -----------------------------------------------------

    def start(self):
        self._launched = launch.Process(self.argv)
        self.proc = self._launched.proc
        self.stderr_lines = self._launched.stderr_lines
        self.stdout_lines = self._launched.stdout_lines
        try:
            ready = self._launched.wait_ready(START_TIMEOUT)
        except launch.StartError as e:
            raise StartError(f"zcserve did not start: {e}\n{self.describe()}\n{self.log_tail()}")
        if ready.get("admin_port") is None:
            self.proc.kill()
            self.proc.wait()
            raise StartError(f"zcserve started without an admin listener\n{self.describe()}")
        self.port, self.admin_port, self.pid = ready["port"], ready["admin_port"], ready["pid"]
        if self.pid != self.proc.pid:
            self.proc.kill()
            self.proc.wait()
            raise StartError(f"ready line says pid={self.pid}, but the process is {self.proc.pid}")
        return self

    def _join(self):
        if self._launched is not None:
            self._launched.join()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM, then require exit code 0. Returns an error text or None."""
        if self.proc is None or self.stopped:
            return None
        self.stopped = True
        if self.proc.poll() is not None:
            self._join()
            return f"zcserve died during the test: {rc_text(self.proc.returncode)}"
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self._join()
            return f"zcserve did not exit within {STOP_TIMEOUT:.0f} s of SIGTERM"
        self._join()
        if rc != 0:
            return f"zcserve ended with {rc_text(rc)} (want exit code 0 on SIGTERM)"
        return None

    def log_tail(self, n=80):
        out = []
        if self.stderr_lines:
            out.append("--- stderr (last %d lines) ---" % min(n, len(self.stderr_lines)))
            out += self.stderr_lines[-n:]
        if self.stdout_lines:
            out.append("--- stdout (last %d lines) ---" % min(n, len(self.stdout_lines)))
            out += self.stdout_lines[-n:]
        return "\n".join(out) if out else "(no output)"

    # --- threads --------------------------------------------------------

    def thread_ids(self):
        """{comm: tid} for every thread of the process."""
        out = {}
        base = f"/proc/{self.pid}/task"
        for tid in os.listdir(base):
            try:
                with open(f"{base}/{tid}/comm") as f:
                    out[f.read().strip()] = int(tid)
            except FileNotFoundError:
                pass  # the thread ended meanwhile
        return out

    def worker_tid(self, worker=0):
        name = f"zc-worker-{worker}"
        tids = self.thread_ids()
        if name not in tids:
            raise AssertionError(f"no thread named {name} in /proc/{self.pid}/task: {sorted(tids)}")
        return tids[name]

    def serving_tids(self, worker=0):
        """Every thread that serves for `worker`: the worker thread and, with
        the blocking engine, the connection threads it runs (zc-conn-N),
        whose counts /stats folds into the worker's figures."""
        tids = [self.worker_tid(worker)]
        base = f"/proc/{self.pid}/task"
        for tid in sorted(os.listdir(base)):
            try:
                with open(f"{base}/{tid}/comm") as f:
                    if f.read().strip() == f"zc-conn-{worker}":
                        tids.append(int(tid))
            except FileNotFoundError:
                pass
        return tids

    # --- admin ----------------------------------------------------------

    def admin_get(self, path):
        """(status, body text) of one admin request (the admin port serves one
        request per connection)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=ADMIN_TIMEOUT)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read().decode("utf-8")
        finally:
            conn.close()

    def stats(self):
        status, body = self.admin_get("/stats")
        assert status == 200, f"GET /stats: {status} {body[:200]!r}"
        return json.loads(body)

    def metrics(self):
        status, body = self.admin_get("/metrics")
        assert status == 200, f"GET /metrics: {status} {body[:200]!r}"
        return body

