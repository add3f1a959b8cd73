"""Every process the harness starts goes through here, so that all of them
(servers, perf, wrk) can be ended whatever happens: a normal end, an
exception, Ctrl-C or SIGTERM. Each child gets its own session, so a Ctrl-C
at the terminal reaches the harness alone, which then stops its children in
order instead of leaving them to race."""

from __future__ import annotations

import signal
import subprocess

_children: list[subprocess.Popen] = []


def spawn(cmd: list[str], **kwargs) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, start_new_session=True, **kwargs)
    _children.append(proc)
    return proc


def run(cmd: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run with a bound, through spawn(): killed if it overruns."""
    proc = spawn(cmd, **kwargs)
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        # overrun, or Ctrl-C/SIGTERM: end it here, before the caller's
        # clean-up (a namespace being deleted) runs
        stop(proc, grace=2)
        raise
    finally:
        forget(proc)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, grace: float = 10) -> int | None:
    """Sends sig, waits up to grace seconds, then SIGKILL. Returns the exit
    status (negative for a signal, as subprocess reports it)."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass
    forget(proc)
    return proc.returncode


def forget(proc: subprocess.Popen) -> None:
    if proc in _children:
        _children.remove(proc)


def kill_all() -> None:
    """SIGKILL whatever is still running, newest first (wrk and perf before
    the server they watch)."""
    for proc in reversed(list(_children)):
        if proc.poll() is None:
            try:
                proc.kill()
                proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        forget(proc)


def alive() -> list[int]:
    return [p.pid for p in _children if p.poll() is None]
