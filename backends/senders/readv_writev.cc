#include "backends/senders/readv_writev.hh"

#include <sys/uio.h>

#include "backends/senders/staging.hh"
#include "server/sys/counted.hh"

namespace zc {

using senders::stage_status;

send_result readv_writev_sender::send(int sock, reply& r) {
  send_scratch& s = r.scratch;
  while (!r.done()) {
    iovec iov[2];
    int cnt = 0;
    if (!r.head_done()) iov[cnt++] = {r.head.data() + r.head_sent, r.head.size() - r.head_sent};
    if (r.body == body_kind::memory && r.body_sent < r.length) {
      iov[cnt++] = {const_cast<char*>(r.memory.data()) + r.body_sent, r.length - r.body_sent};
    } else if (r.body == body_kind::file && r.body_sent < r.length) {
      stage_status st = senders::stage_file(r, chunk_);
      if (st == stage_status::failed) return {send_status::failed, errno, "pread"};
      if (st == stage_status::file_ended) return file_ended("pread");
      iov[cnt++] = {s.buf.get() + s.buf_off, s.buf_len - s.buf_off};
    }
    ssize_t n = sys::writev(sock, iov, cnt);
    if (n < 0) return from_errno("writev");
    const std::size_t body = senders::account(r, static_cast<std::size_t>(n));
    if (r.body == body_kind::file) {
      s.buf_off += body;
      senders::note_body_copied(body);
    }
  }
  return done();
}

}  // namespace zc
