#include "server/core/ranges.hh"

#include <algorithm>
#include <cstdint>

#include "server/core/http_date.hh"

namespace zc {

namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Digits only, no sign. A number past UINT64_MAX is still a number
// (1*DIGIT has no bound): it saturates there, beyond any file, so a first
// byte that large is unsatisfiable and a last byte that large means the end.
bool parse_u64(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty()) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    v = v > (UINT64_MAX - digit) / 10 ? UINT64_MAX : v * 10 + digit;
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

namespace {

enum class spec_kind : std::uint8_t { satisfiable, unsatisfiable, invalid };

// One range-spec (§14.1.1): "first-last", "first-" or "-suffix".
spec_kind parse_spec(std::string_view spec, std::uint64_t size, byte_span& out) noexcept {
  std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return spec_kind::invalid;
  std::string_view a = trim(spec.substr(0, dash));
  std::string_view b = trim(spec.substr(dash + 1));
  std::uint64_t first = 0, last = 0;
  if (a.empty()) {
    // Suffix range: the last N bytes.
    if (!parse_u64(b, last)) return spec_kind::invalid;
    if (last == 0 || size == 0) return spec_kind::unsatisfiable;
    out = {last >= size ? 0 : size - last, size - 1};
    return spec_kind::satisfiable;
  }
  if (!parse_u64(a, first)) return spec_kind::invalid;
  if (b.empty()) {
    last = UINT64_MAX;
  } else if (!parse_u64(b, last) || last < first) {
    return spec_kind::invalid;  // syntactically invalid: the field is ignored (§14.2)
  }
  if (first >= size) return spec_kind::unsatisfiable;
  out = {first, last >= size ? size - 1 : last};
  return spec_kind::satisfiable;
}

// Adds `s` to the first `n` spans of `set`, which are pairwise apart
// (neither overlapping nor touching): every span `s` overlaps or touches is
// merged into it, and the result takes the place of the first of them, or
// the end if none. One pass is enough: a span that touches the union of two
// touching spans touches one of them. Returns the new count.
std::size_t add_coalesced(std::span<byte_span> set, std::size_t n, byte_span s) noexcept {
  constexpr std::size_t nowhere = SIZE_MAX;
  std::size_t at = nowhere;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const byte_span t = set[i];
    if (t.first <= s.last + 1 && s.first <= t.last + 1) {
      s = {std::min(s.first, t.first), std::max(s.last, t.last)};
      if (at == nowhere) at = kept;
      continue;
    }
    set[kept++] = t;
  }
  if (at == nowhere) at = kept;
  for (std::size_t i = kept; i > at; --i) set[i] = set[i - 1];
  set[at] = s;
  return kept + 1;
}

}  // namespace

range_set parse_ranges(std::string_view value, std::uint64_t size,
                       std::span<byte_span> out) noexcept {
  range_set r;
  value = trim(value);
  std::size_t eq = value.find('=');
  if (eq == std::string_view::npos || !ieq(trim(value.substr(0, eq)), "bytes")) return r;
  std::string_view list = value.substr(eq + 1);
  std::size_t specs = 0;
  std::size_t count = 0;
  std::uint64_t asked = 0;  // the satisfiable ranges' lengths, before coalescing
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view spec = trim(list.substr(0, comma));
    list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
    if (spec.empty()) continue;  // empty list elements are allowed (§5.6.1)
    if (++specs > out.size()) return r;
    byte_span s;
    const spec_kind k = parse_spec(spec, size, s);
    if (k == spec_kind::invalid) return r;
    if (k == spec_kind::unsatisfiable) continue;
    // Each length is at most `size`, so the sum cannot wrap before it is caught.
    asked += s.length();
    if (asked > size) return r;
    count = add_coalesced(out, count, s);
  }
  if (specs == 0) return r;
  if (count == 0) {
    r.k = range_set::kind::unsatisfiable;
    return r;
  }
  r.k = range_set::kind::satisfiable;
  r.count = count;
  return r;
}

byte_range parse_range(std::string_view value, std::uint64_t size) noexcept {
  byte_span one[1];
  const range_set set = parse_ranges(value, size, one);
  byte_range r;
  r.k = set.k;
  if (set.k == byte_range::kind::satisfiable) {
    r.first = one[0].first;
    r.last = one[0].last;
  }
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
