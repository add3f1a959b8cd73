#pragma once

// The pipes a splice sender moves bodies through: one borrowed per reply
// (send_state::pipe_rd/pipe_wr) and given back empty; a pipe still
// holding bytes when its reply ends is closed, never reused. Shared by the
// readiness splice sender (non-blocking pipes) and io_uring's (blocking
// pipes: its splices run in io-wq workers, which may block).
//
// A pool may be bounded: it then never holds more than `max_pipes` pipes,
// lent and idle together, so a worker's pipes cost a fixed share of
// RLIMIT_NOFILE (pipes_per_worker(), reserved by plan_descriptors()), not
// two descriptors per connection. A reply that finds the pool exhausted is
// not failed: acquire() says so with EAGAIN and the sender takes a path
// without a pipe for that call.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "backends/senders/send_state.hh"

namespace zc {

// Pipes one worker's pool may hold under a descriptor limit of `nofile`
// shared by `workers` workers: 1/128 of the limit, at least 2 and at most
// 1024 pipes. Enough for every reply in flight on a busy worker to have
// one (a pipe is lent for one reply, not for a connection's life), small
// enough that connections keep nearly all descriptors.
std::size_t pipes_per_worker(std::uint64_t nofile, unsigned workers) noexcept;
// The same under this process's RLIMIT_NOFILE now (main has raised it).
std::size_t pipes_per_worker(unsigned workers) noexcept;

class pipe_pool {
 public:
  // `pipe_flags`: extra pipe2 flags (O_NONBLOCK); each pipe is asked to hold
  // `want_bytes`, at most 1 MiB (the default /proc/sys/fs/pipe-max-size).
  // `max_pipes` 0: unbounded. `threads`: several threads borrow from it
  // (the blocking engine's connection threads), so it takes a lock.
  pipe_pool(int pipe_flags, std::size_t want_bytes, std::size_t max_pipes = 0,
            bool threads = false) noexcept;
  ~pipe_pool();
  pipe_pool(const pipe_pool&) = delete;
  pipe_pool& operator=(const pipe_pool&) = delete;

  // Gives `s` a pipe unless it has one; false with errno set when none can
  // be had: EAGAIN when the pool is at its bound, else pipe2's errno.
  bool acquire(send_state& s) noexcept;
  // Takes `s`'s pipe back (to the pool if empty, else closed).
  void release(send_state& s) noexcept;
  // What one pipe holds: the size granted to the last pipe made.
  std::size_t pipe_size() const noexcept { return pipe_size_.load(std::memory_order_relaxed); }

 private:
  bool acquire_locked(send_state& s) noexcept;
  void release_locked(send_state& s) noexcept;

  int flags_;
  int want_;
  std::size_t max_;  // 0: unbounded
  bool threads_;
  std::size_t alive_ = 0;  // pipes made and not closed: lent plus idle
  // A pipe's default capacity, until F_SETPIPE_SZ grants more. Atomic only
  // so that a shared pool's threads may read it outside the lock: a plain
  // load and store, no locked instruction.
  std::atomic<std::size_t> pipe_size_{65536};
  std::vector<std::pair<int, int>> idle_;  // empty pipes (read end, write end)
  std::mutex mu_;                          // taken only when threads_
};

}  // namespace zc
