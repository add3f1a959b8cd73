#pragma once

// Shared by the two copying senders: the staging buffer that holds file
// bytes read but not yet accepted by the socket.

#include <algorithm>
#include <cstdint>
#include <utility>

#include "server/core/buffer_pool.hh"
#include "server/core/reply.hh"
#include "server/sys/counted.hh"

namespace zc::senders {

// Makes sure the scratch buffer can hold `want` bytes, growing it up to
// `chunk` (never past): small files do not cost a chunk-sized buffer. Only
// called with nothing staged. Buffers come from and go back to the
// thread's buffer_pool, so a connection that gives its buffer back when
// idle does not allocate per request.
inline void reserve_staging(send_scratch& s, std::size_t want, std::size_t chunk) {
  want = std::min(want, chunk);
  if (s.buf_cap >= want) return;
  const std::size_t cap = std::min(buffer_pool::capacity_for(std::max(want, s.buf_cap * 2)), chunk);
  buffer_pool::give(std::exchange(s.buf, buffer_pool::take(cap)), s.buf_cap);
  s.buf_cap = cap;
}

// File body bytes that crossed between user and kernel memory by copy.
inline void note_body_copied(std::size_t n) noexcept {
  sys::counters().body_copied.add(n);
}

enum class stage_status : std::uint8_t { staged, nothing_left, file_ended, failed };

// Fills the staging buffer from the file at the reply's current position
// if it is empty. Uses pread: the descriptor is shared by every reply of
// the same cached file, so its file offset must never move.
inline stage_status stage_file(reply& r, std::size_t chunk) {
  send_scratch& s = r.scratch;
  if (s.buf_off < s.buf_len) return stage_status::staged;
  const std::uint64_t left = r.length - r.body_sent;
  if (left == 0) return stage_status::nothing_left;
  reserve_staging(s, static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk)), chunk);
  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, s.buf_cap));
  ssize_t n =
      sys::pread(r.file->fd.get(), s.buf.get(), want, static_cast<off_t>(r.offset + r.body_sent));
  if (n < 0) return stage_status::failed;
  // End of file before the promised length: the file shrank after the head
  // was built. Whatever is sent now would not be the file, so stop.
  if (n == 0) return stage_status::file_ended;
  note_body_copied(static_cast<std::size_t>(n));
  s.buf_off = 0;
  s.buf_len = static_cast<std::size_t>(n);
  return stage_status::staged;
}

// Records that `n` bytes left, first from the head, then from the body.
// Returns how many of them were body.
inline std::size_t account(reply& r, std::size_t n) noexcept {
  const std::size_t head_left = r.head.size() - r.head_sent;
  const std::size_t h = std::min(n, head_left);
  r.head_sent += h;
  r.body_sent += n - h;
  return n - h;
}

}  // namespace zc::senders
