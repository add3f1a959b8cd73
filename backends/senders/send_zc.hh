#pragma once

#include "backends/sender.hh"

namespace zc {

// The head with MSG_MORE, then a zero-copy send of the mapped range: the
// kernel pins the pages and sends them, and says when it is done with them
// (the engine holds the file until then). Only a completion engine can
// hear that, so only io_uring drives it; it copies instead a body under
// io.uring.zc_min_bytes, its own setting (pinning pages and waiting for a
// notification costs more than copying a few kilobytes).
class send_zc_sender final : public sender {
 public:
  using sender::sender;
  sender_kind kind() const noexcept override { return sender_kind::send_zc; }
  plan next(reply& r, send_state& st) override;
};

}  // namespace zc
