"""Two network namespaces joined by a veth pair: the path the dpdk engine
needs (its own TCP/IP stack on one end of a veth, through net_af_xdp), and
the path loadtest/run --path veth puts every other server on, so that the
figures compare like with like. One module for the load harness and the
dpdk tests (tests/dpdk/netns.py re-exports it).

    server namespace <tag>-s          client namespace <tag>-c
      lo 127.0.0.1 (admin listener)     lo
      <tag>s  [198.18.0.1/24 for a      <tag>c  198.18.0.2/24, TX checksum
               kernel server; none        offload off
               for dpdk]

Addresses come from 198.18.0.0/15, the benchmarking range (RFC 2544);
neither namespace has any other interface, so no packet can leave them.

Reaching into a namespace from the harness: a socket belongs to the network
namespace of the thread that created it, for its whole life. So
`connect_in(ns, ...)` creates and connects a socket on a short-lived thread
that first joins the namespace (setns(2) changes the calling thread only),
and hands the socket back; the harness's own threads never change
namespace. That is how the harness reads zcserve's /stats on 127.0.0.1 in
the server namespace, and checks a server's bytes from the client
namespace, without a curl per read (a process the harness would have to
time and clean up) and without a second veth pair for the admin traffic
(more interfaces, addresses and routes, for four requests a run).
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import socket
import subprocess
import threading

SERVER_ADDR = "198.18.0.1"
CLIENT_ADDR = "198.18.0.2"
PREFIX = 24
# With Pair(admin=True), a second veth pair between the same namespaces:
# the engine's stack owns the first link, so a kernel socket on the
# server's side (zcserve's admin listener) is reached over this one.
ADMIN_SERVER_ADDR = "198.18.1.1"
ADMIN_CLIENT_ADDR = "198.18.1.2"
CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)


def unavailable() -> str:
    """Why namespaces cannot be made here, or ""."""
    if os.geteuid() != 0:
        return "network namespaces and XDP need root"
    for tool in ("ip", "ethtool"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/setup installs it)"
    return ""


def run(*args: str) -> None:
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {p.returncode}: {p.stderr.strip()}")


def call_in(ns: str, fn):
    """fn() on a thread that has joined network namespace `ns` (a name under
    /run/netns); its result, or its exception raised here."""
    box: dict = {}

    def body():
        try:
            fd = os.open(f"/run/netns/{ns}", os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns into {ns}: {os.strerror(err)}")
            finally:
                os.close(fd)
            box["value"] = fn()
        except BaseException as e:  # handed to the caller
            box["error"] = e

    t = threading.Thread(target=body, name=f"netns-{ns}", daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def connect_in(ns: str | None, host: str, port: int, timeout: float = 10) -> socket.socket:
    """A TCP connection to host:port made from namespace `ns` (None: this
    process's own)."""
    if ns is None:
        return socket.create_connection((host, port), timeout=timeout)
    return call_in(ns, lambda: socket.create_connection((host, port), timeout=timeout))


class Pair:
    """Namespaces <tag>-s and <tag>-c, veth <tag>s (server side) and <tag>c;
    with admin=True also veth <tag>as (198.18.1.1) and <tag>ac (198.18.1.2).
    A context manager: made on entry (after deleting a leftover of the same
    name from a killed run), deleted on exit, whatever happened."""

    def __init__(self, tag: str, admin: bool = False):
        self.server_ns, self.client_ns = f"{tag}-s", f"{tag}-c"
        self.server_if, self.client_if = f"{tag}s", f"{tag}c"
        self.admin = admin
        self.admin_server_if, self.admin_client_if = f"{tag}as", f"{tag}ac"
        if len(self.admin_server_if) > 15:
            raise ValueError(f"namespace tag {tag!r} too long for an interface name")
        self.server_addressed = False

    def __enter__(self) -> "Pair":
        self.delete()  # a leftover of a killed run
        try:
            self.create()
        except BaseException:
            self.delete()
            raise
        return self

    def create(self) -> None:
        run("ip", "netns", "add", self.server_ns)
        run("ip", "netns", "add", self.client_ns)
        run("ip", "link", "add", self.server_if, "netns", self.server_ns, "type", "veth", "peer",
            "name", self.client_if, "netns", self.client_ns)
        for ns, dev in ((self.server_ns, self.server_if), (self.client_ns, self.client_if)):
            run("ip", "-n", ns, "link", "set", "lo", "up")
            run("ip", "-n", ns, "link", "set", dev, "up")
        run("ip", "-n", self.client_ns, "addr", "add", f"{CLIENT_ADDR}/{PREFIX}", "dev",
            self.client_if)
        # The kernel leaves TCP checksums to the device on a veth; a
        # userspace stack reading raw frames would see them unfilled and
        # drop every segment.
        run("ip", "netns", "exec", self.client_ns, "ethtool", "-K", self.client_if, "tx", "off")
        if self.admin:
            run("ip", "link", "add", self.admin_server_if, "netns", self.server_ns, "type", "veth",
                "peer", "name", self.admin_client_if, "netns", self.client_ns)
            for ns, dev, addr in ((self.server_ns, self.admin_server_if, ADMIN_SERVER_ADDR),
                                  (self.client_ns, self.admin_client_if, ADMIN_CLIENT_ADDR)):
                run("ip", "-n", ns, "addr", "add", f"{addr}/{PREFIX}", "dev", dev)
                run("ip", "-n", ns, "link", "set", dev, "up")

    def address_server(self) -> None:
        """Gives the server end 198.18.0.1/24, for a server on the kernel's
        own stack. The dpdk engine needs the end without it: its own stack
        answers for the address."""
        run("ip", "-n", self.server_ns, "addr", "add", f"{SERVER_ADDR}/{PREFIX}", "dev",
            self.server_if)
        self.server_addressed = True

    def server_tx_off(self) -> None:
        """TX checksum offload off on the server end too, and with it TCP
        segmentation offload (which needs it): the kernel checksums every
        frame in software, as the dpdk engine's lwIP does. GSO stays on: the
        kernel still cuts its large segments into frames late, in software,
        at the device."""
        run("ip", "netns", "exec", self.server_ns, "ethtool", "-K", self.server_if, "tx", "off")

    def offloads(self, side: str) -> dict[str, str]:
        """A few of `ethtool -k` on one end ('server' or 'client')."""
        ns, dev = ((self.server_ns, self.server_if) if side == "server"
                   else (self.client_ns, self.client_if))
        p = subprocess.run(["ip", "netns", "exec", ns, "ethtool", "-k", dev],
                           capture_output=True, text=True)
        out = {}
        for line in p.stdout.splitlines():
            key, _, value = line.strip().partition(": ")
            # tx-tcp-segmentation itself: the "tcp-segmentation-offload"
            # summary stays "on" while any TCP segmentation feature is
            if key in ("tx-checksumming", "tx-tcp-segmentation",
                       "generic-segmentation-offload", "generic-receive-offload"):
                out[key] = value.split()[0] if value else ""
        return out

    def __exit__(self, *exc) -> None:
        self.delete()

    def delete(self) -> None:
        # deleting a namespace deletes the veth end in it, and so the pair
        for ns in (self.server_ns, self.client_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    def exists(self) -> bool:
        return all(os.path.exists(f"/run/netns/{ns}") for ns in (self.server_ns, self.client_ns))

    def in_server(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.server_ns, *args]

    def in_client(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.client_ns, *args]


def delete_stale(prefix: str) -> list[str]:
    """Deletes namespaces <prefix><pid>-s/-c whose harness (process <pid>) is
    gone: what a harness killed with SIGKILL left. Never another tag's, nor
    a living harness's."""
    p = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    deleted = []
    for line in p.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.fullmatch(re.escape(prefix) + r"(\d+)-[sc]", name)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
            deleted.append(name)
    return deleted
