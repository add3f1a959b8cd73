#include "backends/senders/sendfile.hh"

#include <sys/socket.h>
#include <sys/uio.h>

#include "backends/senders/staging.hh"
#include "server/sys/counted.hh"

namespace zc {

send_result sendfile_sender::send(int sock, reply& r) {
  if (r.body != body_kind::file) return write_head_and_memory(sock, r);
  if (send_result h = send_head_more(sock, r); h.status != send_status::done) return h;
  return send_body(sock, r, chunk_);
}

send_result sendfile_sender::send_body(int sock, reply& r, std::size_t chunk) noexcept {
  while (r.body_sent < r.length) {
    // off_t is 64-bit here, so files over 2 GiB work; each call moves at
    // most one chunk (the kernel itself caps a call near 2 GiB).
    off_t off = static_cast<off_t>(r.offset + r.body_sent);
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(r.length - r.body_sent, chunk));
    ssize_t n = sys::sendfile(sock, r.file->fd.get(), &off, want);
    if (n < 0) return from_errno("sendfile");
    // 0 before the promised length: the file shrank.
    if (n == 0) return file_ended("sendfile");
    // A short count is not proof of a full socket: the file may have
    // shrunk under the range. Go round again; EAGAIN or 0 tells which.
    r.body_sent += static_cast<std::uint64_t>(n);
  }
  return done();
}

}  // namespace zc
