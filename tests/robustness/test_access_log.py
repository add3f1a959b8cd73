"""The access log: Combined Log Format that real tools read, lines on disk
within a second and at exit, SIGHUP reopening the file for logrotate
without stopping the server or losing a line, and many lines per write.

Once per engine: each engine logs from its own threads (the blocking
engine from a thread per connection), and the sender plays no part."""

import calendar
import json
import math
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest

import conformance_conftest
import httpraw

HELLO = b"hello, world\n"

# %h %l %u [%t] "%r" %>s %b "%{Referer}i" "%{User-Agent}i", as Apache and
# nginx write it; the date in CLF's own form, day/Mon/year:time zone.
COMBINED = re.compile(
    r'^127\.0\.0\.1 - - \[(\d\d)/([A-Z][a-z]{2})/(\d{4}):(\d\d):(\d\d):(\d\d) \+0000\] '
    r'"(?P<request>[^"\\]*(?:\\.[^"\\]*)*)" (?P<status>\d{3}) (?P<bytes>\d+) '
    r'"(?P<referer>[^"\\]*(?:\\.[^"\\]*)*)" "(?P<agent>[^"\\]*(?:\\.[^"\\]*)*)"$')


def read_lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("latin-1").splitlines()
    except FileNotFoundError:
        return []


def wait_for_lines(path, n, deadline_s=5.0):
    """Polls until the file holds n lines: a liveness check with a generous
    deadline, not a measure of speed."""
    end = time.monotonic() + deadline_s
    while True:
        lines = read_lines(path)
        if len(lines) >= n or time.monotonic() > end:
            return lines
        time.sleep(0.05)


def stop_clean(srv):
    srv.terminate()
    rc = srv.wait(15)
    assert rc == 0, f"zcserve ended with {srv._rc_text(rc)} on SIGTERM (want exit code 0)"


def test_combined_format_exactly(start_server, tmp_path):
    log = tmp_path / "access.log"
    srv = start_server(settings={"log.access_log": str(log)})
    with httpraw.Client(srv.port) as c:
        r = c.request("GET", "/hello.txt?a=1",
                      headers={"Referer": "http://example.com/page", "User-Agent": "curl/8.0"})
        assert r.status == 200 and r.body == HELLO
        assert c.request("HEAD", "/hello.txt").status == 200
        assert c.request("GET", "/no-such-file").status == 404
        # A quote, a backslash, a tab and bytes above ASCII: escaped, so a
        # client cannot end the field early or write a line of its own.
        c.send(b'GET /hello.txt HTTP/1.0\r\nUser-Agent: x" 200 1 "-" "forged\\\t\xff\r\n\r\n')
        assert c.read_response().status == 200
    with httpraw.Client(srv.port) as c:
        c.send(b"NOT A REQUEST\r\n\r\n")
        assert c.read_response().status == 400
    stop_clean(srv)

    lines = read_lines(log)
    assert len(lines) == 5, lines
    parsed = [COMBINED.match(line) for line in lines]
    assert all(parsed), [line for line, m in zip(lines, parsed) if not m]
    got = [(m["request"], m["status"], m["bytes"], m["referer"], m["agent"]) for m in parsed]
    assert got == [
        ("GET /hello.txt?a=1 HTTP/1.1", "200", str(len(HELLO)), "http://example.com/page",
         "curl/8.0"),
        ("HEAD /hello.txt HTTP/1.1", "200", "0", "-", "-"),  # no body sent
        ("GET /no-such-file HTTP/1.1", "404", parsed[2]["bytes"], "-", "-"),
        ("GET /hello.txt HTTP/1.0", "200", str(len(HELLO)), "-",
         r'x\x22 200 1 \x22-\x22 \x22forged\x5C\x09\xFF'),
        ("-", "400", parsed[4]["bytes"], "-", "-"),
    ], lines
    assert int(parsed[2]["bytes"]) > 0  # the error page's body
    # The date is the request's, in UTC: not a local time, not another format.
    logged = calendar.timegm(time.strptime("{}/{}/{}:{}:{}:{}".format(*parsed[0].groups()[:6]),
                                           "%d/%b/%Y:%H:%M:%S"))
    assert abs(logged - time.time()) < 120, lines[0]


def test_common_format_has_no_referer_or_agent(start_server, tmp_path):
    log = tmp_path / "access.log"
    srv = start_server(settings={"log.access_log": str(log), "log.access_format": "common"})
    assert httpraw.fetch(srv.port, "GET", "/hello.txt", headers={"User-Agent": "ua"}).status == 200
    stop_clean(srv)
    lines = read_lines(log)
    assert len(lines) == 1, lines
    assert re.fullmatch(r'127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] '
                        r'"GET /hello\.txt HTTP/1\.1" 200 13', lines[0]), lines


@pytest.mark.skipif(shutil.which("goaccess") is None,
                    reason="goaccess is not installed (scripts/setup installs it)")
def test_goaccess_reads_every_line(start_server, tmp_path):
    log = tmp_path / "access.log"
    srv = start_server(workers=2, settings={"log.access_log": str(log)})
    clients, each = 6, 50

    def client(k):
        with httpraw.Client(srv.port) as c:
            for i in range(each):
                path = "/hello.txt" if i % 5 else f"/missing-{k}-{i}"
                c.request("GET", path, headers={"Referer": f"http://ref.example/{k}",
                                                "User-Agent": f"agent \"{k}\""})

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with httpraw.Client(srv.port) as c:  # and a request that does not parse: "-"
        c.send(b"NOT A REQUEST\r\n\r\n")
        assert c.read_response().status == 400
    total = clients * each + 1
    stop_clean(srv)
    assert len(read_lines(log)) == total
    p = subprocess.run(["goaccess", str(log), "--log-format=COMBINED", "--no-global-config",
                        "-o", "json"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    general = json.loads(p.stdout)["general"]
    assert general["total_requests"] == total, general
    assert general["valid_requests"] == total, general
    assert general["failed_requests"] == 0, general


def test_lines_reach_the_file_without_more_traffic_and_at_exit(start_server, tmp_path):
    log = tmp_path / "access.log"
    srv = start_server(settings={"log.access_log": str(log)})  # flush_interval 1 s
    assert httpraw.fetch(srv.port, "GET", "/hello.txt").status == 200
    lines = wait_for_lines(log, 1)
    assert len(lines) == 1, "the line did not reach the file while the server sat idle"
    srv.check_alive()
    # Lines still in a worker's buffer when SIGTERM comes are written.
    with httpraw.Client(srv.port) as c:
        for _ in range(20):
            assert c.request("GET", "/hello.txt").status == 200
    stop_clean(srv)
    assert len(read_lines(log)) == 21


def test_sighup_reopens_under_load_without_losing_a_line(start_server, tmp_path):
    log = tmp_path / "access.log"
    rotated = tmp_path / "access.log.1"
    srv = start_server(workers=2, settings={"log.access_log": str(log),
                                            "log.flush_interval": "100ms"})
    done = threading.Event()
    served = [0, 0]
    errors = []

    def load(k):
        try:
            with httpraw.Client(srv.port) as c:
                while not done.is_set():
                    assert c.request("GET", f"/hello.txt?load={k}").status == 200
                    served[k] += 1
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=load, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    with httpraw.Client(srv.port) as c:
        assert c.request("GET", "/hello.txt?mark=before").status == 200
        while sum(served) < 50 and not errors:
            time.sleep(0.01)
        os.rename(log, rotated)  # as logrotate does, then it signals
        srv.proc.send_signal(1)  # SIGHUP
        # The writer creates the new file as it reopens.
        end = time.monotonic() + 5
        while not log.exists() and time.monotonic() < end:
            time.sleep(0.01)
        assert log.exists(), "no new log file after SIGHUP"
        srv.check_alive()
        assert c.request("GET", "/hello.txt?mark=after").status == 200
        mark = sum(served)
        while sum(served) < mark + 50 and not errors:
            time.sleep(0.01)
    done.set()
    for t in threads:
        t.join()
    assert not errors, errors
    stop_clean(srv)

    old, new = read_lines(rotated), read_lines(log)
    assert len(old) + len(new) == sum(served) + 2, (len(old), len(new), served)
    assert any("mark=before" in line for line in old)
    assert any("mark=after" in line for line in new)
    assert not any("mark=after" in line for line in old)
    assert any("load=" in line for line in new), "no load lines after the rotation"


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_one_write_carries_many_lines(opts, tree, tmp_path):
    log = tmp_path / "access.log"
    trace = tmp_path / "trace"
    srv = conformance_conftest.Server(opts["binary"], tree.root, opts["engine"], opts["sender"],
                                      settings={"log.access_log": str(log)})
    # LeakSanitizer cannot run under ptrace and would fail the exit of a
    # sanitized build: leaks are the other tests' business.
    asan = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "detect_leaks=0"]))
    srv.argv = ["strace", "-f", "-qq", "-e", "trace=openat,close,write,writev,pwrite64,pwritev",
                "-E", f"ASAN_OPTIONS={asan}", "-o", str(trace)] + srv.argv
    srv.start()
    try:
        def client():
            with httpraw.Client(srv.port) as c:
                for _ in range(1000 // 16):
                    assert c.request("GET", "/hello.txt").status == 200

        threads = [threading.Thread(target=client) for _ in range(16)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - t0
    finally:
        # SIGTERM to strace would detach it and leave zcserve running: stop
        # zcserve, and strace ends with it, passing on its exit status.
        with open(f"/proc/{srv.proc.pid}/task/{srv.proc.pid}/children") as f:
            for pid in f.read().split():
                os.kill(int(pid), signal.SIGTERM)
        rc = srv.wait(30)
        if rc is None:
            srv.proc.kill()
            srv.wait(5)
    assert rc == 0, f"zcserve under strace ended with {srv._rc_text(rc)}"
    lines = read_lines(log)
    assert len(lines) == 1000 // 16 * 16
    # Every write to the log's descriptor while it is the log: from the
    # openat of its path to its close. (Its number may have meant something
    # else before: an ASan build writes to a pipe that had it.)
    opened = re.compile(r'^\d+ +openat\([^"]*"' + re.escape(str(log)) + r'",.*\) = (\d+)$')
    closed = re.compile(r"^\d+ +close\((\d+)\)")
    wrote = re.compile(r"^\d+ +(?:write|writev|pwrite64|pwritev)\((\d+), ")
    log_fd, calls = None, []
    for ln in trace.read_text(errors="replace").splitlines():
        if m := opened.match(ln):
            log_fd = m[1]
        elif (m := closed.match(ln)) and m[1] == log_fd:
            log_fd = None
        elif (m := wrote.match(ln)) and m[1] == log_fd:
            calls.append(ln)
    assert calls, "strace saw no write of the access log"
    # At most a write per flush interval (1 s by default) while lines come,
    # one per full 64 KiB buffer, and the last at exit: a count that does
    # not grow with the lines, however slow the server runs (ASan, strace).
    # The old logger wrote once per ~50 lines: some 20 writes in 2 s.
    log_bytes = sum(len(line) + 1 for line in lines)
    allowed = math.ceil(elapsed) + log_bytes // 65536 + 2
    assert len(calls) <= allowed, \
        (f"{len(lines)} lines in {len(calls)} writes over {elapsed:.1f} s: want at most "
         f"{allowed} (one a second, one per 64 KiB, one at exit)")


def metrics(srv):
    """The access log's counters from /metrics on the admin listener."""
    admin = next(int(m[1]) for line in srv.stderr_lines
                 if (m := re.search(r" admin=\S+:(\d+) ", line)))
    body = httpraw.fetch(admin, "GET", "/metrics").body.decode()
    return {m[1]: int(m[2]) for m in re.finditer(r"^zcserve_access_log_(\w+)_total\{[^}]*\} (\d+)$",
                                                 body, re.M)}


def test_a_full_disk_is_reported_once_and_never_stops_the_server(start_server):
    # /dev/full: every write fails with ENOSPC.
    srv = start_server(settings={"log.access_log": "/dev/full", "log.flush_interval": "20ms"})
    served = 0
    for _ in range(5):  # lines in several flushes, so several failed writes
        with httpraw.Client(srv.port) as c:
            for _ in range(10):
                assert c.request("GET", "/hello.txt").status == 200
                served += 1
        end = time.monotonic() + 5
        while metrics(srv).get("dropped_lines", 0) < served and time.monotonic() < end:
            time.sleep(0.02)
    m = metrics(srv)
    assert m["lines"] == served and m["dropped_lines"] == served, m
    srv.check_alive()
    reports = [line for line in srv.stderr_lines if "No space left on device" in line]
    assert len(reports) == 1, reports
    stop_clean(srv)


def test_pid_file_names_the_server_for_logrotate(opts, tmp_path):
    """server.pid_file: written once the server listens, what logrotate's
    `kill -HUP $(cat FILE)` reads (docs/logging.md); the reopen it asks for
    works through it; removed at exit."""
    import http.client
    root = tmp_path / "root"
    root.mkdir()
    (root / "f.txt").write_bytes(b"x\n")
    log, pid_path = tmp_path / "access.log", tmp_path / "run" / "zcserve.pid"
    pid_path.parent.mkdir()
    proc = subprocess.Popen([opts["binary"], "--root", str(root), "--listen", "127.0.0.1:0",
                             "--engine", opts["engine"], "--sender", opts["sender"],
                             "--admin", "off", "--set", f"log.access_log={log}",
                             "--set", f"server.pid_file={pid_path}"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        port = None
        for line in proc.stderr:
            if line.startswith("zcserve-ready "):
                port = json.loads(line[len("zcserve-ready "):])["port"]
                break
        assert port is not None, f"zcserve did not start (exit {proc.poll()})"
        assert pid_path.read_text() == f"{proc.pid}\n"

        def get():
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/f.txt")
            assert c.getresponse().status == 200
            c.close()

        get()
        log.rename(tmp_path / "access.log.1")
        os.kill(int(pid_path.read_text()), signal.SIGHUP)  # what logrotate does
        deadline = time.monotonic() + 10
        while not log.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        get()
        assert proc.poll() is None, "SIGHUP stopped the server"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert not pid_path.exists()
    assert "/f.txt" in (tmp_path / "access.log.1").read_text()
    assert "/f.txt" in log.read_text()


def test_a_pid_file_that_cannot_be_written_stops_start_up(opts, tmp_path):
    p = subprocess.run([opts["binary"], "--root", str(tmp_path), "--listen", "127.0.0.1:0",
                        "--admin", "off", "--set", f"server.pid_file={tmp_path}/no/such/dir/pid"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert "server.pid_file" in p.stderr and "No such file or directory" in p.stderr
