#pragma once

#include "backends/sender.hh"

namespace zc {

// The file is mapped once per cache entry; head and body leave in one
// gather write straight from the mapping. The body crosses user space once
// (the kernel copies out of the mapping). The server never reads the
// mapping itself, so a truncated file cannot raise SIGBUS here: the
// kernel's copy fails with EFAULT instead. The kernel-socket executors
// check with one fstat before each write that the file still holds the
// bytes about to be sent, because the part of the last page past a new end
// of file reads as zeros, not as a fault (dpdk's stack, which reads the
// mapping itself, guards its pages instead: dpdk/page_guard.hh).
class mmap_sender final : public sender {
 public:
  using sender::sender;
  sender_kind kind() const noexcept override { return sender_kind::mmap; }
  plan next(reply& r, send_state& st) override;
};

}  // namespace zc
