#include "backends/senders/send_zc.hh"

namespace zc {

plan send_zc_sender::next(reply& r, send_state& /*st*/) {
  plan p = plan::of(chunk_);
  if (r.done()) return p;
  if (r.body != body_kind::file) return p.then(step::head_memory);
  if (!r.head_done()) p.then(step::head_more);
  return p.then(step::mapped_zc);
}

}  // namespace zc
