"""What the suites that start the real zcserve (tests/conformance, and
through it tests/robustness; tests/measurement) share: the options that
name the binary, engine and sender, the check of the binary, and the
server output attached to a failed test's report.

A conftest imports this module by putting tests/ on sys.path; pytest finds
the hook by name, so a conftest re-exports `pytest_runtest_makereport`.
"""

from __future__ import annotations

import os

import pytest


def add_options(parser):
    """--zcserve, --engine, --sender; another suite's conftest in the same
    session may have added them already."""
    options = [
        ("--zcserve", dict(default=os.environ.get("ZCSERVE"), metavar="PATH",
                           help="the zcserve binary under test (default: $ZCSERVE)")),
        ("--engine", dict(default="epoll", help="io.engine under test (default: epoll)")),
        ("--sender", dict(default="sendfile", help="io.sender under test (default: sendfile)")),
    ]
    for name, kw in options:
        try:
            parser.addoption(name, action="store", **kw)
        except ValueError:
            pass  # tests/cli/conftest.py adds --zcserve too when both run in one session


def binary(pytestconfig):
    """--zcserve as an absolute path, refused unless it is an executable file."""
    path = pytestconfig.getoption("--zcserve")
    if not path:
        raise pytest.UsageError("no binary to test: pass --zcserve PATH or set ZCSERVE")
    if not os.access(path, os.X_OK):
        raise pytest.UsageError(f"--zcserve {path}: not an executable file")
    return os.path.abspath(path)


def attach(node, srv):
    """Names `srv` as one of the test's servers, whose output goes into its
    report if it fails."""
    servers = getattr(node, "_zc_servers", None)
    if servers is None:
        servers = node._zc_servers = []
    if srv not in servers:
        servers.append(srv)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for srv in getattr(item, "_zc_servers", []):
            rep.sections.append((f"zcserve output: {srv.describe()}", srv.log_tail()))
