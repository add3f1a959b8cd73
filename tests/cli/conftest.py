"""Options and fixtures for the command-line tests of the real zcserve binary."""

import os
import subprocess

import pytest


def pytest_addoption(parser):
    try:
        parser.addoption(
            "--zcserve",
            action="store",
            default=os.environ.get("ZCSERVE"),
            metavar="PATH",
            help="the zcserve binary under test (default: $ZCSERVE)",
        )
    except ValueError:
        # tests/conformance/conftest.py adds the same option when both
        # directories are collected in one run.
        pass


@pytest.fixture(scope="session")
def zcserve(pytestconfig):
    path = pytestconfig.getoption("--zcserve")
    if not path:
        pytest.fail("no binary to test: pass --zcserve PATH or set ZCSERVE", pytrace=False)
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        pytest.fail(f"--zcserve {path}: not an executable file", pytrace=False)
    return path


@pytest.fixture
def run(zcserve, tmp_path):
    """Runs zcserve with the given arguments and returns the finished process.

    Every case here should end before serving; should one not, the loopback
    port 0, an empty root and the timeout keep a broken binary from binding
    a fixed port or hanging the suite.
    """

    def _run(*args, timeout=30):
        return subprocess.run(
            [zcserve, *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=tmp_path,
            env={**os.environ, "LC_ALL": "C"},
        )

    return _run
