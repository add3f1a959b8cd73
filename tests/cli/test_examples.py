"""Every example in config/ is a valid configuration for this build."""

import pathlib
import subprocess

import pytest

CONFIG_DIR = pathlib.Path(__file__).resolve().parents[2] / "config"
EXAMPLES = sorted(CONFIG_DIR.glob("*.toml"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_config_is_accepted(zcserve, path):
    # --list-backends loads and validates the file and flags, then exits.
    r = subprocess.run([zcserve, "--config", str(path), "--list-backends"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "+ engine=" in r.stdout
