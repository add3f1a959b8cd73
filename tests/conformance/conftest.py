"""Fixtures for the conformance suite: the real zcserve binary, started on a
free loopback port with the engine and sender under test.

    python3 -m pytest -q -p no:cacheprovider tests/conformance \
        --zcserve PATH --engine E --sender S

An engine with its own network stack (dpdk) is run inside a network
namespace pair by tests/dpdk/conformance_pair.py, which passes where its
servers run and listen (--server-netns, --server-listen, --server-admin);
this process and its clients then run in the client's namespace. With a
fixed listen port only one server can listen at a time: starting one parks
(stops) the others, and a parked server is started again when a test next
uses it.
"""

from __future__ import annotations

import os
import sys
import resource
import shutil
import signal
import subprocess
import tempfile

import pytest

import docroot
import httpraw

_TESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
# The ready line's reader, shared with the other suites and the harness.
sys.path.insert(0, os.path.join(_TESTS, "..", "loadtest"))
from zcload import launch  # noqa: E402
# What this suite shares with tests/measurement.
sys.path.insert(0, _TESTS)
import zcsuite  # noqa: E402
from zcsuite import pytest_runtest_makereport  # noqa: E402,F401  (pytest finds it by name)
START_TIMEOUT = 10.0
STOP_TIMEOUT = 15.0


def pytest_addoption(parser):
    zcsuite.add_options(parser)
    parser.addoption("--server-set", action="append", default=[], metavar="KEY=VALUE",
                     help="a setting every server of the session gets (e.g. "
                          "io.uring.sqpoll=true); a test's own settings win")
    parser.addoption("--server-listen", default="127.0.0.1:0", metavar="HOST:PORT",
                     help="where servers listen, and the address the clients connect to "
                          "(default: 127.0.0.1:0, a free loopback port); a non-zero port "
                          "runs the servers one at a time")
    parser.addoption("--server-admin", default="127.0.0.1:0", metavar="HOST:PORT",
                     help="where servers' admin listeners (/stats, /metrics) listen "
                          "(default: 127.0.0.1:0)")
    parser.addoption("--server-netns", default=None, metavar="NAME",
                     help="run the servers in this network namespace (ip netns exec); the "
                          "clients stay in this process's")


# Settings from --server-set, applied to every server before its own.
SESSION_SETTINGS = []
# --server-listen, --server-admin, --server-netns.
PLACE = {"listen": "127.0.0.1:0", "admin": "127.0.0.1:0", "netns": None}


def split_host_port(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def one_at_a_time():
    """A fixed listen port: servers cannot listen side by side."""
    return split_host_port(PLACE["listen"])[1] != 0


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    SESSION_SETTINGS[:] = config.getoption("--server-set") or []
    PLACE.update(listen=config.getoption("--server-listen"),
                 admin=config.getoption("--server-admin"),
                 netns=config.getoption("--server-netns"))
    # Where the clients connect unless told otherwise (httpraw.Client(port)).
    httpraw.DEFAULT_HOST = split_host_port(PLACE["listen"])[0]
    # ctest runs one session per engine x sender in parallel: give each its
    # own temporary tree (a 64 MiB file and copies of it) instead of sharing
    # pytest's numbered directories, and remove it at the end.
    if config.option.basetemp is None and not config.option.collectonly:
        config.option.basetemp = tempfile.mkdtemp(prefix="zc-conformance-")
        config._zc_basetemp = config.option.basetemp

    # 300 concurrent connections plus the server's own descriptors; the
    # server inherits this limit from us.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 8192 if hard == resource.RLIM_INFINITY else min(hard, 8192)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def pytest_unconfigure(config):
    base = getattr(config, "_zc_basetemp", None)
    if base:
        shutil.rmtree(base, ignore_errors=True)


def pytest_report_header(config):
    where = f" listen={PLACE['listen']} admin={PLACE['admin']}"
    if PLACE["netns"]:
        where += f" netns={PLACE['netns']}"
    return (f"zcserve: {config.getoption('--zcserve')} engine={config.getoption('--engine')} "
            f"sender={config.getoption('--sender')}" + where)


def toml_value(v):
    """--set values are TOML values: strings are quoted, numbers are not."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


class Server:
    """One zcserve process. Its stderr and stdout are read in background
    threads and kept, to be shown when a test fails. `host` and `port` say
    where it serves (from its ready line), `admin_host` and `admin_port`
    where its admin listener is."""

    # Servers started and not yet stopped, for one_at_a_time().
    running = []

    def __init__(self, binary, root, engine, sender, workers=None, settings=None, extra_args=(),
                 nofile=None):
        self.binary = binary
        self.nofile = nofile  # RLIMIT_NOFILE (soft and hard) for the process, if given
        self.root = str(root)
        self.engine = engine
        self.sender = sender
        self.workers = workers
        self.settings = dict(settings or {})
        self.argv = [binary, "--root", self.root, "--listen", PLACE["listen"],
                     "--admin", PLACE["admin"], "--engine", engine, "--sender", sender]
        if PLACE["netns"]:
            self.argv = ["ip", "netns", "exec", PLACE["netns"], *self.argv]
        if workers is not None:
            self.argv += ["--workers", str(workers)]
        for kv in SESSION_SETTINGS:
            self.argv += ["--set", kv]
        for k, v in self.settings.items():
            self.argv += ["--set", f"{k}={toml_value(v)}"]
        self.argv += list(extra_args)
        self.proc = None
        self.host = httpraw.DEFAULT_HOST
        self.port = None
        self.admin_host = split_host_port(PLACE["admin"])[0]
        self.admin_port = None  # /stats and /metrics
        self.parked = False  # stopped to let another server listen; started again on use
        self.stderr_lines = []
        self.stdout_lines = []
        self._launched = None
        self.terminated = False  # SIGTERM sent by us: an exit is expected
        self.exit_seen = False
        self.death_reported = False

    def describe(self):
        return " ".join(self.argv)

    def start(self):
        """Starts the process (again, if it was parked)."""
        if one_at_a_time():
            for other in list(Server.running):
                if other is not self:
                    other.park()
        self.parked = self.terminated = self.exit_seen = False
        limit = None
        if self.nofile is not None:
            def limit():
                resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))
        self._launched = launch.Process(self.argv, preexec_fn=limit)
        self.proc = self._launched.proc
        self.stderr_lines = self._launched.stderr_lines
        self.stdout_lines = self._launched.stdout_lines
        Server.running.append(self)
        try:
            ready = self._launched.wait_ready(START_TIMEOUT)
        except launch.StartError as e:
            Server.running.remove(self)
            # The dpdk engine on a kernel that refuses an AF_XDP socket here:
            # skipped with DPDK's reason, never passed.
            if any("did not probe" in line for line in self.stderr_lines):
                pytest.skip("the engine's device is unavailable here: " + self.stderr_lines[-1])
            pytest.fail(f"zcserve did not start: {e}\n{self.describe()}\n{self.log_tail()}",
                        pytrace=False)
        self.port = ready["port"]
        self.admin_port = ready.get("admin_port")
        host = split_host_port(ready["listen"])[0]
        if host != self.host:
            pytest.fail(f"zcserve listens on {ready['listen']}, not on {self.host} where the "
                        f"clients connect (--server-listen {PLACE['listen']})", pytrace=False)
        return self

    def park(self):
        """Stops a running server so another can listen, to be started
        again when a test next uses it; it must exit 0 like any other."""
        if self.proc is None or self.exit_seen or self.proc.poll() is not None:
            if self in Server.running:
                Server.running.remove(self)  # ended on its own: its test says so
            return
        err = self.stop()
        self.parked = True
        if err:
            pytest.fail(f"stopping a server to start another: {err}\n{self.log_tail()}",
                        pytrace=False)

    def resume(self):
        if self.parked:
            self.start()

    def _join(self):
        if self in Server.running:
            Server.running.remove(self)
        if self._launched is not None:
            self._launched.join()

    @staticmethod
    def _rc_text(rc):
        return launch.rc_text(rc)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self):
        if not self.alive():
            pytest.fail(f"zcserve died: {self._rc_text(self.proc.poll())}", pytrace=False)

    def log_tail(self, n=150):
        out = []
        if self.stderr_lines:
            out.append("--- stderr (last %d lines) ---" % min(n, len(self.stderr_lines)))
            out += self.stderr_lines[-n:]
        if self.stdout_lines:
            out.append("--- stdout (last %d lines) ---" % min(n, len(self.stdout_lines)))
            out += self.stdout_lines[-n:]
        return "\n".join(out) if out else "(no output)"

    def terminate(self):
        """Sends SIGTERM (graceful shutdown) without waiting."""
        self.terminated = True
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout=STOP_TIMEOUT):
        """Waits for exit; returns the exit code, or None on timeout."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._join()
        self.exit_seen = True  # the caller judges the exit code
        return rc

    def stop(self):
        """SIGTERM unless already exited, then require exit code 0 within
        STOP_TIMEOUT. Returns an error text, or None when the shutdown was clean."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.terminate()
        rc = self.wait(STOP_TIMEOUT)
        if rc is None:
            self.proc.kill()
            self.proc.wait()
            self._join()
            self.exit_seen = True
            return f"zcserve did not exit within {STOP_TIMEOUT:.0f} s of SIGTERM"
        if rc != 0:
            return f"zcserve ended with {self._rc_text(rc)} (want exit code 0 on SIGTERM)"
        return None

    def url(self, path="/"):
        return f"http://{self.host}:{self.port}{path}"

    def admin_url(self, path="/stats"):
        return f"http://{self.admin_host}:{self.admin_port}{path}"


def _register(request, srv):
    srv.resume()
    zcsuite.attach(request.node, srv)


@pytest.fixture(scope="session")
def opts(pytestconfig):
    binary = zcsuite.binary(pytestconfig)
    engine = pytestconfig.getoption("--engine")
    sender = pytestconfig.getoption("--sender")
    # A pair this kernel cannot do is skipped with the server's own reason,
    # never passed silently.
    listing = subprocess.run([binary, "--list-backends"], capture_output=True, text=True,
                             timeout=30).stdout
    for line in listing.splitlines():
        if line.startswith(f"- engine={engine} sender={sender} ") or \
                line.startswith(f"- engine={engine} sender=* "):
            pytest.skip(f"{engine}/{sender} is not usable here: {line[2:]}")
    return {"binary": binary, "engine": engine, "sender": sender}


@pytest.fixture(scope="session")
def tree(tmp_path_factory):
    """The document tree, built once per session."""
    return docroot.build(tmp_path_factory.mktemp("zc"))


class _ModuleServer:
    """The server most tests of a module share. If it dies, the test that saw
    it die fails, and the next test gets a fresh one."""

    def __init__(self, opts, tree):
        self.opts = opts
        self.tree = tree
        self.current = None

    def get(self):
        if self.current is not None and self.current.parked:
            self.current.start()
        if self.current is None or not self.current.alive():
            self.current = Server(self.opts["binary"], self.tree.root,
                                  self.opts["engine"], self.opts["sender"]).start()
        return self.current


@pytest.fixture(scope="module")
def _module_server(opts, tree):
    holder = _ModuleServer(opts, tree)
    yield holder
    if holder.current is not None:
        err = holder.current.stop()
        if err:
            pytest.fail(f"{err}\n{holder.current.log_tail()}", pytrace=False)


@pytest.fixture
def server(request, _module_server):
    """The shared server of this module (default settings, one worker)."""
    previous = _module_server.current
    srv = _module_server.get()
    _register(request, srv)
    if previous is not None and previous is not srv and not previous.death_reported:
        previous.death_reported = True
        _register(request, previous)
        pytest.fail(f"zcserve died after the previous test ended: "
                    f"{previous._rc_text(previous.proc.poll())} (restarted for the next test)",
                    pytrace=False)
    yield srv
    if not srv.alive() and not srv.parked:
        srv.death_reported = True
        pytest.fail(f"zcserve died during this test: {srv._rc_text(srv.proc.poll())}",
                    pytrace=False)


@pytest.fixture
def start_server(request, opts, tree):
    """Factory for servers with their own settings:
    start_server(workers=2, settings={"server.idle_timeout": "1s"}).
    Each is stopped with SIGTERM at teardown and must exit 0."""
    started = []

    def start(workers=None, settings=None, root=None, extra_args=(), nofile=None):
        srv = Server(opts["binary"], root or tree.root, opts["engine"], opts["sender"],
                     workers=workers, settings=settings, extra_args=extra_args, nofile=nofile)
        started.append(srv)
        _register(request, srv)
        return srv.start()

    yield start
    errors = []
    for srv in started:
        if srv.exit_seen:
            continue  # the test waited for the exit and checked it, or it was parked
        if srv.proc is not None and not srv.terminated and srv.proc.poll() is not None:
            errors.append(f"zcserve died during the test: {srv._rc_text(srv.proc.poll())}")
            continue
        err = srv.stop()
        if err:
            errors.append(err)
    if errors:
        pytest.fail("\n\n".join(errors), pytrace=False)

