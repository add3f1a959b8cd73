#pragma once

#include "backends/sender.hh"

namespace zc {

// The head goes with send(MSG_MORE), so the kernel holds it to share a
// segment with the body; sendfile then moves the body from the page cache
// to the socket without it ever entering user space.
class sendfile_sender final : public sender {
 public:
  using sender::sender;
  sender_kind kind() const noexcept override { return sender_kind::sendfile; }
  plan next(reply& r, send_state& /*st*/) override { return steps(r, chunk_); }
  // Also splice's path, when no pipe is free, on an engine with sendfile.
  static plan steps(const reply& r, std::size_t chunk) noexcept;
};

}  // namespace zc
