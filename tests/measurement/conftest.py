"""Fixtures for the measurement suite: zcserve's own counts (wrapper layer,
per-thread kernel counters, context switches, copied bytes, /metrics)
checked against the kernel's (strace -c, perf stat, /proc) and against what
each sender's mechanism must cost.

    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/measurement \
        --zcserve PATH --engine E --sender S

Counts only, never timings: the machines that run this are shared.

Tests marked `once` do not depend on the session's sender (they start a
server per sender themselves, or check the /metrics syntax); they run in
the session whose --sender is `sendfile` and are deselected in the others,
so a ctest run over all five senders runs them exactly once.
"""

from __future__ import annotations

import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from server import Server, StartError

# What this suite shares with tests/conformance.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import zcsuite  # noqa: E402
from zcsuite import pytest_runtest_makereport  # noqa: E402,F401  (pytest finds it by name)

ONCE_SENDER = "sendfile"
KiB = 1024


def pytest_addoption(parser):
    zcsuite.add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    config.addinivalue_line(
        "markers", f"once: independent of --sender; runs only when --sender is {ONCE_SENDER}")
    # ctest runs one session per sender in parallel: a private temporary
    # tree for each, removed at the end.
    if config.option.basetemp is None and not config.option.collectonly:
        config.option.basetemp = tempfile.mkdtemp(prefix="zc-measurement-")
        config._zc_measurement_basetemp = config.option.basetemp


def pytest_unconfigure(config):
    base = getattr(config, "_zc_measurement_basetemp", None)
    if base:
        shutil.rmtree(base, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    if config.getoption("--sender") == ONCE_SENDER:
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("once") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_header(config):
    return (f"zcserve: {config.getoption('--zcserve')} engine={config.getoption('--engine')} "
            f"sender={config.getoption('--sender')}")


@pytest.fixture(scope="session")
def opts(pytestconfig):
    return {"binary": zcsuite.binary(pytestconfig),
            "engine": pytestconfig.getoption("--engine"),
            "sender": pytestconfig.getoption("--sender")}


class DocRoot:
    """Files named by size: /1KiB.bin, /256KiB.bin, /4096KiB.bin, seeded
    pseudo-random."""

    SIZES = (1 * KiB, 256 * KiB, 4096 * KiB)

    def __init__(self, root: Path):
        self.root = root
        self.content = {}
        for size in self.SIZES:
            data = random.Random(size).randbytes(size)
            (root / self.name(size)).write_bytes(data)
            self.content[size] = data

    @staticmethod
    def name(size):
        return f"{size // KiB}KiB.bin"

    def target(self, size):
        return "/" + self.name(size)


@pytest.fixture(scope="session")
def docroot(tmp_path_factory):
    return DocRoot(tmp_path_factory.mktemp("root"))


@pytest.fixture
def start_server(request, opts, docroot):
    """start_server(sender=None, root=None, prefix=(), workers=1, settings=()) -> a running
    Server; `settings` are KEY=VALUE strings passed with --set.
    Every server is stopped with SIGTERM at teardown and must exit 0."""
    started = []

    def start(sender=None, root=None, prefix=(), workers=1, settings=()):
        srv = Server(opts["binary"], root or docroot.root, opts["engine"], sender or opts["sender"],
                     workers=workers, prefix=prefix,
                     extra_args=[a for kv in settings for a in ("--set", kv)])
        started.append(srv)
        zcsuite.attach(request.node, srv)
        try:
            return srv.start()
        except StartError as e:
            pytest.fail(str(e), pytrace=False)

    yield start
    errors = [e for e in (srv.stop() for srv in started) if e]
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)
