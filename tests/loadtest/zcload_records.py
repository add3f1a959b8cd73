"""Records as build_record makes them, for the aggregation and rendering tests."""

from zcload import aggregate

PERF = {"raw_syscalls:sys_enter": {"value": 40000.0, "status": "counted"},
        "context-switches": {"value": 100.0, "status": "counted"}}
ZC = {"requests": 10000, "wrapper_syscalls": 39000, "kernel_syscalls": 40100,
      "process_kernel_syscalls": 40200, "copied_bytes": 2_720_000, "body_copied_bytes": 0,
      "syscalls_by_call": {"recv": 10000, "send": 10000, "sendfile": 10000, "epoll_wait": 900}}


def wrk_result(requests=10000, rps=5000.0, errors=None, nbytes=None, p99=1.5):
    errors = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0, "non_2xx": 0,
              **(errors or {})}
    return {"requests": requests, "bytes": nbytes if nbytes is not None else requests * 1300,
            "duration_s": 2.0, "requests_per_sec": rps, "errors": errors,
            "error_total": sum(v for k, v in errors.items() if k != "non_2xx"),
            "latency_ms": {"p50": 0.5, "p90": 0.9, "p99": p99, "p99.9": 3.0}}


def record(repeat=1, label="epoll/sendfile", server="zcserve", **kw):
    args = dict(server=server, engine="epoll", sender="sendfile", label=label, file_size=1024,
                connections=64, repeat=repeat, wrk=wrk_result(), perf=PERF, cpu_ticks=10,
                clk_tck=100, zc=ZC if server == "zcserve" else None)
    args.update(kw)
    return aggregate.build_record(**args)
