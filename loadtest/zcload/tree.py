"""File sizes on the command line and the document tree every server serves."""

from __future__ import annotations

import os
import random
import re

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
          "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gb": 1 << 30,
          "gib": 1 << 30}
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([a-zA-Z]*)\s*$")


def parse_size(text: str) -> int:
    """'1k' -> 1024, '64KiB' -> 65536, '1m' -> 1048576, '100' -> 100.
    Binary units: a '1k' file is 1024 bytes, as in the README's table."""
    m = _SIZE_RE.match(text)
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"not a size: {text!r} (use e.g. 1k, 64k, 1m)")
    size = int(m.group(1)) * _UNITS[m.group(2).lower()]
    if size <= 0:
        raise ValueError(f"a file size must be positive: {text!r}")
    return size


def parse_sizes(text: str) -> list[int]:
    """'1k,64k,1m' -> [1024, 65536, 1048576], duplicates dropped, order kept."""
    sizes: list[int] = []
    for part in text.split(","):
        if part.strip():
            size = parse_size(part)
            if size not in sizes:
                sizes.append(size)
    if not sizes:
        raise ValueError("no file size given")
    return sizes


def size_label(size: int) -> str:
    """1024 -> '1k', 65536 -> '64k', 1048576 -> '1m', 1000 -> '1000'."""
    for unit, factor in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def file_name(size: int) -> str:
    return f"{size_label(size)}.bin"


def make_tree(root: str, sizes: list[int]) -> dict[int, str]:
    """Writes one file per size beneath root (random bytes, a fixed seed per
    size so every run serves the same bytes) and returns size -> URL path.
    A file already there with the right size is kept."""
    os.makedirs(root, exist_ok=True)
    paths = {}
    for size in sizes:
        name = file_name(size)
        path = os.path.join(root, name)
        if not (os.path.isfile(path) and os.path.getsize(path) == size):
            rng = random.Random(size)
            tmp = path + ".tmp"
            with open(tmp, "wb") as f:
                f.write(rng.randbytes(size))
            os.replace(tmp, path)
        paths[size] = "/" + name
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("<!doctype html><title>loadtest tree</title><ul>"
                + "".join(f'<li><a href="{file_name(s)}">{file_name(s)}</a></li>' for s in sizes)
                + "</ul>\n")
    return paths
