#pragma once

#include "backends/sender.hh"
#include "backends/senders/pipe_pool.hh"

namespace zc {

// File to pipe to socket: splice moves page references, not bytes, so the
// body never enters user space. A connection borrows a pipe from the
// worker's pool for the length of one reply and gives it back empty; a pipe
// still holding bytes when its connection dies is closed, never reused.
//
// The pool is bounded (pipes_per_worker(), what the descriptor plan
// reserves). A reply that finds it empty is neither failed nor held: it
// goes by sendfile (still no copy) on an engine that has it, or else (io_uring)
// by read_write's steps, its copies counted as such; bytes staged that way
// leave before the reply splices again.
class splice_sender final : public sender {
 public:
  // `family`: who carries the steps out. Readiness engines get non-blocking
  // pipes (a full one is EAGAIN, not a wait); io_uring blocking ones, since
  // its splices run in io-wq workers, which may block. `shared_by_threads`:
  // one sender for all of a blocking worker's connection threads, so its
  // pool takes a lock.
  splice_sender(const config& cfg, engine_family family, bool shared_by_threads = false);
  sender_kind kind() const noexcept override { return sender_kind::splice; }
  plan next(reply& r, send_state& st) override;
  void release(send_state& st) noexcept override { pipes_.release(st); }

 private:
  pipe_pool pipes_;
  bool has_sendfile_;           // the family drives sendfile (kinds.def): the path without a pipe
  std::size_t sendfile_chunk_;  // io.sendfile_chunk_bytes, for that path
};

}  // namespace zc
