"""Two network namespaces joined by a veth pair, made for one test and
deleted after it: the dpdk engine's side (its veth end has no address: the
engine's own stack answers for 198.18.0.1) and the kernel client's side
(198.18.0.2). Addresses come from 198.18.0.0/15, the benchmarking range;
neither namespace has any other interface, so no packet can leave them.

With admin=True a second veth pair joins the same two namespaces for what
the kernel must carry on the server's side: the engine's stack owns the
first link, so zcserve's admin listener (an ordinary kernel socket) listens
on 198.18.1.1, and the clients reach it from 198.18.1.2."""

import os
import shutil
import subprocess

SERVER_ADDR = "198.18.0.1"
CLIENT_ADDR = "198.18.0.2"
PREFIX = 24
ADMIN_SERVER_ADDR = "198.18.1.1"
ADMIN_CLIENT_ADDR = "198.18.1.2"


def unavailable():
    """Why namespaces cannot be made here, or ""."""
    if os.geteuid() != 0:
        return "network namespaces and XDP need root"
    for tool in ("ip", "ethtool"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/setup installs it)"
    return ""


def run(*args):
    subprocess.run(args, check=True, capture_output=True, text=True)


class Pair:
    """Namespaces <tag>-s and <tag>-c, veth <tag>s (server side) and <tag>c;
    with admin=True also veth <tag>as (198.18.1.1) and <tag>ac (198.18.1.2)."""

    def __init__(self, tag, admin=False):
        self.server_ns, self.client_ns = f"{tag}-s", f"{tag}-c"
        self.server_if, self.client_if = f"{tag}s", f"{tag}c"
        self.admin = admin
        self.admin_server_if, self.admin_client_if = f"{tag}as", f"{tag}ac"

    def __enter__(self):
        self.delete()  # a leftover of a killed run
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
        return self

    def __exit__(self, *exc):
        self.delete()

    def delete(self):
        for ns in (self.server_ns, self.client_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    def in_server(self, *args):
        return ["ip", "netns", "exec", self.server_ns, *args]

    def in_client(self, *args):
        return ["ip", "netns", "exec", self.client_ns, *args]
