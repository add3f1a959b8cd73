#pragma once

// Pure rules of RFC 9110 the handler applies: byte ranges (§14) and
// conditional requests (§13). No I/O, so they are unit-tested directly.

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <span>
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

// Interprets a Range field value for a representation of `size` bytes as a
// single range: a request for several gets the whole body (kind::none),
// which RFC 9110 §14.2 allows.
byte_range parse_range(std::string_view value, std::uint64_t size) noexcept;

// One satisfiable range of a set, [first, last], both inclusive.
struct byte_span {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::uint64_t length() const noexcept { return last - first + 1; }
  friend bool operator==(const byte_span&, const byte_span&) = default;
};

struct range_set {
  using kind = byte_range::kind;
  kind k = kind::none;
  std::size_t count = 0;  // kind::satisfiable: spans written to the output, at least 1
};

// Interprets a Range field value that may list several ranges (RFC 9110
// §14.1.1), for a representation of `size` bytes, into `out`:
//  - a range that is not satisfiable is dropped; if none is left: 416;
//  - ranges that overlap or touch are coalesced into one, which takes the
//    place of the first of them in the request (§14.6 lets a server
//    coalesce; the others keep the client's order, which §15.3.7.2 asks
//    for: a client that listed them out of order may want them so);
//  - more range-specs than `out` holds, satisfiable or not, or requested
//    ranges whose lengths (before coalescing) add up to more than `size`,
//    and the field is ignored (kind::none: the whole body, 200), as nginx
//    does: many small or overlapping ranges would make the reply many times
//    the file (CVE-2011-3192), and cost a part head each;
//  - a field that is not "bytes=" with valid range-specs is ignored too.
range_set parse_ranges(std::string_view value, std::uint64_t size,
                       std::span<byte_span> out) noexcept;

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
