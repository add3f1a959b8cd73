#include "backends/senders/read_write.hh"

namespace zc {

plan read_write_sender::steps(const reply& r, std::size_t chunk) noexcept {
  plan p = plan::of(chunk);
  if (r.done()) return p;
  if (r.body != body_kind::file) {
    if (!r.head_done()) p.then(step::head);
    if (r.body == body_kind::memory && r.body_sent < r.length) p.then(step::memory);
    return p;
  }
  const bool staged = r.scratch.buf_off < r.scratch.buf_len;
  const bool left = r.body_sent < r.length;
  if (!r.head_done()) {
    // Read before the head leaves, so that a file that cannot be read is
    // found with nothing sent, and the head and the first chunk leave
    // back to back.
    if (!staged && left && r.head_sent == 0)
      return p.then(step::stage).then(step::head).then(step::staged);
    p.then(step::head);
    if (staged) p.then(step::staged);
    return p;
  }
  if (!staged) p.then(step::stage);
  return p.then(step::staged);
}

}  // namespace zc
