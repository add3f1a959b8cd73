#include "server/ranges.hh"

#include "server/http_date.hh"

namespace zc {

namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Digits only, no sign, no overflow.
bool parse_u64(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty() || s.size() > 19) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = v;
  return true;
}

bool ieq(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::string_view opaque(std::string_view tag) noexcept {
  if (tag.starts_with("W/")) tag.remove_prefix(2);
  return tag;
}

}  // namespace

byte_range parse_range(std::string_view value, std::uint64_t size) noexcept {
  byte_range r;
  value = trim(value);
  std::size_t eq = value.find('=');
  if (eq == std::string_view::npos || !ieq(trim(value.substr(0, eq)), "bytes")) return r;
  std::string_view spec = trim(value.substr(eq + 1));
  if (spec.find(',') != std::string_view::npos) return r;
  std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return r;
  std::string_view a = trim(spec.substr(0, dash));
  std::string_view b = trim(spec.substr(dash + 1));
  std::uint64_t first = 0, last = 0;
  if (a.empty()) {
    // Suffix range: the last N bytes.
    if (!parse_u64(b, last)) return r;
    if (last == 0 || size == 0) {
      r.k = byte_range::kind::unsatisfiable;
      return r;
    }
    r.k = byte_range::kind::satisfiable;
    r.first = last >= size ? 0 : size - last;
    r.last = size - 1;
    return r;
  }
  if (!parse_u64(a, first)) return r;
  if (b.empty()) {
    last = UINT64_MAX;
  } else if (!parse_u64(b, last) || last < first) {
    return r;  // syntactically invalid: ignore the field (§14.2)
  }
  if (first >= size) {
    r.k = byte_range::kind::unsatisfiable;
    return r;
  }
  r.k = byte_range::kind::satisfiable;
  r.first = first;
  r.last = last >= size ? size - 1 : last;
  return r;
}

bool etag_list_matches(std::string_view list, std::string_view etag) noexcept {
  list = trim(list);
  if (list == "*") return true;
  std::string_view want = opaque(etag);
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view item = trim(list.substr(0, comma));
    if (!item.empty() && opaque(item) == want) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

bool etag_list_matches_strongly(std::string_view list, std::string_view etag) noexcept {
  list = trim(list);
  if (list == "*") return true;
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    if (trim(list.substr(0, comma)) == etag) return true;  // "W/..." never equals a strong tag
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

bool modified_since(std::string_view ius, std::time_t mtime) noexcept {
  auto t = parse_http_date(trim(ius));
  return t && mtime > *t;
}

bool if_range_allows(std::string_view if_range, std::string_view etag, std::time_t mtime) noexcept {
  if_range = trim(if_range);
  if (if_range.empty()) return true;
  if (if_range.front() == '"') return if_range == etag;  // strong comparison
  if (if_range.starts_with("W/")) return false;          // weak tags never validate a range
  auto t = parse_http_date(if_range);
  return t && *t == mtime;
}

bool not_modified_since(std::string_view ims, std::time_t mtime) noexcept {
  auto t = parse_http_date(trim(ims));
  return t && mtime <= *t;
}

}  // namespace zc
