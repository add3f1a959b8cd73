#include "server/core/multipart.hh"

#include <time.h>

#include "server/core/reply.hh"

namespace zc {

namespace {

// splitmix64's finaliser: a bijection, so distinct counters give distinct
// boundaries, and consecutive ones share no visible pattern.
std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Seeded without a system call (the serving path's calls are all counted):
// the clock through the vDSO and an address that ASLR moves per process.
std::uint64_t seed() noexcept {
  thread_local char anchor;
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return mix(static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
             static_cast<std::uint64_t>(ts.tv_nsec)) ^
         reinterpret_cast<std::uintptr_t>(&anchor);
}

}  // namespace

std::uint64_t multipart_body_length(const multipart_state& m) noexcept {
  byte_counter c;
  for (std::size_t i = 0; i < m.parts.size(); ++i) {
    format_part_head(c, m, i);
    c.n += m.parts[i].length();
  }
  format_closing(c, m);
  return c.n;
}

void make_boundary(multipart_state& m) noexcept {
  thread_local std::uint64_t counter = seed();
  static constexpr char hex[] = "0123456789abcdef";
  std::uint64_t v = mix(counter++);
  for (char& ch : m.boundary) {
    ch = hex[v & 15];
    v >>= 4;
  }
}

bool reply::next_part() {
  if (!multipart) return false;
  multipart_state& m = *multipart;
  if (m.next > m.parts.size()) return false;  // the closing delimiter is out
  m.sent_before += head.size() + length;
  // The part just sent left nothing behind: the copying senders stage at
  // most what is left of a part, splice pipes at most that.
  head.clear();
  head_sent = 0;
  body_sent = 0;
  scratch.buf_off = scratch.buf_len = 0;
  if (m.next < m.parts.size()) {
    format_part_head(head, m, m.next);
    body = body_kind::file;
    offset = m.parts[m.next].first;
    length = m.parts[m.next].length();
  } else {
    format_closing(head, m);
    body = body_kind::none;
    offset = length = 0;
  }
  ++m.next;
  return true;
}

}  // namespace zc
