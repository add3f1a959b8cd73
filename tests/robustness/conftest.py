"""Fixtures for the robustness suite: the conformance suite's own (the real
zcserve binary on a free loopback port, its document tree, the raw HTTP
client), loaded from tests/conformance rather than copied, plus a tree of
files whose every 8-byte block names its file and its offset.

    python3 -m pytest -q -p no:cacheprovider tests/robustness \
        --zcserve PATH --engine E --sender S [--server-set KEY=VALUE ...]
"""

from __future__ import annotations

import importlib.util
import os
import resource
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CONFORMANCE = os.path.join(os.path.dirname(HERE), "conformance")

# docroot, httpraw and support import each other by bare name.
sys.path.insert(0, CONFORMANCE)
sys.path.insert(0, HERE)

# Loaded under its own name: pytest imports this file as "conftest", so a
# plain import of the other one would find this one.
_spec = importlib.util.spec_from_file_location("conformance_conftest",
                                               os.path.join(CONFORMANCE, "conftest.py"))
conformance_conftest = importlib.util.module_from_spec(_spec)
sys.modules["conformance_conftest"] = conformance_conftest
_spec.loader.exec_module(conformance_conftest)

# pytest finds hooks and fixtures by name in this module's namespace.
from conformance_conftest import (  # noqa: E402,F401
    _module_server,
    opts,
    pytest_addoption,
    pytest_report_header,
    pytest_runtest_makereport,
    pytest_unconfigure,
    server,
    start_server,
    tree,
)

import pattern  # noqa: E402

# Descriptors for this process and for the servers it starts: the burst
# holds 3000 client sockets here and 3000 connections there, and today's
# server reserves several descriptors per connection, so the conformance
# suite's 8192 would turn part of the burst away with 503 for want of
# descriptors rather than for what the test is about.
NOFILE = 20000


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    conformance_conftest.pytest_configure(config)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = NOFILE if hard == resource.RLIM_INFINITY else min(hard, NOFILE)
    try:
        # root may raise the hard limit too
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, max(NOFILE, hard)))
    except (ValueError, OSError):
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def nofile():
    """The descriptor limit this process has, for the servers it starts."""
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@pytest.fixture(scope="session")
def ptree(tmp_path_factory):
    """A tree of pattern files (see pattern.py), built once per session."""
    return pattern.build(tmp_path_factory.mktemp("robust"))


@pytest.fixture(scope="session")
def engine(opts):
    return opts["engine"]
