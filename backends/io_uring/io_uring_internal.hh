#pragma once

// What the io_uring engine's files share (io_uring_probe.cc: what the
// kernel can do; io_uring_ring.cc: submission and the provided buffers;
// io_uring_files.cc: descriptors, fixed files, shutdown and close;
// io_uring_engine.cc: the loop, completions, and the port the shared
// driver drives each connection through).
// Not for use outside backends/io_uring/.

#include <liburing.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backends/io_uring/io_uring_engine.hh"
#include "server/sys/counted.hh"

namespace zc::uring_detail {

// Newer than the kernel headers this builds against; the number is ABI.
constexpr unsigned op_fixed_fd_install = 54;

// What this kernel's io_uring can do, probed once per process on a small
// throwaway ring.
struct features {
  std::string why_not;  // "" if the engine can run here
  bool ext_arg = false;
  bool defer_taskrun = false;
  bool coop_taskrun = false;
  bool multishot_accept = false;
  bool multishot_recv = false;
  bool buf_ring = false;
  bool send_zc = false;
  // Whether a SEND_ZC cancelled by a broken link still posts a notification
  // (its completion then carries no F_MORE to say so).
  bool zc_cancel_notifies = false;
  bool fixed_fd_install = false;  // IORING_OP_FIXED_FD_INSTALL (6.8)
  bool splice = false;
  bool sqpoll = false;
  std::string summary;
};

// The features of this kernel's io_uring, probed once per process.
const features& probe();

// What a completion is for, carried in its user_data: an operation of a
// connection (the connection's address, aligned to 16 bytes, with the kind
// in the low bits), one of the engine's own (the kind alone), or the close
// of a file slot (the slot number above the kind bits). Made and read only
// here, and taken apart by one switch (io_uring_engine::on_cqe).
class op_tag {
 public:
  enum kind : std::uint8_t {
    recv = 1,
    send,
    accept,
    wake,
    ignore,  // the engine's own fire-and-forget operations
    install,
    slot,
    shutdown,
  };
  static constexpr unsigned kind_bits = 4;

  static constexpr op_tag of(kind k) noexcept { return op_tag(k); }
  template <class Conn>
  static op_tag of(const Conn& c, kind k) noexcept {
    return op_tag(reinterpret_cast<std::uint64_t>(&c) | k);
  }
  static constexpr op_tag of_slot(int n) noexcept {
    return op_tag((static_cast<std::uint64_t>(n) << kind_bits) | slot);
  }
  static constexpr op_tag from(std::uint64_t bits) noexcept { return op_tag(bits); }

  constexpr std::uint64_t bits() const noexcept { return bits_; }
  constexpr kind what() const noexcept { return static_cast<kind>(bits_ & mask); }
  // The connection an operation is for; nullptr for the engine's own.
  template <class Conn>
  Conn* connection() const noexcept {
    return what() == slot ? nullptr : reinterpret_cast<Conn*>(bits_ & ~mask);
  }
  constexpr int slot_number() const noexcept { return static_cast<int>(bits_ >> kind_bits); }

 private:
  static constexpr std::uint64_t mask = (1u << kind_bits) - 1;
  constexpr explicit op_tag(std::uint64_t bits) noexcept : bits_(bits) {}
  std::uint64_t bits_;
};

// SO_LINGER 0: the close that drops the socket's last reference resets the
// connection and discards unsent data (and with it the kernel's hold on
// zero-copy pages) instead of sending it behind a FIN.
inline void reset_on_close(int fd) noexcept {
  const linger abort_now{1, 0};
  sys::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_now, sizeof abort_now);
}

// Provided buffers given to the kernel at start; more as connections hold them.
constexpr unsigned initial_buffers = 64;

inline unsigned round_up_pow2(unsigned v) {
  unsigned p = 1;
  while (p < v) p <<= 1;
  return p;
}

}  // namespace zc::uring_detail

namespace zc {

struct alignas(1u << uring_detail::op_tag::kind_bits) io_uring_engine::conn : driver_conn {
  using driver_conn::driver_conn;
  int fd = -1;
  uring::uring_scratch us;
  // Provided buffers not yet moved into proto, oldest first (notes_).
  std::int32_t backlog_head = -1;
  std::int32_t backlog_tail = -1;
  std::uint32_t backlog_count = 0;
  // Bytes the kernel received past the cap while the receive was being
  // stopped, copied out so that their provided buffers went back at once;
  // newer than the backlog. Rare, so made only then.
  struct spilled_input {
    std::string bytes;
    std::size_t off = 0;  // consumed
  };
  std::unique_ptr<spilled_input> spill;
  std::vector<file_ref> zc_hold;  // files whose pages zero-copy sends still pin
  std::uint32_t pending = 0;      // operations and notifications still to complete
  std::uint32_t step_left = 0;    // operations of the current send step still to complete
  std::uint32_t zc_notifs = 0;
  bool closing = false;  // the driver closed it; operations in flight still name it
  bool recv_armed = false;
  bool recv_paused = false;  // its receive is being cancelled: too many buffers held
  bool peer_eof = false;
  bool abort = false;      // close with a reset: a reply was cut short with pages pinned
  bool unwinding = false;  // socket closed, notifications still to come
};

}  // namespace zc
