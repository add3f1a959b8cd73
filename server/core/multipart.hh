#pragma once

// A multipart/byteranges body (RFC 9110 §14.6) as a sequence of parts, each
// the shape every reply already has: a head from memory (the delimiter and
// the part's fields) and a range of the file; then the closing delimiter,
// a head with no body. Senders send one part as they send any reply, and
// reply::next_part() turns the reply into the next part, so no sender needs
// to know multipart exists.
//
//   <reply head: 206, Content-Type: multipart/byteranges; boundary=B, ...>
//   CRLF "--B" CRLF "Content-Type: T" CRLF "Content-Range: bytes a-b/N" CRLF CRLF
//   <bytes a..b of the file>
//   ... one such part per range ...
//   CRLF "--B--" CRLF
//
// Every delimiter begins with CRLF, the first too (an empty preamble), as
// nginx writes it: one format for every part.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "server/core/ranges.hh"

namespace zc {

struct multipart_state {
  static constexpr std::size_t boundary_len = 16;

  char boundary[boundary_len] = {};
  std::string_view mime;          // each part's Content-Type: the file's
  std::uint64_t size = 0;         // the file's size, for Content-Range
  std::uint64_t head_bytes = 0;   // the reply's own head, before the first part
  std::uint64_t body_bytes = 0;   // the whole multipart body: Content-Length
  std::uint64_t sent_before = 0;  // head and body bytes of the parts already sent
  std::vector<byte_span> parts;   // in the order they are sent
  std::size_t next = 0;           // the part whose head is formatted next; parts.size(): the close

  std::string_view boundary_text() const noexcept { return {boundary, boundary_len}; }
};

// The text before part `i`'s bytes. One routine for counting (Content-Length)
// and for writing, so the two cannot disagree: `Out` is std::string or
// byte_counter, anything with append(std::string_view).
template <class Out>
void format_part_head(Out& out, const multipart_state& m, std::size_t i) {
  char num[24];
  const auto put = [&](std::uint64_t v) {
    const auto res = std::to_chars(num, num + sizeof num, v);
    out.append(std::string_view(num, static_cast<std::size_t>(res.ptr - num)));
  };
  out.append(std::string_view("\r\n--"));
  out.append(m.boundary_text());
  out.append(std::string_view("\r\nContent-Type: "));
  out.append(m.mime);
  out.append(std::string_view("\r\nContent-Range: bytes "));
  put(m.parts[i].first);
  out.append(std::string_view("-"));
  put(m.parts[i].last);
  out.append(std::string_view("/"));
  put(m.size);
  out.append(std::string_view("\r\n\r\n"));
}

// The closing delimiter, after the last part's bytes.
template <class Out>
void format_closing(Out& out, const multipart_state& m) {
  out.append(std::string_view("\r\n--"));
  out.append(m.boundary_text());
  out.append(std::string_view("--\r\n"));
}

struct byte_counter {
  std::uint64_t n = 0;
  void append(std::string_view s) noexcept { n += s.size(); }
};

// The length of the whole multipart body: every part head, every part's
// bytes and the closing delimiter.
std::uint64_t multipart_body_length(const multipart_state& m) noexcept;

// A boundary that will not occur in the parts' bytes in practice: 16 hex
// digits of a 64-bit value that differs for every call of a process.
void make_boundary(multipart_state& m) noexcept;

}  // namespace zc
