#pragma once

#include "backends/sender.hh"

namespace zc {

// One gather write carries the head and the first body chunk, saving the
// separate head write of read_write. The body still crosses user space
// twice (read in, written out).
class readv_writev_sender final : public sender {
 public:
  using sender::sender;
  sender_kind kind() const noexcept override { return sender_kind::readv_writev; }
  plan next(reply& r, send_state& st) override;
};

}  // namespace zc
