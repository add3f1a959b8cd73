#!/usr/bin/python3
"""docker/demo.py: every zcserve backend in a container of its own, under
the same wrk load from a bench container on another CPU, measured the way
loadtest/run measures (its modules do the measuring, the table, the charts
and report.html); docker/demo installs podman and builds the images first.

Each run: one server container (one worker, pinned to CPU 0, host network
on a loopback port, with the privileges its backend needs and no more: see
privileges()), a check that it serves the file byte for byte, a warm-up,
then one wrk load from the bench container pinned to CPU 1, while

  - the kernel counts the server process's system calls and context
    switches from outside the container (perf stat on its host PID), and
    /proc gives its CPU time;
  - zcserve counts itself inside the container (/stats on its admin port:
    its wrapper count, its own kernel counter, bytes copied per request).

The kernel's engines use loopback: the server listens on 127.0.0.1 in
the host's network namespace, which the bench container shares. The dpdk
engine cannot: it takes a network interface (its AF_XDP device) and answers
with a TCP/IP stack of its own. Its server container is on a podman network
the demo makes (internal: nothing is routed off it), eth0 taken by the
engine, the address podman gives the container (--ip) answered by the engine's
stack; the bench container is on the same network, and since the engine's
stack drops the partial checksums a veth sends with checksum offload on,
its eth0 sends with it off (set from the host, as the container has no
capability). zcserve's admin listener is then a kernel socket on the
server container's own loopback: /stats is read from inside its network
namespace (nsenter from the host). --network bridge puts every backend
there, for a comparison over the same path.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import json
import os
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "loadtest"))

from zcload import aggregate, measure, procs, render, servers, tree, wrk  # noqa: E402
from zcload.machine import load_average, machine_info  # noqa: E402

IMAGE = "localhost/zcserve"
BENCH_IMAGE = "localhost/zcserve-bench"
# seccomp: io_uring (and the dpdk engine's bpf()) need zcserve.json; the
# other engines serve under podman's default and need COUNTER_PROFILE (the
# default plus perf_event_open) for the kernel counter alone.
PROFILE = os.path.join(HERE, "seccomp", "zcserve.json")
COUNTER_PROFILE = os.path.join(HERE, "seccomp", "zcserve-counter.json")
WRK_SCRIPT = "/usr/share/zcserve/wrk_report.lua"  # in the bench image
NAME_PREFIX = "zcserve-demo-"

# The engines run with each of their senders; the others (blocking, asio)
# with their default alone: their other senders cost what epoll's do, plus
# the engine's own overhead, which one sender shows. Which senders there
# are, zcserve in the image says (default_backends()).
EVERY_SENDER = ("epoll", "io_uring")

START_TIMEOUT_S = 20

# On the demo's own network a server listens on the image's port, and its
# admin listener on the container's loopback.
NET_PORT = 8080
NET_ADMIN_PORT = 9180
# The dpdk engine's device: net_af_xdp on the container's eth0, the PMD
# polling its rings without a system call (busy_budget=0), with libxdp's own
# XDP program (in the image, from libxdp1) given as a file: loaded that way
# the PMD needs no CAP_SYS_ADMIN (libxdp's automatic load looks the
# interface's program up by id, which only CAP_SYS_ADMIN may).
XDP_PROG = "/usr/lib/x86_64-linux-gnu/bpf/xsk_def_xdp_prog.o"
DPDK_VDEV = f"net_af_xdp0,iface=eth0,busy_budget=0,xdp_prog={XDP_PROG}"

# Fetches a URL and writes the body to stdout: run inside a container's
# network namespace (nsenter), where the host's own sockets cannot reach.
FETCH = ("import sys, urllib.request\n"
         "with urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])) as r:\n"
         "    sys.stdout.buffer.write(r.read())\n")

NOTE = ("send_zc over loopback (and over a veth between containers): the kernel copies "
        "MSG_ZEROCOPY pages when it delivers them locally, so send_zc saves the copy into "
        "kernel memory at send time, not the final one; on a real NIC it saves both. "
        "'copied B/req' counts what zcserve itself moves through user space.")
DPDK_NOTE = ("dpdk: its poller uses 100% of its CPU, loaded or idle, so its 'CPU us/req' is "
             "that CPU divided by the requests served, and its 'server CPU %' is 100 or a "
             "little above where the machine leaves it the whole CPU (the window measured "
             "also holds the bench container's start and stop, through which it spins); its "
             "server container is on a podman network of the demo's own (veth and bridge), "
             "the kernel engines on loopback unless --network bridge; its syscalls/req are "
             "read_write's pread (zcserve's own call: 'zc calls/req') and the AF_XDP driver's "
             "sendto 'kicks', one per transmit burst.")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- podman

def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    p = procs.run(["podman", *args], timeout=timeout, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args[:2])} exited {p.returncode}: "
                           f"{p.stderr.strip()[-400:]}")
    return p


def seccomp_profile(engine: str, kernel_count: bool) -> str | None:
    """The smallest of the project's seccomp profiles a backend runs under
    (None: podman's default). podman's default refuses io_uring (ENOSYS),
    and perf_event_open and bpf without CAP_SYS_ADMIN (EPERM):
    zcserve.json allows all three (bpf with CAP_BPF), for io_uring and dpdk;
    zcserve-counter.json allows perf_event_open alone, for the kernel
    counter in the engines that need nothing more to serve."""
    if engine in ("io_uring", "dpdk"):
        return PROFILE
    return COUNTER_PROFILE if kernel_count else None


def privileges(engine: str, sender: str, profile: str | None, kernel_count: bool) -> list[str]:
    """What a server container gets, and why (docker/README.md has the same
    list): nothing but what its backend, and the kernel's count of its
    system calls, need. profile: the seccomp profile (seccomp_profile()),
    None for podman's default."""
    args = ["--cap-drop", "all", "--security-opt", "no-new-privileges", "--read-only"]
    if profile:
        args += ["--security-opt", f"seccomp={profile}"]
    if kernel_count:
        # The kernel counter: the tracepoint's id is in tracefs, root's alone
        # (mode 0700), so the process runs as uid 0, with no capability but
        # CAP_PERFMON, which perf_event_open wants for a tracepoint.
        args += ["--user", "0", "--cap-add", "PERFMON",
                 "-v", "/sys/kernel/tracing:/sys/kernel/tracing:ro"]
    if sender == "send_zc":
        # Pinned pages count against RLIMIT_MEMLOCK (8 MiB) unless the
        # process has CAP_IPC_LOCK; past it, large replies fail.
        args += ["--cap-add", "IPC_LOCK"]
    if engine == "dpdk":
        # The AF_XDP device: NET_ADMIN attaches the XDP program to eth0,
        # BPF loads it and creates its socket map (the seccomp profile
        # allows bpf() with CAP_BPF; the default only with CAP_SYS_ADMIN),
        # NET_RAW opens the AF_XDP socket, IPC_LOCK registers its packet
        # memory (the mbuf pool, far above the 8 MiB RLIMIT_MEMLOCK).
        args += ["--cap-add", "NET_ADMIN", "--cap-add", "NET_RAW", "--cap-add", "BPF"]
        if sender != "send_zc":
            args += ["--cap-add", "IPC_LOCK"]
    return args


def nsenter(pid: int, *cmd: str) -> list[str]:
    """cmd in the network namespace of host process pid (the host's files)."""
    return ["nsenter", "-t", str(pid), "-n", *cmd]


class Network:
    """The demo's own podman network (internal: no route off it) and a
    client container on it, whose network namespace every bench container
    shares (--network container:) and from which the demo checks replies.
    The client's eth0 sends with TX checksum offload off: the veth would
    otherwise leave TCP checksums to be filled in by a device, and a stack
    reading raw frames, like the dpdk engine's, drops every such segment.
    The servers get one fixed address of the network in turn."""

    def __init__(self, bench_image: str):
        self.name = f"{NAME_PREFIX}net-{os.getpid()}"
        self.client = f"{NAME_PREFIX}client-{os.getpid()}"
        self.bench_image = bench_image
        self.client_pid = 0
        self.server_ip = ""
        self.prefix = 0

    def up(self) -> "Network":
        self.down()  # a leftover of a killed run with this PID
        podman("network", "create", "--internal", self.name)
        info = json.loads(podman("network", "inspect", self.name).stdout)[0]
        subnet = ipaddress.ip_network(next(s["subnet"] for s in info["subnets"]
                                           if ":" not in s["subnet"]))
        # The last address: podman hands its own out from the first.
        self.server_ip, self.prefix = str(subnet.broadcast_address - 1), subnet.prefixlen
        podman("run", "-d", "--pull=never", "--no-healthcheck", "--name", self.client,
               "--network", self.name, "--cap-drop", "all", "--entrypoint", "sleep",
               self.bench_image, "infinity")
        self.client_pid = int(podman("inspect", "--format", "{{.State.Pid}}",
                                     self.client).stdout.strip())
        p = procs.run(nsenter(self.client_pid, "ethtool", "-K", "eth0", "tx", "off"),
                      timeout=30, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            raise RuntimeError("ethtool -K eth0 tx off in the client container failed: "
                               + p.stderr.strip())
        return self

    def down(self) -> None:
        podman("rm", "-f", "-t", "0", self.client, check=False)
        podman("network", "rm", "-f", self.name, check=False)

    def forget_server(self) -> None:
        """Each server container has a new MAC address on the same IP: the
        client's stale neighbour entry would send to the last one's."""
        procs.run(nsenter(self.client_pid, "ip", "neigh", "flush", "dev", "eth0"), timeout=30,
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def fetch(self, url: str, timeout: float = 10) -> bytes:
        p = procs.run(nsenter(self.client_pid, sys.executable, "-c", FETCH, url, str(timeout)),
                      timeout=timeout + 20, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            raise OSError(f"GET {url} from the client container: "
                          + p.stderr.decode(errors="replace").strip()[-300:])
        return p.stdout


def ensure_tracefs() -> str | None:
    """The servers' kernel counter reads the host's tracefs, bind-mounted
    into their containers; a host that has not needed it yet has it
    unmounted. Mounts it (as perf and zcserve on the host would); None when
    it is there, else why not."""
    if os.path.isdir("/sys/kernel/tracing/events"):
        return None
    p = subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"],
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0 or not os.path.isdir("/sys/kernel/tracing/events"):
        return ("tracefs is not mounted at /sys/kernel/tracing and mounting it failed: "
                + p.stderr.strip())
    return None


class Container:
    """A server container, with what loadtest's measuring needs: the host
    PID of zcserve (perf and /proc watch it), its port and admin port."""

    def __init__(self, backend: servers.Backend, name: str, port: int, admin_port: int,
                 network: Network | None = None):
        self.backend = backend
        self.name = name
        self.port = port
        self.admin_port = admin_port
        self.network = network  # None: the host's network, on loopback
        self.host = network.server_ip if network else "127.0.0.1"
        # What servers.verify reads of loadtest's Running: the clients
        # connect from this process's own namespace (on the demo's network,
        # verify() goes through the client container instead).
        self.client_ns = None
        self.pid = 0
        self.exit_status: int | None = None
        self.command = ""  # the podman run line, kept with the server's log
        self.seccomp = ""  # the seccomp profile podman says the container runs under

    @classmethod
    def start(cls, backend: servers.Backend, www: str, cpu: int | None, profile: str | None,
              kernel_count: bool, image: str, network: Network | None = None) -> "Container":
        name = f"{NAME_PREFIX}{backend.engine}-{backend.sender}-{os.getpid()}"
        podman("rm", "-f", "-t", "0", name, check=False)
        cmd = ["run", "-d", "--pull=never", "--no-healthcheck", "--name", name]
        if network:
            port, admin_port = NET_PORT, NET_ADMIN_PORT
            cmd += ["--network", network.name, "--ip", network.server_ip]
            listen = f"0.0.0.0:{port}"  # the dpdk engine listens on its own address
        else:
            port, admin_port = servers.free_port(), servers.free_port()
            cmd += ["--network", "host"]
            listen = f"127.0.0.1:{port}"
        cmd += ["-v", f"{www}:/www:ro"]
        if cpu is not None:
            cmd += ["--cpuset-cpus", str(cpu)]
        cmd += privileges(backend.engine, backend.sender, profile, kernel_count)
        cmd += [image, "--listen", listen, "--admin", f"127.0.0.1:{admin_port}",
                "--engine", backend.engine, "--sender", backend.sender, "--workers", "1"]
        if backend.engine == "dpdk":
            if network is None:
                raise RuntimeError("the dpdk engine runs on the demo's network only")
            cmd += ["--set", f"io.dpdk.vdev={DPDK_VDEV}",
                    "--set", f"io.dpdk.address={network.server_ip}/{network.prefix}"]
        c = cls(backend, name, port, admin_port, network)
        c.command = "podman " + " ".join(shlex.quote(a) for a in cmd)
        if network:
            network.forget_server()
        podman(*cmd)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if not c.alive():
                raise RuntimeError(f"{backend.label} container exited: {c.log_tail()}")
            try:
                if not c.pid:
                    c.pid = int(podman("inspect", "--format", "{{.State.Pid}}",
                                       name).stdout.strip())
                    c.seccomp = c.seccomp_profile()
                c.read_stats(timeout=2)
                break
            except (OSError, ValueError):
                time.sleep(0.1)
        else:
            c.stop()
            raise RuntimeError(f"{backend.label} did not answer on its admin port: {c.log_tail()}")
        return c

    def read_stats(self, timeout: float = 10) -> dict:
        """zcserve's /stats: on the host's loopback, or on the server
        container's own (from inside its network namespace)."""
        if self.network is None:
            return measure.read_stats(self.admin_port, timeout=timeout)
        if not self.pid:
            raise OSError("no process yet")
        p = procs.run(nsenter(self.pid, sys.executable, "-c", FETCH,
                              f"http://127.0.0.1:{self.admin_port}/stats", str(timeout)),
                      timeout=timeout + 20, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            raise OSError("/stats: " + p.stderr.decode(errors="replace").strip()[-300:])
        return json.loads(p.stdout)

    def verify(self, www: str, paths: dict[int, str]) -> None:
        """One GET per file, compared byte for byte (servers.verify, from
        the client container when on the demo's network)."""
        if self.network is None:
            servers.verify(self, www, paths)
            return
        for path in paths.values():
            body = self.network.fetch(f"http://{self.host}:{self.port}{path}")
            with open(os.path.join(www, path.lstrip("/")), "rb") as f:
                want = f.read()
            if body != want:
                raise RuntimeError(f"{self.backend.label} served {path} wrongly: "
                                   f"{len(body)} bytes (want {len(want)} bytes)")

    def seccomp_profile(self) -> str:
        """The seccomp profile podman applied, as its file name (podman
        inspect's security options), or "default" (podman's own)."""
        p = podman("inspect", "--format", "{{json .HostConfig.SecurityOpt}}", self.name,
                   check=False)
        try:
            opts = json.loads(p.stdout) or []
        except json.JSONDecodeError:
            return "unknown"
        path = next((o.split("=", 1)[1] for o in opts if o.startswith("seccomp=")), "")
        return os.path.basename(path) if path else "default"

    def alive(self) -> bool:
        p = podman("inspect", "--format", "{{.State.Running}}", self.name, check=False)
        return p.stdout.strip() == "true"

    def stop(self) -> int | None:
        if self.exit_status is None:
            podman("stop", "-t", "10", self.name, check=False, timeout=60)
            p = podman("inspect", "--format", "{{.State.ExitCode}}", self.name, check=False)
            self.exit_status = int(p.stdout.strip()) if p.stdout.strip().isdigit() else None
        return self.exit_status

    def logs(self) -> str:
        return podman("logs", self.name, check=False).stderr

    def log_tail(self, lines: int = 5) -> str:
        p = podman("logs", "--tail", str(lines), self.name, check=False)
        return (p.stdout + p.stderr).strip()

    def remove(self) -> None:
        podman("rm", "-f", "-t", "0", self.name, check=False)


def bench(url: str, conns: int, duration_s: float, cpu: int | None,
          image: str, network: Network | None = None) -> tuple[dict, str]:
    """wrk in the bench container; its result line parsed as loadtest's."""
    where = f"container:{network.client}" if network else "host"
    cmd = ["podman", "run", "--rm", "--pull=never", "--network", where, "--cap-drop", "all"]
    if cpu is not None:
        cmd += ["--cpuset-cpus", str(cpu)]
    cmd += [image] + wrk.command(url, conns, duration_s)[1:]
    cmd = [WRK_SCRIPT if a == wrk.SCRIPT else a for a in cmd]
    p = procs.run(cmd, timeout=duration_s + wrk.REQUEST_TIMEOUT_S + 60,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    raw = p.stdout + p.stderr
    if p.returncode != 0:
        raise RuntimeError(f"wrk (bench container) exited {p.returncode}: {raw.strip()[-300:]}")
    return wrk.parse_output(p.stdout), raw


# ---------------------------------------------------------------- runs

class Demo:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.out = os.path.abspath(args.out or os.path.join(
            REPO, "out", "container-demo-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S")))
        self.www = os.path.join(self.out, "www")
        self.records: list[dict] = []
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) >= 2:
            self.server_cpu, self.client_cpu = cpus[0], cpus[1]
            self.pinning = (f"server container on CPU {self.server_cpu}, bench container "
                            f"(wrk, one thread) on CPU {self.client_cpu}")
        else:
            self.server_cpu = self.client_cpu = None
            self.pinning = "one CPU: server and bench containers share it"
        self.network: Network | None = None  # made when a backend needs it

    def profile_for(self, b: servers.Backend) -> str | None:
        """The seccomp profile b's server container gets: the smallest that
        lets it serve (and count, with the kernel counter), unless --seccomp
        names one for every backend."""
        if self.args.seccomp == "auto":
            return seccomp_profile(b.engine, self.args.kernel_count)
        return None if self.args.seccomp == "default" else self.args.seccomp

    def needs_network(self, b: servers.Backend) -> bool:
        return b.engine == "dpdk" or self.args.network == "bridge"

    def network_for(self, b: servers.Backend) -> Network | None:
        return self.network if self.needs_network(b) else None

    def probe_dpdk(self, b: servers.Backend) -> str | None:
        """Whether the dpdk engine starts here (AF_XDP, the kernel's XDP on
        a veth): None, or why not. Run when dpdk comes from the default
        list, so that a host without XDP skips it with the reason instead
        of failing the demo."""
        try:
            c = Container.start(b, self.www, self.server_cpu, self.profile_for(b),
                                self.args.kernel_count, self.args.image, self.network)
        except RuntimeError as e:
            return str(e).replace("\n", " / ")
        c.stop()
        c.remove()
        return None

    def list_backends(self) -> str:
        """zcserve --list-backends inside a container with the privileges
        the most demanding backend gets, so that what it lists as usable is
        what the runs will have."""
        most = servers.Backend("zcserve", "io_uring", "send_zc")
        return podman("run", "--rm", "--pull=never", "--no-healthcheck",
                      *privileges("io_uring", "send_zc", self.profile_for(most),
                                  self.args.kernel_count),
                      self.args.image, "--list-backends").stdout

    def run_one(self, b: servers.Backend, size: int, path: str, conns: int, rep: int) -> dict:
        wrk_data = perf_counts = zc = ticks = None
        error = None
        c = None
        run_dir = os.path.join(self.out, "runs", f"{b.engine}-{b.sender}-"
                                                 f"{tree.size_label(size)}-c{conns}-r{rep}")
        os.makedirs(run_dir, exist_ok=True)
        try:
            c = Container.start(b, self.www, self.server_cpu, self.profile_for(b),
                                self.args.kernel_count, self.args.image, self.network_for(b))
            c.verify(self.www, {size: path})
            url = f"http://{c.host}:{c.port}{path}"
            if self.args.warmup > 0:
                warm, _ = bench(url, conns, self.args.warmup, self.client_cpu,
                                self.args.bench_image, c.network)
                if warm["error_total"]:
                    raise RuntimeError(f"errors during warm-up: {warm['errors']}")
            # As loadtest/run: perf's window is the wrk run; /stats and
            # /proc are read just outside it.
            with measure.PerfStat(c.pid) as perf:
                before = c.read_stats()
                ticks_before = measure.cpu_ticks(c.pid)
                perf.enable()
                try:
                    wrk_data, raw = bench(url, conns, self.args.duration, self.client_cpu,
                                          self.args.bench_image, c.network)
                finally:
                    perf.disable()
                ticks = measure.cpu_ticks(c.pid) - ticks_before
                after = c.read_stats()
                perf_counts = perf.result()
            with open(os.path.join(run_dir, "wrk.txt"), "w") as f:
                f.write(raw)
            zc = measure.stats_delta(before, after)
            if not after.get("kernel_count_available", False):
                zc["kernel_count_unavailable_reason"] = after.get(
                    "kernel_count_unavailable_reason", "")
            if not c.alive():
                error = "the server container exited during the run"
        except Exception as e:  # a failed run is recorded, the others go on
            error = f"{type(e).__name__}: {e}"
        finally:
            if c is not None:
                status = c.stop()
                with open(os.path.join(run_dir, "server.log"), "w") as f:
                    f.write(c.command + "\n" + c.logs())
                if status not in (0, None) and error is None:
                    error = f"zcserve exited with status {status}: {c.log_tail()}"
                c.remove()
        rec = aggregate.build_record(
            server="zcserve", engine=b.engine, sender=b.sender, label=b.label, file_size=size,
            connections=conns, repeat=rep, wrk=wrk_data, perf=perf_counts, cpu_ticks=ticks,
            clk_tck=measure.CLK_TCK, zc=zc, error=error)
        rec["kernel_count_unavailable_reason"] = (zc or {}).get("kernel_count_unavailable_reason")
        rec["seccomp_profile"] = c.seccomp if c is not None else None
        rec["server_log_warnings"] = _warnings(os.path.join(run_dir, "server.log"))
        return rec

    def run(self, argv: list[str]) -> int:
        a = self.args
        why = measure.perf_check() or (ensure_tracefs() if a.kernel_count else None)
        if why:
            raise SystemExit(f"docker/demo: {why}")
        listing = self.list_backends()
        wanted = [servers.Backend("zcserve", e, s)
                  for e, s in (a.pairs or default_backends(listing))]
        backends, notes = usable(wanted, listing)
        if self.args.seccomp == "default":
            for b in [b for b in backends if b.engine == "dpdk"]:
                backends.remove(b)
                notes.append(f"{b.label} skipped: podman's default seccomp profile allows "
                             "bpf(), which its AF_XDP device needs, only with CAP_SYS_ADMIN")
        os.makedirs(self.out, exist_ok=True)
        paths = tree.make_tree(self.www, a.size_list)
        if any(self.needs_network(b) for b in backends):
            self.network = Network(a.bench_image)
            try:
                self.network.up()
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                self.network.down()
                raise SystemExit(f"docker/demo: the demo's podman network: {e}")
        if a.pairs is None:  # dpdk from the default list: skipped where XDP is not usable
            for b in [b for b in backends if b.engine == "dpdk"]:
                why = self.probe_dpdk(b)
                if why:
                    backends.remove(b)
                    notes.append(f"{b.label} skipped: it did not start here: {why}")
        if any(b.engine == "dpdk" for b in backends):
            notes.append(DPDK_NOTE)
        for n in notes:
            log(f"note: {n}")
        plan = [(rep, size, conns, b) for rep in range(1, a.repeats + 1)
                for size in a.size_list for conns in a.conn_list for b in backends]
        doc = {
            "command": " ".join(shlex.quote(x) for x in ["docker/demo"] + argv),
            "machine": machine_info(),
            "options": {"sizes": a.size_list, "connections": a.conn_list,
                        "duration_s": a.duration, "warmup_s": a.warmup, "repeats": a.repeats,
                        "backends": [b.label for b in backends], "seccomp": a.seccomp,
                        "seccomp_profiles": {b.label: os.path.basename(self.profile_for(b) or "")
                                             or "default" for b in backends},
                        "image": a.image, "out": self.out},
            "pinning": {"server_cpu": self.server_cpu, "client_cpu": self.client_cpu,
                        "text": self.pinning},
            "load_text": (f"Each run: a fresh server container, a {a.warmup:g} s warm-up, then "
                          f"wrk -t1 -cN -d{a.duration:g}s from the bench container, for one "
                          f"file; {a.repeats} repeat(s), interleaved. {self.pinning}; "
                          + ("every backend on a podman network of the demo's own (veth, "
                             "bridge)" if a.network == "bridge" else
                             "host network, loopback" + ("; dpdk on a podman network of the "
                                                         "demo's own (veth, bridge)"
                                                         if self.network else ""))
                          + f". {NOTE}"),
            "zcserve": {"path": a.image, "version": ""},
            "syscall_cost": None,
            "syscall_cost_note": "not measured in the container demo (loadtest/run does)",
            "notes": notes + [NOTE],
            "runs": self.records,
        }
        log(f"docker/demo: {len(backends)} backends x {len(a.size_list)} size(s) x "
            f"{len(a.conn_list)} connection count(s) x {a.repeats} repeat(s) = {len(plan)} runs "
            f"of {a.duration:g} s; {self.pinning}")
        started = time.monotonic()
        interrupted = False
        try:
            for i, (rep, size, conns, b) in enumerate(plan, 1):
                left = ""
                if i > 1:
                    per = (time.monotonic() - started) / (i - 1)
                    left = f", about {per * (len(plan) - i + 1):.0f} s left"
                log(f"[{i}/{len(plan)}] {b.label}, {tree.size_label(size)}, {conns} connections"
                    f"{left}")
                rec = self.run_one(b, size, paths[size], conns, rep)
                self.records.append(rec)
                if rec["failed"]:
                    log(f"    FAILED: {rec['failure']}")
                else:
                    log(f"    {rec['requests_per_sec']:.0f} req/s, "
                        f"{rec['syscalls_per_request']:.2f} syscalls/req, "
                        f"{rec['body_copied_bytes_per_request']:.0f} body bytes copied/req")
        except KeyboardInterrupt:
            interrupted = True
            log(f"interrupted: writing the {len(self.records)} runs done")
        finally:
            procs.kill_all()
            for name in podman("ps", "-a", "--format", "{{.Names}}", check=False).stdout.split():
                if name.startswith(NAME_PREFIX) and name.endswith(f"-{os.getpid()}"):
                    podman("rm", "-f", "-t", "0", name, check=False)
            if self.network:
                self.network.down()
        doc["elapsed_s"] = round(time.monotonic() - started, 1)
        doc["machine"]["load_average_at_end"] = load_average()
        try:
            import matplotlib  # noqa: F401 (only whether it is there)
            charts = True
        except ImportError:
            charts = False
            log("warning: python3-matplotlib is not installed: no charts")
        written = render.write_all(doc, self.out, charts=charts)
        if a.json:
            with open(written["json"]) as f:
                sys.stdout.write(f.read())
        else:
            print(written["table"])
            print(NOTE)
            if any(b.engine == "dpdk" for b in backends):
                print(DPDK_NOTE)
            print()
            print(f"results: {written['json']}")
            print(f"report:  {written['html']}")
        if interrupted:
            return 130
        return 1 if any(r["failed"] for r in self.records) else 0


def default_backends(listing: str) -> list[tuple[str, str]]:
    """From zcserve --list-backends: every pair it lists, usable or not, of
    the engines in EVERY_SENDER, and the default of each other engine; the
    unusable ones are then skipped with the listing's reason (usable()).
    The engines of EVERY_SENDER come first, as the table shows them."""
    every, defaults = [], []
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) < 3 or not parts[1].startswith("engine=") or \
                not parts[2].startswith("sender="):
            continue
        engine, sender = parts[1][len("engine="):], parts[2][len("sender="):]
        if sender == "*":
            continue  # an engine not compiled in
        if engine in EVERY_SENDER:
            every.append((engine, sender))
        elif parts[0] == "+" and "(default)" in parts[3:]:
            defaults.append((engine, sender))
    every.sort(key=lambda pair: EVERY_SENDER.index(pair[0]))  # stable: senders keep their order
    return every + defaults


def usable(backends: list[servers.Backend], listing: str) -> tuple[list[servers.Backend],
                                                                   list[str]]:
    """The backends zcserve lists as usable; the others are skipped, noted
    with its reason."""
    lines = listing.splitlines()
    ok = set(servers.parse_list_backends(listing))
    notes = [line[2:] for line in lines if line.startswith("- kernel syscall counter")]
    keep = []
    for b in backends:
        if (b.engine, b.sender) in ok:
            keep.append(b)
        else:
            why = next((l[2:] for l in lines
                        if l.startswith(f"- engine={b.engine} sender={b.sender}")), "not listed")
            notes.append(f"{b.label} skipped: {why}")
    return keep, notes


def _warnings(path: str) -> list[str]:
    try:
        with open(path, errors="replace") as f:
            return [l.rstrip() for l in f if " warning " in l or " error " in l]
    except OSError:
        return []


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="docker/demo", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="docker/demo itself also takes --prebuilt: build/zcserve is copied into the "
               "image instead of compiled in it.")
    p.add_argument("--backends", help="engine/sender,... (default: epoll and io_uring with "
                                      "each of their senders, the other engines with their "
                                      "default, as zcserve --list-backends names them)")
    p.add_argument("--sizes", default="1k,64k,1m", help="file sizes (default 1k,64k,1m)")
    p.add_argument("--connections", default="64", help="wrk connections, a list (default 64)")
    p.add_argument("--duration", type=float, default=5.0, help="seconds per run (default 5)")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up (default 1)")
    p.add_argument("--repeats", type=int, default=1, help="runs of each (default 1)")
    p.add_argument("--seccomp", default="auto",
                   help="seccomp profile for every server, or 'default' for podman's own "
                        "(which refuses io_uring); default 'auto': docker/seccomp/zcserve.json "
                        "for io_uring and dpdk, zcserve-counter.json (perf_event_open "
                        "alone) for the other engines, none with --no-kernel-count")
    p.add_argument("--network", choices=("host", "bridge"), default="host",
                   help="host: the kernel engines on the host's loopback (default); bridge: "
                        "every backend on the demo's own podman network, where the dpdk "
                        "engine always runs, loaded from a client container over a veth")
    p.add_argument("--no-kernel-count", dest="kernel_count", action="store_false",
                   help="run the servers as the image's unprivileged user, without CAP_PERFMON "
                        "or tracefs: no kernel count inside the container")
    p.add_argument("--image", default=IMAGE)
    p.add_argument("--bench-image", default=BENCH_IMAGE)
    p.add_argument("--out", help="output folder (default out/container-demo-DATE)")
    p.add_argument("--json", action="store_true",
                   help="print results.json on stdout instead of the table")
    args = p.parse_args(argv)
    try:
        args.size_list = tree.parse_sizes(args.sizes)
        args.conn_list = [int(x) for x in args.connections.split(",")]
        args.pairs = servers.parse_backends_option(args.backends) if args.backends else None
    except ValueError as e:
        p.error(str(e))
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)
    demo = Demo(args)
    try:
        return demo.run(argv)
    except KeyboardInterrupt:
        return 130
    finally:
        procs.kill_all()
        if demo.network:
            demo.network.down()


if __name__ == "__main__":
    sys.exit(main())
