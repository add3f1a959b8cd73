#include "backends/senders/pipe_pool.hh"

#include <fcntl.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>

#include "server/sys/counted.hh"

namespace zc {

namespace {
// Idle pipes kept by an unbounded pool; more than this are closed when
// returned. A bounded pool keeps every pipe it may have.
constexpr std::size_t max_idle = 256;
constexpr std::size_t max_pipe = 1 << 20;
}  // namespace

std::size_t pipes_per_worker(std::uint64_t nofile, unsigned workers) noexcept {
  const std::uint64_t share = nofile / 128 / std::max(1u, workers);
  return static_cast<std::size_t>(std::clamp<std::uint64_t>(share, 2, 1024));
}

std::size_t pipes_per_worker(unsigned workers) noexcept {
  rlimit r{};
  const bool known = ::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur != RLIM_INFINITY;
  return pipes_per_worker(known ? r.rlim_cur : std::uint64_t{1} << 20, workers);
}

pipe_pool::pipe_pool(int pipe_flags, std::size_t want_bytes, std::size_t max_pipes,
                     bool threads) noexcept
    : flags_(pipe_flags),
      want_(static_cast<int>(std::min(want_bytes, max_pipe))),
      max_(max_pipes),
      threads_(threads) {}

pipe_pool::~pipe_pool() {
  for (auto [rd, wr] : idle_) {
    sys::close(rd);
    sys::close(wr);
  }
}

bool pipe_pool::acquire(send_state& s) noexcept {
  if (s.pipe_rd >= 0) return true;
  if (!threads_) return acquire_locked(s);
  std::lock_guard lock(mu_);
  return acquire_locked(s);
}

bool pipe_pool::acquire_locked(send_state& s) noexcept {
  if (!idle_.empty()) {
    std::tie(s.pipe_rd, s.pipe_wr) = idle_.back();
    idle_.pop_back();
    s.in_pipe = 0;
    return true;
  }
  if (max_ != 0 && alive_ >= max_) {
    errno = EAGAIN;
    return false;
  }
  int fds[2];
  if (sys::pipe2(fds, flags_ | O_CLOEXEC) != 0) return false;
  ++alive_;
  // A pipe holds 64 KiB by default; a bigger one halves the splice pairs
  // for large files.
  if (int got = sys::fcntl(fds[1], F_SETPIPE_SZ, want_); got > 0)
    pipe_size_.store(static_cast<std::size_t>(got), std::memory_order_relaxed);
  s.pipe_rd = fds[0];
  s.pipe_wr = fds[1];
  s.in_pipe = 0;
  return true;
}

void pipe_pool::release(send_state& s) noexcept {
  if (s.pipe_rd < 0) return;
  if (!threads_) return release_locked(s);
  std::lock_guard lock(mu_);
  release_locked(s);
}

void pipe_pool::release_locked(send_state& s) noexcept {
  if (s.in_pipe == 0 && (max_ != 0 || idle_.size() < max_idle)) {
    idle_.emplace_back(s.pipe_rd, s.pipe_wr);
  } else {
    sys::close(s.pipe_rd);
    sys::close(s.pipe_wr);
    --alive_;
  }
  s.pipe_rd = s.pipe_wr = -1;
  s.in_pipe = 0;
}

}  // namespace zc
