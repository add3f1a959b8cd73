#pragma once

// Incremental HTTP/1.1 request-head parser. It never copies: every field is
// a view into the caller's buffer, valid until the caller moves or reuses
// those bytes. It is resumable: feed it the same growing buffer again and it
// scans only the bytes it has not seen.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace zc::http {

enum class method : std::uint8_t { get, head, other };
// How the request body is framed when Transfer-Encoding is present: chunked
// (the only coding a server must know), or a coding we cannot undo, which
// leaves the body's length unknown (501). Codings that leave the framing in
// doubt (chunked not last, or twice) are refused by the parser with 400.
enum class transfer_coding : std::uint8_t { none, chunked, unsupported };
enum class version : std::uint8_t { http10, http11 };

struct header {
  std::string_view name;
  std::string_view value;  // leading and trailing SP/HTAB removed
};

struct limits {
  std::size_t max_request_line = 8192;   // bytes before CRLF; over it: 414
  std::size_t max_header_bytes = 16384;  // whole head incl. request line and final CRLF; over: 431
  std::size_t max_headers = 64;          // header fields; over it: 431
};

inline constexpr std::size_t max_headers_capacity = 128;

struct request {
  std::string_view method_text;
  method verb = method::other;
  std::string_view target;  // as sent: origin-form "/a/b?q"
  std::string_view path;    // target up to '?' or '#', still percent-encoded
  std::string_view query;   // after '?', without it; empty if none
  version ver = version::http11;

  // Fields the handler needs, found while parsing (empty when absent).
  std::string_view host;
  bool has_host = false;
  bool keep_alive = true;  // from version and Connection header
  std::string_view if_match;
  std::string_view if_unmodified_since;
  std::string_view if_none_match;
  std::string_view if_modified_since;
  std::string_view range;
  std::string_view if_range;
  bool has_content_length = false;
  std::uint64_t content_length = 0;
  bool has_transfer_encoding = false;
  transfer_coding coding = transfer_coding::none;
  bool expect_continue = false;  // Expect: 100-continue
  // Accept-Encoding, for precompressed files. It is a list that may
  // legally span several lines: `accept_encoding` is the first, and when
  // there are more, the reader walks `headers` for all of them.
  std::string_view accept_encoding;
  bool accept_encoding_repeated = false;  // more than one line

  // For the access log (Combined Log Format) only; empty when absent. They
  // are written down, never acted on, so a repeat is not an error: the
  // first is kept.
  std::string_view referer;
  std::string_view user_agent;

  header headers[max_headers_capacity];
  std::size_t header_count = 0;
};

enum class parse_status : std::uint8_t { complete, incomplete, error };

struct parse_result {
  parse_status status = parse_status::incomplete;
  int http_status = 0;       // on error: 400, 414, 431 (or 505 for an unsupported version)
  std::size_t consumed = 0;  // on complete: bytes of the head, final CRLF included
  std::string_view reason;   // on error: a short human-readable cause, static storage
};

class parser {
 public:
  explicit parser(const limits& lim = {}) noexcept : limits_(lim) {}

  // Parses the head at the start of `buf`. `buf` must begin at the same
  // byte on every call until reset(); it may grow between calls.
  parse_result parse(std::string_view buf, request& out) noexcept;

  // Forget progress; call after consuming a request.
  void reset() noexcept { scanned_ = 0; }

 private:
  limits limits_;
  std::size_t scanned_ = 0;  // bytes already searched for the end of the head
};

// Incremental decoder of a chunked request body (RFC 9112 §7.1), which the
// server reads only to drop: it keeps no data, only its place in the
// framing, so a body may arrive split at any byte. Line endings must be
// CRLF: the lenient readings of chunk lines (bare LF, stray CR) are where
// front ends and servers disagree, which is how requests are smuggled.
class chunked_decoder {
 public:
  enum class status : std::uint8_t {
    more,       // every byte given was consumed; the body goes on
    done,       // the body (trailers included) ended; `consumed` stops there
    bad,        // malformed framing: 400
    too_large,  // the chunk data would pass the body limit: 413
  };
  struct result {
    status st = status::more;
    std::size_t consumed = 0;
  };

  // Chunk lines (size and extensions) and the trailer section are capped
  // as well, so that framing alone cannot stream forever within a limit on
  // data.
  static constexpr std::size_t max_line = 4096;

  void reset(std::uint64_t max_body, std::size_t max_trailer) noexcept;
  result feed(std::string_view in) noexcept;
  bool active() const noexcept { return state_ != state::idle && state_ != state::done; }

 private:
  enum class state : std::uint8_t {
    idle,
    size_first,  // the first hex digit of a chunk size
    size,        // more hex digits
    size_ws,     // BWS after the size, before ';' or CR
    ext,         // chunk extensions, up to CR
    size_lf,
    data,
    data_cr,
    data_lf,
    trailer_start,  // a field name's first byte, or CR of the final line
    trailer_name,
    trailer_value,
    trailer_lf,
    final_lf,
    done,
  };

  result fail(status st, std::size_t at) noexcept;

  // Budgets count down rather than totals up: every connection carries
  // this object, so it is kept to 24 bytes.
  std::uint64_t size_ = 0;          // chunk size being read, then data left in it
  std::uint64_t body_left_ = 0;     // data bytes the body limit still allows
  std::uint32_t line_ = 0;          // bytes of the current chunk line
  std::uint32_t trailer_left_ = 0;  // bytes the trailer section may still take
  state state_ = state::idle;
};

}  // namespace zc::http
