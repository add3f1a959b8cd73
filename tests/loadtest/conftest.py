"""Tests of loadtest/run (the zcload package): parsing and aggregation on
captured samples, and a smoke test of the whole pipeline.

    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/loadtest [--zcserve PATH]
"""

from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LOADTEST = os.path.join(REPO, "loadtest")
SAMPLES = os.path.join(HERE, "samples")
sys.path.insert(0, LOADTEST)


def pytest_addoption(parser):
    try:
        parser.addoption("--zcserve", action="store", default=os.environ.get("ZCSERVE"),
                         metavar="PATH", help="the zcserve binary (default: $ZCSERVE)")
    except ValueError:
        pass  # tests/cli or tests/conformance add --zcserve too when run in one session


@pytest.fixture
def sample():
    def read(name: str) -> str:
        with open(os.path.join(SAMPLES, name)) as f:
            return f.read()
    return read
