#include "backends/senders/read_write.hh"

#include "backends/senders/staging.hh"
#include "server/sys/counted.hh"

namespace zc {

using senders::stage_status;

send_result read_write_sender::send(int sock, reply& r) {
  // Read before the head leaves, so that a request served with nothing
  // written yet has its first chunk staged.
  if (r.body == body_kind::file && r.head_sent == 0) {
    stage_status st = senders::stage_file(r, chunk_);
    if (st == stage_status::failed) return {send_status::failed, errno, "pread"};
    if (st == stage_status::file_ended) return file_ended("pread");
  }
  while (!r.head_done()) {
    ssize_t n = sys::write(sock, r.head.data() + r.head_sent, r.head.size() - r.head_sent);
    if (n < 0) return from_errno("write");
    r.head_sent += static_cast<std::size_t>(n);
  }
  if (r.body == body_kind::memory) {
    while (r.body_sent < r.length) {
      ssize_t n = sys::write(sock, r.memory.data() + r.body_sent, r.length - r.body_sent);
      if (n < 0) return from_errno("write");
      r.body_sent += static_cast<std::uint64_t>(n);
    }
    return done();
  }
  send_scratch& s = r.scratch;
  while (r.body_sent < r.length) {
    stage_status st = senders::stage_file(r, chunk_);
    if (st == stage_status::failed) return {send_status::failed, errno, "pread"};
    if (st == stage_status::file_ended) return file_ended("pread");
    ssize_t n = sys::write(sock, s.buf.get() + s.buf_off, s.buf_len - s.buf_off);
    if (n < 0) return from_errno("write");
    s.buf_off += static_cast<std::size_t>(n);
    r.body_sent += static_cast<std::uint64_t>(n);
    senders::note_body_copied(static_cast<std::size_t>(n));
  }
  return done();
}

}  // namespace zc
