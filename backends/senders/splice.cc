#include "backends/senders/splice.hh"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "backends/senders/sendfile.hh"
#include "backends/senders/staging.hh"
#include "server/sys/counted.hh"

namespace zc {

splice_sender::splice_sender(const config& cfg, bool shared_by_threads)
    : pipes_(O_NONBLOCK, cfg.io.chunk_bytes, pipes_per_worker(cfg.server.workers),
             shared_by_threads),
      chunk_(cfg.io.chunk_bytes) {}

send_result splice_sender::send(int sock, reply& r) {
  if (r.body != body_kind::file) return write_head_and_memory(sock, r);
  if (send_result h = send_head_more(sock, r); h.status != send_status::done) return h;
  send_scratch& s = r.scratch;
  if (!pipes_.acquire(s)) {
    // Every pipe of the pool is lent (EAGAIN), or the process is out of
    // descriptors for a new one: this call sends by sendfile instead, still
    // without copying the body through user space, rather than fail the
    // reply or park it until a pipe comes back. Nothing sits in a pipe
    // (in_pipe is 0 without one), so the next call may splice again from
    // r.body_sent if a pipe is free by then.
    if (errno == EAGAIN || errno == EMFILE || errno == ENFILE)
      return sendfile_sender::send_body(sock, r, chunk_);
    return {send_status::failed, errno, "pipe2"};
  }
  while (r.body_sent < r.length) {
    const std::uint64_t unsent = r.length - r.body_sent;
    if (s.in_pipe == 0) {
      loff_t off = static_cast<loff_t>(r.offset + r.body_sent);
      const std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(unsent, pipes_.pipe_size()));
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
