"""Serve a generated sample tree with every usable engine/sender pair, load
each with wrk for a few seconds, and print what a request cost: requests per
second, p99 latency, and the server's own count of system calls and copied
bytes per request (the table zcserve prints when it exits)."""

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

START_RE = re.compile(r"listen=\S+:(\d+) admin=\S+:(\d+)")


def make_tree(root):
    os.makedirs(os.path.join(root, "css"), exist_ok=True)
    rng = random.Random(42)
    files = {"1k.bin": 1024, "64k.bin": 64 * 1024, "1m.bin": 1 << 20}
    for name, size in files.items():
        path = os.path.join(root, name)
        if not os.path.exists(path) or os.path.getsize(path) != size:
            with open(path, "wb") as f:
                f.write(rng.randbytes(size))
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("<!doctype html><title>zcserve sample</title>"
                "<link rel=stylesheet href=css/site.css>"
                "<h1>zcserve sample tree</h1><ul>"
                + "".join(f'<li><a href="{n}">{n}</a></li>' for n in files)
                + "</ul>\n")
    with open(os.path.join(root, "css", "site.css"), "w") as f:
        f.write("body { font-family: sans-serif; }\n")


def usable_backends(zcserve):
    out = subprocess.run([zcserve, "--list-backends"], check=True,
                         capture_output=True, text=True).stdout
    pairs = []
    for line in out.splitlines():
        m = re.match(r"^\+ engine=(\S+) sender=(\S+)", line)
        # The dpdk engine serves through a device and an address of its
        # own, not on loopback: loadtest/run measures it over a veth pair.
        if m and m.group(1) != "dpdk":
            pairs.append((m.group(1), m.group(2)))
    return pairs


def start(zcserve, root, engine, sender, listen="127.0.0.1:0", cpu=None):
    cmd = [zcserve, "--root", root, "--listen", listen, "--admin", "127.0.0.1:0",
           "--engine", engine, "--sender", sender]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu)] + cmd
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    lines = []
    port = admin_port = None
    deadline = time.time() + 10
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        m = START_RE.search(line)
        if m:
            port = int(m.group(1))
            admin_port = int(m.group(2))
            break
    if port is None:
        proc.kill()
        raise SystemExit("zcserve did not start:\n" + "".join(lines))
    rest = []
    reader = threading.Thread(target=lambda: rest.extend(proc.stderr), daemon=True)
    reader.start()
    return proc, port, admin_port, rest, reader


def parse_wrk(text):
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\b", text, re.M)
    errors = re.search(r"Socket errors: (.*)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"),
        "errors": (errors.group(1) if errors else "") + (f" non2xx={non2xx.group(1)}" if non2xx else ""),
    }


def read_stats(admin_port):
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/stats", timeout=10) as r:
        return json.load(r)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--zcserve", default="build/zcserve")
    ap.add_argument("--root", default="out/sample-www")
    ap.add_argument("--file", default="1k.bin", help="file requested by wrk")
    ap.add_argument("--duration", type=int, default=3, help="seconds of load per backend")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--serve", action="store_true",
                    help="afterwards, keep serving the sample tree on 127.0.0.1:8080")
    args = ap.parse_args()

    root = os.path.abspath(args.root)
    make_tree(root)
    pairs = usable_backends(args.zcserve)
    two_cpus = (os.cpu_count() or 1) >= 2
    server_cpu, client_cpu = (0, 1) if two_cpus else (None, None)
    print(f"sample tree: {root}")
    print(f"load: wrk -t1 -c{args.connections} -d{args.duration}s /{args.file}"
          + (f"; server on CPU {server_cpu}, wrk on CPU {client_cpu}" if two_cpus else ""))
    rows = []
    for i, (engine, sender) in enumerate(pairs, 1):
        print(f"[{i}/{len(pairs)}] {engine}/{sender} ...", flush=True)
        proc, port, admin_port, rest, reader = start(args.zcserve, root, engine, sender,
                                                     cpu=server_cpu)
        wrk = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.duration}s", "--latency",
               f"http://127.0.0.1:{port}/{args.file}"]
        if client_cpu is not None:
            wrk = ["taskset", "-c", str(client_cpu)] + wrk
        out = subprocess.run(wrk, capture_output=True, text=True).stdout
        figures = read_stats(admin_port)["per_request"]["lifetime"]
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        reader.join(timeout=5)
        if code != 0:
            raise SystemExit(f"zcserve exited {code}:\n" + "".join(rest))
        row = {"backend": f"{engine}/{sender}", **parse_wrk(out), **figures}
        rows.append(row)

    print()
    print(f"{'backend':<22} {'req/s':>9} {'p99 ms':>7} {'syscalls':>9} {'kernel':>7} "
          f"{'switches':>9} {'CPU us':>7} {'copied B':>9}  calls per request")
    for r in rows:
        calls = sorted(r["syscalls_by_call"].items(), key=lambda kv: -kv[1])[:5]
        top = ", ".join(f"{k} {v:.2f}" for k, v in calls)
        kernel = f"{r['kernel_syscalls']:.2f}" if r["kernel_syscalls"] is not None else "n/a"
        flag = f"  ERRORS: {r['errors']}" if r["errors"].strip() else ""
        print(f"{r['backend']:<22} {r['rps']:>9.0f} {r['p99_ms']:>7.2f} {r['syscalls']:>9.2f} "
              f"{kernel:>7} {r['context_switches']:>9.3f} {r['process_cpu_us']:>7.1f} "
              f"{r['copied_bytes']:>9.0f}  {top}{flag}")
    print("\nper request, from zcserve's /stats: syscalls (wrapper count), kernel "
          "(raw_syscalls:sys_enter on the workers),\ncontext switches (workers), CPU (whole "
          "process), bytes copied between user and kernel memory.\nCheck with: strace -c -f -p "
          "PID, or perf stat -e raw_syscalls:sys_enter -p PID")

    if args.serve:
        proc, port, _, rest, reader = start(args.zcserve, root, "epoll", "sendfile",
                                            listen="127.0.0.1:8080")
        print(f"serving {root} on http://127.0.0.1:{port}/ (Ctrl-C stops)")
        try:
            proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
