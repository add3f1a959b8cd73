"""Per-request system-call anatomy of one engine/sender pair, measured two
ways on the same run: zcserve's own count (its exit table) and the kernel's
view through `strace -c -f`. N keep-alive requests for one file go over a
single connection, so the figures are per request with nothing amortised
but the connection set-up.

    python3 loadtest/anatomy.py --zcserve build/zcserve --sender sendfile \
        --size 1024 --requests 2000
"""

import argparse
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zcload.launch import ReadyWatch  # noqa: E402


def start_server(zcserve, root, engine, sender):
    """(process, port, its stderr lines after the ready line, the watch)."""
    proc = subprocess.Popen([zcserve, "--root", root, "--listen", "127.0.0.1:0", "--admin", "off",
                             "--engine", engine, "--sender", sender],
                            stderr=subprocess.PIPE, text=True)
    lines = []
    watch = ReadyWatch(proc.stderr, lambda line: lines.append(line + "\n"))
    ready = watch.wait(10)
    if ready is None:
        proc.kill()
        raise SystemExit("zcserve did not start:\n" + "".join(lines[-20:]))
    rest = lines  # the exit table is read from its end, after the process ends
    return proc, ready["port"], rest, watch


def fetch_many(port, path, n):
    s = socket.create_connection(("127.0.0.1", port))
    req = f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    buf = b""
    for _ in range(n):
        s.sendall(req)
        while b"\r\n\r\n" not in buf:
            buf += s.recv(1 << 20)
        head, _, buf = buf.partition(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        while len(buf) < length:
            buf += s.recv(1 << 20)
        buf = buf[length:]
    s.close()


def parse_strace(text):
    calls = {}
    for m in re.finditer(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$", text, re.M):
        if m.group(2) != "total":
            calls[m.group(2)] = int(m.group(1))
    return calls


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zcserve", default="build/zcserve")
    ap.add_argument("--engine", default="epoll")
    ap.add_argument("--sender", default="sendfile")
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--requests", type=int, default=2000)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as root:
        with open(os.path.join(root, "f.bin"), "wb") as f:
            f.write(random.Random(1).randbytes(args.size))
        proc, port, rest, reader = start_server(args.zcserve, root, args.engine, args.sender)
        fetch_many(port, "/f.bin", 5)  # warm the file cache and the connection pool
        strace = subprocess.Popen(["strace", "-c", "-f", "-p", str(proc.pid)],
                                  stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)  # let strace attach to every thread
        fetch_many(port, "/f.bin", args.requests)
        time.sleep(0.2)
        strace.send_signal(signal.SIGINT)
        kernel = parse_strace(strace.communicate(timeout=30)[1])
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        reader.join(timeout=5)
    n = args.requests
    print(f"{args.engine}/{args.sender}, {args.size}-byte file, {n} keep-alive requests on one connection")
    print("strace -c -f (kernel view), calls per request:")
    for name, count in sorted(kernel.items(), key=lambda kv: -kv[1]):
        if count >= n // 100:
            print(f"  {name:<12} {count / n:8.3f}")
    print("zcserve's own table (whole run, warm-up included):")
    print("".join(rest).split("zcserve: ", 1)[-1].rstrip())


if __name__ == "__main__":
    sys.exit(main())
