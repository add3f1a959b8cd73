#include "backends/senders/splice.hh"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "backends/senders/staging.hh"
#include "backends/sys/counted.hh"

namespace zc {

namespace {
// Idle pipes kept per worker; more than this are closed when returned.
constexpr std::size_t max_pooled = 256;
// A pipe holds 64 KiB by default; a bigger one halves the splice pairs for
// large files. 1 MiB is the default /proc/sys/fs/pipe-max-size.
constexpr std::size_t max_pipe = 1 << 20;
}  // namespace

splice_sender::splice_sender(const config& cfg) : chunk_(cfg.io.chunk_bytes) {}

splice_sender::~splice_sender() {
  for (auto [rd, wr] : pool_) {
    sys::close(rd);
    sys::close(wr);
  }
}

bool splice_sender::acquire(send_scratch& s) noexcept {
  if (s.pipe_rd >= 0) return true;
  if (!pool_.empty()) {
    std::tie(s.pipe_rd, s.pipe_wr) = pool_.back();
    pool_.pop_back();
    s.in_pipe = 0;
    return true;
  }
  int fds[2];
  if (sys::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return false;
  const int want = static_cast<int>(std::min(chunk_, max_pipe));
  int got = sys::fcntl(fds[1], F_SETPIPE_SZ, want);
  if (got > 0) pipe_size_ = static_cast<std::size_t>(got);
  s.pipe_rd = fds[0];
  s.pipe_wr = fds[1];
  s.in_pipe = 0;
  return true;
}

void splice_sender::release(send_scratch& s) noexcept {
  if (s.pipe_rd < 0) return;
  if (s.in_pipe == 0 && pool_.size() < max_pooled) {
    pool_.emplace_back(s.pipe_rd, s.pipe_wr);
  } else {
    sys::close(s.pipe_rd);
    sys::close(s.pipe_wr);
  }
  s.pipe_rd = s.pipe_wr = -1;
  s.in_pipe = 0;
}

send_result splice_sender::send(int sock, reply& r) {
  if (r.body != body_kind::file) return write_head_and_memory(sock, r);
  if (send_result h = send_head_more(sock, r); h.status != send_status::done) return h;
  send_scratch& s = r.scratch;
  if (!acquire(s)) return {send_status::failed, errno, "pipe2"};
  while (r.body_sent < r.length) {
    const std::uint64_t unsent = r.length - r.body_sent;
    if (s.in_pipe == 0) {
      loff_t off = static_cast<loff_t>(r.offset + r.body_sent);
      const std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(unsent, pipe_size_));
      ssize_t n = sys::splice(r.file->fd.get(), &off, s.pipe_wr, nullptr, want,
                              SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n < 0) return {send_status::failed, errno, "splice"};
      if (n == 0) return file_ended("splice");
      s.in_pipe = static_cast<std::size_t>(n);
    }
    const unsigned more = unsent > s.in_pipe ? SPLICE_F_MORE : 0u;
    ssize_t n = sys::splice(s.pipe_rd, nullptr, sock, nullptr, s.in_pipe,
                            SPLICE_F_MOVE | SPLICE_F_NONBLOCK | more);
    if (n < 0) return from_errno("splice");
    s.in_pipe -= static_cast<std::size_t>(n);
    r.body_sent += static_cast<std::uint64_t>(n);
  }
  return done();
}

}  // namespace zc
