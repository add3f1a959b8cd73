#include "backends/senders/splice.hh"

#include <fcntl.h>

#include "backends/senders/read_write.hh"
#include "backends/senders/sendfile.hh"
#include "server/core/config.hh"

namespace zc {

splice_sender::splice_sender(const config& cfg, engine_family family, bool shared_by_threads)
    : sender(cfg.io.chunk_bytes),
      pipes_(family == engine_family::readiness ? O_NONBLOCK : 0, cfg.io.chunk_bytes,
             pipes_per_worker(cfg.server.workers), shared_by_threads),
      has_sendfile_(has(traits(sender_kind::sendfile).families, family)),
      sendfile_chunk_(cfg.io.sendfile_chunk_bytes) {}

plan splice_sender::next(reply& r, send_state& st) {
  if (r.done()) return plan::of(chunk_);
  if (r.body != body_kind::file) return plan::of(chunk_).then(step::head_memory);
  // Staged when no pipe was free: those bytes go first.
  if (r.scratch.buf_off < r.scratch.buf_len) return read_write_sender::steps(r, chunk_);
  if (!pipes_.acquire(st)) {
    // Every pipe of the pool is lent (EAGAIN), or the process is out of
    // descriptors for a new one. Nothing sits in a pipe (in_pipe is 0
    // without one), so a later step may splice again from r.body_sent if
    // a pipe is free by then.
    if (errno == EAGAIN || errno == EMFILE || errno == ENFILE)
      return has_sendfile_ ? sendfile_sender::steps(r, sendfile_chunk_)
                           : read_write_sender::steps(r, chunk_);
    return plan::failure(errno, "pipe2");
  }
  plan p = plan::of(pipes_.pipe_size());
  if (!r.head_done()) p.then(step::head_more);
  if (r.body_sent == r.length) return p;
  if (st.in_pipe == 0) p.then(step::fill_pipe);
  return p.then(step::drain_pipe);
}

}  // namespace zc
