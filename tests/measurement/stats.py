"""Reading zcserve's figures: deltas between two /stats documents, sums of
/metrics families, wrapper call names as the kernel (and strace) names
them, and the agreement check the tests share."""

from __future__ import annotations

import promparse

# Wrapper name -> the system call glibc makes for it on x86-64, as strace
# -c names it. Two wrappers may map to the same call (eventfd_read is a
# read of 8 bytes).
KERNEL_NAME = {
    "recv": "recvfrom",
    "send": "sendto",
    "pread": "pread64",
    "fstat": "newfstatat",
    "eventfd_read": "read",
    "eventfd_write": "write",
}


def kernel_name(wrapper_name):
    return KERNEL_NAME.get(wrapper_name, wrapper_name)


def worker(stats, index=0):
    workers = stats["workers"]
    assert len(workers) > index, f"/stats has {len(workers)} workers, want worker {index}"
    return workers[index]


def delta(b, a, *path):
    """b[path] - a[path] for nested keys: delta(B, A, "copied_bytes", "body")."""
    vb, va = b, a
    for key in path:
        vb, va = vb[key], va[key]
    if vb is None or va is None:
        return None
    return vb - va


def calls_delta(b, a):
    """{wrapper call: calls} made between two figures of one thread."""
    before = a.get("syscalls_by_call", {})
    out = {}
    for name, n in b.get("syscalls_by_call", {}).items():
        d = n - before.get(name, 0)
        if d:
            out[name] = d
    return out


def by_kernel_name(calls):
    out = {}
    for name, n in calls.items():
        k = kernel_name(name)
        out[k] = out.get(k, 0) + n
    return out


def family_sum(text, family):
    """The sum of all samples of one family in /metrics text."""
    fams = promparse.parse(text)
    assert family in fams, f"/metrics has no family {family}"
    return sum(s.value for s in fams[family].samples)


def agree(x, y, rel):
    """x and y differ by at most `rel` of the larger."""
    return abs(x - y) <= rel * max(abs(x), abs(y))


def disagreements(counts, rel):
    """Pairwise check of {source: count}; returns the failing pairs as text."""
    names = list(counts)
    out = []
    for i, p in enumerate(names):
        for q in names[i + 1:]:
            x, y = counts[p], counts[q]
            if not agree(x, y, rel):
                diff = abs(x - y) / max(abs(x), abs(y), 1)
                out.append(f"{p}={x} vs {q}={y}: {diff:.2%} apart (allowed {rel:.0%})")
    return out


# Calls AddressSanitizer's allocator makes for itself: it maps fresh memory
# where glibc would reuse a freed block (freed blocks wait in quarantine),
# so a sanitized build shows more of these than zcserve ever asks for.
SANITIZER_ALLOCATOR_CALLS = ("mmap", "munmap", "madvise", "mprotect")


def is_sanitized(binary):
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def sanitizer_excess(strace_calls, wrapper_calls):
    """How many of the allocator's calls strace saw beyond those the
    wrapper counted as zcserve's own."""
    return sum(max(0, strace_calls.get(n, 0) - wrapper_calls.get(n, 0))
               for n in SANITIZER_ALLOCATOR_CALLS)
