#include "server/core/http_parser.hh"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

namespace zc::http {

namespace {

using byte_set = std::array<bool, 256>;

// tchar from RFC 9110 §5.6.2: method and field names.
constexpr byte_set make_tchar() {
  byte_set t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (unsigned char c : std::string_view("!#$%&'*+-.^_`|~")) t[c] = true;
  return t;
}

// Anything but CTL and SP. Bytes >= 0x80 pass: clients ought to
// percent-encode them, but they cannot escape the root (the resolver opens
// beneath it) and refusing them would break sloppy clients for no gain.
constexpr byte_set make_target() {
  byte_set t{};
  for (int c = 0x21; c < 0x100; ++c) t[c] = c != 0x7f;
  return t;
}

// field-value bytes (RFC 9110 §5.5): VCHAR, obs-text, SP, HTAB.
constexpr byte_set make_value() {
  byte_set t{};
  for (int c = 0x20; c < 0x100; ++c) t[c] = c != 0x7f;
  t['\t'] = true;
  return t;
}

// Host / authority bytes (RFC 3986 reg-name, IP-literal, port). Checked so a
// Host carrying '/', '@' or spaces never reaches logs or the handler.
constexpr byte_set make_host() {
  byte_set t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (unsigned char c : std::string_view("-._~!$&'()*+,;=%:[]")) t[c] = true;
  return t;
}

constexpr byte_set tchar = make_tchar();
constexpr byte_set target_byte = make_target();
constexpr byte_set value_byte = make_value();
constexpr byte_set host_byte = make_host();

bool is_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// dec-octet "." dec-octet "." dec-octet "." dec-octet (RFC 3986 §3.2.2):
// 0 to 255, no leading zero.
bool valid_ipv4(std::string_view s) noexcept {
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (s.empty() || s.front() != '.') return false;
      s.remove_prefix(1);
    }
    std::size_t n = 0;
    unsigned value = 0;
    while (n < s.size() && n < 4 && s[n] >= '0' && s[n] <= '9')
      value = value * 10 + static_cast<unsigned>(s[n++] - '0');
    if (n == 0 || n > 3 || value > 255 || (n > 1 && s[0] == '0')) return false;
    s.remove_prefix(n);
  }
  return s.empty();
}

// Colon-separated 16-bit pieces (1 to 4 hex digits each), the last of which
// may be an IPv4 address worth two pieces when `v4_last`; how many pieces
// through `count`. Empty is zero pieces.
bool ipv6_pieces(std::string_view s, bool v4_last, unsigned& count) noexcept {
  count = 0;
  if (s.empty()) return true;
  for (;;) {
    const std::size_t colon = s.find(':');
    const std::string_view piece = s.substr(0, colon);
    if (colon == std::string_view::npos && v4_last && piece.find('.') != std::string_view::npos) {
      count += 2;
      return valid_ipv4(piece);
    }
    if (piece.empty() || piece.size() > 4) return false;
    for (const char c : piece)
      if (!is_hex(c)) return false;
    ++count;
    if (colon == std::string_view::npos) return true;
    s.remove_prefix(colon + 1);
  }
}

// IPv6address (RFC 3986 §3.2.2): eight pieces, or fewer with one "::"
// standing for at least one zero piece; an IPv4 address may end it.
bool valid_ipv6(std::string_view s) noexcept {
  const std::size_t gap = s.find("::");
  unsigned head = 0, tail = 0;
  if (gap == std::string_view::npos) return ipv6_pieces(s, true, head) && head == 8;
  if (s.find("::", gap + 1) != std::string_view::npos) return false;  // two gaps, or ":::"
  return ipv6_pieces(s.substr(0, gap), false, head) && ipv6_pieces(s.substr(gap + 2), true, tail) &&
         head + tail <= 7;
}

// IPvFuture (RFC 3986 §3.2.2): "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ).
bool valid_ipvfuture(std::string_view s) noexcept {
  if (s.size() < 4 || (s[0] != 'v' && s[0] != 'V')) return false;
  const std::size_t dot = s.find('.');
  if (dot == std::string_view::npos || dot < 2 || dot + 1 == s.size()) return false;
  for (const char c : s.substr(1, dot - 1))
    if (!is_hex(c)) return false;
  // host_byte already limits the rest to unreserved, sub-delims, ':' and
  // the brackets and '%' the grammar leaves out here
  return s.substr(dot + 1).find_first_of("[]%") == std::string_view::npos;
}

// reg-name (RFC 3986 §3.2.2): unreserved, sub-delims and pct-encoded bytes
// ('%' and two hex digits); no ':', '[' or ']'.
bool valid_reg_name(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ':' || s[i] == '[' || s[i] == ']') return false;
    if (s[i] == '%' && (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))) return false;
  }
  return true;
}

// uri-host [ ":" port ] (RFC 3986 §3.2.2-3): a bracketed IP literal (an
// IPv6 address or IPvFuture), or a reg-name (which covers IPv4 addresses),
// then digits for a port no larger than 65535 after one ':'. Empty is
// allowed: a Host with no value is what a request without an authority
// sends (RFC 9112 §3.2). Bytes are already known to be host_byte.
bool valid_authority(std::string_view a) noexcept {
  std::size_t host_end;
  if (!a.empty() && a.front() == '[') {
    host_end = a.find(']');
    if (host_end == std::string_view::npos) return false;
    const std::string_view literal = a.substr(1, host_end - 1);
    if (!valid_ipv6(literal) && !valid_ipvfuture(literal)) return false;
    ++host_end;
  } else {
    host_end = std::min(a.find(':'), a.size());
    if (!valid_reg_name(a.substr(0, host_end))) return false;
  }
  if (host_end == a.size()) return true;
  if (a[host_end] != ':') return false;
  const std::string_view port = a.substr(host_end + 1);
  if (port.size() > 5) return false;
  unsigned value = 0;
  for (const char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value <= 65535;
}

bool in(const byte_set& set, char c) noexcept {
  return set[static_cast<unsigned char>(c)];
}

bool all_in(const byte_set& set, std::string_view s) noexcept {
  for (char c : s) {
    if (!in(set, c)) return false;
  }
  return true;
}

// `lower` must hold only lowercase letters and '-': then OR-ing 0x20 into the
// other byte folds case without mapping any non-letter onto a letter.
bool ieq(std::string_view s, std::string_view lower) noexcept {
  if (s.size() != lower.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) | 0x20) != static_cast<unsigned char>(lower[i])) {
      return false;
    }
  }
  return true;
}

bool istarts_with(std::string_view s, std::string_view lower_prefix) noexcept {
  return s.size() >= lower_prefix.size() && ieq(s.substr(0, lower_prefix.size()), lower_prefix);
}

bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

parse_result fail(int status, std::string_view reason) noexcept {
  parse_result r;
  r.status = parse_status::error;
  r.http_status = status;
  r.reason = reason;
  return r;
}

// Leading empty lines are tolerated (RFC 9112 §2.2): some clients send a
// stray CRLF after a POST body. A CR at the very end may still become CRLF.
std::size_t skip_empty_lines(std::string_view buf) noexcept {
  std::size_t i = 0;
  while (i < buf.size()) {
    if (buf[i] == '\n') {
      ++i;
    } else if (buf[i] == '\r' && i + 1 < buf.size() && buf[i + 1] == '\n') {
      i += 2;
    } else {
      break;
    }
  }
  return i;
}

// Returns the offset just past the empty line ending the head, or 0. The end
// is an LF followed by LF or CRLF, which covers CRLFCRLF, bare "\n\n" and mixes.
std::size_t find_head_end(const char* data, std::size_t from, std::size_t end) noexcept {
  const char* p = data + from;
  const char* const e = data + end;
  while (p < e) {
    const char* lf =
        static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(e - p)));
    if (lf == nullptr) return 0;
    if (lf + 1 < e && lf[1] == '\n') return static_cast<std::size_t>(lf + 2 - data);
    if (lf + 2 < e && lf[1] == '\r' && lf[2] == '\n') {
      return static_cast<std::size_t>(lf + 3 - data);
    }
    p = lf + 1;
  }
  return 0;
}

// The line starting at `p`, its LF and one CR before it removed. An LF must
// exist before `end`.
std::string_view next_line(const char*& p, const char* end) noexcept {
  const char* lf =
      static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
  std::string_view line(p, static_cast<std::size_t>(lf - p));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  p = lf + 1;
  return line;
}

// Fragments should never be sent, but if one is, it is not part of the path.
void split_path_query(std::string_view rest, request& out) noexcept {
  const std::size_t cut = rest.find_first_of("?#");
  out.path = rest.substr(0, cut);
  // Absolute-form may omit the path ("http://host?q"); it means "/".
  if (out.path.empty()) out.path = "/";
  if (cut != std::string_view::npos && rest[cut] == '?') {
    std::string_view q = rest.substr(cut + 1);
    out.query = q.substr(0, q.find('#'));
  }
}

// Returns the authority of an absolute-form target through `authority`.
parse_result parse_target(std::string_view target, request& out,
                          std::string_view& authority) noexcept {
  if (!all_in(target_byte, target)) return fail(400, "invalid character in request target");
  if (target.front() == '/') {
    split_path_query(target, out);
    return {};
  }
  std::size_t scheme = 0;
  if (istarts_with(target, "http://")) {
    scheme = 7;
  } else if (istarts_with(target, "https://")) {
    scheme = 8;
  } else {
    // '*' (OPTIONS) and authority-form (CONNECT) have no file to serve.
    return fail(400, "unsupported request target form");
  }
  std::string_view rest = target.substr(scheme);
  const std::size_t auth_end = std::min(rest.find_first_of("/?#"), rest.size());
  authority = rest.substr(0, auth_end);
  // An http URI with an empty host is invalid (RFC 9110 §4.2.1); userinfo
  // is deprecated and a recipient should treat it as an error (§4.2.4).
  if (authority.empty()) return fail(400, "empty host in request target");
  if (!all_in(host_byte, authority) || !valid_authority(authority))
    return fail(400, "invalid host in request target");
  split_path_query(rest.substr(auth_end), out);
  return {};
}

parse_result parse_version(std::string_view v, request& out) noexcept {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || !digit(v[5]) || v[6] != '.' || !digit(v[7])) {
    return fail(400, "malformed HTTP version");
  }
  if (v[5] == '1' && v[7] == '0') {
    out.ver = version::http10;
  } else if (v[5] == '1') {
    // RFC 9110 §2.5: a higher 1.x minor is answered as the highest we speak.
    out.ver = version::http11;
  } else {
    return fail(505, "unsupported HTTP version");
  }
  return {};
}

parse_result parse_request_line(std::string_view line, request& out,
                                std::string_view& authority) noexcept {
  std::size_t m = 0;
  while (m < line.size() && in(tchar, line[m])) ++m;
  if (m == 0 || m == line.size() || line[m] != ' ') return fail(400, "malformed method");
  out.method_text = line.substr(0, m);
  if (out.method_text == "GET") {
    out.verb = method::get;
  } else if (out.method_text == "HEAD") {
    out.verb = method::head;
  } else {
    out.verb = method::other;
  }

  // The version is split at the last SP so a SP inside the target is
  // reported as such rather than as a bad version.
  const std::string_view rest = line.substr(m + 1);
  const std::size_t sp = rest.rfind(' ');
  if (sp == std::string_view::npos) return fail(400, "malformed request line");
  // Version first: an HTTP/2 preface ("PRI * HTTP/2.0") deserves 505, not
  // a complaint about its '*'.
  if (parse_result r = parse_version(rest.substr(sp + 1), out); r.status == parse_status::error) {
    return r;
  }
  out.target = rest.substr(0, sp);
  if (out.target.empty()) return fail(400, "empty request target");
  return parse_target(out.target, out, authority);
}

// Digits only: a list such as "5, 5" is refused even though RFC 9110 §8.6
// allows accepting it, as nothing legitimate sends one to a file server.
bool parse_content_length(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty()) return false;
  constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

struct connection_tokens {
  bool close = false;
  bool keep_alive = false;
};

void scan_connection(std::string_view value, connection_tokens& tokens) noexcept {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    const std::string_view item = trim_ows(value.substr(0, comma));
    if (ieq(item, "close")) tokens.close = true;
    if (ieq(item, "keep-alive")) tokens.keep_alive = true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

// Fields whose repetition would be ambiguous. If-None-Match is a list and
// could legally be split over two lines, but combining them would need a
// copy; no real client splits it, so a repeat is refused like the others.
struct seen_fields {
  bool host = false;
  bool if_match = false;
  bool if_unmodified_since = false;
  bool if_none_match = false;
  bool if_modified_since = false;
  bool range = false;
  bool if_range = false;
  // Transfer-Encoding, over all its lines (they form one list).
  std::size_t codings = 0;
  bool chunked_last = false;      // the latest coding listed is chunked
  bool chunked_not_last = false;  // a coding follows chunked
  bool other_coding = false;      // a coding other than chunked
};

void note_codings(std::string_view value, seen_fields& seen) noexcept {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    item = trim_ows(item.substr(0, item.find(';')));  // parameters do not name the coding
    // Empty list elements are allowed and mean nothing (RFC 9110 §5.6.1).
    if (!item.empty()) {
      if (seen.chunked_last) seen.chunked_not_last = true;
      seen.chunked_last = ieq(item, "chunked");
      if (!seen.chunked_last) seen.other_coding = true;
      ++seen.codings;
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

// Only "100-continue" is defined (RFC 9110 §10.1.1); its digits are
// compared exactly, as ieq() folds only letters.
bool is_100_continue(std::string_view v) noexcept {
  return v.size() == 12 && v.substr(0, 4) == "100-" && ieq(v.substr(4), "continue");
}

parse_result set_once(bool& seen, std::string_view& field, std::string_view value,
                      std::string_view dup_reason) noexcept {
  if (seen) return fail(400, dup_reason);
  seen = true;
  field = value;
  return {};
}

parse_result note_field(const header& h, request& out, seen_fields& seen,
                        connection_tokens& conn) noexcept {
  const std::string_view n = h.name;
  const std::string_view v = h.value;
  // Dispatch on length so most unrecognised names cost one comparison.
  switch (n.size()) {
    case 4:
      if (ieq(n, "host")) {
        // RFC 9112 §3.2: more than one Host, or an invalid one, is a 400.
        if (seen.host) return fail(400, "duplicate Host");
        if (!all_in(host_byte, v) || !valid_authority(v)) return fail(400, "invalid Host");
        seen.host = true;
        out.has_host = true;
        out.host = v;
      }
      break;
    case 5:
      if (ieq(n, "range")) return set_once(seen.range, out.range, v, "duplicate Range");
      break;
    case 6:
      if (ieq(n, "expect") && is_100_continue(v)) out.expect_continue = true;
      break;
    case 7:
      if (ieq(n, "referer") && out.referer.empty()) out.referer = v;
      break;
    case 8:
      if (ieq(n, "if-range")) return set_once(seen.if_range, out.if_range, v, "duplicate If-Range");
      if (ieq(n, "if-match")) return set_once(seen.if_match, out.if_match, v, "duplicate If-Match");
      break;
    case 10:
      if (ieq(n, "connection")) scan_connection(v, conn);
      if (ieq(n, "user-agent") && out.user_agent.empty()) out.user_agent = v;
      break;
    case 13:
      if (ieq(n, "if-none-match")) {
        return set_once(seen.if_none_match, out.if_none_match, v, "duplicate If-None-Match");
      }
      break;
    case 14:
      if (ieq(n, "content-length")) {
        std::uint64_t len = 0;
        if (!parse_content_length(v, len)) return fail(400, "invalid Content-Length");
        // Repeats are harmless only if they agree (RFC 9112 §6.3).
        if (out.has_content_length && out.content_length != len) {
          return fail(400, "conflicting Content-Length");
        }
        out.has_content_length = true;
        out.content_length = len;
      }
      break;
    case 15:
      if (ieq(n, "accept-encoding")) {
        if (out.accept_encoding.data() != nullptr)
          out.accept_encoding_repeated = true;
        else
          out.accept_encoding = v;
      }
      break;
    case 17:
      if (ieq(n, "if-modified-since")) {
        return set_once(seen.if_modified_since, out.if_modified_since, v,
                        "duplicate If-Modified-Since");
      }
      if (ieq(n, "transfer-encoding")) {
        out.has_transfer_encoding = true;
        note_codings(v, seen);
      }
      break;
    case 19:
      if (ieq(n, "if-unmodified-since")) {
        return set_once(seen.if_unmodified_since, out.if_unmodified_since, v,
                        "duplicate If-Unmodified-Since");
      }
      break;
    default:
      break;
  }
  return {};
}

parse_result parse_header_line(std::string_view line, header& h) noexcept {
  // A line starting with whitespace is obs-fold, or whitespace between the
  // request line and the first field; RFC 9112 lets a server reject both,
  // and accepting them invites smuggling through disagreeing proxies.
  if (is_ows(line.front())) return fail(400, "obsolete line folding");
  std::size_t colon = 0;
  while (colon < line.size() && in(tchar, line[colon])) ++colon;
  if (colon == line.size()) return fail(400, "header field without colon");
  // RFC 9112 §5.1 requires a 400 here: proxies disagree on what it means.
  if (is_ows(line[colon])) return fail(400, "whitespace before colon");
  if (line[colon] != ':') return fail(400, "invalid header field name");
  if (colon == 0) return fail(400, "empty header field name");

  const std::string_view raw = line.substr(colon + 1);
  for (char c : raw) {
    if (in(value_byte, c)) continue;
    // CR and NUL get their own reason: they are the smuggling attempts.
    if (c == '\r' || c == '\0') return fail(400, "CR or NUL in header value");
    return fail(400, "control character in header value");
  }
  h.name = line.substr(0, colon);
  h.value = trim_ows(raw);
  return {};
}

void reset_request(request& out) noexcept {
  // Field by field: `out = request{}` would also clear the 128-entry header
  // array, which header_count already makes irrelevant.
  out.method_text = {};
  out.verb = method::other;
  out.target = {};
  out.path = {};
  out.query = {};
  out.ver = version::http11;
  out.host = {};
  out.has_host = false;
  out.keep_alive = true;
  out.if_match = {};
  out.if_unmodified_since = {};
  out.if_none_match = {};
  out.if_modified_since = {};
  out.range = {};
  out.if_range = {};
  out.has_content_length = false;
  out.content_length = 0;
  out.has_transfer_encoding = false;
  out.coding = transfer_coding::none;
  out.expect_continue = false;
  out.referer = {};
  out.user_agent = {};
  out.accept_encoding = {};
  out.accept_encoding_repeated = false;
  out.header_count = 0;
}

}  // namespace

parse_result parser::parse(std::string_view buf, request& out) noexcept {
  reset_request(out);
  const char* const data = buf.data();
  const std::size_t n = buf.size();
  const std::size_t start = skip_empty_lines(buf);

  // A head that ends past max_header_bytes is refused anyway, so the search
  // never looks further; a client pushing megabytes costs nothing extra.
  const std::size_t search_end = std::min(n, limits_.max_header_bytes);
  // Back up 3 bytes: the previous call may have stopped inside a terminator.
  const std::size_t from = std::max(start, scanned_ > 3 ? scanned_ - 3 : 0);
  const std::size_t head_end = from < search_end ? find_head_end(data, from, search_end) : 0;

  if (head_end == 0) {
    // 414 as soon as the request line provably exceeds its limit: that needs
    // max_request_line bytes plus CRLF in hand (a trailing CR may become CRLF).
    const std::size_t max_line = limits_.max_request_line;
    const std::size_t have = n - start;
    // When an earlier call already held that many bytes it has done this
    // check and passed, so the line's bytes are not searched again.
    const bool checked =
        scanned_ > start && scanned_ - start >= 2 && scanned_ - start - 2 >= max_line;
    if (!checked && have >= 2 && have - 2 >= max_line) {
      const char* line = data + start;
      const char* lf = static_cast<const char*>(std::memchr(line, '\n', max_line + 2));
      std::size_t len = lf == nullptr ? max_line + 1 : static_cast<std::size_t>(lf - line);
      if (lf != nullptr && len > 0 && line[len - 1] == '\r') --len;
      if (len > max_line) {
        scanned_ = 0;
        return fail(414, "request line too long");
      }
    }
    // Every buffered byte belongs to this head, so it is already too big.
    if (n > limits_.max_header_bytes) {
      scanned_ = 0;
      return fail(431, "request head too large");
    }
    scanned_ = n;
    return {};
  }
  // The same parser carries on with the next request even if the caller
  // forgets reset(): a complete head leaves no progress behind.
  scanned_ = 0;

  const char* p = data + start;
  const char* const end = data + head_end;

  const std::string_view line = next_line(p, end);
  if (line.size() > limits_.max_request_line) return fail(414, "request line too long");
  // max_header_bytes holds already: the search stopped at search_end.
  std::string_view authority;
  if (parse_result r = parse_request_line(line, out, authority); r.status == parse_status::error) {
    return r;
  }

  const std::size_t max_fields = std::min(limits_.max_headers, max_headers_capacity);
  seen_fields seen;
  connection_tokens conn;
  for (;;) {
    const std::string_view field = next_line(p, end);
    // The first empty line is the one find_head_end stopped at.
    if (field.empty()) break;
    if (out.header_count == max_fields) return fail(431, "too many header fields");
    header& h = out.headers[out.header_count];
    if (parse_result r = parse_header_line(field, h); r.status == parse_status::error) return r;
    ++out.header_count;
    if (parse_result r = note_field(h, out, seen, conn); r.status == parse_status::error) return r;
  }

  // Both framings at once is the classic request-smuggling vector.
  if (out.has_content_length && out.has_transfer_encoding) {
    return fail(400, "Content-Length with Transfer-Encoding");
  }
  if (out.has_transfer_encoding) {
    // RFC 9112 §6.1: an HTTP/1.0 peer may not know the field, so a proxy
    // before us may have framed this body otherwise.
    if (out.ver == version::http10) return fail(400, "Transfer-Encoding in HTTP/1.0");
    // RFC 9112 §6.3: unless chunked comes last, and once, nothing says
    // where the body ends.
    if (seen.codings == 0) return fail(400, "empty Transfer-Encoding");
    if (seen.chunked_not_last) return fail(400, "chunked not the final transfer coding");
    if (seen.other_coding) {
      out.coding = transfer_coding::unsupported;
    } else if (seen.codings > 1) {
      return fail(400, "chunked applied twice");
    } else {
      out.coding = transfer_coding::chunked;
    }
  }
  if (out.ver == version::http11 && !out.has_host) return fail(400, "missing Host");
  // RFC 9112 §3.2.2: with absolute-form, the target's authority wins over Host.
  if (!authority.empty()) {
    out.host = authority;
    out.has_host = true;
  }
  if (conn.close) {
    out.keep_alive = false;
  } else {
    out.keep_alive = out.ver == version::http11 || conn.keep_alive;
  }

  parse_result r;
  r.status = parse_status::complete;
  r.consumed = head_end;
  return r;
}

void chunked_decoder::reset(std::uint64_t max_body, std::size_t max_trailer) noexcept {
  state_ = state::size_first;
  size_ = 0;
  body_left_ = max_body;
  line_ = 0;
  trailer_left_ = static_cast<std::uint32_t>(
      std::min<std::size_t>(max_trailer, std::numeric_limits<std::uint32_t>::max()));
}

chunked_decoder::result chunked_decoder::fail(status st, std::size_t at) noexcept {
  state_ = state::idle;
  return {st, at};
}

chunked_decoder::result chunked_decoder::feed(std::string_view bytes) noexcept {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::size_t i = 0;
  const std::size_t n = bytes.size();
  while (i < n) {
    if (state_ == state::data) {
      const std::uint64_t take = std::min<std::uint64_t>(size_, n - i);
      i += static_cast<std::size_t>(take);
      size_ -= take;
      if (size_ == 0) state_ = state::data_cr;
      continue;
    }
    const char c = bytes[i++];
    switch (state_) {
      case state::size_first:
      case state::size: {
        const int d = hex(c);
        if (d >= 0) {
          // Past 2^60 the next digit could wrap; no body limit is that high.
          if (size_ > (std::numeric_limits<std::uint64_t>::max() >> 4)) return fail(status::bad, i);
          size_ = size_ * 16 + static_cast<std::uint64_t>(d);
          state_ = state::size;
        } else if (state_ == state::size_first) {
          return fail(status::bad, i);
        } else if (c == '\r') {
          state_ = state::size_lf;
        } else if (c == ';') {
          state_ = state::ext;
        } else if (is_ows(c)) {
          state_ = state::size_ws;
        } else {
          return fail(status::bad, i);
        }
        break;
      }
      case state::size_ws:
        if (c == ';') {
          state_ = state::ext;
        } else if (c == '\r') {
          state_ = state::size_lf;
        } else if (!is_ows(c)) {
          return fail(status::bad, i);
        }
        break;
      case state::ext:
        // Extensions mean nothing to us; any field-value byte may appear
        // in their quoted strings, CTLs may not.
        if (c == '\r') {
          state_ = state::size_lf;
        } else if (!in(value_byte, c)) {
          return fail(status::bad, i);
        }
        break;
      case state::size_lf:
        if (c != '\n') return fail(status::bad, i);
        line_ = 0;
        if (size_ == 0) {
          state_ = state::trailer_start;
          break;
        }
        if (size_ > body_left_) return fail(status::too_large, i);
        body_left_ -= size_;
        state_ = state::data;
        break;
      case state::data_cr:
        if (c != '\r') return fail(status::bad, i);
        state_ = state::data_lf;
        break;
      case state::data_lf:
        if (c != '\n') return fail(status::bad, i);
        size_ = 0;
        line_ = 0;
        state_ = state::size_first;
        continue;
        break;
      case state::trailer_start:
        if (c == '\r') {
          state_ = state::final_lf;
        } else if (in(tchar, c)) {
          state_ = state::trailer_name;
        } else {
          // Whitespace first would be obs-fold, refused as in the head.
          return fail(status::bad, i);
        }
        break;
      case state::trailer_name:
        if (c == ':') {
          state_ = state::trailer_value;
        } else if (!in(tchar, c)) {
          return fail(status::bad, i);
        }
        break;
      case state::trailer_value:
        if (c == '\r') {
          state_ = state::trailer_lf;
        } else if (!in(value_byte, c)) {
          return fail(status::bad, i);
        }
        break;
      case state::trailer_lf:
        if (c != '\n') return fail(status::bad, i);
        state_ = state::trailer_start;
        break;
      case state::final_lf:
        if (c != '\n') return fail(status::bad, i);
        state_ = state::done;
        return {status::done, i};
      case state::data:
      case state::idle:
      case state::done:
        return fail(status::bad, i);
    }
    if (state_ >= state::size_first && state_ <= state::size_lf && ++line_ > max_line)
      return fail(status::bad, i);
    if (state_ >= state::trailer_start && trailer_left_-- == 0) return fail(status::bad, i);
  }
  return {status::more, n};
}

}  // namespace zc::http
