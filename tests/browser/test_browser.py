"""A real browser against the real binary: headless Chromium (Debian's
package) loads a page whose module script zcserve serves as its Brotli
sibling, imports another module, and then uses the server as a page does:
a stylesheet, a multi-range and a single-range fetch, a media type a browser
must see right, a dotfile and a directory listing. The script writes what
it saw into the page; the test reads the page back with --dump-dom.

    python3 -m pytest -q tests/browser --zcserve build/zcserve --engine epoll
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "loadtest"))
from zcload import launch  # noqa: E402

CHROMIUM = shutil.which("chromium")

INDEX = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>zcserve</title>
<link rel="stylesheet" href="style.css"></head>
<body><p id="styled">styled</p><div id="out">pending</div>
<script type="module" src="app.js"></script></body></html>
"""

# app.js itself only says it was not the sibling that ran.
IDENTITY_JS = b"document.getElementById('out').textContent = 'identity app.js ran';\n"

# What the browser gets when it asks for app.js with Accept-Encoding: br,
# Brotli-compressed on disk as app.js.br: a different script, so that the
# page shows which file was served and that it was decoded.
BROTLI_JS = b"""import { greeting } from './mod.js';
const seen = { module: greeting, sibling: 'br' };
seen.css = getComputedStyle(document.getElementById('styled')).color;
const many = await fetch('big.bin', { headers: { Range: 'bytes=0-9,20-29' } });
seen.multi_status = many.status;
seen.multi_type = (many.headers.get('content-type') || '').split(';')[0];
seen.multi_length = (await many.arrayBuffer()).byteLength;
seen.multi_declared = Number(many.headers.get('content-length'));
const one = await fetch('big.bin', { headers: { Range: 'bytes=5-9' } });
seen.one_status = one.status;
seen.one = Array.from(new Uint8Array(await one.arrayBuffer()));
seen.vtt = (await fetch('captions.vtt')).headers.get('content-type');
seen.dotfile = (await fetch('.env')).status;
const listing = await fetch('dir/');
seen.listing_status = listing.status;
seen.listing_links_inner = (await listing.text()).includes('href="inner.txt"');
document.getElementById('out').textContent = JSON.stringify(seen);
"""

MOD_JS = b"export const greeting = 'hello from mod.js';\n"
CSS = b"#styled { color: rgb(1, 2, 3); }\n"


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "www"
    (root / "dir").mkdir(parents=True)
    (root / "index.html").write_bytes(INDEX)
    (root / "app.js").write_bytes(IDENTITY_JS)
    src = tmp_path / "br-source.js"
    src.write_bytes(BROTLI_JS)
    subprocess.run(["brotli", "-f", "-o", str(root / "app.js.br"), str(src)], check=True)
    (root / "mod.js").write_bytes(MOD_JS)
    (root / "style.css").write_bytes(CSS)
    (root / "big.bin").write_bytes(bytes(range(256)) * 64)
    (root / "captions.vtt").write_bytes(b"WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n")
    (root / ".env").write_bytes(b"SECRET=1\n")
    (root / "dir" / "inner.txt").write_bytes(b"inner\n")
    return root


def start(zcserve, root, engine):
    argv = [zcserve, "--root", str(root), "--listen", "127.0.0.1:0", "--admin", "off",
            "--engine", engine, "--set", "server.autoindex=true"]
    p = launch.Process(argv)
    try:
        return p, p.wait_ready(10)["port"]
    except launch.StartError as e:
        pytest.fail(f"zcserve did not start: {e}\n" + "\n".join(p.stderr_lines[-20:]))


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (scripts/setup installs it)")
def test_a_browser_sees_the_site_as_served(request, site, tmp_path):
    zcserve = request.config.getoption("--zcserve")
    engine = request.config.getoption("--engine")
    server, port = start(zcserve, site, engine)
    try:
        dom = subprocess.run(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", f"--user-data-dir={tmp_path / 'profile'}",
             "--virtual-time-budget=15000", "--dump-dom", f"http://127.0.0.1:{port}/"],
            capture_output=True, text=True, timeout=120).stdout
    finally:
        server.proc.send_signal(signal.SIGTERM)
        rc = server.proc.wait(15)
        server.join()
    assert rc == 0, "\n".join(server.stderr_lines[-20:])
    m = re.search(r'<div id="out">(.*?)</div>', dom, re.S)
    assert m, f"no output element in the page:\n{dom[:2000]}"
    text = m.group(1).replace("&quot;", '"').replace("&amp;", "&")
    assert text not in ("pending", "identity app.js ran"), \
        f"the module script did not run as its Brotli sibling: {text!r}"
    seen = json.loads(text)
    assert seen["sibling"] == "br" and seen["module"] == "hello from mod.js"
    assert seen["css"] == "rgb(1, 2, 3)"
    assert seen["multi_status"] == 206 and seen["multi_type"] == "multipart/byteranges"
    assert seen["multi_length"] == seen["multi_declared"] > 20
    assert seen["one_status"] == 206 and seen["one"] == [5, 6, 7, 8, 9]
    assert seen["vtt"].split(";")[0] == "text/vtt"
    assert seen["dotfile"] == 404
    assert seen["listing_status"] == 200 and seen["listing_links_inner"]
