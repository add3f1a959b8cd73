#include "backends/senders/mmap.hh"

namespace zc {

plan mmap_sender::next(reply& r, send_state& /*st*/) {
  plan p = plan::of(chunk_);
  if (r.done()) return p;
  return p.then(r.body == body_kind::file ? step::head_mapped : step::head_memory);
}

}  // namespace zc
