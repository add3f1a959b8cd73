#include "backends/senders/sendfile.hh"

namespace zc {

plan sendfile_sender::steps(const reply& r, std::size_t chunk) noexcept {
  plan p = plan::of(chunk);
  if (r.done()) return p;
  if (r.body != body_kind::file) return p.then(step::head_memory);
  if (!r.head_done()) p.then(step::head_more);
  if (r.body_sent < r.length) p.then(step::sendfile);
  return p;
}

}  // namespace zc
