#pragma once

// One access log line in the Common or Combined Log Format, as Apache,
// nginx, goaccess and every log tool read it:
//
//   127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /a HTTP/1.1" 200 2326 "ref" "agent"
//
// formatted straight into the caller's buffer: no allocation, no locale,
// no format-string machinery. Quoted fields escape '"', '\' and every byte
// outside printable ASCII as \xHH (as nginx does), so a request cannot
// forge a line of its own or smuggle terminal escapes into a reader.

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string_view>

namespace zc {

enum class access_format : std::uint8_t { common, combined };

// What one line says. `request_line` is false when the head did not parse:
// the request is written as "-", as nginx and Apache do.
struct access_entry {
  std::string_view addr;  // the client's address as text ("-" if unknown)
  std::string_view date;  // clf_date text
  bool request_line = false;
  std::string_view method;
  std::string_view target;
  bool http11 = true;
  int status = 0;
  std::uint64_t bytes = 0;  // body bytes, as nginx's $body_bytes_sent
  std::string_view referer;
  std::string_view user_agent;
};

// "10/Oct/2000:13:55:36 +0000": the time in UTC, so lines from a server
// that moves between time zones (or summer time) still sort.
inline constexpr std::size_t clf_date_len = 26;
void format_clf_date(std::time_t t, char* out) noexcept;

// Escaped fields are cut at these many output bytes, so that a line always
// fits in one log buffer whatever the head limits are set to.
inline constexpr std::size_t max_request_field = 16 * 1024;
inline constexpr std::size_t max_header_field = 8 * 1024;

// An upper bound on the bytes format_access_line() writes for `e`,
// newline included.
std::size_t access_line_bound(const access_entry& e, access_format f) noexcept;

// Writes the line, newline included, at `out` (which has room for
// access_line_bound() bytes) and returns the end of what it wrote.
char* format_access_line(char* out, const access_entry& e, access_format f) noexcept;

}  // namespace zc
