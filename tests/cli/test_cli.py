"""The command-line contract of zcserve: help, version, backends, and how a
bad flag, key, value or file is refused (status 2, one line on stderr that
names the key and the value)."""

import json
import os
import re
import shutil
import subprocess

import pytest

SAFE = ["--listen", "127.0.0.1:0", "--admin", "off"]  # should a case not fail as expected, bind nothing fixed
BACKEND_LINE = re.compile(r"^[+-] engine=\S+ sender=\S+")
COUNTER_LINE = re.compile(r"^([+-]) kernel syscall counter \((.*)\)$")


def error_line(proc, *needles):
    """The first stderr line holding every needle, or None."""
    for line in proc.stderr.splitlines():
        if all(n in line for n in needles):
            return line
    return None


def assert_refused(proc, *needles):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert error_line(proc, *needles) is not None, (
        f"no stderr line contains all of {needles!r}:\n{proc.stderr}"
    )
    assert proc.stdout == "", f"errors belong on stderr, stdout had:\n{proc.stdout}"


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help(run, flag):
    p = run(flag)
    assert p.returncode == 0, p.stderr
    for option in ["--config", "--set", "--root", "--listen", "--engine", "--sender",
                   "--workers", "--list-backends", "--version"]:
        assert option in p.stdout, f"--help does not mention {option}"
    # Every config key is listed with its default.
    for key in ["listen =", "workers =", "cpu_affinity =", "idle_timeout =", "engine =",
                "sender =", "chunk_bytes =", "level =", "access_log =", "access_format =",
                "flush_interval ="]:
        assert key in p.stdout, f"--help does not list {key}"


def test_help_wins_over_a_mistake(run):
    p = run("--frobnicate", "--help")
    assert p.returncode == 0, p.stderr
    assert "--list-backends" in p.stdout


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(run, flag):
    p = run(flag)
    assert p.returncode == 0, p.stderr
    assert re.search(r"\d+\.\d+", p.stdout), p.stdout


@pytest.mark.parametrize("args", [["--workers", "0"], ["--workers=0"],
                                  ["--set", "server.workers=0"]])
def test_bad_value(run, args):
    p = run(*SAFE, *args)
    assert_refused(p, "server.workers", "0", "1 to 256")


@pytest.mark.parametrize("value", ["zz", "02:00:00:00:00", "02:00:00:00:00:0g", "0200.0000.0001"])
def test_bad_mac_address(run, value):
    p = run(*SAFE, "--set", f"io.dpdk.mac={value}")
    assert_refused(p, "io.dpdk.mac", value, "aa:bb:cc:dd:ee:ff")


def test_bad_value_names_the_value_given(run):
    p = run(*SAFE, "--set", "server.idle_timeout=10h")
    assert_refused(p, "server.idle_timeout", '"10h"')


@pytest.mark.parametrize("value", ["0", "257", '"16"'])
def test_bad_max_ranges(run, value):
    p = run(*SAFE, "--set", f"server.max_ranges={value}")
    assert_refused(p, "server.max_ranges", value, "1 to 256")


def test_bad_listen(run):
    p = run("--listen", "localhost")
    assert_refused(p, "server.listen", '"localhost"', "HOST:PORT")


def test_unknown_key(run):
    p = run(*SAFE, "--set", "server.nope=1")
    assert_refused(p, "server.nope", "1", "unknown key")
    assert "workers" in error_line(p, "server.nope"), "the allowed keys are listed"


def test_unknown_section(run):
    p = run(*SAFE, "--set", "colour.x=1")
    assert_refused(p, "colour", "unknown section")


def test_malformed_override(run):
    p = run(*SAFE, "--set", "server.workers")
    assert_refused(p, "server.workers", "section.key=value")


def test_bad_toml_syntax(run, tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[server]\nworkers = \n")
    p = run(*SAFE, "--config", str(cfg))
    assert_refused(p, f"{cfg}:2:")


def test_bad_value_in_file(run, tmp_path):
    cfg = tmp_path / "zero.toml"
    cfg.write_text("[server]\nroot = \".\"\nworkers = 0\n")
    p = run(*SAFE, "-c", str(cfg))
    assert_refused(p, f"{cfg}:3:", "server.workers", "0")


def test_unknown_key_in_file(run, tmp_path):
    cfg = tmp_path / "typo.toml"
    cfg.write_text("[io]\nengin = \"epoll\"\n")
    p = run(*SAFE, "--config", str(cfg))
    assert_refused(p, "io.engin", '"epoll"', "did you mean io.engine")


def test_unreadable_file(run, tmp_path):
    missing = tmp_path / "missing.toml"
    p = run(*SAFE, "--config", str(missing))
    assert_refused(p, str(missing), "No such file or directory")


@pytest.mark.parametrize("args,needle", [
    (["--frobnicate"], "--frobnicate"),
    (["--frobnicate=1"], "--frobnicate"),
    (["-x"], "-x"),
    (["stray"], "stray"),
])
def test_unknown_flag(run, args, needle):
    p = run(*SAFE, *args)
    assert_refused(p, needle)


@pytest.mark.parametrize("flag", ["--config", "--set", "--root", "--listen", "--engine",
                                  "--sender", "--workers"])
def test_missing_argument(run, flag):
    p = run(*SAFE, flag)
    assert_refused(p, flag)


def test_unknown_engine(run):
    p = run(*SAFE, "--engine", "nosuch")
    assert p.returncode == 2, (p.returncode, p.stderr)
    line = error_line(p, "nosuch")
    assert line is not None, p.stderr
    assert "allowed" in line or "epoll" in line, f"valid engines are not listed: {line}"


def test_unknown_sender(run):
    p = run(*SAFE, "--engine", "epoll", "--sender", "nosuch")
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert error_line(p, "nosuch") is not None, p.stderr


def test_list_backends(run):
    p = run("--list-backends")
    assert p.returncode == 0, p.stderr
    lines = [l for l in p.stdout.splitlines()
             if l.startswith(("+", "-")) and not COUNTER_LINE.match(l)]
    assert lines, f"no backend lines:\n{p.stdout}"
    for line in lines:
        assert BACKEND_LINE.match(line), f"malformed backend line: {line!r}"
    assert any(re.match(r"^\+ engine=epoll sender=sendfile(\s|$)", l) for l in lines), p.stdout


def test_list_backends_says_whether_the_kernel_counter_is_usable(run):
    p = run("--list-backends")
    assert p.returncode == 0, p.stderr
    found = [m for l in p.stdout.splitlines() if (m := COUNTER_LINE.match(l))]
    assert len(found) == 1, p.stdout
    if found[0].group(1) == "-":
        assert found[0].group(2).strip(), "a refused counter must say why"


def test_kernel_counter_refusal_names_the_missing_capability(zcserve):
    """Without CAP_PERFMON (every capability dropped, as a container does)
    the counter is refused and the line says which capability to grant."""
    with open("/proc/sys/kernel/perf_event_paranoid") as f:
        if int(f.read()) <= -1:
            pytest.skip("kernel.perf_event_paranoid is -1: no capability is needed")
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to drop capabilities")
    p = subprocess.run(["setpriv", "--inh-caps=-all", "--bounding-set=-all", zcserve,
                        "--list-backends"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    m = [m for l in p.stdout.splitlines() if (m := COUNTER_LINE.match(l))]
    assert m and m[0].group(1) == "-", p.stdout
    assert "CAP_PERFMON" in m[0].group(2), m[0].group(2)


# A seccomp filter of the test's own, installed in the child before it runs
# zcserve (classic BPF; x86_64's perf_event_open is call 298): "allow" lets
# every call through, as docker/seccomp/zcserve-counter.json lets
# perf_event_open through; "eperm" answers perf_event_open with EPERM, as
# podman's default profile does without CAP_SYS_ADMIN.
def _seccomp_preexec(kind):
    import ctypes

    class SockFilter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                    ("k", ctypes.c_uint)]

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]

    ld_nr, jeq, ret = 0x20, 0x15, 0x06  # BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, BPF_RET
    allow, eperm = 0x7FFF0000, 0x00050000 | 1  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO|EPERM
    code = [(ret, 0, 0, allow)] if kind == "allow" else [
        (ld_nr, 0, 0, 0), (jeq, 0, 1, 298), (ret, 0, 0, eperm), (ret, 0, 0, allow)]
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec():
        insns = (SockFilter * len(code))(*[SockFilter(*c) for c in code])
        prog = SockFprog(len(code), insns)
        # PR_SET_NO_NEW_PRIVS, then PR_SET_SECCOMP with SECCOMP_MODE_FILTER
        if libc.prctl(38, 1, 0, 0, 0) != 0 or \
                libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:
            os._exit(120)
    return preexec


@pytest.mark.parametrize("kind, drop_caps, names_seccomp, names_perfmon", [
    # The filter allows the call, the kernel refuses it (EACCES): the
    # capability is what to change, and the filter must not be named.
    ("allow", True, False, True),
    # The filter refuses it (EPERM) and the capability is missing: both.
    ("eperm", True, True, True),
    # The filter refuses it and the capability is there: the filter alone.
    ("eperm", False, True, False),
])
def test_kernel_counter_refusal_names_seccomp_only_when_the_filter_refused(
        zcserve, kind, drop_caps, names_seccomp, names_perfmon):
    import platform
    with open("/proc/sys/kernel/perf_event_paranoid") as f:
        if int(f.read()) <= -1:
            pytest.skip("kernel.perf_event_paranoid is -1: no capability is needed")
    if platform.machine() != "x86_64":
        pytest.skip("the test's seccomp filter names x86_64's perf_event_open")
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to drop capabilities")
    drop = ["setpriv", "--inh-caps=-all", "--bounding-set=-all"] if drop_caps else []
    p = subprocess.run([*drop, zcserve, "--list-backends"], capture_output=True, text=True,
                       timeout=30, preexec_fn=_seccomp_preexec(kind))
    assert p.returncode == 0, (p.returncode, p.stderr)
    m = [m for l in p.stdout.splitlines() if (m := COUNTER_LINE.match(l))]
    assert m and m[0].group(1) == "-", p.stdout
    why = m[0].group(2)
    want_errno = "Operation not permitted" if kind == "eperm" else "Permission denied"
    assert want_errno in why, why
    assert ("seccomp" in why) == names_seccomp, why
    assert ("lacks CAP_PERFMON" in why) == names_perfmon, why


def test_list_backends_still_checks_flags(run):
    p = run("--list-backends", "--workers", "0")
    assert_refused(p, "server.workers", "0")


def test_each_usable_engine_marks_one_default_sender(run):
    p = run("--list-backends")
    usable = {}
    defaults = {}
    for line in p.stdout.splitlines():
        m = re.match(r"^\+ engine=(\S+) sender=(\S+)( \(default\))?$", line)
        if m:
            usable.setdefault(m.group(1), []).append(m.group(2))
            if m.group(3):
                defaults.setdefault(m.group(1), []).append(m.group(2))
    assert usable, p.stdout
    for engine in usable:
        assert len(defaults.get(engine, [])) == 1, f"{engine}: defaults {defaults.get(engine)}"
    assert defaults.get("epoll") == ["sendfile"]


@pytest.mark.parametrize("engine", ["epoll", "io_uring", "blocking", "asio"])
def test_an_engine_alone_starts_with_its_default_sender(zcserve, tmp_path, engine):
    # io_uring has no sendfile operation: --engine io_uring alone once
    # stopped at start-up because the default sender was sendfile.
    import signal
    import subprocess
    listed = subprocess.run([zcserve, "--list-backends"], capture_output=True, text=True,
                            timeout=30).stdout
    m = re.search(rf"^\+ engine={engine} sender=(\S+) \(default\)$", listed, re.M)
    if m is None:
        pytest.skip(f"engine {engine} is not usable here:\n{listed}")
    proc = subprocess.Popen([zcserve, "--root", str(tmp_path), *SAFE, "--engine", engine],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        ready = None
        for line in proc.stderr:
            if line.startswith("zcserve-ready "):
                ready = json.loads(line[len("zcserve-ready "):])
                break
        assert ready is not None, f"zcserve --engine {engine} did not start (exit {proc.poll()})"
        assert (ready["engine"], ready["sender"]) == (engine, m.group(1)), ready
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
    assert proc.returncode == 0


@pytest.mark.parametrize("kv,key,value,allowed", [
    ("log.access_format=json", "log.access_format", "json", "combined or common"),
    ("log.flush_interval=2s", "log.flush_interval", "2s", "from 1ms to 1000ms"),
    ("log.flush_interval=0", "log.flush_interval", "0", "from 1ms to 1000ms"),
])
def test_bad_access_log_setting(run, kv, key, value, allowed):
    p = run(*SAFE, "--set", kv)
    assert_refused(p, key, value, allowed)


def test_access_log_that_cannot_be_opened(run, tmp_path):
    path = tmp_path / "no-such-dir" / "access.log"
    p = run(*SAFE, "--root", str(tmp_path), "--set", f"log.access_log={path}")
    assert_refused(p, "log.access_log", str(path), "No such file or directory")


@pytest.mark.parametrize("kv,key,value,allowed", [
    ("server.dotfiles=hide", "server.dotfiles", '"hide"', '"deny" or "allow"'),
    ("mime.default_type=binary", "mime.default_type", '"binary"', "a media type"),
    ("mime.types.m3u8=mpegurl", "mime.types.m3u8", '"mpegurl"', "a media type"),
    ("mime.types..m3u8=audio/mpegurl", 'mime.types.".m3u8"', '"audio/mpegurl"',
     "the key must be an extension without its dot"),
    ("cache_control.paths.assets=no-cache", "cache_control.paths.assets", '"no-cache"',
     "the key must be a path starting with '/'"),
    ("cache_control.extensions.html=\"no-cache\\r\\nX: y\"", "cache_control.extensions.html",
     '"no-cache\\r\\nX: y"', "a Cache-Control value"),
])
def test_bad_file_policy_setting(run, kv, key, value, allowed):
    p = run(*SAFE, "--set", kv)
    assert_refused(p, key, value, allowed)


def test_types_file_that_cannot_be_read(run, tmp_path):
    missing = tmp_path / "no-such.types"
    p = run(*SAFE, "--root", str(tmp_path), "--set", f"mime.types_file={missing}")
    assert_refused(p, "mime.types_file", str(missing), "No such file or directory",
                   "must be a readable mime.types file")


def test_the_shipped_config_names_every_key_and_starts(zcserve, run, tmp_path):
    """config/zcserve.toml documents every key --help lists, under its
    section, and zcserve starts with it as it is."""
    shipped = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "config",
                           "zcserve.toml")
    with open(shipped) as f:
        text = f.read()
    documented, section = set(), None
    for line in text.splitlines():
        if m := re.match(r"^\[([a-z_.]+)\]$", line):
            section = m.group(1)
        elif section and (m := re.match(r"^#? ?([a-z_0-9]+) =", line)):
            documented.add(f"{section}.{m.group(1)}")
    listed, section = set(), None
    for line in run("--help").stdout.splitlines():
        if m := re.match(r"^  \[([a-z_.]+)\]$", line):
            section = m.group(1)
        elif section and (m := re.match(r"^  ([a-z_0-9]+) =", line)):
            listed.add(f"{section}.{m.group(1)}")
    assert listed, "no keys found in --help"
    assert listed - documented == set(), "keys missing from config/zcserve.toml"
    proc = subprocess.Popen([zcserve, "--config", shipped, "--root", str(tmp_path), *SAFE],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        ready = None
        for line in proc.stderr:
            if line.startswith("zcserve-ready "):
                ready = line
                break
        assert ready is not None, f"zcserve did not start with {shipped} (exit {proc.poll()})"
    finally:
        proc.send_signal(15)
        proc.communicate(timeout=15)
    assert proc.returncode == 0
