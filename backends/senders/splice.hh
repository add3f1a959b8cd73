#pragma once

#include "backends/sender.hh"
#include "backends/senders/pipe_pool.hh"
#include "server/core/config.hh"

namespace zc {

// File to pipe to socket: splice moves page references, not bytes, so the
// body never enters user space. A connection borrows a pipe from the
// worker's pool for the length of one reply and gives it back empty; a pipe
// still holding bytes when its connection dies is closed, never reused.
// The pool is bounded (pipes_per_worker()); a reply that finds it empty
// goes by sendfile until a pipe is free, so it is neither failed nor held.
class splice_sender final : public sender {
 public:
  // `shared_by_threads`: one sender for all of a blocking worker's
  // connection threads, so its pool takes a lock.
  explicit splice_sender(const config& cfg, bool shared_by_threads = false);
  sender_kind kind() const noexcept override { return sender_kind::splice; }
  send_result send(int sock, reply& r) override;
  void release(send_scratch& s) noexcept override { pipes_.release(s); }

 private:
  pipe_pool pipes_;  // non-blocking pipes: a full one is EAGAIN, not a wait
  std::size_t chunk_;
};

}  // namespace zc
