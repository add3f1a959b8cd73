"""The servers under load: zcserve (one per engine/sender pair) and its
peers nginx, lighttpd and h2o. Each is started in the foreground as a child
of the harness, on 127.0.0.1 only, pinned to the server CPU, checked to
serve the tree's files byte for byte, and stopped at the end of its run.

Every server is one process the harness started itself (nginx with
master_process off, lighttpd with -D and max-worker 0, h2o with one thread,
zcserve with its default one worker), so perf stat -p PID and
/proc/PID/stat see the whole of the serving work of every one of them.
"""

from __future__ import annotations

import getpass
import http.client
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass

from . import procs
from .launch import ReadyWatch

PEERS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "peers")
START_TIMEOUT = 10.0
STOP_GRACE = 15.0

LIST_RE = re.compile(r"^\+ engine=(\S+) sender=(\S+)")


@dataclass(frozen=True)
class Backend:
    """One thing to put under load. For zcserve, engine and sender are its
    io.engine and io.sender; for a peer, what its configuration selects
    (all three peers wait on epoll)."""
    server: str
    engine: str
    sender: str

    @property
    def label(self) -> str:
        return f"{self.engine}/{self.sender}" if self.server == "zcserve" else self.server

    @property
    def is_peer(self) -> bool:
        return self.server != "zcserve"


# How each peer is found, configured and started. engine and sender name
# what the peer is configured to do; what it then does per request (lighttpd
# reads small files into memory and writevs them despite its sendfile
# backend) is in docs/results.md.
PEERS = {
    "nginx": {"binary": "nginx", "template": "nginx.conf.in", "engine": "epoll",
              "sender": "sendfile", "package": "nginx-light (or nginx)"},
    "lighttpd": {"binary": "lighttpd", "template": "lighttpd.conf.in", "engine": "epoll",
                 "sender": "sendfile", "package": "lighttpd"},
    # h2o has no sendfile path for HTTP/1: it preads the file into a buffer
    # and writevs it, 64 KiB at a time
    "h2o": {"binary": "h2o", "template": "h2o.conf.in", "engine": "epoll",
            "sender": "pread_writev", "package": "h2o"},
}


def peer_backend(name: str) -> Backend:
    return Backend(name, PEERS[name]["engine"], PEERS[name]["sender"])


def find_program(name: str) -> str | None:
    """shutil.which, also looking in the sbin directories a non-root PATH
    often lacks (nginx and lighttpd live in /usr/sbin)."""
    path = os.environ.get("PATH", "") + ":/usr/local/sbin:/usr/sbin:/sbin"
    return shutil.which(name, path=path)


def installed_peers() -> dict[str, str]:
    return {name: exe for name in PEERS if (exe := find_program(PEERS[name]["binary"]))}


def parse_list_backends(text: str) -> list[tuple[str, str]]:
    """The '+ engine=E sender=S' lines of zcserve --list-backends."""
    return [(m.group(1), m.group(2)) for line in text.splitlines()
            if (m := LIST_RE.match(line.strip()))]


def usable_backends(zcserve: str) -> list[tuple[str, str]]:
    p = procs.run([zcserve, "--list-backends"], timeout=30, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{zcserve} --list-backends exited {p.returncode}: {p.stderr.strip()}")
    return parse_list_backends(p.stdout)


def parse_backends_option(text: str) -> list[tuple[str, str]]:
    """'epoll/sendfile,io_uring/splice' -> [('epoll', 'sendfile'), ...]."""
    pairs = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        engine, slash, sender = part.partition("/")
        if not slash or not engine or not sender:
            raise ValueError(f"not an engine/sender pair: {part!r}")
        pairs.append((engine, sender))
    return pairs


def fill_template(text: str, values: dict[str, object]) -> str:
    """Replaces every {{name}} in a peer's configuration template. A name
    without a value is an error, not left in for the peer to trip on."""
    def sub(m: re.Match) -> str:
        if m.group(1) not in values:
            raise KeyError(f"template placeholder {{{{{m.group(1)}}}}} has no value")
        return str(values[m.group(1)])
    return re.sub(r"\{\{(\w+)\}\}", sub, text)


def free_port() -> int:
    """A port free on 127.0.0.1 now. Peers cannot report the port they bound
    as zcserve does with port 0, so the harness picks one; if another
    program takes it in between, the peer fails to start and says so."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _taskset(cpu: int | None) -> list[str]:
    return ["taskset", "-c", str(cpu)] if cpu is not None else []


def _prlimit(nofile: int | None) -> list[str]:
    """RLIMIT_NOFILE (soft and hard) for the server alone; prlimit execs
    the server, so the PID stays the server's own."""
    return ["prlimit", f"--nofile={nofile}:{nofile}", "--"] if nofile is not None else []


class Running:
    """A started server: its process (the PID perf and /proc watch), the
    port it serves on and, for zcserve, its admin port."""

    def __init__(self, backend: Backend, proc: subprocess.Popen, port: int,
                 admin_port: int | None, log_path: str, stop_signal: int = 15):
        self.backend = backend
        self.proc = proc
        self.pid = proc.pid
        self.port = port
        self.admin_port = admin_port
        self.log_path = log_path
        self.stop_signal = stop_signal
        self.exit_status: int | None = None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> int | None:
        if self.exit_status is None:
            self.exit_status = procs.stop(self.proc, self.stop_signal, STOP_GRACE)
        return self.exit_status

    def log_tail(self, lines: int = 15) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


def start_zcserve(zcserve: str, backend: Backend, root: str, run_dir: str,
                  cpu: int | None, settings: list[str] = (), nofile: int | None = None) -> Running:
    cmd = _prlimit(nofile) + _taskset(cpu) + [zcserve, "--root", root, "--listen", "127.0.0.1:0",
                           "--admin", "127.0.0.1:0", "--engine", backend.engine,
                           "--sender", backend.sender]
    for setting in settings:
        cmd += ["--set", setting]
    log_path = os.path.join(run_dir, "server.log")
    log = open(log_path, "w")
    proc = procs.spawn(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    # A thread copies stderr to the log and spots the ready line, so a
    # server that hangs before printing it cannot hang the harness.
    def to_log(line: str) -> None:
        log.write(line + "\n")
        log.flush()

    watch = ReadyWatch(proc.stderr, to_log, on_end=log.close)
    ready = watch.wait(START_TIMEOUT)
    if ready is None or ready.get("admin_port") is None:
        procs.stop(proc, grace=5)
        watch.join()
        raise RuntimeError(f"zcserve {backend.label} did not start: "
                           + _tail(log_path))
    if ready["pid"] != proc.pid:
        # taskset and prlimit exec the server, so the PID must be the child's own
        procs.stop(proc, grace=5)
        raise RuntimeError(f"zcserve reported pid {ready['pid']}, expected {proc.pid}")
    return Running(backend, proc, ready["port"], ready["admin_port"], log_path)


def peer_command(name: str, exe: str, conf: str, run_dir: str) -> list[str]:
    if name == "nginx":
        # -e: the error log from the first moment, before the config is read
        return [exe, "-p", run_dir + "/", "-e", os.path.join(run_dir, "error.log"), "-c", conf]
    if name == "lighttpd":
        return [exe, "-D", "-f", conf]
    if name == "h2o":
        return [exe, "-c", conf]
    raise ValueError(f"unknown peer {name!r}")


def write_peer_config(name: str, root: str, port: int, run_dir: str) -> str:
    with open(os.path.join(PEERS_DIR, PEERS[name]["template"])) as f:
        text = f.read()
    conf_name = PEERS[name]["template"].removesuffix(".in")
    conf = os.path.join(run_dir, conf_name)
    with open(conf, "w") as f:
        # h2o refuses to run as root without a `user` directive; naming the
        # user it already runs as changes nothing else.
        f.write(fill_template(text, {"root": root, "port": port, "dir": run_dir,
                                     "user": getpass.getuser()}))
    return conf


def start_peer(name: str, exe: str, root: str, run_dir: str, cpu: int | None) -> Running:
    port = free_port()
    conf = write_peer_config(name, root, port, run_dir)
    return launch_peer(name, exe, conf, port, run_dir, cpu)


def launch_peer(name: str, exe: str, conf: str, port: int, run_dir: str, cpu: int | None,
                nofile: int | None = None) -> Running:
    """Starts a peer from a configuration already written (by
    write_peer_config, perhaps adjusted) and waits until it listens."""
    log_path = os.path.join(run_dir, "server.log")
    with open(log_path, "w") as log:
        proc = procs.spawn(_prlimit(nofile) + _taskset(cpu) + peer_command(name, exe, conf, run_dir),
                           stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.05)
    if proc.poll() is not None or time.monotonic() >= deadline:
        procs.stop(proc, grace=5)
        err = _tail(os.path.join(run_dir, "error.log"))
        raise RuntimeError(f"{name} did not start on 127.0.0.1:{port}: "
                           + _tail(log_path) + err)
    return Running(peer_backend(name), proc, port, None, log_path)


def verify(running: Running, root: str, paths: dict[int, str]) -> None:
    """One GET per file, compared byte for byte with the file: a server that
    answers fast with the wrong bytes must not look good."""
    for size, path in paths.items():
        conn = http.client.HTTPConnection("127.0.0.1", running.port, timeout=10)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        with open(os.path.join(root, path.lstrip("/")), "rb") as f:
            want = f.read()
        if resp.status != 200 or body != want:
            raise RuntimeError(f"{running.backend.label} served {path} wrongly: status "
                               f"{resp.status}, {len(body)} bytes (want 200, {len(want)} bytes)")


def _tail(path: str, lines: int = 10) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:]).strip()
    except OSError:
        return ""
