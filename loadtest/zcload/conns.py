"""loadtest/conns: how many idle keep-alive connections a server holds, and
what each costs in resident memory.

For each server: start it under RLIMIT_NOFILE = --nofile, open N
connections (a bounded number of connects in flight at once, so the listen
backlog does not overflow into SYN retries), make one GET on each, and
count what came back: served (200 with the whole body), refused (503) or
failed (no reply, a close, a reset, anything else). Then read the server's
VmRSS, hold every connection idle for a while, and make one more GET on
all N: on its own connection where it is still open, on a new one where it
is not. The figures are printed; nothing here judges them.

One Python thread with non-blocking sockets and epoll drives every client
connection: it needs no lock, and it keeps the client to one CPU, the
other being the server's.
"""

from __future__ import annotations

import argparse
import errno
import os
import re
import resource
import selectors
import signal
import socket
import struct
import sys
import tempfile
import time

from . import procs, servers, tree

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENGINES = "epoll,io_uring,asio,blocking"
FILE_SIZE = 1024
CONNECTS_IN_FLIGHT = 512
LINGER0 = struct.pack("ii", 1, 0)
_STATUS = re.compile(rb"^HTTP/1\.[01] (\d{3}) ")
_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.I)


class Conn:
    __slots__ = ("sock", "state", "head", "length", "got", "status")

    def __init__(self):
        self.sock = None
        self.state = "closed"  # closed, connecting, waiting, idle
        self.head = bytearray()
        self.length = None
        self.got = 0
        self.status = None


def _close(c: Conn) -> None:
    """A reset, not a FIN: no TIME_WAIT left behind on the client's ports."""
    if c.sock is not None:
        try:
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
        except OSError:
            pass
        c.sock.close()
    c.sock = None
    c.state = "closed"


def request_round(port: int, conns: list[Conn], path: str, body: bytes,
                  timeout: float) -> dict[str, int]:
    """One GET on every connection: on its own socket if it is idle and
    open, on a new one otherwise. Returns counts of served, refused, failed."""
    req = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    sel = selectors.DefaultSelector()
    counts = {"served": 0, "refused": 0, "failed": 0}
    scratch = bytearray(1 << 16)
    deadline = time.monotonic() + timeout
    to_connect = []
    outstanding = 0

    def done(c: Conn, outcome: str) -> None:
        nonlocal outstanding
        counts[outcome] += 1
        outstanding -= 1
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        if outcome == "served":
            c.state = "idle"
        else:
            _close(c)

    def send(c: Conn) -> None:
        c.head = bytearray()
        c.length = None
        c.got = 0
        c.status = None
        try:
            c.sock.send(req)
        except OSError:
            done(c, "failed")
            return
        c.state = "waiting"
        sel.modify(c.sock, selectors.EVENT_READ, c)

    for c in conns:
        outstanding += 1
        if c.state == "idle":
            sel.register(c.sock, selectors.EVENT_READ, c)
            send(c)
        else:
            to_connect.append(c)
    to_connect.reverse()  # popped from the end, in order
    connecting = 0

    while outstanding and time.monotonic() < deadline:
        while to_connect and connecting < CONNECTS_IN_FLIGHT:
            c = to_connect.pop()
            c.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.sock.setblocking(False)
            rc = c.sock.connect_ex(("127.0.0.1", port))
            if rc not in (0, errno.EINPROGRESS):
                outstanding -= 1
                counts["failed"] += 1
                _close(c)
                continue
            c.state = "connecting"
            connecting += 1
            sel.register(c.sock, selectors.EVENT_WRITE, c)
        for key, _ in sel.select(timeout=0.2):
            c = key.data
            if c.state == "connecting":
                connecting -= 1
                if c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    done(c, "failed")
                else:
                    send(c)
                continue
            try:
                k = c.sock.recv_into(scratch)
            except BlockingIOError:
                continue
            except OSError:
                k = 0
            if k == 0:
                done(c, "failed")
                continue
            data = scratch[:k]
            if c.length is None:
                c.head += data
                end = c.head.find(b"\r\n\r\n")
                if end < 0:
                    continue
                head = bytes(c.head[:end + 4])
                m, n = _STATUS.match(head), _LENGTH.search(head)
                if not m or not n:
                    done(c, "failed")
                    continue
                c.status, c.length = int(m.group(1)), int(n.group(1))
                data = c.head[end + 4:]
            c.got += len(data)
            if c.got < c.length:
                continue
            if c.status == 200 and c.got == c.length == len(body):
                done(c, "served")
            elif c.status == 503:
                done(c, "refused")
            else:
                done(c, "failed")
    for c in conns:
        if c.state in ("connecting", "waiting"):
            counts["failed"] += 1
            try:
                sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            _close(c)
    sel.close()
    return counts


def vm_rss(pid: int) -> int:
    """Resident memory of the process, in bytes, from /proc/PID/status."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


def raise_own_limit(want: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= want:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))  # root may
    except (ValueError, OSError):
        if hard < want:
            raise SystemExit(f"loadtest/conns: RLIMIT_NOFILE hard limit {hard} < {want} "
                             f"needed for the client's connections; run as root or lower --conns")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def start(name: str, args, root: str, run_dir: str, cpu: int | None) -> servers.Running:
    if name == "nginx":
        exe = servers.find_program("nginx")
        if exe is None:
            raise RuntimeError("nginx is not installed (nginx-light)")
        port = servers.free_port()
        conf = servers.write_peer_config("nginx", root, port, run_dir)
        with open(conf) as f:
            text = f.read()
        # The template's 4096 suits wrk's 64 connections; here nginx may hold
        # as many as its descriptor limit allows, the limit zcserve gets.
        text, n = re.subn(r"worker_connections\s+\d+;", f"worker_connections {args.nofile};", text)
        if n != 1:
            raise RuntimeError(f"no worker_connections line in {conf}")
        with open(conf, "w") as f:
            f.write(text)
        return servers.launch_peer("nginx", exe, conf, port, run_dir, cpu, nofile=args.nofile)
    sender = args.sender
    backend = servers.Backend("zcserve", name, sender)
    # Idle connections are held for --idle seconds and the rounds take a
    # while at 18,000 connections: no idle or header timeout may end them.
    # server.max_connections (10,000 by default) is raised to the descriptor
    # limit, as nginx's worker_connections is: the limit is what is measured.
    settings = ["server.idle_timeout=10m", "server.header_timeout=10m",
                f"server.max_connections={args.nofile}", *args.zc_set]
    return servers.start_zcserve(args.zcserve, backend, root, run_dir, cpu, settings,
                                 nofile=args.nofile)


def measure(name: str, args, root: str, path: str, body: bytes, out_dir: str,
            cpu: int | None) -> dict:
    row = {"server": "nginx" if name == "nginx" else "zcserve",
           "engine": "epoll" if name == "nginx" else name, "error": ""}
    run_dir = os.path.join(out_dir, name)
    os.makedirs(run_dir, exist_ok=True)
    running = start(name, args, root, run_dir, cpu)
    try:
        servers.verify(running, root, {FILE_SIZE: path})
        time.sleep(0.5)
        rss_before = vm_rss(running.pid)
        conns = [Conn() for _ in range(args.conns)]
        t0 = time.monotonic()
        row["round1"] = request_round(running.port, conns, path, body, args.timeout)
        row["round1_s"] = time.monotonic() - t0
        time.sleep(0.5)  # replies sent, buffers the server frees on a timer freed
        rss_after = vm_rss(running.pid)
        row["held"] = sum(c.state == "idle" for c in conns)
        row["rss_before"] = rss_before
        row["rss_after"] = rss_after
        row["per_conn"] = (rss_after - rss_before) / args.conns
        row["per_held"] = (rss_after - rss_before) / row["held"] if row["held"] else None
        time.sleep(args.idle)
        row["still_open"] = sum(c.state == "idle" for c in conns)
        t0 = time.monotonic()
        row["round2"] = request_round(running.port, conns, path, body, args.timeout)
        row["round2_s"] = time.monotonic() - t0
        for c in conns:
            _close(c)
        if not running.alive():
            row["error"] = f"exited {running.proc.returncode} during the run"
    except Exception as e:  # one server's failure is reported, the others still run
        row["error"] = f"{type(e).__name__}: {e}"
    finally:
        status = running.stop()
    if row["server"] == "zcserve" and status != 0 and not row["error"]:
        row["error"] = f"exit status {status} on SIGTERM"
    return row


def fmt_counts(c: dict | None) -> str:
    return "-" if c is None else f"{c['served']} / {c['refused']} / {c['failed']}"


def table(rows: list[dict], nofile: int, n: int) -> str:
    lines = [f"N = {n} keep-alive connections, server RLIMIT_NOFILE = {nofile}",
             "",
             "| server | engine | round 1 served / 503 / failed | held idle | round 2 served / "
             "503 / failed | RSS before MiB | RSS after MiB | RSS B/conn (/N) | RSS B/held conn "
             "| note |",
             "| --- | --- | --- | ---: | --- | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        mib = lambda b: "-" if b is None else f"{b / 1048576:.1f}"  # noqa: E731
        per = lambda b: "-" if b is None else f"{b:.0f}"  # noqa: E731
        lines.append(f"| {r['server']} | {r['engine']} | {fmt_counts(r.get('round1'))} | "
                     f"{r.get('still_open', r.get('held', '-'))} | {fmt_counts(r.get('round2'))} | "
                     f"{mib(r.get('rss_before'))} | {mib(r.get('rss_after'))} | "
                     f"{per(r.get('per_conn'))} | {per(r.get('per_held'))} | {r['error']} |")
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="loadtest/conns", description=__doc__.split("\n\n")[0])
    ap.add_argument("--zcserve", default=os.path.join(REPO, "build", "zcserve"),
                    help="the zcserve binary (default: build/zcserve)")
    ap.add_argument("--conns", type=int, default=10000,
                    help="keep-alive connections per server (default 10000)")
    ap.add_argument("--nofile", type=int, default=20000,
                    help="RLIMIT_NOFILE of every server, zcserve and nginx alike (default 20000)")
    ap.add_argument("--engines", default=ENGINES + ",nginx",
                    help=f"zcserve engines and/or nginx, comma-separated (default {ENGINES},nginx)")
    ap.add_argument("--sender", default="readv_writev",
                    help="io.sender for zcserve; every engine drives the default, readv_writev")
    ap.add_argument("--idle", type=float, default=2.0,
                    help="seconds every connection is held idle between the rounds (default 2)")
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="bound on each round, seconds; what is unanswered by then failed "
                         "(default 60)")
    ap.add_argument("--set", dest="zc_set", action="append", default=[], metavar="KEY=VALUE",
                    help="pass --set KEY=VALUE to every zcserve (repeatable)")
    args = ap.parse_args(argv)
    if args.conns < 1 or args.nofile < 64:
        ap.error("--conns must be positive and --nofile at least 64")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)

    def interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
    # The client holds every connection itself, plus a few of its own.
    raise_own_limit(args.conns + 256)
    # The server on the first CPU, this client on the second, as loadtest/run
    # does with wrk, so neither measures the other's scheduling.
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu = cpus[0] if len(cpus) > 1 else None
    if server_cpu is not None:
        os.sched_setaffinity(0, set(cpus[1:]))
    names = [e.strip() for e in args.engines.split(",") if e.strip()]
    out_dir = tempfile.mkdtemp(prefix="zc-conns-")
    root = os.path.join(out_dir, "www")
    path = tree.make_tree(root, [FILE_SIZE])[FILE_SIZE]
    with open(os.path.join(root, path.lstrip("/")), "rb") as f:
        body = f.read()
    rows = []
    try:
        for name in names:
            print(f"{name}: {args.conns} connections, nofile {args.nofile} ...", flush=True)
            row = measure(name, args, root, path, body, out_dir, server_cpu)
            print(f"    round 1 {fmt_counts(row.get('round1'))} in {row.get('round1_s', 0):.1f} s, "
                  f"round 2 {fmt_counts(row.get('round2'))} in {row.get('round2_s', 0):.1f} s"
                  + (f"; {row['error']}" if row["error"] else ""), flush=True)
            rows.append(row)
    except KeyboardInterrupt:
        return 130
    finally:
        procs.kill_all()
    print()
    print(table(rows, args.nofile, args.conns))
    print(f"\nserver logs: {out_dir}/<server>/")
    return 0
