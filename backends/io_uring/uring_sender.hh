#pragma once

// How a reply's bytes reach a socket on io_uring: as submitted operations,
// not calls. A sender prepares the next step of a reply (one to three
// linked operations) into the submission queue; the engine submits it with
// the loop's single io_uring_enter and hands each completion back. Progress
// lives in the reply, so a short send resumes at exactly the next byte.

#include <liburing.h>

#include <memory>
#include <string_view>

#include "backends/senders/kinds.hh"
#include "server/core/config.hh"
#include "server/core/file_cache.hh"
#include "server/core/reply.hh"

namespace zc::uring {

// What one prepared operation was, so its completion can be interpreted.
enum class op : std::uint8_t {
  read_file,    // file -> staging buffer
  send_head,    // head bytes
  send_memory,  // head and/or memory body, gathered
  send_staged,  // staging buffer -> socket
  send_gather,  // head + staged or mapped body, one writev/sendmsg
  send_mapped,  // mapped body, copied by the kernel
  send_zc,      // mapped body, zero-copy
  splice_in,    // file -> pipe
  splice_out,   // pipe -> socket
};

// The most operations one step links together (read -> head -> body, or
// head -> file -> pipe -> socket's two splices). The engine makes room for
// this many before a sender prepares a step: a chain must enter the ring
// whole, because a submission that ends inside a chain ends the chain there,
// and its parts would then run unordered (a send of a staging buffer before
// the read that fills it, a body before its head).
inline constexpr unsigned max_step_ops = 3;

// The operations of one step, in submission (and completion) order.
struct step_ops {
  op ops[max_step_ops];
  std::uint8_t count = 0;
  std::uint8_t done = 0;
  std::uint64_t want[max_step_ops] = {};  // bytes asked of each operation
};

// Per-connection scratch the io_uring senders need beyond send_scratch;
// it must stay put while operations that point into it are in flight.
struct uring_scratch {
  step_ops step;
  iovec iov[2];
};

enum class result : std::uint8_t { ok, failed };

// A descriptor as an operation names it: an ordinary one, or a slot of the
// ring's registered (fixed) file table.
struct fd_ref {
  int fd = -1;
  bool fixed = false;
};

// Makes `sqe`'s own descriptor (sqe->fd) a fixed-table slot when `f` is one.
inline void target(io_uring_sqe* sqe, fd_ref f) noexcept {
  if (f.fixed) sqe->flags |= IOSQE_FIXED_FILE;
}

// Supplies submission queue entries and the descriptor an operation should
// name for a served file. While a sender prepares a step, get() never
// submits: room for max_step_ops entries was made before prep() was called.
class sqe_source {
 public:
  virtual io_uring_sqe* get() = 0;
  // The file's slot in the fixed table (registered on first use) or, without
  // registered files or with the table full, its ordinary descriptor.
  virtual fd_ref file(cached_file& f) = 0;

 protected:
  ~sqe_source() = default;
};

class uring_sender {
 public:
  virtual ~uring_sender() = default;
  // Which sender this is (kinds.def), and the config value that selects it.
  virtual sender_kind kind() const noexcept = 0;
  std::string_view name() const noexcept { return sender_name(kind()); }

  // Queues the next step of `r` on `sock`, every operation tagged with
  // `user_data`: at most max_step_ops, linked. Returns the number of
  // operations queued; 0 when the reply is complete. Sets *err (errno, 0 for
  // "file ended") when it cannot go on.
  virtual int prep(sqe_source& q, fd_ref sock, reply& r, uring_scratch& u, std::uint64_t user_data,
                   int* err) = 0;

  // One completion of the step, in order.
  virtual result complete(reply& r, uring_scratch& u, const io_uring_cqe& cqe) = 0;

  virtual void release(send_scratch& /*s*/) noexcept {}
};

// nullptr for a kind io_uring does not drive.
std::unique_ptr<uring_sender> make_sender(sender_kind kind, const config& cfg);

}  // namespace zc::uring
