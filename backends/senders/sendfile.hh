#pragma once

#include "backends/sender.hh"
#include "server/core/config.hh"

namespace zc {

// The head goes with send(MSG_MORE), so the kernel holds it to share a
// segment with the body; sendfile then moves the body from the page cache
// to the socket without it ever entering user space.
class sendfile_sender final : public sender {
 public:
  explicit sendfile_sender(const config& cfg) : chunk_(cfg.io.chunk_bytes) {}
  sender_kind kind() const noexcept override { return sender_kind::sendfile; }
  send_result send(int sock, reply& r) override;
  // The body from r.body_sent on, by sendfile, in calls of at most `chunk`
  // bytes: also splice's path for a reply that finds no pipe to borrow.
  static send_result send_body(int sock, reply& r, std::size_t chunk) noexcept;

 private:
  std::size_t chunk_;
};

}  // namespace zc
