#pragma once

// Pure rules of RFC 9110 the handler applies: byte ranges (§14) and
// conditional requests (§13). No I/O, so they are unit-tested directly.

#include <cstdint>
#include <ctime>
#include <string_view>

namespace zc {

struct byte_range {
  enum class kind : std::uint8_t {
    none,           // no Range, or one we ignore (other unit, several ranges, bad syntax): send 200
    satisfiable,    // send 206 with [first, last]
    unsatisfiable,  // send 416
  };
  kind k = kind::none;
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
};

// Interprets a Range field value for a representation of `size` bytes.
// Only a single range is served; a multi-range request gets the whole body,
// which RFC 9110 §14.2 allows.
byte_range parse_range(std::string_view value, std::uint64_t size) noexcept;

// If-None-Match (weak comparison, §13.1.2): true if any listed tag, or "*",
// matches `etag`.
bool etag_list_matches(std::string_view if_none_match, std::string_view etag) noexcept;

// If-Match (strong comparison, §13.1.1): true if any listed tag matches
// `etag` strongly (a weak tag never does), or the list is "*".
bool etag_list_matches_strongly(std::string_view if_match, std::string_view etag) noexcept;

// If-Unmodified-Since (§13.1.4): true if the resource was modified after
// the date; false too for a date that does not parse (the field is then
// ignored).
bool modified_since(std::string_view if_unmodified_since, std::time_t mtime) noexcept;

// If-Range (§13.1.5): true if the range may be honoured. An entity tag must
// match strongly; a date must equal Last-Modified exactly.
bool if_range_allows(std::string_view if_range, std::string_view etag, std::time_t mtime) noexcept;

// If-Modified-Since (§13.1.3): true if the resource is not modified since.
bool not_modified_since(std::string_view if_modified_since, std::time_t mtime) noexcept;

}  // namespace zc
