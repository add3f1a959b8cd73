#pragma once

#include "backends/sender.hh"
#include "server/core/config.hh"

namespace zc {

// The file is mapped once per cache entry; head and body leave in one
// writev straight from the mapping. The body crosses user space once (the
// kernel copies out of the mapping). The server never reads the mapping
// itself, so a truncated file cannot raise SIGBUS here: the kernel's copy
// fails with EFAULT instead. One fstat before each write checks the file
// still holds the bytes about to be sent, because the part of the last page
// past a new end of file reads as zeros, not as a fault.
class mmap_sender final : public sender {
 public:
  explicit mmap_sender(const config& cfg) : chunk_(cfg.io.chunk_bytes) {}
  sender_kind kind() const noexcept override { return sender_kind::mmap; }
  send_result send(int sock, reply& r) override;

 private:
  std::size_t chunk_;
};

}  // namespace zc
