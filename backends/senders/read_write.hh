#pragma once

#include "backends/sender.hh"
#include "server/core/config.hh"

namespace zc {

// The textbook path: read the file into a buffer, write the head, write the
// body. Every body byte crosses user space twice (pread in, write out).
class read_write_sender final : public sender {
 public:
  explicit read_write_sender(const config& cfg) : chunk_(cfg.io.chunk_bytes) {}
  sender_kind kind() const noexcept override { return sender_kind::read_write; }
  send_result send(int sock, reply& r) override;

 private:
  std::size_t chunk_;
};

}  // namespace zc
