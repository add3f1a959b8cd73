#include "backends/senders/sendfile.hh"

#include <sys/socket.h>
#include <sys/uio.h>

#include "backends/senders/staging.hh"
#include "backends/sys/counted.hh"

namespace zc {

send_result sendfile_sender::send(int sock, reply& r) {
  if (r.body != body_kind::file) {
    // Head and an in-memory body (an error page) in one gather write.
    while (!r.done()) {
      iovec iov[2];
      int cnt = 0;
      if (!r.head_done()) iov[cnt++] = {r.head.data() + r.head_sent, r.head.size() - r.head_sent};
      if (r.body_sent < r.length)
        iov[cnt++] = {const_cast<char*>(r.memory.data()) + r.body_sent, r.length - r.body_sent};
      ssize_t n = sys::writev(sock, iov, cnt);
      if (n < 0) return from_errno("writev");
      senders::account(r, static_cast<std::size_t>(n));
    }
    return done();
  }
  while (!r.head_done()) {
    ssize_t n = sys::send(sock, r.head.data() + r.head_sent, r.head.size() - r.head_sent,
                          MSG_MORE | MSG_NOSIGNAL);
    if (n < 0) return from_errno("send");
    r.head_sent += static_cast<std::size_t>(n);
  }
  while (r.body_sent < r.length) {
    // off_t is 64-bit here, so files over 2 GiB work; each call moves at
    // most one chunk (the kernel itself caps a call near 2 GiB).
    off_t off = static_cast<off_t>(r.offset + r.body_sent);
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(r.length - r.body_sent, chunk_));
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
