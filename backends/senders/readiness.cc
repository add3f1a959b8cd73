#include "backends/senders/readiness.hh"

#include "backends/senders/mmap.hh"
#include "backends/senders/read_write.hh"
#include "backends/senders/readv_writev.hh"
#include "backends/senders/sendfile.hh"
#include "backends/senders/splice.hh"
#include "backends/senders/staging.hh"
#include "server/sys/counted.hh"

namespace zc {

send_result sender::write_head_and_memory(int sock, reply& r) noexcept {
  while (!r.done()) {
    iovec iov[2];
    int cnt = 0;
    if (!r.head_done()) iov[cnt++] = {r.head.data() + r.head_sent, r.head.size() - r.head_sent};
    if (r.body == body_kind::memory && r.body_sent < r.length)
      iov[cnt++] = {const_cast<char*>(r.memory.data()) + r.body_sent, r.length - r.body_sent};
    ssize_t n = sys::writev(sock, iov, cnt);
    if (n < 0) return from_errno("writev");
    senders::account(r, static_cast<std::size_t>(n));
  }
  return done();
}

send_result sender::send_head_more(int sock, reply& r) noexcept {
  while (!r.head_done()) {
    ssize_t n = sys::send(sock, r.head.data() + r.head_sent, r.head.size() - r.head_sent,
                          MSG_MORE | MSG_NOSIGNAL);
    if (n < 0) return from_errno("send");
    r.head_sent += static_cast<std::size_t>(n);
  }
  return done();
}

std::unique_ptr<sender> make_readiness_sender(sender_kind kind, const config& cfg,
                                              bool shared_by_threads) {
  // No default: a kind added to kinds.def must be decided here (-Wswitch).
  switch (kind) {
    case sender_kind::read_write:
      return std::make_unique<read_write_sender>(cfg);
    case sender_kind::readv_writev:
      return std::make_unique<readv_writev_sender>(cfg);
    case sender_kind::mmap:
      return std::make_unique<mmap_sender>(cfg);
    case sender_kind::sendfile:
      return std::make_unique<sendfile_sender>(cfg);
    case sender_kind::splice:
      return std::make_unique<splice_sender>(cfg, shared_by_threads);
    case sender_kind::send_zc:
      return nullptr;  // completion engines only
  }
  return nullptr;
}

}  // namespace zc
