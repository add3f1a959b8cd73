#pragma once

// Figures, gathered without disturbing a worker: the wrapper layer's counts
// (read from memory the workers write), the kernel's syscall counters
// (perf_event_open), context switches and CPU time per worker thread from
// /proc/self/task/<tid> (the same fields getrusage(RUSAGE_THREAD) reports,
// but readable from another thread), and the process's from
// getrusage(RUSAGE_SELF), which also covers threads the kernel runs for the
// process (io_uring's SQPOLL thread, io-wq workers).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/sys/counted.hh"

namespace zc {

struct thread_figures {
  std::array<std::uint64_t, sys::call_count> calls{};
  std::uint64_t wrapper_calls = 0;
  std::optional<std::uint64_t> kernel_calls;  // nullopt: no kernel counter
  std::uint64_t voluntary_switches = 0;
  std::uint64_t involuntary_switches = 0;
  double user_seconds = 0;
  double system_seconds = 0;
  std::uint64_t requests = 0;
  std::array<std::uint64_t, 5> responses{};
  std::uint64_t bytes_sent = 0;
  std::uint64_t copied_to_user = 0;
  std::uint64_t copied_from_user = 0;
  std::uint64_t copied_in_user = 0;
  std::uint64_t body_copied = 0;
  std::uint64_t uring_submitted = 0;

  void add(const thread_figures& o);
  // Calls the kernel saw that the wrapper layer did not: made inside
  // libraries (glibc, spdlog, a driver) or by code that bypasses the layer.
  std::uint64_t library_calls() const noexcept {
    return kernel_calls && *kernel_calls > wrapper_calls ? *kernel_calls - wrapper_calls : 0;
  }
};

struct process_figures {
  std::optional<std::uint64_t> kernel_calls;  // every thread, inherited counter
  std::uint64_t voluntary_switches = 0;
  std::uint64_t involuntary_switches = 0;
  double user_seconds = 0;
  double system_seconds = 0;
};

struct snapshot {
  std::int64_t at_ms = 0;               // monotonic
  std::vector<thread_figures> workers;  // index = worker id
  thread_figures others;                // threads that are not workers (main, set-up)
  thread_figures total;                 // workers + others
  process_figures process;
};

// Opens the process-wide kernel counter. Call on the main thread before any
// other thread starts, so that every later thread inherits it.
void open_process_counter();

snapshot take_snapshot(unsigned workers);

// Figures per request between two snapshots (or since start, with an empty
// `before`).
struct per_request {
  double seconds = 0;
  std::uint64_t requests = 0;
  double syscalls = 0;                            // wrapper count, all threads
  std::optional<double> kernel_syscalls;          // kernel count, worker threads
  std::optional<double> process_kernel_syscalls;  // kernel count, whole process
  double library_syscalls = 0;
  double context_switches = 0;  // worker threads, voluntary + involuntary
  double voluntary_switches = 0;
  double involuntary_switches = 0;
  double cpu_us = 0;          // worker threads, user + system
  double process_cpu_us = 0;  // whole process, kernel threads working for it included
  double copied_bytes = 0;    // both directions, and within user space
  double body_copied_bytes = 0;
  double sent_bytes = 0;
  double uring_ops_per_enter = 0;  // io_uring operations each io_uring_enter carried
  std::array<double, sys::call_count> calls{};
};
per_request per_request_between(const snapshot& before, const snapshot& after);

struct metrics_labels {
  std::string engine;
  std::string sender;
  std::string version;
};

// Prometheus text exposition format 0.0.4.
std::string prometheus_text(const snapshot& s, const metrics_labels& labels);

// The same figures as JSON, with per-request figures over the server's life
// and over the window.
std::string stats_json(const snapshot& s, const snapshot& start, const snapshot& window_start,
                       const metrics_labels& labels);

// The table printed at exit and on SIGUSR1.
std::string exit_table(const snapshot& s, const snapshot& start);

}  // namespace zc
