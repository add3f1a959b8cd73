#pragma once

// The pipes a splice sender moves bodies through: one borrowed per reply
// (send_scratch::pipe_rd/pipe_wr) and given back empty; a pipe still
// holding bytes when its reply ends is closed, never reused. Shared by the
// readiness splice sender (non-blocking pipes) and io_uring's (blocking
// pipes: its splices run in io-wq workers, which may block).

#include <cstddef>
#include <utility>
#include <vector>

#include "server/reply.hh"

namespace zc {

class pipe_pool {
 public:
  // `pipe_flags`: extra pipe2 flags (O_NONBLOCK); each pipe is asked to hold
  // `want_bytes`, at most 1 MiB (the default /proc/sys/fs/pipe-max-size).
  pipe_pool(int pipe_flags, std::size_t want_bytes) noexcept;
  ~pipe_pool();
  pipe_pool(const pipe_pool&) = delete;
  pipe_pool& operator=(const pipe_pool&) = delete;

  // Gives `s` a pipe unless it has one; false with errno set when none can
  // be made.
  bool acquire(send_scratch& s) noexcept;
  // Takes `s`'s pipe back (to the pool if empty, else closed).
  void release(send_scratch& s) noexcept;
  // What one pipe holds: the size granted to the last pipe made.
  std::size_t pipe_size() const noexcept { return pipe_size_; }

 private:
  int flags_;
  int want_;
  std::size_t pipe_size_ = 65536;          // a pipe's default capacity
  std::vector<std::pair<int, int>> idle_;  // empty pipes (read end, write end)
};

}  // namespace zc
