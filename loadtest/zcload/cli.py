"""loadtest/run: wrk against every usable zcserve backend, and nginx,
lighttpd and h2o beside them, each measured from outside the same way;
tables, charts and one HTML report.

Each run starts a fresh server pinned to one CPU, checks it serves the
file byte for byte, warms it up with a short wrk load, then measures one
wrk load (one thread, pinned to another CPU) with perf stat and /proc on
the server process, and zcserve's /stats besides; then stops the server.
Runs are interleaved (A B C A B C) so a slow minute on the machine touches
every backend alike instead of one.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import time

from . import aggregate, measure, netns, procs, profile, render, servers, syscall_cost, tree, wrk
from .machine import cpu_busy_percent, load_average, machine_info, tool_version

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DEFAULTS = {"sizes": "1k,64k,1m", "connections": "64", "duration": 5.0, "warmup": 1.0,
            "repeats": 3}
# --quick: one size, one connection count, one repeat, 2 s per run: every
# usable zcserve backend and every installed peer in well under 2 minutes on
# a 2-CPU machine (about 3.5 s a run with start, warm-up and stop).
QUICK = {"sizes": "1k", "connections": "64", "duration": 2.0, "warmup": 1.0, "repeats": 1}
# --sweep: file sizes from a small page to a large download, a factor of 4
# apart, for the charts of CPU and copies per request against file size
SWEEP = "1k,4k,16k,64k,256k,1m,4m"
PATHS = ("loopback", "veth", "both")
# the network namespaces of the veth path: zh<harness pid>-s and -c
NETNS_PREFIX = "zh"

EPILOG = """\
examples:
  loadtest/run --quick                      every backend and peer, 1 KiB, ~1 minute
  loadtest/run --sizes 1k,64k --repeats 2   the full comparison, two sizes
  loadtest/run --backends epoll/sendfile,epoll/splice --no-peers --connections 16,64,256
  loadtest/run --sweep --no-peers           CPU and copies per request from 1 KiB to 4 MiB
  loadtest/run --backends dpdk/read_write,epoll/sendfile --path veth --quick
                                            dpdk beside epoll, both over the same veth (root)
  loadtest/run --quick --perf-record        a profile of each backend, copy functions first

Output in --out: results.json, results.csv, results.md, charts/*.png|svg and
report.html (one page, readable offline). Figures and their sources: see
docs/results.md and docs/measuring.md.
"""


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="loadtest/run", description=__doc__.split("\n\n")[0],
                                 epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zcserve", default=os.path.join(REPO, "build", "zcserve"),
                    help="the zcserve binary (default: build/zcserve; build it Release or "
                         "RelWithDebInfo)")
    ap.add_argument("--syscall-cost", metavar="PATH",
                    help="the syscall_cost benchmark (default: beside zcserve, "
                         "build/loadtest/syscall_cost); 'off' to skip")
    ap.add_argument("--sizes", help=f"file sizes, comma-separated (default {DEFAULTS['sizes']})")
    ap.add_argument("--sweep", action="store_true",
                    help=f"the size sweep: --sizes {SWEEP}, with charts of CPU and copied bytes "
                         f"per request against file size")
    ap.add_argument("--connections",
                    help=f"wrk connections; several values sweep (default {DEFAULTS['connections']})")
    ap.add_argument("--duration", type=float, help=f"seconds of measured load per run, whole seconds "
                                                   f"(default {DEFAULTS['duration']:g})")
    ap.add_argument("--warmup", type=float, help=f"seconds of unmeasured load before each run "
                                                 f"(default {DEFAULTS['warmup']:g})")
    ap.add_argument("--repeats", type=int, help=f"runs of each configuration, interleaved "
                                                f"(default {DEFAULTS['repeats']})")
    ap.add_argument("--quick", action="store_true",
                    help="1k only, 64 connections, 1 repeat, 2 s runs: under 2 minutes "
                         "(options given explicitly still win)")
    ap.add_argument("--out", help="output directory (default out/loadtest-<timestamp>)")
    ap.add_argument("--peers", action=argparse.BooleanOptionalAction, default=None,
                    help="run nginx, lighttpd and h2o beside zcserve (default: those installed)")
    ap.add_argument("--backends", help="zcserve engine/sender pairs, comma-separated "
                                       "(default: every pair --list-backends marks usable)")
    ap.add_argument("--set", dest="zc_set", action="append", default=[], metavar="KEY=VALUE",
                    help="pass --set KEY=VALUE to every zcserve (repeatable), e.g. "
                         "io.chunk_bytes=1048576")
    ap.add_argument("--report-from", metavar="DIR",
                    help="run nothing: rewrite DIR's table, charts and report.html from its "
                         "results.json (after a change to the rendering)")
    ap.add_argument("--no-pin", action="store_true",
                    help="do not pin the server and wrk to separate CPUs")
    ap.add_argument("--path", choices=PATHS, default="loopback",
                    help="where the kernel's servers listen: 'loopback' (127.0.0.1, the "
                         "default), 'veth' (198.18.0.1 on a veth between two network "
                         "namespaces, wrk in the other: the dpdk engine's path, so every "
                         "figure is over the same path) or 'both'. The dpdk engine always runs "
                         "over the veth. Namespaces need root")
    ap.add_argument("--veth-tx-off", action="store_true",
                    help="on the veth path, turn TX checksum offload (and with it TSO) off "
                         "on the server's end too, so kernel servers checksum every frame in "
                         "software like dpdk's lwIP (GSO still segments late, in software); "
                         "it is always off on the client's end, which the dpdk engine needs")
    ap.add_argument("--perf-record", action="store_true",
                    help="profile each backend: after repeat 1's measured window, perf record "
                         "-g on the server during a separate wrk load (the counted figures are "
                         "untouched); profiles/<backend>-<size>.data and the top functions, "
                         "copy functions first, in the report")
    ap.add_argument("--perf-record-seconds", type=float, default=2.0, metavar="S",
                    help="seconds of the profiled load (default 2)")
    ap.add_argument("--profile-top", type=int, default=12, metavar="N",
                    help="functions listed per profile besides the copy functions (default 12)")
    args = ap.parse_args(argv)
    if args.sweep:
        if args.sizes is not None:
            ap.error("--sweep sets the sizes: give --sweep or --sizes, not both")
        args.sizes = SWEEP
    preset = QUICK if args.quick else DEFAULTS
    for key, value in preset.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.duration <= 0 or args.warmup < 0 or args.repeats < 1:
        ap.error("--duration must be > 0, --warmup >= 0, --repeats >= 1")
    # wrk runs for whole seconds
    args.duration = float(wrk.whole_seconds(args.duration))
    args.warmup = float(wrk.whole_seconds(args.warmup)) if args.warmup > 0 else 0.0
    try:
        args.size_list = tree.parse_sizes(args.sizes)
        args.conn_list = [int(c) for c in args.connections.split(",") if c.strip()]
        args.pairs = servers.parse_backends_option(args.backends) if args.backends else None
    except ValueError as e:
        ap.error(str(e))
    if not args.conn_list or min(args.conn_list) < 1:
        ap.error("--connections: positive integers, comma-separated")
    return args


def fmt_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def progress_line(i: int, n: int, label: str, size: int, conns: int, rep: int, repeats: int,
                  left_s: float) -> str:
    return (f"[{i}/{n}] {label} {tree.size_label(size)} c={conns} rep {rep}/{repeats} "
            f"— about {fmt_duration(left_s)} left")


def veth_text(server_tx_off: bool) -> str:
    return (f"Over the veth: the server in network namespace <tag>-s on "
            f"{netns.SERVER_ADDR}:{servers.VETH_PORT} (the dpdk engine's own stack on the bare "
            f"veth end through net_af_xdp; a kernel server on that address, given to the veth "
            f"end for its run), wrk in namespace <tag>-c ({netns.CLIENT_ADDR}); a fresh "
            f"namespace pair for every run. TX checksum offload is off on the client's end "
            f"(the dpdk engine needs it)"
            + (" and on the server's end too (--veth-tx-off: with it TSO, so kernel servers "
               "checksum every frame in software, like lwIP; GSO still segments late, in "
               "software)." if server_tx_off else
               "; the server's end keeps the kernel's offloads (checksum, TSO), which a kernel "
               "server has and lwIP does not."))


def zcserve_build_type(zcserve: str) -> str | None:
    """CMAKE_BUILD_TYPE from the CMakeCache.txt beside the binary, if any."""
    cache = os.path.join(os.path.dirname(os.path.abspath(zcserve)), "CMakeCache.txt")
    try:
        with open(cache) as f:
            m = re.search(r"^CMAKE_BUILD_TYPE:\w+=(.*)$", f.read(), re.M)
    except OSError:
        return None
    return m.group(1).strip() if m else None


class Harness:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.out = os.path.abspath(args.out or os.path.join(
            REPO, "out", "loadtest-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S")))
        self.root = os.path.join(self.out, "www")
        self.records: list[dict] = []
        self.skipped: list[dict] = []  # backends that cannot run here, with the reason
        self.netns_tag = f"{NETNS_PREFIX}{os.getpid()}"
        self.veth_offloads: dict | None = None
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) >= 2 and not args.no_pin:
            self.server_cpu, self.client_cpu = cpus[0], cpus[1]
            self.pinning = (f"server on CPU {self.server_cpu}, wrk (one thread) on CPU "
                            f"{self.client_cpu}, with taskset; every server runs one "
                            f"worker process/thread")
        else:
            self.server_cpu = self.client_cpu = None
            self.pinning = ("not pinned (" + ("--no-pin" if args.no_pin else "one CPU")
                            + "): server and wrk share the CPUs")

    # -------------------------------------------------------------- set-up

    def check_tools(self) -> None:
        problems = []
        if not os.access(self.args.zcserve, os.X_OK):
            problems.append(f"no zcserve at {self.args.zcserve}: build it first (scripts/build)")
        if not shutil.which("wrk"):
            problems.append("wrk is not installed (Debian: wrk)")
        if self.server_cpu is not None and not shutil.which("taskset"):
            problems.append("taskset is not installed (Debian: util-linux)")
        why = measure.perf_check()
        if why:
            problems.append(why)
        if problems:
            raise SystemExit("loadtest/run: " + "\n  ".join(problems))

    def plan_backends(self) -> tuple[list[servers.Backend], dict[str, str], list[str]]:
        notes = []
        usable = servers.usable_backends(self.args.zcserve)
        if self.args.pairs:
            pairs = self.args.pairs
            for p in pairs:
                if p not in usable:
                    raise SystemExit(f"loadtest/run: {p[0]}/{p[1]} is not usable here "
                                     f"(zcserve --list-backends)")
        else:
            pairs = usable
        backends = [servers.Backend("zcserve", e, s) for e, s in pairs]
        peers = {}
        if self.args.peers is not False:
            installed = servers.installed_peers()
            for name in servers.PEERS:
                if name in installed:
                    peers[name] = installed[name]
                    backends.append(servers.peer_backend(name))
                elif self.args.peers:
                    notes.append(f"{name} is not installed (Debian: "
                                 f"{servers.PEERS[name]['package']}): skipped")
        return backends, peers, notes

    def plan_paths(self, backends: list[servers.Backend]) -> list[tuple[servers.Backend, str]]:
        """Each backend with the path(s) it runs on. An engine with its own
        stack runs over the veth only, and is skipped (with the reason) when
        namespaces or XDP are not to be had; --path veth or both without
        root is an error, since it was asked for."""
        why_not = netns.unavailable()
        if why_not and self.args.path != "loopback":
            raise SystemExit(f"loadtest/run: --path {self.args.path}: {why_not}")
        out = []
        for b in backends:
            if b.engine in servers.OWN_STACK_ENGINES and not b.is_peer:
                reason = why_not or self.dpdk_unavailable(b)
                if reason:
                    self.skipped.append({"backend": b.label, "reason": reason})
                    continue
                out.append((b, "veth"))
            elif self.args.path == "both":
                out += [(b, "loopback"), (b, "veth")]
            else:
                out.append((b, self.args.path))
        return out

    def dpdk_unavailable(self, backend: servers.Backend) -> str:
        """Starts the engine once in a namespace pair of its own: "" if it
        came up, else why not (the kernel refused an AF_XDP socket...). Any
        other failure is left to the runs, which record it."""
        print(f"checking that {backend.label} starts over a veth ...", flush=True)
        probe_dir = os.path.join(self.out, "runs", "probe-" + backend.label.replace("/", "-"))
        os.makedirs(probe_dir, exist_ok=True)
        os.makedirs(self.root, exist_ok=True)
        try:
            with netns.Pair(self.netns_tag) as pair:
                running = servers.start_zcserve(self.args.zcserve, backend, self.root, probe_dir,
                                                None, self.args.zc_set, pair=pair)
                running.stop()
        except servers.Unavailable as e:
            return str(e)
        except Exception:
            return ""
        return ""

    # -------------------------------------------------------------- one run

    def run_name(self, backend: servers.Backend, where: str, size: int) -> str:
        """'epoll-sendfile-1k', '-veth' added for a kernel server on the veth
        path (dpdk has no other path)."""
        name = f"{backend.label.replace('/', '-')}-{tree.size_label(size)}"
        if where == "veth" and backend.engine not in servers.OWN_STACK_ENGINES:
            name += "-veth"
        return name

    def run_one(self, backend: servers.Backend, peers: dict[str, str], size: int, path: str,
                conns: int, rep: int, where: str = "loopback") -> dict:
        name = self.run_name(backend, where, size)
        run_dir = os.path.join(self.out, "runs", f"{name}-c{conns}-r{rep}")
        os.makedirs(run_dir, exist_ok=True)
        if len(self.args.conn_list) > 1:
            name += f"-c{conns}"
        if where == "veth":
            # a fresh namespace pair for every run, as a fresh server: no
            # neighbour entry, socket or XDP program is left from the last
            with netns.Pair(self.netns_tag) as pair:
                kernel = backend.is_peer or backend.engine not in servers.OWN_STACK_ENGINES
                if kernel:
                    pair.address_server()
                    if self.args.veth_tx_off:
                        pair.server_tx_off()
                # the offloads as a kernel server had them, if one runs here
                if self.veth_offloads is None or (kernel and not self.veth_offloads["kernel"]):
                    self.veth_offloads = {"server": pair.offloads("server"),
                                          "client": pair.offloads("client"), "kernel": kernel}
                return self._run_one(backend, peers, size, path, conns, rep, run_dir, name,
                                     pair)
        return self._run_one(backend, peers, size, path, conns, rep, run_dir, name, None)

    def _run_one(self, backend, peers, size, path, conns, rep, run_dir, name, pair) -> dict:
        wrk_data = perf_counts = zc = ticks = softirq = prof = tcp = None
        error = None
        running = None
        try:
            if backend.is_peer:
                running = servers.start_peer(backend.server, peers[backend.server], self.root,
                                             run_dir, self.server_cpu, pair=pair)
            else:
                running = servers.start_zcserve(self.args.zcserve, backend, self.root, run_dir,
                                                self.server_cpu, self.args.zc_set, pair=pair)
            servers.verify(running, self.root, {size: path})
            url = f"http://{running.host}:{running.port}{path}"
            if self.args.warmup > 0:
                warm, _ = wrk.run(url, conns, self.args.warmup, self.client_cpu,
                                  running.client_ns)
                if warm["error_total"]:
                    raise RuntimeError(f"errors during warm-up: {warm['errors']}")
            with measure.PerfStat(running.pid) as perf:
                # /stats and /proc are read outside perf's window, so the
                # reads themselves are not counted as the server's work.
                before = (measure.read_stats(running.admin_port, ns=running.admin_ns)
                          if running.admin_port else None)
                ticks_before = measure.cpu_ticks(running.pid)
                cpus_before = measure.cpu_times()
                tcp_before = measure.tcp_counters(running.pid)
                perf.enable()
                try:
                    wrk_data, raw = wrk.run(url, conns, self.args.duration, self.client_cpu,
                                            running.client_ns)
                finally:
                    perf.disable()
                tcp = measure.tcp_delta(tcp_before, measure.tcp_counters(running.pid))
                cpus_after = measure.cpu_times()
                ticks = measure.cpu_ticks(running.pid) - ticks_before
                after = (measure.read_stats(running.admin_port, ns=running.admin_ns)
                         if running.admin_port else None)
                perf_counts = perf.result()
            softirq = {"server_cpu": measure.softirq_delta_us(cpus_before, cpus_after,
                                                              self.server_cpu),
                       "client_cpu": measure.softirq_delta_us(cpus_before, cpus_after,
                                                              self.client_cpu),
                       "both_cpus_busy": measure.busy_delta_us(
                           cpus_before, cpus_after, [self.server_cpu, self.client_cpu])}
            with open(os.path.join(run_dir, "wrk.txt"), "w") as f:
                f.write(raw)
            with open(os.path.join(run_dir, "perf.json"), "w") as f:
                json.dump(perf_counts, f)
            if before is not None:
                zc = measure.stats_delta(before, after)
            if self.args.perf_record and rep == 1 and running.alive():
                prof = self.record_profile(running, url, conns, name)
            if not running.alive():
                error = "the server exited during the run"
        except Exception as e:  # a failed run is recorded, the others go on
            error = f"{type(e).__name__}: {e}"
        finally:
            if running is not None:
                status = running.stop()
                if not backend.is_peer and status != 0 and error is None:
                    error = f"zcserve exited with status {status}: {running.log_tail(5)}"
        rec = aggregate.build_record(
            server=backend.server, engine=backend.engine, sender=backend.sender,
            label=backend.label, file_size=size, connections=conns, repeat=rep, wrk=wrk_data,
            perf=perf_counts, cpu_ticks=ticks, clk_tck=measure.CLK_TCK, zc=zc, error=error,
            path="loopback" if pair is None else "veth", softirq_us=softirq, tcp=tcp)
        if prof is not None:
            rec["profile"] = prof
        return rec

    def record_profile(self, running: servers.Running, url: str, conns: int, name: str) -> dict:
        """perf record -g on the server during a wrk load of its own, after
        the measured window: the profile never perturbs the counted figures.
        A profile that fails is reported in the record, not as a failed run."""
        os.makedirs(os.path.join(self.out, "profiles"), exist_ok=True)
        rel = os.path.join("profiles", name + ".data")
        try:
            with profile.Record(running.pid, os.path.join(self.out, rel)):
                wrk.run(url, conns, self.args.perf_record_seconds, self.client_cpu,
                        running.client_ns)
            text = profile.report(os.path.join(self.out, rel))
            with open(os.path.join(self.out, "profiles", name + ".txt"), "w") as f:
                f.write(text)
            return profile.summarise(profile.parse_report(text), rel, self.args.profile_top)
        except Exception as e:
            return {"file": rel, "error": f"{type(e).__name__}: {e}"}

    # -------------------------------------------------------------- all runs

    def run(self, argv: list[str]) -> int:
        args = self.args
        self.check_tools()
        build_type = zcserve_build_type(args.zcserve)
        if build_type and build_type not in ("Release", "RelWithDebInfo"):
            print(f"warning: {args.zcserve} is a {build_type} build; figures from it say "
                  f"little (use Release or RelWithDebInfo)", file=sys.stderr)
        backends, peers, notes = self.plan_backends()
        os.makedirs(self.out, exist_ok=True)
        paths = tree.make_tree(self.root, args.size_list)
        if not netns.unavailable():
            for ns in netns.delete_stale(NETNS_PREFIX):
                print(f"note: deleted network namespace {ns}, left by a harness that was killed")
        placed = self.plan_paths(backends)
        for sk in self.skipped:
            notes.append(f"{sk['backend']} skipped: {sk['reason']}")
        for n in notes:
            print(f"note: {n}")
        machine = machine_info()
        machine["irq_time_accounting"] = measure.irq_time_accounting()
        plan = [(rep, size, conns, b, where) for rep in range(1, args.repeats + 1)
                for size in args.size_list for conns in args.conn_list for b, where in placed]
        on_veth = sorted({b.label for b, where in placed if where == "veth"},
                         key=[b.label for b in backends].index)
        doc = {
            "command": " ".join(shlex.quote(a) for a in ["loadtest/run"] + argv),
            "machine": machine,
            "options": {"sizes": args.size_list, "connections": args.conn_list,
                        "duration_s": args.duration, "warmup_s": args.warmup,
                        "repeats": args.repeats, "quick": args.quick, "zcserve_set": args.zc_set,
                        "peers": sorted(peers), "backends": [b.label for b in backends],
                        "path": args.path, "veth_tx_off": args.veth_tx_off,
                        "sweep": args.sweep, "perf_record": args.perf_record,
                        "perf_record_seconds": args.perf_record_seconds,
                        "out": self.out},
            "pinning": {"server_cpu": self.server_cpu, "client_cpu": self.client_cpu,
                        "text": self.pinning},
            "load_text": (f"Each run: a fresh server, a {args.warmup:g} s warm-up, then "
                          f"wrk -t1 -cN -d{args.duration:g}s -s loadtest/wrk_report.lua for "
                          f"one file; {args.repeats} repeat(s), interleaved. {self.pinning}."),
            "zcserve": {"path": os.path.abspath(args.zcserve), "build_type": build_type,
                        "version": tool_version([args.zcserve, "--version"]) or ""},
            "peer_versions": {name: tool_version([exe, "-v"] if name != "h2o"
                                                 else [exe, "--version"])
                              for name, exe in peers.items()},
            "notes": notes,
            "skipped": self.skipped,
            "veth": ({"backends": on_veth, "server_addr": netns.SERVER_ADDR,
                      "client_addr": netns.CLIENT_ADDR, "prefix": netns.PREFIX,
                      "server_tx_off": args.veth_tx_off, "offloads": None,
                      "text": veth_text(args.veth_tx_off)} if on_veth else None),
            "runs": self.records,
        }
        print(f"loadtest: {len(backends)} servers/backends x {len(args.size_list)} size(s) x "
              f"{len(args.conn_list)} connection count(s) x {args.repeats} repeat(s) = "
              f"{len(plan)} runs of {args.duration:g} s; {self.pinning}")
        print(f"machine: {machine['cpu_model']}, {machine['cpus']} CPUs, "
              f"kernel {machine['kernel']}, {machine['date']}")
        doc.update(self.measure_syscall_cost())

        interrupted = False
        started = time.monotonic()
        per_run = args.warmup + args.duration + 1.5  # a guess until runs are timed
        try:
            for i, (rep, size, conns, b, where) in enumerate(plan, 1):
                done = i - 1
                if done:
                    per_run = (time.monotonic() - started) / done
                label = b.label + (" (veth)" if where == "veth" else "")
                print(progress_line(i, len(plan), label, size, conns, rep, args.repeats,
                                    per_run * (len(plan) - done)), flush=True)
                rec = self.run_one(b, peers, size, paths[size], conns, rep, where)
                self.records.append(rec)
                if rec["failed"]:
                    print(f"    FAILED: {rec['failure']}", flush=True)
                else:
                    print(f"    {rec['requests_per_sec']:.0f} req/s, "
                          f"{rec['syscalls_per_request']:.2f} syscalls/req, "
                          f"{rec['cpu_us_per_request']:.2f} us CPU/req, p99 "
                          f"{rec['p99_latency_ms']:.2f} ms", flush=True)
        except KeyboardInterrupt:
            interrupted = True
            print(f"\ninterrupted: writing the {len(self.records)} runs done", file=sys.stderr)
        finally:
            procs.kill_all()

        if doc["veth"] is not None and self.veth_offloads is not None:
            doc["veth"]["offloads"] = {k: v for k, v in self.veth_offloads.items()
                                       if k != "kernel"}
        doc["elapsed_s"] = round(time.monotonic() - started, 1)
        doc["machine"]["load_average_at_end"] = load_average()
        doc["machine"]["cpu_busy_percent_at_end"] = cpu_busy_percent()
        doc["interrupted"] = interrupted
        try:
            import matplotlib  # noqa: F401
            have_mpl = True
        except ImportError:
            have_mpl = False
            print("warning: python3-matplotlib is not installed: no charts", file=sys.stderr)
        written = render.write_all(doc, self.out, charts=have_mpl)
        print()
        print(written["table"])
        cost = render.syscall_cost_text(doc.get("syscall_cost"), aggregate.aggregate(self.records))
        if cost:
            print(cost)
            print()
        print(f"results: {written['json']}, {os.path.basename(written['csv'])}, "
              f"{os.path.basename(written['md'])}")
        print(f"report:  {written['html']}")
        failed = sum(r["failed"] for r in self.records)
        if interrupted:
            return 130
        return 1 if failed else 0

    def measure_syscall_cost(self) -> dict:
        if self.args.syscall_cost == "off":
            return {"syscall_cost": None, "syscall_cost_note": "skipped (--syscall-cost off)"}
        binary = self.args.syscall_cost or syscall_cost.find(self.args.zcserve)
        if not binary:
            return {"syscall_cost": None, "syscall_cost_note": (
                "loadtest/syscall_cost is not built (it needs libbenchmark-dev); the per-request "
                "counts are shown without their cost in time")}
        print(f"timing a system call with {binary} ...", flush=True)
        try:
            cost = syscall_cost.run(binary, 0.05 if self.args.quick else 0.3)
        except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as e:
            return {"syscall_cost": None, "syscall_cost_note": f"syscall_cost failed: {e}"}
        cost["binary"] = binary
        return {"syscall_cost": cost}


def report_from(out: str) -> int:
    with open(os.path.join(out, "results.json")) as f:
        doc = json.load(f)
    doc.pop("summary", None)  # recomputed from the runs
    written = render.write_all(doc, out)
    print(written["table"])
    print(f"report:  {written['html']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    # SIGTERM and SIGHUP end the harness like Ctrl-C: through the finally
    # clauses that stop every server, wrk and perf it started.
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
    # wrk opens one descriptor per connection, the server one per connection
    # plus its files: lift the soft limit to the hard one for both.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY
                                                    else max(soft, 65536), hard))
    if args.report_from:
        return report_from(args.report_from)
    try:
        return Harness(args).run(argv)
    except KeyboardInterrupt:
        return 130
    finally:
        procs.kill_all()
