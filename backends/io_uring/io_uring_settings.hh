#pragma once

// [io.uring]: the io_uring engine's own settings, and its keys. Compiled
// whether or not the engine is: a config file reads the same on every build
// (docs/architecture.md, "Adding an engine").

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "backends/engine_keys.hh"

namespace zc {

struct uring_settings {
  static constexpr std::string_view section = "io.uring";

  unsigned entries = 1024;         // submission queue slots; the completion queue has 4x
  unsigned buffers = 1024;         // provided receive buffers per worker (a power of two)
  std::size_t buffer_size = 4096;  // bytes per provided buffer
  bool sqpoll = false;             // a kernel thread polls the submission queue
  std::chrono::milliseconds sq_thread_idle{1000};  // idle time before it sleeps
  int sq_thread_cpu = -1;  // CPU for the polling thread; -1: the scheduler picks
  // with sqpoll: poll for completions this long before sleeping in the kernel
  std::chrono::milliseconds sqpoll_spin{1};
  std::size_t zc_min_bytes = 16384;  // send_zc: smaller bodies are copied (cheaper)
  // sockets accepted straight into the ring's file table, files registered there
  bool fixed_files = false;
};

// [io.uring] and its keys, in --help order.
extern const engine_section uring_section;

// Where worker `worker`'s submission-queue polling thread runs. A poller
// that shares a CPU with a worker takes turns with it, and then costs more
// than the system calls it saves; so with io.uring.sq_thread_cpu = -1 each
// poller goes to a CPU the process may use that no worker is pinned to
// (round robin over them), and when there is none it is left to the
// scheduler with a note that says so. `allowed`: the CPUs the process may
// run on; `worker_cpus`: server.cpu_affinity (worker i on [i % n]; empty
// when workers are not pinned).
struct sq_placement {
  int cpu = -1;               // for IORING_SETUP_SQ_AFF; -1: the scheduler's choice
  std::string note;           // why, for the log; empty when nothing needs saying
  bool shares_a_cpu = false;  // the pollers have no CPU of their own
};
sq_placement place_sq_thread(const uring_settings& u, const std::vector<int>& allowed,
                             const std::vector<int>& worker_cpus, unsigned workers, int worker);

}  // namespace zc
