"""The conformance suite (tests/conformance) against the dpdk engine, in a
network namespace pair made for the run and deleted after it, also when
the run fails or is interrupted.

    python3 tests/dpdk/conformance_pair.py --zcserve PATH --sender S \
        [--test tests/conformance/test_x.py ...] [PYTEST OPTIONS...]

The servers run in the server's namespace, net_af_xdp on one end of the
pair's veth and their own stack answering for 198.18.0.1:80; their admin
listeners (kernel sockets) on 198.18.1.1, a second veth pair. pytest and
every client it starts (raw sockets, curl, wget) run in the client's
namespace, at 198.18.0.2 and 198.18.1.2. Addresses come from
198.18.0.0/15 only, and neither namespace has another interface, so no
packet leaves them.

Root only. Exit status 77 (ctest's SKIP_RETURN_CODE) with the reason on
stdout when namespaces cannot be made here, when the kernel refuses an
AF_XDP socket, or when this zcserve does not list the sender as usable on
dpdk; otherwise pytest's own.
"""

import argparse
import os
import signal
import subprocess
import sys

import netns

HERE = os.path.dirname(os.path.abspath(__file__))
SUITE = os.path.join(HERE, "..", "conformance")
sys.path.insert(0, os.path.join(HERE, "..", "..", "loadtest"))
from zcload.launch import Process, StartError  # noqa: E402

SKIP = 77
PORT = 80


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(SKIP)


def unusable(zcserve, sender):
    """Why zcserve cannot run dpdk with `sender` here, or ""."""
    listing = subprocess.run([zcserve, "--list-backends"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
    for line in listing.splitlines():  # "+ engine=dpdk sender=read_write (default)"
        words = line.split()
        if words[1:2] == ["engine=dpdk"] and words[2:3] in ([f"sender={sender}"], ["sender=*"]):
            return "" if words[0] == "+" else line[2:]
    return f"zcserve --list-backends names no engine=dpdk sender={sender}"


def server_settings(pair):
    return [f"io.dpdk.vdev=net_af_xdp0,iface={pair.server_if},busy_budget=0",
            f"io.dpdk.address={netns.SERVER_ADDR}/{netns.PREFIX}"]


def probe(zcserve, sender, pair):
    """Starts the engine once: "" when it serves, else why the kernel
    would not let it (the suite's servers would each be refused)."""
    argv = pair.in_server(zcserve, "--root", "/", "--listen", f"{netns.SERVER_ADDR}:{PORT}",
                          "--admin", "off", "--engine", "dpdk", "--sender", sender)
    for kv in server_settings(pair):
        argv += ["--set", kv]
    srv = Process(argv)
    try:
        srv.wait_ready(30)
    except StartError as e:
        srv.proc.kill()
        srv.proc.wait()
        if any("did not probe" in line for line in srv.stderr_lines):
            return "net_af_xdp is unavailable here: " + srv.stderr_lines[-1]
        sys.exit(f"zcserve --engine dpdk did not start: {e}\n" + "\n".join(srv.stderr_lines[-20:]))
    srv.proc.terminate()
    rc = srv.proc.wait(20)
    if rc != 0:
        sys.exit(f"zcserve --engine dpdk (probe) ended with {rc}:\n"
                 + "\n".join(srv.stderr_lines[-20:]))
    return ""


def end_leftovers(pair):
    """Kills what still runs in the pair's namespaces (a server pytest had
    no time to stop): every process there is this run's."""
    for ns in (pair.server_ns, pair.client_ns):
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True,
                              text=True).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--zcserve", required=True, help="the zcserve binary, with the dpdk engine")
    ap.add_argument("--sender", required=True, help="io.sender under test")
    ap.add_argument("--tag", default=f"zk{os.getpid() % 100000}",
                    help="prefix of the namespaces and interfaces (default: zk<pid>)")
    ap.add_argument("--test", action="append", default=[], metavar="PATH",
                    help="run this file (or file::test) of the suite instead of all of it")
    args, pytest_args = ap.parse_known_args()
    zcserve = os.path.abspath(args.zcserve)

    why = netns.unavailable() or unusable(zcserve, args.sender)
    if why:
        skip(why)
    # ctest's timeout and ^C: delete the pair on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    with netns.Pair(args.tag, admin=True) as pair:
        why = probe(zcserve, args.sender, pair)
        if why:
            skip(why)
        cmd = pair.in_client(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             *[os.path.abspath(t) for t in args.test or [SUITE]],
                             "--zcserve", zcserve, "--engine", "dpdk",
                             "--sender", args.sender,
                             "--server-netns", pair.server_ns,
                             "--server-listen", f"{netns.SERVER_ADDR}:{PORT}",
                             "--server-admin", f"{netns.ADMIN_SERVER_ADDR}:0")
        for kv in server_settings(pair):
            cmd += ["--server-set", kv]
        cmd += pytest_args
        print("+ " + " ".join(cmd), flush=True)
        # SIGINT as ^C would: pytest stops its servers on the way out (a
        # shell's background job would otherwise hand it SIGINT ignored).
        proc = subprocess.Popen(cmd, preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                                      signal.SIG_DFL))
        try:
            return proc.wait()
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            end_leftovers(pair)


if __name__ == "__main__":
    sys.exit(main())
