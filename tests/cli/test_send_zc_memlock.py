"""send_zc under a small RLIMIT_MEMLOCK and without CAP_IPC_LOCK, as in a
container: the kernel accounts a zero-copy send's pinned pages against the
limit, and past it the send fails. zcserve must say so, at start and when
it happens, instead of leaving the client with a closed connection and the
log silent."""

import http.client
import os
import re
import shutil
import signal
import subprocess

import pytest

# Room for the ring (a small one) but not for one send of the 1 MiB file.
MEMLOCK = 256 * 1024
SMALL_RING = ["--set", "io.uring.entries=8", "--set", "io.uring.buffers=16",
              "--set", "io.chunk_bytes=4194304"]


@pytest.fixture
def capless_send_zc(zcserve, tmp_path):
    if os.geteuid() != 0 or not shutil.which("setpriv") or not shutil.which("prlimit"):
        pytest.skip("needs root, setpriv and prlimit to drop CAP_IPC_LOCK")
    listing = subprocess.run([zcserve, "--list-backends"], capture_output=True, text=True,
                             timeout=30).stdout
    if not re.search(r"^\+ engine=io_uring sender=send_zc\b", listing, re.M):
        pytest.skip("io_uring/send_zc is not usable here")
    (tmp_path / "big.bin").write_bytes(os.urandom(1 << 20))
    proc = subprocess.Popen(
        ["prlimit", f"--memlock={MEMLOCK}:{MEMLOCK}", "setpriv", "--inh-caps=-all",
         "--bounding-set=-all", zcserve, "--root", str(tmp_path), "--listen", "127.0.0.1:0",
         "--admin", "off", "--engine", "io_uring", "--sender", "send_zc", *SMALL_RING],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = []
    port = None
    for line in proc.stderr:
        lines.append(line)
        if m := re.search(r"listen=127\.0\.0\.1:(\d+)", line):
            port = int(m.group(1))
            break
    if port is None:
        proc.kill()
        pytest.fail("zcserve did not start:\n" + "".join(lines))
    yield proc, port, lines
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_send_zc_warns_at_start_and_logs_failed_sends(capless_send_zc):
    proc, port, lines = capless_send_zc
    assert any("RLIMIT_MEMLOCK" in l and "CAP_IPC_LOCK" in l for l in lines), "".join(lines)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/big.bin")
        # The head travels with the body's first send, so the connection
        # closes before the status line or mid-body.
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            conn.getresponse().read()
    finally:
        conn.close()
    proc.send_signal(signal.SIGTERM)
    rest = proc.communicate(timeout=30)[1]
    failed = [l for l in rest.splitlines() if "send_zc:" in l]
    assert failed, rest
    assert "RLIMIT_MEMLOCK" in failed[0] and "so far" in failed[0], failed[0]
