"""--perf-record: perf report's table parsed, copy functions first."""

from zcload import profile


def test_parse_a_recorded_report(sample):
    parsed = profile.parse_report(sample("perf_report_dpdk.txt"))
    assert parsed["event"] == "cpu-clock:ppp" and parsed["samples"] == 1000
    funcs = parsed["functions"]
    # every row of the table, largest share first, IPC columns dropped
    assert len(funcs) == sum(1 for l in sample("perf_report_dpdk.txt").splitlines()
                             if "%" in l and not l.startswith("#"))
    assert [f["percent"] for f in funcs] == sorted((f["percent"] for f in funcs), reverse=True)
    assert funcs[0] == {"percent": 10.12, "space": "user", "symbol": "zc::dpdk::device::receive",
                        "copy": False}
    assert all("  " not in f["symbol"] and not f["symbol"].endswith("-") for f in funcs)
    by = {f["symbol"]: f for f in funcs}
    assert by["_copy_to_iter"]["space"] == "kernel" and by["_copy_to_iter"]["copy"]
    for name in ("__pi_memcpy", "__memmove_avx512_unaligned_erms", "copy_page_to_iter",
                 "lwip_chksum_copy"):
        assert by[name]["copy"], name
    for name in ("__memchr_evex", "tcp_ack", "lwip_standard_chksum", "__libc_pread"):
        assert not by[name]["copy"], name


def test_summary_puts_copies_first(sample):
    parsed = profile.parse_report(sample("perf_report_dpdk.txt"))
    s = profile.summarise(parsed, "profiles/dpdk-read_write-1k.data", 5)
    copies = [f["symbol"] for f in s["copy_functions"]]
    assert copies[:4] == ["__pi_memcpy", "_copy_to_iter", "__memmove_avx512_unaligned_erms",
                          "copy_page_to_iter"]
    assert s["copy_percent"] == round(sum(f["percent"] for f in s["copy_functions"]), 2)
    assert len(s["top_functions"]) == 5 and not any(f["copy"] for f in s["top_functions"])
    lines = profile.text_lines(s)
    assert lines[0].startswith(f"copy functions {s['copy_percent']:.1f}% of 1000 samples")
    assert "perf report -i profiles/dpdk-read_write-1k.data" in lines[0]
    assert lines[1].split()[:3] == ["copy", "0.72%", "[k]"]
    assert lines[1 + len(copies)].split() == ["10.12%", "[u]", "zc::dpdk::device::receive"]


def test_samples_count_forms():
    assert profile.parse_report("# Samples: 895  of event 'cpu-clock'\n")["samples"] == 895
    assert profile.parse_report("# Samples: 2K of event 'cycles'\n")["samples"] == 2000
    assert profile.parse_report("")["samples"] is None


def test_a_failed_profile_says_why():
    assert profile.text_lines({"file": "x", "error": "RuntimeError: no perf"}) == \
        ["profile failed: RuntimeError: no perf"]
