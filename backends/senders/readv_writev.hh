#pragma once

#include "backends/sender.hh"
#include "server/core/config.hh"

namespace zc {

// One gather write carries the head and the first body chunk, saving the
// separate head write of read_write. The body still crosses user space
// twice (pread in, writev out).
class readv_writev_sender final : public sender {
 public:
  explicit readv_writev_sender(const config& cfg) : chunk_(cfg.io.chunk_bytes) {}
  sender_kind kind() const noexcept override { return sender_kind::readv_writev; }
  send_result send(int sock, reply& r) override;

 private:
  std::size_t chunk_;
};

}  // namespace zc
