#include "server/core/http_date.hh"

#include <time.h>
#include <cstring>

namespace zc {

namespace {

constexpr char day_names[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr char month_names[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void put2(char* p, int v) noexcept {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm), so
// parsing does not depend on the TZ environment the way mktime does.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

int month_index(std::string_view s) noexcept {
  for (int i = 0; i < 12; ++i)
    if (s == month_names[i]) return i;
  return -1;
}

bool digits(std::string_view s, int& out) noexcept {
  if (s.empty()) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

bool parse_clock(std::string_view s, int& h, int& m, int& sec) noexcept {
  return s.size() == 8 && s[2] == ':' && s[5] == ':' && digits(s.substr(0, 2), h) &&
         digits(s.substr(3, 2), m) && digits(s.substr(6, 2), sec) && h < 24 && m < 60 && sec < 61;
}

std::optional<std::time_t> make_time(int year, int mon, int day, int h, int m, int s) noexcept {
  if (mon < 0 || day < 1 || day > 31 || year < 1970) return std::nullopt;
  std::int64_t days =
      days_from_civil(year, static_cast<unsigned>(mon + 1), static_cast<unsigned>(day));
  return static_cast<std::time_t>(days * 86400 + h * 3600 + m * 60 + s);
}

}  // namespace

void format_http_date(std::time_t t, char* out) noexcept {
  struct tm tm;
  gmtime_r(&t, &tm);
  std::memcpy(out, day_names[tm.tm_wday], 3);
  out[3] = ',';
  out[4] = ' ';
  put2(out + 5, tm.tm_mday);
  out[7] = ' ';
  std::memcpy(out + 8, month_names[tm.tm_mon], 3);
  out[11] = ' ';
  int year = tm.tm_year + 1900;
  put2(out + 12, year / 100);
  put2(out + 14, year % 100);
  out[16] = ' ';
  put2(out + 17, tm.tm_hour);
  out[19] = ':';
  put2(out + 20, tm.tm_min);
  out[22] = ':';
  put2(out + 23, tm.tm_sec);
  std::memcpy(out + 25, " GMT", 4);
}

std::optional<std::time_t> parse_http_date(std::string_view s) noexcept {
  int day, year, h, m, sec;
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  if (s.size() == 29 && s[3] == ',' && s[4] == ' ' && s[7] == ' ' && s[11] == ' ' && s[16] == ' ' &&
      s.substr(25) == " GMT") {
    if (!digits(s.substr(5, 2), day) || !digits(s.substr(12, 4), year) ||
        !parse_clock(s.substr(17, 8), h, m, sec))
      return std::nullopt;
    return make_time(year, month_index(s.substr(8, 3)), day, h, m, sec);
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  if (s.size() == 24 && s[3] == ' ' && s[7] == ' ' && s[10] == ' ' && s[19] == ' ') {
    std::string_view d = s.substr(8, 2);
    if (d[0] == ' ') d.remove_prefix(1);
    if (!digits(d, day) || !digits(s.substr(20, 4), year) ||
        !parse_clock(s.substr(11, 8), h, m, sec))
      return std::nullopt;
    return make_time(year, month_index(s.substr(4, 3)), day, h, m, sec);
  }
  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
  std::size_t comma = s.find(", ");
  if (comma != std::string_view::npos && s.size() == comma + 24 && s.substr(comma + 20) == " GMT" &&
      s[comma + 4] == '-' && s[comma + 8] == '-' && s[comma + 11] == ' ') {
    if (!digits(s.substr(comma + 2, 2), day) || !digits(s.substr(comma + 9, 2), year) ||
        !parse_clock(s.substr(comma + 12, 8), h, m, sec))
      return std::nullopt;
    // RFC 9110: a two-digit year more than 50 years in the future is in the past century.
    year += year < 70 ? 2000 : 1900;
    return make_time(year, month_index(s.substr(comma + 5, 3)), day, h, m, sec);
  }
  return std::nullopt;
}

std::string_view http_date_now() noexcept {
  thread_local char text[http_date_len];
  thread_local std::time_t shown = -1;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  if (ts.tv_sec != shown) {
    format_http_date(ts.tv_sec, text);
    shown = ts.tv_sec;
  }
  return {text, http_date_len};
}

std::int64_t monotonic_ms() noexcept {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

}  // namespace zc
