"""Writing the results: results.json, results.csv, results.md, one chart per
figure (PNG and SVG) and report.html, a single page that reads offline."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import os
import re

from .aggregate import DETAIL_FIGURES, FIGURES, aggregate, display_label, median_of
from .profile import text_lines as profile_text_lines
from .tree import size_label

# ---------------------------------------------------------------- numbers


def fmt_number(value: float | None, decimals: int) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    if decimals == 0:
        return f"{value:.0f}"
    return f"{value:.{decimals}f}"


def fmt_cell(fig: dict | None, decimals: int) -> str:
    """'median' or 'median (min–max)' when there were several runs."""
    if fig is None:
        return "n/a"
    text = fmt_number(fig["median"], decimals)
    if fig["n"] > 1:
        text += f" ({fmt_number(fig['min'], decimals)}–{fmt_number(fig['max'], decimals)})"
    return text


def sort_groups(groups: list[dict]) -> list[dict]:
    """By file size, then connections, then the order the servers ran in."""
    order = {}
    for g in groups:
        order.setdefault(display_label(g), len(order))
    return sorted(groups, key=lambda g: (g["file_size"], g["connections"],
                                         order[display_label(g)]))


# ---------------------------------------------------------------- CSV

CSV_COLUMNS = [
    "server", "engine", "sender", "label", "path", "file_size", "connections", "repeat", "requests",
    "duration_s", "requests_per_sec", "server_cpu_percent", "p50_latency_ms", "p90_latency_ms", "p99_latency_ms",
    "p99.9_latency_ms", "syscalls_per_request", "context_switches_per_request",
    "cpu_us_per_request", "copied_bytes_per_request", "body_copied_bytes_per_request",
    "wrapper_syscalls_per_request", "self_kernel_syscalls_per_request",
    "self_process_kernel_syscalls_per_request", "bytes_per_request",
    "softirq_us_per_request_server_cpu", "softirq_us_per_request_client_cpu",
    "tcp_out_segs_per_request", "tcp_in_segs_per_request", "tcp_retrans_segs_per_request",
    "tcp_loss_probes_per_request", "tcp_delayed_acks_per_request", "machine_cpu_us_per_request",
    "profile_copy_percent",
    "errors_connect", "errors_read", "errors_write", "errors_status", "errors_timeout",
    "non_2xx", "failed", "failure",
]


def csv_text(records: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in records:
        row = {k: r.get(k) for k in CSV_COLUMNS if k in r}
        for p in ("p50", "p90", "p99.9"):
            row[f"{p}_latency_ms"] = (r.get("latency_ms") or {}).get(p)
        for kind, n in (r.get("errors") or {}).items():
            row["non_2xx" if kind == "non_2xx" else f"errors_{kind}"] = n
        row["failed"] = "true" if r.get("failed") else "false"
        row["path"] = r.get("path", "loopback")
        if (r.get("profile") or {}).get("copy_percent") is not None:
            row["profile_copy_percent"] = r["profile"]["copy_percent"]
        w.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()


# ---------------------------------------------------------------- Markdown

POLL_MARK = "†"
POLL_NOTE = (f"{POLL_MARK} The dpdk engine's worker polls without ever sleeping: it uses 100% "
             f"of its CPU whether busy or idle, so its CPU per request is that whole CPU "
             f"divided by the requests served. It falls as the load rises and says nothing of "
             f"the work per request at a light load. Its server CPU % is 100 by construction, "
             f"less only where other tasks took its CPU from it.")


def table_rows(groups: list[dict]) -> tuple[list[str], list[list[str]]]:
    head = ["server", "backend", "size", "conns"] + [f[1] for f in FIGURES] + ["runs ok"]
    rows = []
    for g in sort_groups(groups):
        backend = g["label"] if g["server"] == "zcserve" else f"{g['engine']}/{g['sender']}"
        if g.get("path", "loopback") != "loopback":
            backend += f" ({g['path']})"
        row = [g["server"], backend, size_label(g["file_size"]), str(g["connections"])]
        for key, _, _, decimals, _ in FIGURES:
            cell = "failed" if g["ok_runs"] == 0 else fmt_cell(g["figures"][key], decimals)
            if key == "cpu_us_per_request" and g.get("polling") and g["ok_runs"]:
                cell += POLL_MARK
            row.append(cell)
        row.append(f"{g['ok_runs']}/{g['runs']}" + (" FAILED" if g["failed_runs"] else ""))
        rows.append(row)
    return head, rows


def markdown_table(groups: list[dict]) -> str:
    head, rows = table_rows(groups)
    right = [False] * 4 + [True] * (len(head) - 4)
    lines = ["| " + " | ".join(head) + " |",
             "| " + " | ".join("---:" if r else "---" for r in right) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    failures = [f"- {display_label(g)} {size_label(g['file_size'])} c={g['connections']}, {f}"
                for g in sort_groups(groups) for f in g["failures"]]
    text = "\n".join(lines) + "\n"
    if any(g.get("polling") for g in groups):
        text += "\n" + POLL_NOTE + "\n"
    if failures:
        text += "\nFailed runs (not in the medians):\n\n" + "\n".join(failures) + "\n"
    return text


def detail_rows(groups: list[dict]) -> tuple[list[str], list[list[str]]]:
    """The kernel's side of each request: TCP segments and softirq time
    (aggregate.DETAIL_FIGURES), medians only; empty when no run has them."""
    head = ["server", "backend", "size", "conns"] + [f[1] for f in DETAIL_FIGURES]
    rows = []
    for g in sort_groups(groups):
        if not g["ok_runs"] or all(g["figures"].get(k) is None for k, _, _ in DETAIL_FIGURES):
            continue
        row = [g["server"], display_label(g), size_label(g["file_size"]), str(g["connections"])]
        row += [fmt_number(median_of(g, k), d) for k, _, d in DETAIL_FIGURES]
        rows.append(row)
    return head, rows


DETAIL_NOTE = (
    "Medians. Segments, retransmissions, tail loss probes and delayed ACKs are the TCP "
    "counters of the server's network namespace (/proc/PID/net/snmp and netstat) over the "
    "measured window, per request: over loopback they count both ends (the replies' "
    "segments and wrk's ACKs), over the veth the server's end only; n/a for the dpdk "
    "engine, whose TCP is its own. softirq us/req: softirq time on each pinned CPU "
    "(/proc/stat): a packet sent over loopback or a veth is received in softirq on the "
    "sender's CPU, charged to whatever task runs there unless the kernel accounts irq time "
    "apart (docs/measuring.md); and data a socket holds back until the peer's ACK opens "
    "the window is sent from the softirq that receives that ACK, on wrk's CPU. both CPUs "
    "us/req: the busy time of the server's and wrk's CPUs together (/proc/stat), what a "
    "request cost the machine wherever the kernel charged it; it includes wrk's own work, "
    "the same client for every server."
)


def detail_markdown(groups: list[dict]) -> str:
    head, rows = detail_rows(groups)
    if not rows:
        return ""
    lines = ["| " + " | ".join(head) + " |",
             "| " + " | ".join(["---"] * 4 + ["---:"] * (len(head) - 4)) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n\n" + DETAIL_NOTE + "\n"


LEGEND = (
    "Medians over the runs that did not fail, with the spread (min–max) in brackets. "
    "req/s, p99 latency: wrk. syscalls/req and switches/req: `perf stat -e "
    "raw_syscalls:sys_enter,context-switches -p PID` on the server process during the wrk run; "
    "CPU us/req and server CPU %: utime+stime of the server process from /proc/PID/stat; all "
    "measured the same way for every server, per request wrk completed. copied B/req "
    "(bytes copied between user and kernel memory, and on dpdk into its stack's buffers) and "
    "zc calls/req (zcserve's own wrapper "
    "count) come from zcserve's /stats: only zcserve counts them, so they are n/a for peers."
)


# ---------------------------------------------------------------- charts

CHARTS = [k for k in ("syscalls_per_request", "context_switches_per_request",
                      "cpu_us_per_request", "copied_bytes_per_request", "requests_per_sec",
                      "p99_latency_ms")]
SERVER_COLOURS = {"zcserve": "#3b6ea8", "nginx": "#2e8b57", "lighttpd": "#c9822b",
                  "h2o": "#a4456b"}


def render_charts(groups: list[dict], out_dir: str) -> list[dict]:
    """One chart per figure, a panel per file size (stacked), the backends
    side by side in each; bars are medians, whiskers the min–max spread. Several
    connection counts become bars grouped per backend. Returns
    [{key, title, png, svg}] with paths relative to out_dir."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not groups:  # interrupted before the first run ended
        return []
    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "zcload",
                         "font.size": 8, "axes.titlesize": 9})
    titles = {f[0]: f[2] for f in FIGURES}
    decimals = {f[0]: f[3] for f in FIGURES}
    os.makedirs(os.path.join(out_dir, "charts"), exist_ok=True)
    groups = sort_groups(groups)
    sizes = sorted({g["file_size"] for g in groups})
    conns = sorted({g["connections"] for g in groups})
    labels = list(dict.fromkeys(display_label(g) for g in groups))
    server_of = {display_label(g): g["server"] for g in groups}
    charts = []
    for key in CHARTS:
        # One panel per file size, stacked, so the page width goes to the
        # backends and the chart stays readable when scaled to a page.
        fig, axes = plt.subplots(len(sizes), 1, figsize=(max(5.0, 0.5 * len(labels) + 1.5),
                                                         2.1 * len(sizes) + 1.1),
                                 squeeze=False, sharex=True)
        width = 0.8 / len(conns)
        for ax, size in zip(axes[:, 0], sizes):
            top = 0.0
            for ci, c in enumerate(conns):
                for li, label in enumerate(labels):
                    g = next((g for g in groups if display_label(g) == label and
                              g["file_size"] == size and g["connections"] == c), None)
                    x = li - 0.4 + width * (ci + 0.5)
                    if g is None:
                        continue
                    f = g["figures"][key] if g["ok_runs"] else None
                    if f is None:
                        ax.text(x, 0, "failed" if g["ok_runs"] == 0 else "n/a",
                                rotation=90, ha="center", va="bottom", fontsize=7, color="#888")
                        continue
                    colour = (SERVER_COLOURS.get(server_of[label], "#777") if len(conns) == 1
                              else plt.cm.viridis(ci / max(1, len(conns) - 1) * 0.8))
                    err = [[f["median"] - f["min"]], [f["max"] - f["median"]]]
                    ax.bar(x, f["median"], width * 0.9, color=colour,
                           label=f"c={c}" if li == 0 and len(conns) > 1 else None)
                    if f["n"] > 1:
                        ax.errorbar(x, f["median"], yerr=err, color="black", capsize=2,
                                    linewidth=0.8)
                    ax.annotate(fmt_number(f["median"], decimals[key]), (x, f["max"]),
                                xytext=(0, 3), textcoords="offset points", rotation=90,
                                ha="center", va="bottom", fontsize=6.5)
                    top = max(top, f["max"])
            ax.set_title(f"{size_label(size)} file")
            ax.set_xticks(range(len(labels)))
            ax.set_xticklabels(labels, rotation=40, ha="right")
            ax.set_ylim(0, top * 1.35 if top > 0 else 1)
            ax.grid(axis="y", linewidth=0.3)
            ax.set_axisbelow(True)
            if len(conns) > 1:
                ax.legend(fontsize=7)
        fig.suptitle(titles[key])
        fig.tight_layout()
        base = os.path.join("charts", key)
        fig.savefig(os.path.join(out_dir, base + ".png"), dpi=100)
        fig.savefig(os.path.join(out_dir, base + ".svg"), metadata={"Date": None})
        plt.close(fig)
        charts.append({"key": key, "title": titles[key], "png": base + ".png",
                       "svg": base + ".svg"})
    return charts


# ---------------------------------------------------------------- size sweep

# The charts against file size: (key, title). Drawn when a run has two
# sizes or more (loadtest/run --sweep).
SIZE_CHARTS = [
    ("cpu_us_per_request", "server CPU per request against file size (us, log-log)"),
    ("copied_bytes_per_request", "bytes copied through user space per request against file "
                                 "size (zcserve's count; log-log)"),
]
COPYING_SENDERS = ("read_write", "readv_writev", "pread_writev")
ZERO_COPY_SENDERS = ("sendfile", "splice", "send_zc")
SENDER_COLOURS = {"read_write": "#d62728", "readv_writev": "#ff7f0e", "mmap": "#bcbd22",
                  "sendfile": "#1f77b4", "splice": "#2ca02c", "send_zc": "#9467bd"}
ENGINE_STYLES = {"epoll": "-", "io_uring": "--", "blocking": ":", "asio": "-.",
                 "dpdk": (0, (5, 1, 1, 1))}


def size_chart_title(key: str) -> str:
    return dict(SIZE_CHARTS)[key]


def render_size_charts(groups: list[dict], out_dir: str) -> list[dict]:
    """One chart per figure of SIZE_CHARTS: file size on a log x-axis, the
    figure's median on a log y-axis, one line per backend (colour: the
    sender, line style: the engine; the peers in their own colours), a
    panel per connection count. Empty when fewer than two sizes ran."""
    sizes = sorted({g["file_size"] for g in groups})
    if len(sizes) < 2:
        return []
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "zcload",
                         "font.size": 8, "axes.titlesize": 9})
    os.makedirs(os.path.join(out_dir, "charts"), exist_ok=True)
    groups = sort_groups(groups)
    conns = sorted({g["connections"] for g in groups})
    labels = list(dict.fromkeys(display_label(g) for g in groups))
    charts = []
    for key, title in SIZE_CHARTS:
        fig, axes = plt.subplots(len(conns), 1, figsize=(7.5, 4.2 * len(conns) + 0.6),
                                 squeeze=False)
        drawn = 0
        for ax, c in zip(axes[:, 0], conns):
            for label in labels:
                pts = [(g["file_size"], median_of(g, key)) for g in groups
                       if display_label(g) == label and g["connections"] == c and g["ok_runs"]]
                pts = [(x, y) for x, y in pts if y is not None and y > 0]
                if not pts:
                    continue
                g0 = next(g for g in groups if display_label(g) == label)
                if g0["server"] == "zcserve":
                    colour = SENDER_COLOURS.get(g0["sender"], "#777")
                    style = ENGINE_STYLES.get(g0["engine"], "-")
                else:
                    colour, style = SERVER_COLOURS.get(g0["server"], "#777"), "-"
                marker = "x" if g0.get("path", "loopback") == "veth" else "o"
                ax.plot([x for x, _ in pts], [y for _, y in pts], linestyle=style, marker=marker,
                        markersize=3, linewidth=1.2 if g0["server"] == "zcserve" else 2.2,
                        color=colour, label=label, alpha=0.9)
                drawn += 1
            if key == "copied_bytes_per_request":
                ax.plot(sizes, sizes, color="#999", linewidth=0.8, linestyle=":",
                        label="1 × file size")
                ax.plot(sizes, [2 * x for x in sizes], color="#999", linewidth=0.8,
                        linestyle="--", label="2 × file size")
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xticks(sizes)
            ax.set_xticklabels([size_label(x) for x in sizes])
            ax.minorticks_off()
            ax.set_xlabel("file size")
            ax.set_title(f"{c} connections")
            ax.grid(linewidth=0.3, which="both")
            ax.legend(fontsize=6, ncol=2, loc="upper left")
        fig.suptitle(title)
        fig.tight_layout()
        base = os.path.join("charts", "size_" + key)
        fig.savefig(os.path.join(out_dir, base + ".png"), dpi=100)
        fig.savefig(os.path.join(out_dir, base + ".svg"), metadata={"Date": None})
        plt.close(fig)
        charts.append({"key": "size_" + key, "title": title, "png": base + ".png",
                       "svg": base + ".svg", "lines": drawn})
    return charts


def crossover_text(groups: list[dict]) -> list[str]:
    """For each engine (and path, and connection count): from which file
    size on each zero-copy sender (sendfile, splice, send_zc) used less CPU
    per request than every copying sender (read_write, readv_writev) of the
    same engine, at every larger size swept too. Medians only; with a
    spread that overlaps, the size says little."""
    out = []
    sizes = sorted({g["file_size"] for g in groups})
    if len(sizes) < 2:
        return out
    keyed = {}
    for g in groups:
        if g["server"] != "zcserve" or not g["ok_runs"]:
            continue
        keyed.setdefault((g["engine"], g.get("path", "loopback"), g["connections"]), {}) \
            .setdefault(g["sender"], {})[g["file_size"]] = median_of(g, "cpu_us_per_request")
    multi_conns = len({g["connections"] for g in groups}) > 1
    for (engine, path, conns), by_sender in keyed.items():
        copying = [s for s in COPYING_SENDERS if s in by_sender]
        if not copying:
            continue
        where = engine + (f" ({path})" if path != "loopback" else "") \
            + (f", {conns} connections" if multi_conns else "")
        for z in ZERO_COPY_SENDERS:
            if z not in by_sender:
                continue
            common = [x for x in sizes if by_sender[z].get(x) is not None
                      and all(by_sender[c].get(x) is not None for c in copying)]
            if len(common) < 2:
                continue
            wins = [by_sender[z][x] < min(by_sender[c][x] for c in copying) for x in common]
            start = None
            for i in range(len(common) - 1, -1, -1):
                if not wins[i]:
                    break
                start = common[i]
            last = common[-1]
            best = min(copying, key=lambda c: by_sender[c][last])
            against = (f"at {size_label(last)}: {by_sender[z][last]:.1f} us against "
                       f"{best}'s {by_sender[best][last]:.1f} us")
            names = " and ".join(copying)
            if start is None:
                out.append(f"{where}: {z} did not use less CPU per request than {names} at "
                           f"the largest size swept ({against}).")
            elif start == common[0]:
                out.append(f"{where}: {z} used less CPU per request than {names} at every "
                           f"size swept, from {size_label(start)} ({against}).")
            else:
                out.append(f"{where}: {z} used less CPU per request than {names} from "
                           f"{size_label(start)} up ({against}).")
    return out


SIZE_NOTE = (
    "sendfile and splice hand page-cache pages to the socket by reference on every path; "
    "over loopback and a veth the body is then copied once, by wrk's recv, on wrk's CPU. "
    "send_zc's pages are another matter: the kernel copies them as it delivers them to a "
    "local socket (user pages sent with MSG_ZEROCOPY may not sit in a receive queue), in "
    "softirq on the server's CPU, so over loopback and a veth send_zc pays the copy it exists "
    "to save, plus its completion per send. On a real NIC the device reads the pages by DMA: "
    "that is where send_zc pays, from the size where the copy it saves costs more than the "
    "completion and the pinning of the pages. The copied-bytes chart counts copies through "
    "user space (zcserve's /stats): read_write and readv_writev copy the body twice (pread "
    "in, write out), mmap once, sendfile and splice never, send_zc only a small body, which "
    "it sends with the head; on the dpdk engine the copies a kernel stack would make in send() "
    "are made in the process and counted there: request bytes out of the frames, bytes into "
    "lwIP's segments, every frame into a transmit buffer."
)


# ---------------------------------------------------------------- profiles

def profile_rows(records: list[dict]) -> list[tuple[str, dict]]:
    """(name, profile) for every run that carries one, in run order."""
    out = []
    for r in records:
        prof = r.get("profile")
        if prof:
            name = (display_label({"label": r["label"], "path": r.get("path", "loopback")})
                    + f" {size_label(r['file_size'])} c={r['connections']}")
            out.append((name, prof))
    return out


PROFILE_NOTE = (
    "perf record -g -F 999 -p PID on the server during a separate wrk load after repeat 1's "
    "measured window (the counted figures come from that window alone, never from the profiled "
    "one). Self time by function (perf report --no-children --sort symbol): copy functions "
    "first (memcpy and memmove in user space; copy_user, copy to/from iter, skb and page copies "
    "in the kernel: the bytes the CPU moved), then the largest others. [k] kernel, [u] user "
    "space. The stored profiles/*.data keep the call graphs: perf report -i FILE.")


# ---------------------------------------------------------------- syscall cost

def syscall_cost_text(cost: dict | None, groups: list[dict]) -> str | None:
    """'a system call here costs ~X ns, so saving N calls per request is
    worth ~Y us' from the benchmark and the table."""
    if not cost or "getpid_syscall" not in cost.get("untraced", {}):
        return None
    ns = cost["untraced"]["getpid_syscall"]
    traced = cost.get("traced", {}).get("getpid_syscall")
    parts = [f"A system call here costs ~{ns:.0f} ns (syscall(SYS_getpid), the cheapest there is"
             + (f"; ~{traced:.0f} ns while perf counts system calls, as during these runs, so the "
                f"CPU figures include that tracing, alike for every server" if traced else "")
             + f"); a plain function call ~{cost['untraced'].get('function_call', float('nan')):.1f}"
             f" ns; clock_gettime ~{cost['untraced'].get('clock_gettime_vdso', float('nan')):.0f}"
             f" ns through the vDSO against ~"
             f"{cost['untraced'].get('clock_gettime_syscall', float('nan')):.0f} ns as a real call."]
    for size in sorted({g["file_size"] for g in groups}):
        vals = [(median_of(g, "syscalls_per_request"), median_of(g, "cpu_us_per_request"),
                 display_label(g)) for g in groups if g["file_size"] == size and g["ok_runs"]]
        vals = [v for v in vals if v[0] is not None]
        if len(vals) < 2:
            continue
        lo, hi = min(vals), max(vals)
        n = hi[0] - lo[0]
        parts.append(f"{size_label(size)} files: {hi[2]} makes {n:.1f} more calls per request "
                     f"than {lo[2]}; at ~{ns:.0f} ns each (entry and exit alone) that is worth "
                     f"~{n * ns / 1000:.2f} us of the {hi[1]:.1f} us it spends per request."
                     if hi[1] is not None else "")
    return " ".join(p for p in parts if p)


# ---------------------------------------------------------------- HTML

def _svg_inline(path: str) -> str:
    with open(path) as f:
        text = f.read()
    # drop the XML declaration and DOCTYPE: inline SVG is an element
    text = re.sub(r"^<\?xml[^>]*\?>\s*", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>\s*", "", text, flags=re.S)
    return text


def _html_cell(text: str) -> str:
    """'median (min–max)' as the median over a small spread line."""
    m = re.fullmatch(r"(\S+) \((\S+)\)", text)
    if not m:
        return html.escape(text)
    return f"{html.escape(m.group(1))}<br><small>{html.escape(m.group(2))}</small>"


def html_report(doc: dict, groups: list[dict], charts: list[dict], out_dir: str) -> str:
    m = doc["machine"]
    esc = html.escape
    head, rows = table_rows(groups)
    machine_rows = [
        ("CPU", f"{m.get('cpu_model')} ({m.get('cpus')} CPUs"
                + (", virtualised" if m.get("virtualised") else "") + ")"),
        ("kernel", f"{m.get('kernel')} ({m.get('os')})"),
        ("memory", f"{m.get('memory_gib')} GiB"),
        ("spectre_v2", m.get("mitigations") or "n/a"),
        ("date", m.get("date")),
        ("machine load", f"load average {m.get('load_average_at_start')} at start, "
                         f"{m.get('load_average_at_end')} at the end (1, 5, 15 min); CPUs "
                         f"{m.get('cpu_busy_percent_at_start')}% busy in the second before the "
                         f"runs, {m.get('cpu_busy_percent_at_end')}% after"),
        ("pinning", doc["pinning"]["text"]),
        ("tools", ", ".join(f"{k} {v}" for k, v in {**m.get("tools", {}),
                                                    **doc.get("peer_versions", {})}.items()
                            if v)),
        ("zcserve", doc.get("zcserve", {}).get("path", "") + " "
                    + doc.get("zcserve", {}).get("version", "")),
    ]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<title>zcserve loadtest report</title><style>",
        "body{font:14px/1.4 system-ui,sans-serif;max-width:1200px;margin:1em auto;padding:0 1em}",
        "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;"
        "padding:2px 6px}td.n{text-align:right;font-variant-numeric:tabular-nums}",
        "th{background:#f2f2f2}code,pre{background:#f6f6f6}",
        "pre{padding:6px;white-space:pre-wrap}small{color:#666}",
        ".fail{color:#b00}figure{margin:1em 0}svg{max-width:100%;height:auto}",
        "</style></head><body>",
        "<h1>zcserve loadtest report</h1>",
        "<h2>Machine</h2><table>",
        *[f"<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>" for k, v in machine_rows],
        "</table>",
        f"<h2>Command</h2><pre>{esc(doc['command'])}</pre>",
        f"<p>{esc(doc['load_text'])}</p>",
    ]
    for text in path_texts(doc):
        parts.append(f"<p>{esc(text)}</p>")
    cost_text = syscall_cost_text(doc.get("syscall_cost"), groups)
    if cost_text:
        parts.append(f"<h2>What a crossing costs here</h2><p>{esc(cost_text)}</p>")
    elif doc.get("syscall_cost_note"):
        parts.append(f"<h2>What a crossing costs here</h2><p>{esc(doc['syscall_cost_note'])}</p>")
    parts.append("<h2>Results</h2><table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head)
                 + "</tr>")
    for row in rows:
        cls = " class='fail'" if "FAILED" in row[-1] else ""
        parts.append(f"<tr{cls}>" + "".join(
            f"<td{' class=n' if i >= 4 else ''}>{_html_cell(c)}</td>" for i, c in enumerate(row))
            + "</tr>")
    parts.append("</table>")
    failures = [f"{display_label(g)} {size_label(g['file_size'])} c={g['connections']}, {f}"
                for g in sort_groups(groups) for f in g["failures"]]
    if failures:
        parts.append("<p class='fail'>Failed runs (not in the medians):</p><ul>"
                     + "".join(f"<li>{esc(f)}</li>" for f in failures) + "</ul>")
    if any(g.get("polling") for g in groups):
        parts.append(f"<p><b>{esc(POLL_NOTE)}</b></p>")
    if doc.get("skipped"):
        parts.append("<p>Skipped (cannot run here):</p><ul>" + "".join(
            f"<li>{esc(sk['backend'])}: {esc(sk['reason'])}</li>" for sk in doc["skipped"])
            + "</ul>")
    parts.append(f"<p>{esc(LEGEND)}</p>")
    zc_calls = [g for g in sort_groups(groups) if g["server"] == "zcserve" and g["ok_runs"]]
    if zc_calls:
        parts.append("<h2>zcserve's calls per request, by name</h2><table>"
                     "<tr><th>backend</th><th>size</th><th>conns</th><th>calls</th></tr>")
        for g in zc_calls:
            calls = g.get("calls_by_name") or {}
            text = ", ".join(f"{k} {v:.2f}" for k, v in calls.items() if v >= 0.005)
            parts.append(f"<tr><td>{esc(display_label(g))}</td><td>{size_label(g['file_size'])}</td>"
                         f"<td>{g['connections']}</td><td>{esc(text)}</td></tr>")
        parts.append("</table>")
    dhead, drows = detail_rows(groups)
    if drows:
        parts.append("<h2>The kernel's side: TCP segments and softirq per request</h2><table><tr>"
                     + "".join(f"<th>{esc(h)}</th>" for h in dhead) + "</tr>")
        for row in drows:
            parts.append("<tr>" + "".join(f"<td{' class=n' if i >= 4 else ''}>{esc(c)}</td>"
                                          for i, c in enumerate(row)) + "</tr>")
        parts.append(f"</table><p>{esc(DETAIL_NOTE)}</p>")
    size_charts = [c for c in charts if c["key"].startswith("size_")]
    charts = [c for c in charts if not c["key"].startswith("size_")]
    if size_charts:
        parts.append("<h2>Against file size</h2><p>Medians; colour: the sender, line style: the "
                     "engine (epoll solid, io_uring dashed, blocking dotted, asio dash-dot, "
                     "dpdk dash-dot-dot), x markers: over the veth.</p>")
        for c in size_charts:
            parts.append(f"<figure>{_figure_body(out_dir, c)}</figure>")
        cross = crossover_text(groups)
        if cross:
            parts.append("<ul>" + "".join(f"<li>{esc(t)}</li>" for t in cross) + "</ul>")
        parts.append(f"<p>{esc(SIZE_NOTE)}</p>")
    profs = profile_rows(doc["runs"])
    if profs:
        parts.append(f"<h2>Profiles</h2><p>{esc(PROFILE_NOTE)}</p>")
        for name, prof in profs:
            parts.append(f"<h3>{esc(name)}</h3>")
            if prof.get("error"):
                parts.append(f"<p class='fail'>profile failed: {esc(prof['error'])}</p>")
                continue
            parts.append(f"<p>copy functions: <b>{prof['copy_percent']:.1f}%</b> of "
                         f"{prof.get('samples') or '?'} samples ({esc(prof.get('event') or '?')}); "
                         f"<code>perf report -i {esc(prof['file'])}</code></p>"
                         "<table><tr><th>share</th><th></th><th>function</th></tr>")
            for f in prof["copy_functions"]:
                parts.append(f"<tr><td class=n>{f['percent']:.2f}%</td><td>copy [{f['space'][0]}]"
                             f"</td><td><b>{esc(f['symbol'])}</b></td></tr>")
            for f in prof["top_functions"]:
                parts.append(f"<tr><td class=n>{f['percent']:.2f}%</td><td>[{f['space'][0]}]"
                             f"</td><td>{esc(f['symbol'])}</td></tr>")
            parts.append("</table>")
    parts.append("<h2>Charts</h2><p>Bars: medians; whiskers: min–max over the runs.</p>")
    for c in charts:
        svg = os.path.join(out_dir, c["svg"])
        if os.path.exists(svg):
            body = _svg_inline(svg)
        else:
            with open(os.path.join(out_dir, c["png"]), "rb") as f:
                body = ("<img alt='' src='data:image/png;base64,"
                        + base64.b64encode(f.read()).decode() + "'>")
        parts.append(f"<figure>{body}</figure>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _figure_body(out_dir: str, c: dict) -> str:
    svg = os.path.join(out_dir, c["svg"])
    if os.path.exists(svg):
        return _svg_inline(svg)
    with open(os.path.join(out_dir, c["png"]), "rb") as f:
        return ("<img alt='' src='data:image/png;base64,"
                + base64.b64encode(f.read()).decode() + "'>")


def path_texts(doc: dict) -> list[str]:
    """What the report says of the veth path and of CPU accounting there."""
    veth = doc.get("veth")
    if not veth:
        return []
    out = [veth["text"]]
    off = veth.get("offloads") or {}
    if off:
        out.append("Offloads as ethtool -k read them: " + "; ".join(
            f"{side} end " + ", ".join(f"{k} {v}" for k, v in feats.items())
            for side, feats in off.items()) + ".")
    irq = doc.get("machine", {}).get("irq_time_accounting")
    out.append(
        "CPU over the veth: a packet is delivered in softirq on the CPU that sent it, so the "
        "server's receive work runs on wrk's CPU and the client's receive work on the server's; "
        + ("this kernel has no IRQ time accounting (CONFIG_IRQ_TIME_ACCOUNTING unset), so a "
           "softirq tick is charged to the task it interrupted: the server's CPU per request "
           "includes the client's receive work it ran, as on loopback."
           if irq is False else
           "this kernel accounts softirq time apart (CONFIG_IRQ_TIME_ACCOUNTING), so the "
           "server's CPU per request leaves out the softirq work run on its CPU."
           if irq else "whether softirq time is charged to the task here is unknown.")
        + " Each record keeps the softirq time of both pinned CPUs per request "
          "(softirq_us_per_request_server_cpu, _client_cpu in results.csv).")
    return out


def machine_line(m: dict) -> str:
    return (f"{m.get('cpu_model')}, {m.get('cpus')} CPUs"
            + (" (virtualised)" if m.get("virtualised") else "")
            + f", Linux {m.get('kernel')}, {m.get('os')}, {m.get('date')}")


def markdown_report(doc: dict, groups: list[dict], table: str) -> str:
    parts = ["# zcserve loadtest", "", f"Machine: {machine_line(doc['machine'])}.", "",
             "```", doc["command"], "```", "", doc["load_text"], ""]
    for text in path_texts(doc):
        parts += [text, ""]
    parts += [table.rstrip(), ""]
    if doc.get("skipped"):
        parts += ["Skipped (cannot run here):", ""]
        parts += [f"- {sk['backend']}: {sk['reason']}" for sk in doc["skipped"]]
        parts += [""]
    parts += [LEGEND]
    cost = syscall_cost_text(doc.get("syscall_cost"), groups)
    if cost:
        parts += ["", cost]
    detail = detail_markdown(groups)
    if detail:
        parts += ["", "## The kernel's side: TCP segments and softirq per request", "",
                  detail.rstrip()]
    if len({g["file_size"] for g in groups}) > 1:
        parts += ["", "## Against file size", ""]
        parts += [f"![{t}](charts/size_{k}.png)" for k, t in SIZE_CHARTS]
        cross = crossover_text(groups)
        if cross:
            parts += [""] + [f"- {t}" for t in cross]
        parts += ["", SIZE_NOTE]
    profs = profile_rows(doc["runs"])
    if profs:
        parts += ["", "## Profiles", "", PROFILE_NOTE, ""]
        for name, prof in profs:
            parts += [f"{name}:", "", "```"] + profile_text_lines(prof) + ["```", ""]
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------- all of it

def calls_by_name(records: list[dict], group: dict) -> dict[str, float]:
    """Median per call name over the group's runs that did not fail."""
    import statistics
    runs = [r for r in records if not r["failed"] and r.get("syscalls_by_call_per_request")
            and all(r[f] == group[f] for f in ("label", "file_size", "connections"))
            and r.get("path", "loopback") == group.get("path", "loopback")]
    names = list(dict.fromkeys(k for r in runs for k in r["syscalls_by_call_per_request"]))
    out = {n: statistics.median(r["syscalls_by_call_per_request"].get(n, 0.0) for r in runs)
           for n in names}
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def write_all(doc: dict, out_dir: str, charts: bool = True) -> dict:
    """Writes every output file; returns {name: path}. doc holds machine,
    options, command, pinning, load_text, syscall_cost and runs."""
    records = doc["runs"]
    groups = aggregate(records)
    for g in groups:
        if g["server"] == "zcserve":
            g["calls_by_name"] = calls_by_name(records, g)
    doc = {**doc, "summary": groups}
    paths = {}
    paths["json"] = os.path.join(out_dir, "results.json")
    with open(paths["json"], "w") as f:
        json.dump(_finite(doc), f, indent=1, allow_nan=False)
        f.write("\n")
    paths["csv"] = os.path.join(out_dir, "results.csv")
    with open(paths["csv"], "w") as f:
        f.write(csv_text(records))
    paths["md"] = os.path.join(out_dir, "results.md")
    md = markdown_table(groups)
    with open(paths["md"], "w") as f:
        f.write(markdown_report(doc, groups, md))
    chart_list = render_charts(groups, out_dir) + render_size_charts(groups, out_dir) \
        if charts else []
    paths["html"] = os.path.join(out_dir, "report.html")
    with open(paths["html"], "w") as f:
        f.write(html_report(doc, groups, chart_list, out_dir))
    paths["table"] = md
    paths["charts"] = chart_list
    return paths


def _finite(obj):
    """JSON has no NaN or infinity: such a figure is written as null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
