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
import threading
import time


def start_server(zcserve, root, engine, sender):
    proc = subprocess.Popen([zcserve, "--root", root, "--listen", "127.0.0.1:0", "--admin", "off",
                             "--engine", engine, "--sender", sender],
                            stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        m = re.search(r"listen=\S+:(\d+)", line)
        if m:
            rest = []
            t = threading.Thread(target=lambda: rest.extend(proc.stderr), daemon=True)
            t.start()
            return proc, int(m.group(1)), rest, t
    raise SystemExit("zcserve did not start")


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
    print(f"strace -c -f (kernel view), calls per request:")
    for name, count in sorted(kernel.items(), key=lambda kv: -kv[1]):
        if count >= n // 100:
            print(f"  {name:<12} {count / n:8.3f}")
    print("zcserve's own table (whole run, warm-up included):")
    print("".join(rest).split("zcserve: ", 1)[-1].rstrip())


if __name__ == "__main__":
    sys.exit(main())
