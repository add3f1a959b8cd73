#pragma once

#include "backends/sender.hh"

namespace zc {

// The textbook path: read the file into a buffer, write the head, write the
// body. Every body byte crosses user space twice (read in, written out).
class read_write_sender final : public sender {
 public:
  using sender::sender;
  sender_kind kind() const noexcept override { return sender_kind::read_write; }
  plan next(reply& r, send_state& /*st*/) override { return steps(r, chunk_); }
  // Also splice's path on an engine without sendfile, when no pipe is free.
  static plan steps(const reply& r, std::size_t chunk) noexcept;
};

}  // namespace zc
