"""The servers under load: zcserve (one per engine/sender pair) and its
peers nginx, lighttpd and h2o. Each is started in the foreground as a child
of the harness, pinned to the server CPU, checked to serve the tree's files
byte for byte, and stopped at the end of its run.

Where a server listens is its path: "loopback" (127.0.0.1, a free port,
reached from the harness's own namespace) or "veth" (the server namespace
of a netns.Pair, port 80 of 198.18.0.1, reached from the client namespace).
The dpdk engine brings its own TCP/IP stack and has only the veth path: it
takes the server end of the veth through net_af_xdp and answers for
198.18.0.1 itself, while its admin listener stays a kernel socket on
127.0.0.1 inside the server namespace. A kernel server on the veth path
listens on 198.18.0.1, an address the harness gives the server end for it.

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

from . import netns, procs
from .aggregate import POLLING_ENGINES  # noqa: F401 (re-exported)
from .launch import ReadyWatch

PEERS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "peers")
START_TIMEOUT = 10.0
STOP_GRACE = 15.0

LIST_RE = re.compile(r"^\+ engine=(\S+) sender=(\S+)")

# Engines with a TCP/IP stack of their own: they run on the veth path only.
OWN_STACK_ENGINES = frozenset({"dpdk"})
VETH_PORT = 80


class Unavailable(RuntimeError):
    """The backend cannot run on this machine (no root, no XDP...): the
    harness reports it skipped with this reason rather than failed."""


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
                 admin_port: int | None, log_path: str, stop_signal: int = 15,
                 host: str = "127.0.0.1", client_ns: str | None = None,
                 admin_ns: str | None = None):
        self.backend = backend
        self.proc = proc
        self.pid = proc.pid
        self.port = port
        self.admin_port = admin_port
        self.host = host            # the address clients reach it on
        self.client_ns = client_ns  # the namespace clients connect from (None: ours)
        self.admin_ns = admin_ns    # the namespace its admin 127.0.0.1 is in
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


def zcserve_command(zcserve: str, backend: Backend, root: str, cpu: int | None,
                    settings: list[str] = (), nofile: int | None = None,
                    pair: netns.Pair | None = None) -> list[str]:
    """The command line that starts zcserve: on loopback, or in the server
    namespace of `pair`."""
    if backend.engine in OWN_STACK_ENGINES:
        if pair is None:
            raise ValueError(f"the {backend.engine} engine runs over a veth only")
        # --listen gives the port; the engine's own stack owns the address
        listen = f"127.0.0.1:{VETH_PORT}"
    elif pair is not None:
        listen = f"{netns.SERVER_ADDR}:{VETH_PORT}"
    else:
        listen = "127.0.0.1:0"
    cmd = _prlimit(nofile) + _taskset(cpu) + [zcserve, "--root", root, "--listen", listen,
                           "--admin", "127.0.0.1:0", "--engine", backend.engine,
                           "--sender", backend.sender]
    if backend.engine == "dpdk":
        # busy_budget=0: the PMD polls its rings without recvfrom
        cmd += ["--set", f"io.dpdk.vdev=net_af_xdp0,iface={pair.server_if},busy_budget=0",
                "--set", f"io.dpdk.address={netns.SERVER_ADDR}/{netns.PREFIX}"]
    for setting in settings:
        cmd += ["--set", setting]
    return pair.in_server(*cmd) if pair is not None else cmd


def start_zcserve(zcserve: str, backend: Backend, root: str, run_dir: str,
                  cpu: int | None, settings: list[str] = (), nofile: int | None = None,
                  pair: netns.Pair | None = None) -> Running:
    cmd = zcserve_command(zcserve, backend, root, cpu, settings, nofile, pair)
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
    # EAL and the AF_XDP socket take a few seconds more than a kernel engine
    ready = watch.wait(START_TIMEOUT * (3 if backend.engine in OWN_STACK_ENGINES else 1))
    if ready is None or ready.get("admin_port") is None:
        procs.stop(proc, grace=5)
        watch.join()
        tail = _tail(log_path)
        if "did not probe" in tail:
            # the PMD could not open an AF_XDP socket on the veth: the kernel
            # or the sandbox withholds XDP here
            raise Unavailable("net_af_xdp is unavailable here: " + tail.splitlines()[-1])
        raise RuntimeError(f"zcserve {backend.label} did not start: " + tail)
    if ready["pid"] != proc.pid:
        # taskset, prlimit and ip netns exec exec the server, so the PID must
        # be the child's own
        procs.stop(proc, grace=5)
        raise RuntimeError(f"zcserve reported pid {ready['pid']}, expected {proc.pid}")
    if pair is None:
        return Running(backend, proc, ready["port"], ready["admin_port"], log_path)
    if ready.get("listen") != f"{netns.SERVER_ADDR}:{VETH_PORT}":
        procs.stop(proc, grace=5)
        raise RuntimeError(f"zcserve {backend.label} listens on {ready.get('listen')}, "
                           f"not {netns.SERVER_ADDR}:{VETH_PORT}")
    return Running(backend, proc, ready["port"], ready["admin_port"], log_path,
                   host=netns.SERVER_ADDR, client_ns=pair.client_ns, admin_ns=pair.server_ns)


def peer_command(name: str, exe: str, conf: str, run_dir: str) -> list[str]:
    if name == "nginx":
        # -e: the error log from the first moment, before the config is read
        return [exe, "-p", run_dir + "/", "-e", os.path.join(run_dir, "error.log"), "-c", conf]
    if name == "lighttpd":
        return [exe, "-D", "-f", conf]
    if name == "h2o":
        return [exe, "-c", conf]
    raise ValueError(f"unknown peer {name!r}")


def write_peer_config(name: str, root: str, port: int, run_dir: str,
                      addr: str = "127.0.0.1") -> str:
    with open(os.path.join(PEERS_DIR, PEERS[name]["template"])) as f:
        text = f.read()
    conf_name = PEERS[name]["template"].removesuffix(".in")
    conf = os.path.join(run_dir, conf_name)
    with open(conf, "w") as f:
        # h2o refuses to run as root without a `user` directive; naming the
        # user it already runs as changes nothing else.
        f.write(fill_template(text, {"root": root, "port": port, "dir": run_dir,
                                     "addr": addr, "user": getpass.getuser()}))
    return conf


def start_peer(name: str, exe: str, root: str, run_dir: str, cpu: int | None,
               pair: netns.Pair | None = None) -> Running:
    if pair is None:
        port, addr = free_port(), "127.0.0.1"
    else:  # the server namespace is the harness's own: port 80 is free
        port, addr = VETH_PORT, netns.SERVER_ADDR
    conf = write_peer_config(name, root, port, run_dir, addr)
    return launch_peer(name, exe, conf, port, run_dir, cpu, pair=pair)


def launch_peer(name: str, exe: str, conf: str, port: int, run_dir: str, cpu: int | None,
                nofile: int | None = None, pair: netns.Pair | None = None) -> Running:
    """Starts a peer from a configuration already written (by
    write_peer_config, perhaps adjusted) and waits until it listens."""
    log_path = os.path.join(run_dir, "server.log")
    cmd = _prlimit(nofile) + _taskset(cpu) + peer_command(name, exe, conf, run_dir)
    host, client_ns = ("127.0.0.1", None) if pair is None else (netns.SERVER_ADDR, pair.client_ns)
    with open(log_path, "w") as log:
        proc = procs.spawn(pair.in_server(*cmd) if pair is not None else cmd,
                           stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            netns.connect_in(client_ns, host, port, timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    if proc.poll() is not None or time.monotonic() >= deadline:
        procs.stop(proc, grace=5)
        err = _tail(os.path.join(run_dir, "error.log"))
        raise RuntimeError(f"{name} did not start on {host}:{port}: "
                           + _tail(log_path) + err)
    return Running(peer_backend(name), proc, port, None, log_path, host=host,
                   client_ns=client_ns, admin_ns=None if pair is None else pair.server_ns)


def verify(running: Running, root: str, paths: dict[int, str]) -> None:
    """One GET per file, compared byte for byte with the file: a server that
    answers fast with the wrong bytes must not look good."""
    for size, path in paths.items():
        conn = NsHTTPConnection(running.client_ns, running.host, running.port, timeout=10)
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


class NsHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection made from a network namespace (None: ours)."""

    def __init__(self, ns: str | None, host: str, port: int, timeout: float = 10):
        super().__init__(host, port, timeout=timeout)
        self.ns = ns

    def connect(self) -> None:
        self.sock = netns.connect_in(self.ns, self.host, self.port, self.timeout)


def _tail(path: str, lines: int = 10) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:]).strip()
    except OSError:
        return ""
