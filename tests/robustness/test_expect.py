"""Expect: 100-continue, as curl sends it with a request body.

zcserve once answered at once, without "100 Continue" and without closing,
then read the body curl sent next as the following request: the second
request on the connection got 400. RFC 9110 section 10.1.1: send 100
Continue when the body will be read, or announce the close."""

import subprocess


def test_expect_100_continue_with_curl(server, tree, tmp_path):
    url = server.url("/hello.txt")
    outs = [tmp_path / "one", tmp_path / "two"]
    cmd = ["curl", "-s", "--http1.1", "--max-time", "20", "-X", "GET", "--data-binary", "abc",
           "-H", "Expect: 100-continue", "-w", "%{http_code}\\n",
           url, "-o", str(outs[0]), url, "-o", str(outs[1])]
    p = subprocess.run(cmd, capture_output=True, timeout=30)
    codes = p.stdout.decode().split()
    assert p.returncode == 0, f"{' '.join(cmd)}: rc {p.returncode} {p.stderr!r}"
    assert codes == ["200", "200"], f"statuses {codes} (want 200 twice): {' '.join(cmd)}"
    for out in outs:
        assert out.read_bytes() == tree.bytes_of("/hello.txt")
    server.check_alive()
