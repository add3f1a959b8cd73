"""zcload: the pieces of loadtest/run.

    machine      what the machine is (CPU, cores, kernel, date, tools)
    tree         file sizes and the generated document tree
    servers      zcserve and the peers (nginx, lighttpd, h2o): start, check, stop
    wrk          the load generator's command line and its JSON line
    measure      perf stat, /proc/PID/stat and zcserve's /stats, from outside
    aggregate    one record per run, medians and spreads, failed runs kept apart
    render       results.json/.csv/.md, charts and report.html
    syscall_cost the Google Benchmark timing of a crossing into the kernel
    procs        every child process, so all of them end whatever happens
    cli          the command: options, the run plan, progress, clean-up
    conns        loadtest/conns: N idle keep-alive connections, counts and memory

Everything that parses or computes is a pure function of its input, so the
tests in tests/loadtest/ check it on captured samples without a server.
"""
