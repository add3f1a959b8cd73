#include "server/core/access_line.hh"

#include <time.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace zc {

namespace {

constexpr char month_names[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr char hex_digits[] = "0123456789ABCDEF";

void put2(char* p, int v) noexcept {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

char* put(char* out, std::string_view s) noexcept {
  std::memcpy(out, s.data(), s.size());
  return out + s.size();
}

// At most four output bytes per input byte (\xHH).
constexpr std::size_t escaped_bound(std::string_view s, std::size_t cap) noexcept {
  return std::min(4 * s.size(), cap);
}

// Copies `s`, escaping what could end the quoted field or fake a line, and
// stops before writing more than `cap` bytes (a cut never splits an escape).
char* put_escaped(char* out, std::string_view s, std::size_t cap) noexcept {
  char* const end = out + cap;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      if (out == end) break;
      *out++ = ch;
    } else {
      if (end - out < 4) break;
      out[0] = '\\';
      out[1] = 'x';
      out[2] = hex_digits[c >> 4];
      out[3] = hex_digits[c & 0xf];
      out += 4;
    }
  }
  return out;
}

// A quoted header field: "-" when absent, as the log tools expect.
char* put_quoted_field(char* out, std::string_view s, std::size_t cap) noexcept {
  *out++ = '"';
  if (s.empty())
    *out++ = '-';
  else
    out = put_escaped(out, s, cap);
  *out++ = '"';
  return out;
}

char* put_number(char* out, std::uint64_t v) noexcept {
  return std::to_chars(out, out + 20, v).ptr;
}

}  // namespace

void format_clf_date(std::time_t t, char* out) noexcept {
  struct tm tm;
  gmtime_r(&t, &tm);
  put2(out, tm.tm_mday);
  out[2] = '/';
  std::memcpy(out + 3, month_names[tm.tm_mon], 3);
  out[6] = '/';
  const int year = tm.tm_year + 1900;
  put2(out + 7, year / 100 % 100);
  put2(out + 9, year % 100);
  out[11] = ':';
  put2(out + 12, tm.tm_hour);
  out[14] = ':';
  put2(out + 15, tm.tm_min);
  out[17] = ':';
  put2(out + 18, tm.tm_sec);
  std::memcpy(out + 20, " +0000", 6);
}

std::size_t access_line_bound(const access_entry& e, access_format f) noexcept {
  // Spaces, brackets, quotes, " - - ", "HTTP/1.x", a status of up to 20
  // digits (it is an int, but the bound need not be tight), the byte count
  // and the newline: well under 96.
  std::size_t n = 96 + e.addr.size() + e.date.size() + escaped_bound(e.method, max_request_field) +
                  escaped_bound(e.target, max_request_field);
  if (f == access_format::combined)
    n += 6 + escaped_bound(e.referer, max_header_field) +
         escaped_bound(e.user_agent, max_header_field);
  return n;
}

char* format_access_line(char* out, const access_entry& e, access_format f) noexcept {
  out = put(out, e.addr);
  out = put(out, " - - [");
  out = put(out, e.date);
  out = put(out, "] \"");
  if (e.request_line) {
    out = put_escaped(out, e.method, max_request_field);
    *out++ = ' ';
    out = put_escaped(out, e.target, max_request_field);
    out = put(out, e.http11 ? " HTTP/1.1" : " HTTP/1.0");
  } else {
    *out++ = '-';
  }
  out = put(out, "\" ");
  out = put_number(out, static_cast<std::uint64_t>(std::max(e.status, 0)));
  *out++ = ' ';
  out = put_number(out, e.bytes);
  if (f == access_format::combined) {
    *out++ = ' ';
    out = put_quoted_field(out, e.referer, max_header_field);
    *out++ = ' ';
    out = put_quoted_field(out, e.user_agent, max_header_field);
  }
  *out++ = '\n';
  return out;
}

}  // namespace zc
