#pragma once

// Percent-encoding (RFC 3986 §2.1) of bytes written into a URI: what is
// left alone depends on where the bytes go, so the caller names the marks
// (the characters other than letters and digits) that stay as they are.

#include <string>
#include <string_view>

namespace zc {

// RFC 3986's unreserved marks: safe anywhere, so one path segment (a name
// in a directory listing) keeps a '/' or '?' of its own encoded.
inline constexpr std::string_view unreserved_marks = "-._~";
// What a path may hold as it is (pchar and '/'): a whole path, its
// separators and sub-delims kept, as in a Location field.
inline constexpr std::string_view path_marks = "-._~!$&'()*+,;=:@/";
// What a query may hold as it is (pchar, '/', '?'), and '%': a query from
// a request target comes already encoded, and its escapes stay as they
// are; what a browser would not send raw ('<', '"', bytes over 0x7f) is
// encoded, so it never reaches a header as it came.
inline constexpr std::string_view query_marks = "-._~!$&'()*+,;=:@/?%";

// Appends `bytes` to `out`, letters, digits and `marks` as they are and
// every other byte as "%XX", upper-case hex.
void append_percent_encoded(std::string& out, std::string_view bytes, std::string_view marks);

}  // namespace zc
