"""Files whose bytes say where they belong.

Every 8-byte block of a pattern file is one big-endian 64-bit number: the
file's id in the top 16 bits, the block's own offset in the file in the
low 48. A reply that carries bytes from the wrong offset, from another
file or a reply's head where its body should be is caught at the first
wrong block, and the block itself says where it came from, so the failure
message can say "offset 65536 holds file 3's bytes from offset 0".

Layout under BASE/root:
    burst/<name>        a few sizes, for the connection burst
    many/m<i>.bin       many small distinct files, for descriptor pressure
"""

from __future__ import annotations

import array
import sys

KiB = 1024
MiB = 1024 * KiB

# name -> size. Odd sizes end in a partial block; 1 MiB needs many sends.
BURST = {
    "b1k.bin": KiB,
    "b100k.bin": 100 * KiB,
    "b1m.bin": MiB,
    "b4097.bin": 4097,
    "b256k3.bin": 256 * KiB + 3,
}
MANY = 1400  # distinct small files in many/
MANY_SIZE = 2 * KiB + 5


def content(file_id: int, size: int) -> bytes:
    base = file_id << 48
    blocks = array.array("Q", range(base, base + size + 8, 8))
    if sys.byteorder == "little":
        blocks.byteswap()
    return blocks.tobytes()[:size]


def describe_block(data: bytes, pos: int) -> str:
    """What the 8 bytes at `pos` of a received body claim to be."""
    block = data[pos:pos + 8]
    if len(block) < 8:
        return f"a short tail {block!r}"
    value = int.from_bytes(block, "big")
    file_id, offset = value >> 48, value & ((1 << 48) - 1)
    if value == 0:
        return "zero bytes, no file's block"
    if file_id > 0xFFF or offset > 1 << 32:
        return f"bytes that are no pattern block: {block!r}"
    return f"file {file_id}'s block at offset {offset}"


def first_wrong(got: bytes, want: bytes) -> int:
    """Offset of the first byte where got and want differ (got may be shorter)."""
    step = 4096
    for start in range(0, len(got), step):
        if got[start:start + step] != want[start:start + step]:
            for i in range(start, min(start + step, len(got))):
                if i >= len(want) or got[i] != want[i]:
                    return i
    return len(got)


class PatternTree:
    def __init__(self, base):
        self.base = base
        self.root = base / "root"
        self.files = {}  # URL path -> (file id, size)
        self.next_id = 1

    def add(self, rel: str, size: int) -> str:
        file_id = self.next_id
        self.next_id += 1
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content(file_id, size))
        url = "/" + rel
        self.files[url] = (file_id, size)
        return url

    def bytes_of(self, url: str) -> bytes:
        file_id, size = self.files[url]
        return content(file_id, size)

    def size_of(self, url: str) -> int:
        return self.files[url][1]

    def explain(self, url: str, got: bytes, start: int = 0) -> str:
        """Why a body (or its part from `start`) is not the file's bytes."""
        want = self.bytes_of(url)[start:start + len(got)]
        i = first_wrong(got, want)
        aligned = i - (start + i) % 8
        file_id, _ = self.files[url]
        return (f"{url} (file {file_id}): first wrong byte at body offset {start + i}; "
                f"the block there holds {describe_block(got, max(aligned, 0))}")


def build(base) -> PatternTree:
    t = PatternTree(base)
    t.root.mkdir(parents=True)
    for name, size in BURST.items():
        t.add(f"burst/{name}", size)
    for i in range(MANY):
        t.add(f"many/m{i}.bin", MANY_SIZE)
    return t
