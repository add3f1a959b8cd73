#include "backends/senders/pipe_pool.hh"

#include <fcntl.h>

#include <algorithm>

#include "backends/sys/counted.hh"

namespace zc {

namespace {
// Idle pipes kept per worker; more than this are closed when returned.
constexpr std::size_t max_idle = 256;
constexpr std::size_t max_pipe = 1 << 20;
}  // namespace

pipe_pool::pipe_pool(int pipe_flags, std::size_t want_bytes) noexcept
    : flags_(pipe_flags), want_(static_cast<int>(std::min(want_bytes, max_pipe))) {}

pipe_pool::~pipe_pool() {
  for (auto [rd, wr] : idle_) {
    sys::close(rd);
    sys::close(wr);
  }
}

bool pipe_pool::acquire(send_scratch& s) noexcept {
  if (s.pipe_rd >= 0) return true;
  if (!idle_.empty()) {
    std::tie(s.pipe_rd, s.pipe_wr) = idle_.back();
    idle_.pop_back();
    s.in_pipe = 0;
    return true;
  }
  int fds[2];
  if (sys::pipe2(fds, flags_ | O_CLOEXEC) != 0) return false;
  // A pipe holds 64 KiB by default; a bigger one halves the splice pairs
  // for large files.
  if (int got = sys::fcntl(fds[1], F_SETPIPE_SZ, want_); got > 0)
    pipe_size_ = static_cast<std::size_t>(got);
  s.pipe_rd = fds[0];
  s.pipe_wr = fds[1];
  s.in_pipe = 0;
  return true;
}

void pipe_pool::release(send_scratch& s) noexcept {
  if (s.pipe_rd < 0) return;
  if (s.in_pipe == 0 && idle_.size() < max_idle) {
    idle_.emplace_back(s.pipe_rd, s.pipe_wr);
  } else {
    sys::close(s.pipe_rd);
    sys::close(s.pipe_wr);
  }
  s.pipe_rd = s.pipe_wr = -1;
  s.in_pipe = 0;
}

}  // namespace zc
