#pragma once

// A reply is a head (bytes) plus a body: nothing, a span of memory, or a
// range of a file. The handler fills it; a sender moves it to the socket and
// records how far it got, so a send interrupted by a full socket resumes at
// exactly the next byte.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "server/core/file_cache.hh"
#include "server/core/multipart.hh"

namespace zc {

enum class body_kind : std::uint8_t { none, memory, file };

// The staging buffer a copying sender reads a file range into. It
// outlives one reply so that a keep-alive connection does not allocate per
// request; the connection gives it back to the buffer pool when idle, and
// a part boundary empties it. What else a sender keeps per connection (a
// borrowed pipe) is the senders' own (send_state, backends/sender.hh).
struct send_scratch {
  std::unique_ptr<char[]> buf;
  std::size_t buf_cap = 0;
  std::size_t buf_off = 0;  // first staged byte not yet sent
  std::size_t buf_len = 0;  // staged bytes, buf[0 .. buf_len)
};

struct reply {
  // The small fields first, together: every connection holds a reply, and
  // padding between them would cost 16 bytes per idle connection.
  int status = 0;
  body_kind body = body_kind::none;
  bool close_after = false;
  // Status line, fields, blank line. Its capacity is kept from one reply
  // to the next while requests keep coming, and released when idle.
  std::string head;
  std::string_view memory;   // body_kind::memory: static storage, or `owned`
  file_ref file;             // body_kind::file: keeps the descriptor alive
  std::uint64_t offset = 0;  // file range start
  std::uint64_t length = 0;  // body length (memory or file)

  // Progress, advanced by the sender.
  std::size_t head_sent = 0;
  std::uint64_t body_sent = 0;

  // A body made for this reply alone (a directory listing), which `memory`
  // points into. Allocated only for such a reply and freed with it: an idle
  // connection pays the pointer, 8 bytes.
  std::unique_ptr<std::string> owned;

  send_scratch scratch;

  // Set only while a multipart/byteranges body is sent (server/core/multipart.hh):
  // head, offset and length above are then its current part. Allocated per
  // such reply, so an ordinary one costs this pointer and nothing more.
  std::unique_ptr<multipart_state> multipart;

  bool head_done() const noexcept { return head_sent == head.size(); }
  // The current part is out; for an ordinary reply, the reply.
  bool done() const noexcept { return head_done() && body_sent == length; }

  // Once done(), makes the reply its next part (rewrites head, offset and
  // length, resets progress and what the copying senders staged). False
  // when there is none: the reply is complete.
  bool next_part();

  // The body the head announced, every part of a multipart one included,
  // whatever part is in flight: what the access log reports.
  std::uint64_t body_bytes() const noexcept {
    if (multipart) return multipart->body_bytes;
    return body == body_kind::none ? 0 : length;
  }
  // Head and body bytes of the whole reply.
  std::uint64_t wire_bytes() const noexcept {
    if (multipart) return multipart->head_bytes + multipart->body_bytes;
    return head.size() + length;
  }
  // Bytes of the reply sent so far; only grows, across parts too.
  std::uint64_t progress() const noexcept {
    return (multipart ? multipart->sent_before : 0) + head_sent + body_sent;
  }

  // Ready for the next reply; keeps the head's capacity and the scratch.
  void clear() noexcept {
    status = 0;
    head.clear();
    body = body_kind::none;
    memory = {};
    file.reset();
    owned.reset();
    offset = length = 0;
    close_after = false;
    head_sent = 0;
    body_sent = 0;
    scratch.buf_off = scratch.buf_len = 0;
    multipart.reset();
  }
};

}  // namespace zc
