#include "backends/senders/readv_writev.hh"

namespace zc {

plan readv_writev_sender::next(reply& r, send_state& /*st*/) {
  plan p = plan::of(chunk_);
  if (r.done()) return p;
  if (r.body != body_kind::file) return p.then(step::head_memory);
  const bool staged = r.scratch.buf_off < r.scratch.buf_len;
  if (!staged && r.body_sent < r.length) p.then(step::stage);
  return p.then(step::head_staged);
}

}  // namespace zc
