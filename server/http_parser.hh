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
  std::string_view if_none_match;
  std::string_view if_modified_since;
  std::string_view range;
  std::string_view if_range;
  bool has_content_length = false;
  std::uint64_t content_length = 0;
  bool has_transfer_encoding = false;

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

}  // namespace zc::http
