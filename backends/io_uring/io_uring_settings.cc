#include "backends/io_uring/io_uring_settings.hh"

#include <sched.h>

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace zc {

namespace {

using u = uring_settings;

constexpr setting_key keys[] = {
    integer_setting<&u::entries>("entries", 8, 32768,
                                 "submission queue slots; the completion queue gets 4x"),
    integer_setting<&u::buffers>(
        "buffers", 16, 32768, "provided receive buffers per worker (rounded up to a power of two)"),
    integer_setting<&u::buffer_size>("buffer_size", 512, 1 << 20,
                                     "bytes per provided receive buffer"),
    bool_setting<&u::sqpoll>(
        "sqpoll",
        "a kernel thread polls the submission queue: no system call to submit, but it burns a "
        "CPU while busy (its time is in zcserve's process CPU figures)"),
    duration_setting<&u::sq_thread_idle>(
        "sq_thread_idle", 1,
        "how long the polling thread spins with nothing to do before sleeping"),
    integer_setting<&u::sq_thread_cpu>(
        "sq_thread_cpu", -1, CPU_SETSIZE - 1,
        "CPU to pin the polling thread to; -1: a CPU no worker is pinned to, when there is "
        "one (else the scheduler chooses, and start-up warns)"),
    duration_setting<&u::sqpoll_spin>(
        "sqpoll_spin", 0,
        "with sqpoll, how long a worker polls for completions before it sleeps in "
        "io_uring_enter; it burns that CPU time to save the call"),
    integer_setting<&u::zc_min_bytes>(
        "zc_min_bytes", 0, std::int64_t{1} << 30,
        "send_zc sends bodies at least this big without a copy; smaller ones are copied, which "
        "costs less than pinning pages"),
    bool_setting<&u::fixed_files>(
        "fixed_files",
        "registered (direct) descriptors: connections are accepted into the ring's file table "
        "and never get a process descriptor, served files are registered there once; "
        "operations skip the descriptor table lookup"),
};

}  // namespace

constinit const engine_section uring_section{uring_settings::section, keys};

sq_placement place_sq_thread(const uring_settings& u, const std::vector<int>& allowed,
                             const std::vector<int>& worker_cpus, unsigned workers, int worker) {
  sq_placement out;
  if (u.sq_thread_cpu >= 0) {
    out.cpu = u.sq_thread_cpu;  // the operator's choice, taken as it is
    return out;
  }
  if (allowed.empty()) return out;  // the mask could not be read: the scheduler decides
  if (worker_cpus.empty()) {
    // Unpinned workers float over every allowed CPU: the pollers can have
    // time of their own only if there are more CPUs than workers.
    if (allowed.size() > workers) return out;
    out.shares_a_cpu = true;
    out.note = fmt::format(
        "io.uring.sqpoll: this process may run on {} CPU{} ({}) for {} worker{} and as many "
        "polling threads, so each poller takes turns with a worker and costs more than the "
        "calls it saves; give the pollers CPUs of their own (server.cpu_affinity for the "
        "workers, more CPUs) or leave sqpoll off",
        allowed.size(), allowed.size() == 1 ? "" : "s", fmt::join(allowed, ","), workers,
        workers == 1 ? "" : "s");
    return out;
  }
  std::vector<int> spare;
  for (int c : allowed)
    if (std::find(worker_cpus.begin(), worker_cpus.end(), c) == worker_cpus.end())
      spare.push_back(c);
  if (spare.empty()) {
    out.shares_a_cpu = true;
    out.note = fmt::format(
        "io.uring.sqpoll: every CPU this process may run on ({}) has a worker pinned to it, so "
        "each polling thread takes turns with a worker and costs more than the calls it "
        "saves; leave a CPU free of workers in server.cpu_affinity, name one with "
        "io.uring.sq_thread_cpu, or leave sqpoll off",
        fmt::join(allowed, ","));
    return out;
  }
  out.cpu = spare[static_cast<std::size_t>(worker) % spare.size()];
  out.note = fmt::format(
      "io_uring: worker {}'s polling thread on CPU {}, which no worker is "
      "pinned to",
      worker, out.cpu);
  return out;
}

}  // namespace zc
