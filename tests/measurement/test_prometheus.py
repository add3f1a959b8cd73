"""/metrics is valid Prometheus text format and carries the families a
dashboard needs. Checked by the strict parser in promparse.py (and by
`promtool check metrics` when promtool is on PATH); the parser is itself
checked against snippets it must reject.

Independent of --sender: runs once (see conftest.py).
"""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

import promparse
import rawload
from server import Server, StartError

pytestmark = pytest.mark.once

KiB = 1024
REQUIRED = ("zcserve_requests_total", "zcserve_syscalls_total", "zcserve_context_switches_total",
            "zcserve_cpu_seconds_total", "zcserve_copied_bytes_total", "zcserve_sent_bytes_total")
LABEL_SETS = {  # family -> labels every one of its samples must carry, beyond engine and sender
    "zcserve_requests_total": {"worker"},
    "zcserve_syscalls_total": {"worker", "syscall"},
    "zcserve_kernel_syscalls_total": {"worker"},
    "zcserve_context_switches_total": {"worker", "kind"},
    "zcserve_cpu_seconds_total": {"worker", "mode"},
    "zcserve_copied_bytes_total": {"worker"},
    "zcserve_sent_bytes_total": {"worker"},
}
LABEL_VALUES = {
    ("zcserve_context_switches_total", "kind"): {"voluntary", "involuntary"},
    ("zcserve_cpu_seconds_total", "mode"): {"user", "system"},
}


@pytest.fixture(scope="module")
def metrics_text(opts, docroot):
    srv = Server(opts["binary"], docroot.root, opts["engine"], opts["sender"])
    try:
        srv.start()
    except StartError as e:
        pytest.fail(str(e), pytrace=False)
    try:
        for size in (1 * KiB, 256 * KiB):
            rawload.run(srv.port, docroot.target(size), size, 50, content=docroot.content[size])
        # A reply is counted when the send that finished it has returned:
        # the client can hold the last byte a moment before the count moves.
        time.sleep(0.3)
        text = srv.metrics()
    finally:
        err = srv.stop()
    if err:
        pytest.fail(f"{err}\n{srv.log_tail()}", pytrace=False)
    return text


def test_prometheus_output_is_valid(metrics_text, opts):
    try:
        families = promparse.parse(metrics_text)
    except promparse.PromError as e:
        pytest.fail(f"/metrics is not valid exposition text: {e}\n---\n{metrics_text}", pytrace=False)

    for name, fam in families.items():
        assert name.startswith("zcserve_"), f"family {name} lacks the zcserve_ prefix"
        assert fam.type is not None, f"family {name} has no TYPE"
        assert fam.help, f"family {name} has no HELP text"
        for s in fam.samples:
            assert s.labels.get("engine") == opts["engine"], f"line {s.line}: engine label {s.labels}"
            assert s.labels.get("sender") == opts["sender"], f"line {s.line}: sender label {s.labels}"

    for name in REQUIRED:
        assert name in families and families[name].samples, f"/metrics lacks samples of {name}"
    for name, labels in LABEL_SETS.items():
        for s in families.get(name, promparse.Family(name)).samples:
            missing = labels - set(s.labels)
            assert not missing, f"line {s.line}: {name} sample lacks labels {sorted(missing)}"
    for (name, label), allowed in LABEL_VALUES.items():
        seen = {s.labels[label] for s in families[name].samples}
        assert seen == allowed, f"{name} {label} values {sorted(seen)}, want {sorted(allowed)}"

    avail = families.get("zcserve_kernel_count_available")
    assert avail is not None and avail.type == "gauge" and len(avail.samples) == 1, \
        "want one zcserve_kernel_count_available gauge sample"
    assert avail.samples[0].value in (0, 1)
    if avail.samples[0].value == 1:
        kernel = families.get("zcserve_kernel_syscalls_total")
        assert kernel is not None and kernel.samples, \
            "the kernel count is available, but zcserve_kernel_syscalls_total has no samples"

    # The load above: 100 requests, all 2xx, on worker 0.
    requests = {s.labels["worker"]: s.value for s in families["zcserve_requests_total"].samples}
    assert requests.get("0") == 100, f"zcserve_requests_total by worker: {requests}"


def test_promtool_accepts_metrics(metrics_text):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not on PATH (it comes with Debian's prometheus package); "
                    "the strict parser ran instead")
    p = subprocess.run([promtool, "check", "metrics"], input=metrics_text, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, f"promtool check metrics: {p.returncode}\n{p.stdout}\n{p.stderr}"


VALID = """\
# HELP zcserve_x_total A counter, with an escaped \\\\ and \\n in its help.
# TYPE zcserve_x_total counter
zcserve_x_total{a="1",b="q\\"uote\\\\back\\nline"} 3
zcserve_x_total{a="2"} 1.5e3 1700000000000
# TYPE zcserve_h histogram
zcserve_h_bucket{le="+Inf"} 2
zcserve_h_sum 0.5
zcserve_h_count 2
# TYPE zcserve_g gauge
zcserve_g -Inf
zcserve_g{x="y"} NaN
"""


def test_parser_accepts_valid_text():
    fams = promparse.parse(VALID)
    assert list(fams) == ["zcserve_x_total", "zcserve_h", "zcserve_g"]
    x = fams["zcserve_x_total"]
    assert x.help == "A counter, with an escaped \\ and \n in its help."
    assert x.samples[0].labels == {"a": "1", "b": 'q"uote\\back\nline'}
    assert x.samples[1].value == 1500.0
    assert [s.name for s in fams["zcserve_h"].samples] == ["zcserve_h_bucket", "zcserve_h_sum",
                                                          "zcserve_h_count"]


T = "# TYPE zcserve_a_total counter\n"
BROKEN = {
    "no final newline": T + "zcserve_a_total 1",
    "empty line": T + "\nzcserve_a_total 1\n",
    "other comment": "# hello\n" + T + "zcserve_a_total 1\n",
    "bad metric name": "# TYPE 1zcserve counter\n1zcserve 1\n",
    "bad character in name": T + "zcserve-a_total 1\n",
    "bad label name": T + 'zcserve_a_total{1a="x"} 1\n',
    "reserved label name": T + 'zcserve_a_total{__name__="x"} 1\n',
    "invalid escape": T + 'zcserve_a_total{a="tab\\t"} 1\n',
    "unterminated label value": T + 'zcserve_a_total{a="x} 1\n',
    "unquoted label value": T + "zcserve_a_total{a=x} 1\n",
    "trailing comma": T + 'zcserve_a_total{a="x",} 1\n',
    "repeated label": T + 'zcserve_a_total{a="x",a="y"} 1\n',
    "sample without TYPE": "zcserve_a_total 1\n",
    "TYPE after sample": "zcserve_b 1\n# TYPE zcserve_b gauge\n",
    "HELP after sample": T + "zcserve_a_total 1\n# HELP zcserve_a_total late\n",
    "second TYPE": T + T + "zcserve_a_total 1\n",
    "second HELP": "# HELP zcserve_a_total x\n# HELP zcserve_a_total y\n" + T,
    "unknown type": "# TYPE zcserve_a_total countr\nzcserve_a_total 1\n",
    "counter without _total": "# TYPE zcserve_a counter\nzcserve_a 1\n",
    "value not a number": T + "zcserve_a_total one\n",
    "value with underscore": T + "zcserve_a_total 1_000\n",
    "missing value": T + "zcserve_a_total\n",
    "two spaces": T + "zcserve_a_total  1\n",
    "timestamp not an integer": T + "zcserve_a_total 1 1.5\n",
    "duplicate series": T + 'zcserve_a_total{a="x"} 1\nzcserve_a_total{a="x"} 2\n',
    "duplicate series, labels reordered":
        T + 'zcserve_a_total{a="x",b="y"} 1\nzcserve_a_total{b="y",a="x"} 2\n',
    "interleaved families": T + "zcserve_a_total 1\n# TYPE zcserve_b gauge\nzcserve_b 1\n"
                            'zcserve_a_total{x="1"} 2\n',
    "negative counter": T + "zcserve_a_total -1\n",
    "bad HELP escape": "# HELP zcserve_a_total bad \\q escape\n" + T,
    "carriage return": T + "zcserve_a_total 1\r\n",
}


@pytest.mark.parametrize("text", BROKEN.values(), ids=BROKEN.keys())
def test_parser_rejects_broken_text(text):
    with pytest.raises(promparse.PromError):
        promparse.parse(text)
