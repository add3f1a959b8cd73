"""The document tree the conformance tests serve.

Layout (under a per-session tmp dir BASE; the server's root is BASE/root, so
BASE/secret is a file the server must never hand out):

    BASE/secret                     outside the root
    BASE/root/index.html
    BASE/root/f0.bin ... f64m.bin   pseudo-random bytes, seeded
    BASE/root/hello.txt  page.html  blob.zzq
    BASE/root/dir/index.html  dir/sub/index.html  dir/inner.txt
    BASE/root/noindex/file.txt      a directory without index.html
    BASE/root/a/b.txt
    BASE/root/sp ace.txt  %41.txt  A.txt  a+b.txt  d ir/index.html
    BASE/root/inj\r\nX-Injected: yes/index.html
    BASE/root/types/a.<ext>         one small file per extension in TYPED
    BASE/root/cc/...                Cache-Control rules (test_cache_control.py)
    BASE/root/.env  .git/config  .hidden/index.html  users/.htpasswd
                                    dotfiles, hidden by default
    BASE/root/users/readme.txt      beside a dotfile, served
    BASE/root/.well-known/security.txt  .well-known/acme-challenge/tok3n
                                    served whatever server.dotfiles says
    BASE/root/link_in      -> f4096.bin         (relative, stays inside)
    BASE/root/dir/link_up  -> ../hello.txt      (relative, stays inside)
    BASE/root/link_out     -> ../secret         (relative, leaves the root)
    BASE/root/link_out_abs -> BASE/secret       (absolute, leaves the root)
    BASE/root/linkdir_out  -> ..                (a directory outside)
    BASE/root/loop         -> loop              (ELOOP)
    BASE/root/app.js  app.js.gz  app.js.br     precompressed siblings (real gzip, brotli)
    BASE/root/app.js.zst            a zstd stand-in (off unless configured)
    BASE/root/style.css  style.css.gz          a gzip sibling only
    BASE/root/errors/404.html  errors/403.html errors/503.html error pages (tests turn
                               them on); errors/big.html, 17 KiB
    BASE/root/listing/...           no index; AWKWARD names, a sub-directory, a dotfile
"""

from __future__ import annotations

import gzip
import hashlib
import os
import random
import shutil
import subprocess
from pathlib import Path

MiB = 1024 * 1024

# name -> size; contents from random.Random(seed_of(name)).randbytes(size)
SIZED = {
    "f0.bin": 0,
    "f1.bin": 1,
    "f4095.bin": 4095,
    "f4096.bin": 4096,
    "f1m1.bin": MiB + 1,
    "f64m.bin": 64 * MiB,
}

# Names a directory listing must link back to exactly (server.autoindex):
# each file under listing/ holds its own name, so a link that leads to the
# wrong file shows.
AWKWARD = ["sp ace.txt", "q?x", "h#sh", "pc%41", 'quo"te', "<lt>&amp;", "nl\nname",
           "colon:name", "plus+semi;", "caf\u00e9.txt"]
AWKWARD_BYTES = [b"\xff\xfe.bin"]  # not UTF-8
# Extensions browsers need the right Content-Type for, served from
# /types/a.<ext>: the media type a browser must see (charset aside).
TYPED = {
    "m3u8": "application/vnd.apple.mpegurl",
    "ts": "video/mp2t",
    "m4v": "video/mp4",
    "mkv": "video/x-matroska",
    "vtt": "text/vtt",
    "rss": "application/rss+xml",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "yaml": "application/yaml",
    "wasm": "application/wasm",
    "js": "text/javascript",
    "mjs": "text/javascript",
    "html": "text/html",
    "M3U8": "application/vnd.apple.mpegurl",
}

# Dotfiles: URL path -> contents.
DOTFILES = {
    "/.env": b"SECRET_KEY=dotenv-must-not-leak\n",
    "/.git/config": b"[core]\n\tbare = false\n",
    "/.hidden/index.html": b"<p>an index inside a hidden directory</p>\n",
    "/users/.htpasswd": b"admin:$apr1$x$y\n",
}
WELL_KNOWN = {
    "/.well-known/security.txt": b"Contact: mailto:security@example.invalid\n",
    "/.well-known/acme-challenge/tok3n": b"tok3n.thumbprint\n",
}

SECRET = b"TOP-SECRET-zcserve-conformance-" + b"x" * 64 + b"\n"


def seed_of(name):
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")


def random_bytes(name, size):
    return random.Random(seed_of(name)).randbytes(size)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class Tree:
    def __init__(self, base: Path):
        self.base = base
        self.root = base / "root"
        self.secret_path = base / "secret"
        self.content = {}  # URL path ("/x") -> bytes (kept for every file but f64m.bin)
        self.digest = {}  # URL path -> sha256 hex
        self.big = None  # bytes of f64m.bin, loaded lazily
        self.has_brotli = False  # app.js.br is real brotli (the CLI was there)

    def path(self, url_path):
        return self.root / url_path.lstrip("/")

    def add(self, rel, data):
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        url = "/" + rel
        self.digest[url] = sha256(data)
        if len(data) < 8 * MiB:
            self.content[url] = data
        return p

    def bytes_of(self, url_path):
        if url_path == "/f64m.bin":
            if self.big is None:
                self.big = self.path(url_path).read_bytes()
            return self.big
        return self.content[url_path]

    def size_of(self, url_path):
        return self.path(url_path).stat().st_size


def build(base: Path) -> Tree:
    t = Tree(base)
    t.root.mkdir(parents=True)
    t.secret_path.write_bytes(SECRET)

    for name, size in SIZED.items():
        t.add(name, random_bytes(name, size))

    t.add("index.html", b"<!doctype html><title>root</title><p>root index</p>\n")
    t.add("hello.txt", b"hello, world\n")
    t.add("page.html", b"<!doctype html><title>page</title><p>a page</p>\n")
    t.add("blob.zzq", random_bytes("blob.zzq", 3000))
    t.add("dir/index.html", b"<!doctype html><title>dir</title><p>dir index</p>\n")
    t.add("dir/sub/index.html", b"<!doctype html><p>dir/sub index</p>\n")
    t.add("dir/inner.txt", b"inner file\n")
    t.add("noindex/file.txt", b"a file in a directory without an index\n")
    t.add("a/b.txt", b"a/b\n")
    t.add("sp ace.txt", b"a name with a space\n")
    t.add("%41.txt", b"a name with a literal percent sign\n")
    t.add("A.txt", b"plain A\n")
    t.add("a+b.txt", b"a literal plus\n")
    t.add("d ir/index.html", b"<p>a directory with a space</p>\n")
    # A directory whose name holds CR LF: a Location built from it unencoded
    # would inject a header.
    t.add("inj\r\nX-Injected: yes/index.html", b"<p>injection</p>\n")

    add_precompressed(t)
    add_listing(t)
    for ext in TYPED:
        t.add(f"types/a.{ext}", f"a .{ext} file\n".encode())
    for rel in ("cc/plain.css", "cc/page.html", "cc/assets/app.js", "cc/assets/page.html",
                "cc/assets/live/feed.json", "cc/quiet/notes.txt"):
        t.add(rel, f"{rel}\n".encode() * 50)
    for url, data in {**DOTFILES, **WELL_KNOWN}.items():
        t.add(url.lstrip("/"), data)
    t.add("users/readme.txt", b"a file beside a dotfile\n")

    os.symlink("f4096.bin", t.root / "link_in")
    os.symlink("../hello.txt", t.root / "dir" / "link_up")
    os.symlink("../secret", t.root / "link_out")
    os.symlink(str(t.secret_path), t.root / "link_out_abs")
    os.symlink("..", t.root / "linkdir_out")
    os.symlink("loop", t.root / "loop")
    return t


def brotli(data):
    """Brotli by Debian's CLI (scripts/setup installs it); None without it."""
    if shutil.which("brotli") is None:
        return None
    return subprocess.run(["brotli", "-c"], input=data, capture_output=True, check=True).stdout


def add_precompressed(t):
    js = b"".join(b"export const line%d = 'the same words again and again';\n" % i
                  for i in range(400))
    t.add("app.js", js)
    t.add("app.js.gz", gzip.compress(js, mtime=0))
    t.has_brotli = (br := brotli(js)) is not None
    # Without the CLI the sibling still exists, with bytes no one decodes.
    t.add("app.js.br", br if br is not None else b"not brotli: " + random_bytes("app.js.br", 200))
    # Not real zstd (no CLI is needed): only which file is sent is checked.
    t.add("app.js.zst", b"zstd stand-in: " + random_bytes("app.js.zst", 100))
    css = b"body { color: black; }\n" * 100
    t.add("style.css", css)
    t.add("style.css.gz", gzip.compress(css, mtime=0))
    t.add("errors/404.html", b"<!doctype html><p>custom not found page</p>\n")
    t.add("errors/403.html", b"<!doctype html><p>custom forbidden page</p>\n")
    t.add("errors/503.html", b"<!doctype html><p>custom busy page, try again</p>\n")
    t.add("errors/big.html", b"<!doctype html>" + b"x" * (17 * 1024))


def add_listing(t):
    d = t.root / "listing"
    d.mkdir()
    for name in AWKWARD:
        t.add("listing/" + name, ("file " + name + "\n").encode())
    for raw in AWKWARD_BYTES:
        with open(os.path.join(os.fsencode(d), raw), "wb") as f:
            f.write(b"file with a name that is not UTF-8\n")
    t.add("listing/sub dir/inner.txt", b"inner of sub dir\n")
    t.add("listing/.hidden", b"a dotfile\n")
    os.mkfifo(d / "fifo")
