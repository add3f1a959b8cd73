#pragma once

// io_uring's executor of the senders' steps (backends/senders/steps.hh):
// a reply's bytes reach a socket as submitted operations, not calls. The
// executor asks the sender for the next steps of a reply and prepares them
// (one to three operations, linked) into the submission queue; the engine
// submits them with the loop's single io_uring_enter and hands each
// completion back. Progress lives in the reply, so a short send resumes at
// exactly the next byte: the sender's next steps start from it.

#include <liburing.h>

#include <memory>
#include <string_view>

#include "backends/sender.hh"
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
// head -> file -> pipe -> socket's two splices): one per step of a plan.
// The engine makes room for this many before the executor prepares a step: a chain must enter the
// ring whole, because a submission that ends inside a chain ends the chain there, and its parts
// would then run unordered (a send of a staging buffer before the read that fills it, a body before
// its head).
inline constexpr unsigned max_step_ops = plan::max_steps;

// The operations of one step, in submission (and completion) order.
struct step_ops {
  op ops[max_step_ops];
  std::uint8_t count = 0;
  std::uint8_t done = 0;
  std::uint64_t want[max_step_ops] = {};  // bytes asked of each operation
};

// Per-connection scratch the io_uring executor needs beyond send_scratch;
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
// name for a served file. While the executor prepares a step, get() never
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

// Carries a sender's steps out as linked operations: one executor per
// engine, over the one sender the engine was made with.
class executor {
 public:
  executor(sender& s, const config& cfg);

  // Queues the next steps of `r` on `sock`, every operation tagged with
  // `user_data`: at most max_step_ops, linked. Returns the number of
  // operations queued; 0 when the current part is out; -1 with *err set
  // (errno, 0 for "file ended") when it cannot go on. Nothing is queued
  // then: what may fail is checked before the first entry is taken.
  int prep(sqe_source& q, fd_ref sock, reply& r, send_state& st, uring_scratch& u,
           std::uint64_t user_data, int* err);

  // One completion of the step, in order.
  result complete(reply& r, send_state& st, uring_scratch& u, const io_uring_cqe& cqe);

 private:
  sender& sender_;
  std::size_t zc_min_bytes_;  // io.uring.zc_min_bytes: a smaller body is copied
};

}  // namespace zc::uring
