// libFuzzer target for the request-head parser (server/core/http_parser.hh).
//
// Each input is a byte stream as a client would send it on one connection.
// It is parsed the way the connection driver does it (heads one after the
// other, a Content-Length body skipped, parser reset between requests),
// three times over: all bytes at once, in two reads split at a point taken
// from the input, and in many small reads of sizes taken from the input.
// All three must give the same sequence of verdicts, with every view at the
// same stream offset: the parser's resumable search must never change what
// it finds. Every call is also checked against invariants the rest of the
// server relies on (views inside the head, limits honoured, no stall), and
// the whole is done once with the default limits and once with tight ones,
// so that inputs of a few hundred bytes reach every limit.
//
// A failed check prints what differed and aborts, which libFuzzer reports
// as a crash and saves as a reproducer.

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "server/core/http_parser.hh"
#include "tests/fuzz/fuzz_util.hh"

namespace {

using namespace zc::http;

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "http_parser_fuzz: %s\n", what);
  if (!detail.empty()) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(detail.size()), detail.data());
  }
  std::abort();
}

void require(bool ok, const char* what) {
  if (!ok) fail(what);
}

using zc::fuzz::hash_of;
using zc::fuzz::rng;

// The statuses http_parser.hh says a head may be refused with. A new one
// is a change of contract: add it here and there together, once the
// handler can answer it.
constexpr std::array<int, 4> allowed_errors = {400, 414, 431, 505};

bool is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool inside(std::string_view part, const char* begin, const char* end) {
  // Compared as integers: relational comparison of unrelated pointers is
  // unspecified, and the point is to find views that are unrelated.
  const auto b = reinterpret_cast<std::uintptr_t>(begin);
  const auto e = reinterpret_cast<std::uintptr_t>(end);
  const auto p = reinterpret_cast<std::uintptr_t>(part.data());
  return p >= b && p <= e && part.size() <= e - p;
}

// ------------------------------------------------------------ reference framing
//
// A deliberately plain model of where a head starts and ends (RFC 9112 §2.2
// blank lines before it, bare LF accepted as a line end), written apart from
// the parser so that its memchr search and resume logic are checked against
// something that has neither.

std::size_t ref_head_start(std::string_view b) {
  std::size_t i = 0;
  for (;;) {
    if (i < b.size() && b[i] == '\n') {
      i += 1;
    } else if (i + 1 < b.size() && b[i] == '\r' && b[i + 1] == '\n') {
      i += 2;
    } else {
      return i;
    }
  }
}

// Offset just past the first empty line after the request line, or 0.
std::size_t ref_head_end(std::string_view b) {
  for (std::size_t i = ref_head_start(b); i < b.size(); ++i) {
    if (b[i] != '\n') continue;
    if (i + 1 < b.size() && b[i + 1] == '\n') return i + 2;
    if (i + 2 < b.size() && b[i + 1] == '\r' && b[i + 2] == '\n') return i + 3;
  }
  return 0;
}

// True when the bytes in hand already prove the request line longer than
// the limit. Without its LF the line might still end in CRLF, so it is
// proved only once max + 2 bytes are in hand (the parser's own rule).
bool ref_line_over(std::string_view b, std::size_t max_line) {
  const std::size_t start = ref_head_start(b);
  const std::size_t lf = b.find('\n', start);
  if (lf == std::string_view::npos) return b.size() - start >= max_line + 2;
  std::size_t len = lf - start;
  if (len > 0 && b[lf - 1] == '\r') --len;
  return len > max_line;
}

std::size_t count_lf(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// ------------------------------------------------------------ per-call invariants

void check_views(std::string_view buf, std::size_t head_len, const request& req) {
  const char* const b = buf.data();
  const char* const e = buf.data() + head_len;
  // Every view lies in this request's head: not in the next pipelined
  // request, not in a stale buffer, not in the request object's old state.
  for (std::string_view v : {req.method_text, req.target, req.query, req.host, req.if_none_match,
                             req.if_modified_since, req.range, req.if_range, req.accept_encoding}) {
    if (!v.empty()) require(inside(v, b, e), "a field view lies outside the head");
  }
  // The one view allowed elsewhere: absolute-form without a path means "/".
  require(inside(req.path, b, e) || req.path == "/", "path lies outside the head");
  for (std::size_t i = 0; i < req.header_count; ++i) {
    require(inside(req.headers[i].name, b, e), "a header name lies outside the head");
    require(inside(req.headers[i].value, b, e), "a header value lies outside the head");
  }
}

void check_complete(std::string_view buf, const parse_result& r, const request& req,
                    const limits& lim) {
  const std::size_t start = ref_head_start(buf);
  require(r.consumed == ref_head_end(buf), "head length differs from the reference framing");
  require(r.consumed <= lim.max_header_bytes, "a head over max_header_bytes was accepted");
  check_views(buf, r.consumed, req);

  require(req.method_text.data() == buf.data() + start, "method does not start the head");
  require(!req.method_text.empty(), "empty method");
  for (char c : req.method_text) require(is_tchar(static_cast<unsigned char>(c)), "bad method");
  const method expect_verb = req.method_text == "GET"    ? method::get
                             : req.method_text == "HEAD" ? method::head
                                                         : method::other;
  require(req.verb == expect_verb, "verb disagrees with the method text");

  const std::string_view head = buf.substr(0, r.consumed);
  const std::size_t line_lf = head.find('\n', start);
  std::size_t line_len = line_lf - start;
  if (line_len > 0 && head[line_lf - 1] == '\r') --line_len;
  require(line_len <= lim.max_request_line, "a request line over max_request_line was accepted");

  require(!req.target.empty() && !req.path.empty() && req.path.front() == '/', "bad target");
  const char* const te = req.target.data() + req.target.size();
  require(req.path == "/" || inside(req.path, req.target.data(), te), "path outside target");
  require(req.query.empty() || inside(req.query, req.target.data(), te), "query outside target");

  // Every line between the request line and the empty one is a field: none
  // may be dropped or invented.
  const std::size_t field_lines = count_lf(head.substr(start)) - 2;
  require(req.header_count == field_lines, "header count differs from the field lines");
  require(req.header_count <= lim.max_headers && req.header_count <= max_headers_capacity,
          "more header fields than the limit");
  const char* prev = req.method_text.data();
  for (std::size_t i = 0; i < req.header_count; ++i) {
    const header& h = req.headers[i];
    require(h.name.data() > prev, "header fields out of order");
    prev = h.name.data();
    require(!h.name.empty(), "empty header name");
    for (char c : h.name) require(is_tchar(static_cast<unsigned char>(c)), "bad header name");
    for (char c : h.value) {
      const auto u = static_cast<unsigned char>(c);
      require((u >= 0x20 && u != 0x7f) || u == '\t', "control byte in a header value");
    }
    if (!h.value.empty()) {
      for (char c : {h.value.front(), h.value.back()}) {
        require(c != ' ' && c != '\t', "header value not trimmed");
      }
    }
  }
  for (char c : req.host) {
    require(c != ' ' && c != '/' && c != '@' && c != '\r' && c != '\n', "bad byte in host");
  }
  require(req.ver == version::http10 || req.has_host, "HTTP/1.1 request without Host accepted");
  require(!(req.has_content_length && req.has_transfer_encoding),
          "Content-Length with Transfer-Encoding accepted");
}

void check_error(std::string_view buf, const parse_result& r, const limits& lim) {
  bool known = false;
  for (int s : allowed_errors) known = known || s == r.http_status;
  require(known, "error with a status the parser does not document");
  require(!r.reason.empty(), "error without a reason");
  // The reason is static text: it must outlive the buffer.
  require(!inside(r.reason, buf.data(), buf.data() + buf.size()), "reason points into input");

  const bool line_over = ref_line_over(buf, lim.max_request_line);
  const std::size_t end = ref_head_end(buf);
  const bool head_over =
      (end == 0 || end > lim.max_header_bytes) && buf.size() > lim.max_header_bytes;
  if (r.http_status == 414) require(line_over, "414 for a request line within the limit");
  if (line_over) require(r.http_status == 414, "request line over the limit but no 414");
  if (head_over && !line_over) require(r.http_status == 431, "head over the limit but no 431");
  if (r.http_status == 431 && !head_over) {
    // Otherwise only too many fields justifies it, which needs that many lines.
    const std::size_t max_fields = std::min(lim.max_headers, max_headers_capacity);
    const std::string_view head = buf.substr(0, std::min(buf.size(), lim.max_header_bytes));
    require(count_lf(head) >= max_fields + 3, "431 for a head within every limit");
  }
}

void check_result(std::string_view buf, const parse_result& r, const request& req,
                  const limits& lim) {
  require(r.consumed <= buf.size(), "consumed more than the buffer holds");
  switch (r.status) {
    case parse_status::incomplete:
      // The connection reads at most max_header_bytes + 1 bytes of a head; a
      // parser still waiting then would stall the connection for good.
      require(buf.size() <= lim.max_header_bytes, "incomplete with the head limit exceeded");
      require(!ref_line_over(buf, lim.max_request_line), "incomplete with the line over limit");
      require(ref_head_end(buf) == 0, "incomplete although a head end is in the buffer");
      break;
    case parse_status::complete:
      check_complete(buf, r, req, lim);
      break;
    case parse_status::error:
      check_error(buf, r, lim);
      break;
    default:
      fail("unknown parse status");
  }
}

// ------------------------------------------------------------ verdicts

// Verdicts are kept as text, every view as a stream offset, so that feeds
// using different buffers compare equal exactly when they agree, and a
// mismatch prints as something readable. The text is appended to buffers
// reused across inputs: an allocation per field would cost more than the
// parse (ASan records a stack trace for each).
void put_num(std::string& out, std::uint64_t v) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
  out.append(digits, end);
}

void put_view(std::string& out, std::string_view tag, std::string_view v, std::size_t stream_off,
              std::string_view head) {
  out += ' ';
  out += tag;
  if (v.empty()) {
    out += "=-";
    return;
  }
  if (!inside(v, head.data(), head.data() + head.size())) {
    // Only the absolute-form "/" gets here; check_views let nothing else by.
    out += "=\"";
    out += v;
    out += '"';
    return;
  }
  out += '@';
  put_num(out, stream_off + static_cast<std::size_t>(v.data() - head.data()));
  out += '+';
  put_num(out, v.size());
}

void put_field(std::string& out, std::string_view tag, std::uint64_t v) {
  out += ' ';
  out += tag;
  out += '=';
  put_num(out, v);
}

struct outcome {
  std::string text;         // one line per verdict, then how the stream ended
  std::size_t last = 0;     // where the last verdict's line starts
  std::size_t last_at = 0;  // stream offset of the last verdict's head

  void clear() {
    text.clear();
    last = last_at = 0;
  }
  std::string_view last_verdict() const { return std::string_view(text).substr(last); }
};

void describe(outcome& o, const parse_result& r, const request& req, std::size_t stream_off,
              std::string_view buf) {
  o.last = o.text.size();
  o.last_at = stream_off;
  std::string& out = o.text;
  if (r.status == parse_status::error) {
    out += "error ";
    put_num(out, static_cast<std::uint64_t>(r.http_status));
    out += " (";
    out += r.reason;
    out += ") at ";
    put_num(out, stream_off);
    out += '\n';
    return;
  }
  const std::string_view head = buf.substr(0, r.consumed);
  out += "complete at ";
  put_num(out, stream_off);
  put_field(out, "len", r.consumed);
  put_view(out, "method", req.method_text, stream_off, head);
  put_view(out, "target", req.target, stream_off, head);
  put_view(out, "path", req.path, stream_off, head);
  put_view(out, "query", req.query, stream_off, head);
  put_view(out, "host", req.host, stream_off, head);
  put_view(out, "inm", req.if_none_match, stream_off, head);
  put_view(out, "ims", req.if_modified_since, stream_off, head);
  put_view(out, "range", req.range, stream_off, head);
  put_view(out, "if_range", req.if_range, stream_off, head);
  put_view(out, "accept_encoding", req.accept_encoding, stream_off, head);
  put_field(out, "ae_repeated", req.accept_encoding_repeated);
  put_field(out, "verb", static_cast<std::uint64_t>(req.verb));
  put_field(out, "ver", static_cast<std::uint64_t>(req.ver));
  put_field(out, "has_host", req.has_host);
  put_field(out, "keep_alive", req.keep_alive);
  put_field(out, "has_cl", req.has_content_length);
  put_field(out, "cl", req.content_length);
  put_field(out, "te", req.has_transfer_encoding);
  put_field(out, "fields", req.header_count);
  for (std::size_t i = 0; i < req.header_count; ++i) {
    put_view(out, "n", req.headers[i].name, stream_off, head);
    put_view(out, "v", req.headers[i].value, stream_off, head);
  }
  out += '\n';
}

void put_end(outcome& o, std::string_view how, std::size_t pending = 0) {
  o.text += "end: ";
  o.text += how;
  if (pending > 0) put_field(o.text, "pending", pending);
}

// Fills the request with values no parse of this input could produce, so a
// field the parser forgets to reset shows up as a view outside the head.
void poison(request& req) {
  static constexpr std::string_view stale = "stale";
  req.method_text = req.target = req.path = req.query = req.host = stale;
  req.if_none_match = req.if_modified_since = req.range = req.if_range = stale;
  req.accept_encoding = stale;
  req.accept_encoding_repeated = true;
  req.verb = method::get;
  req.ver = version::http10;
  req.has_host = req.keep_alive = req.has_content_length = req.has_transfer_encoding = true;
  req.content_length = 12345;
  req.header_count = 3;
  for (std::size_t i = 0; i < 3; ++i) req.headers[i] = {stale, stale};
}

// What the connection does after a head: the stream stops at an error or
// at a chunked body (the head parser cannot frame it; the connection
// answers and closes), and a Content-Length body is skipped unparsed.
enum class after { stop, go_on };

after record(outcome& o, const parse_result& r, const request& req, std::size_t stream_off,
             std::string_view buf, std::uint64_t& discard) {
  describe(o, r, req, stream_off, buf);
  if (r.status == parse_status::error) {
    put_end(o, "closed after error");
    return after::stop;
  }
  if (req.has_transfer_encoding) {
    put_end(o, "closed at transfer-encoding");
    return after::stop;
  }
  discard = req.has_content_length ? req.content_length : 0;
  return after::go_on;
}

// ------------------------------------------------------------ feeds

// All bytes at once, one request object reused as the connection does.
void feed_whole(std::string_view in, const limits& lim, request& req, outcome& o) {
  o.clear();
  parser p(lim);
  std::size_t pos = 0;
  for (;;) {
    if (pos == in.size()) return put_end(o, "idle");
    const std::string_view buf = in.substr(pos);
    const parse_result r = p.parse(buf, req);
    check_result(buf, r, req, lim);
    if (r.status == parse_status::incomplete) return put_end(o, "mid-head", buf.size());
    std::uint64_t body = 0;
    if (record(o, r, req, pos, buf, body) == after::stop) return;
    pos += r.consumed;
    p.reset();
    if (body > in.size() - pos) return put_end(o, "mid-body");
    pos += body;
  }
}

// The same stream arriving in reads whose sizes `next_read` chooses. Each
// read lands in a new exact-size copy of the unconsumed bytes, as when the
// connection moves or grows its buffer: a view kept from an earlier call
// would point into freed memory and ASan would say so.
template <typename Next>
void feed_reads(std::string_view in, const limits& lim, request& req, outcome& o, Next next_read) {
  o.clear();
  parser p(lim);
  std::unique_ptr<char[]> held;
  std::size_t held_off = 0;  // stream offset of held[0]
  std::size_t arrived = 0;   // stream bytes read so far
  std::size_t start = 0;     // stream offset of the first unconsumed byte
  std::uint64_t discard = 0;
  bool in_head = false;
  while (arrived < in.size()) {
    // The connection reads no more than max_header_bytes + 1 bytes of a head.
    const std::size_t room = lim.max_header_bytes + 1 - (arrived - start);
    require(room > 0, "buffer full and the parser still waiting");
    const std::size_t n = std::min({next_read(), in.size() - arrived, room});
    const std::size_t len = arrived + n - start;
    held = std::make_unique_for_overwrite<char[]>(len);
    std::memcpy(held.get(), in.data() + start, len);
    held_off = start;
    arrived += n;

    for (;;) {
      const std::uint64_t skip = std::min<std::uint64_t>(discard, arrived - start);
      start += skip;
      discard -= skip;
      if (discard > 0 || start == arrived) {
        in_head = false;
        break;
      }
      const std::string_view buf(held.get() + (start - held_off), arrived - start);
      poison(req);
      const parse_result r = p.parse(buf, req);
      check_result(buf, r, req, lim);
      if (r.status == parse_status::incomplete) {
        in_head = true;
        break;
      }
      if (record(o, r, req, start, buf, discard) == after::stop) return;
      start += r.consumed;
      p.reset();
    }
  }
  if (discard > 0) return put_end(o, "mid-body");
  if (in_head) return put_end(o, "mid-head", arrived - start);
  put_end(o, "idle");
}

// Proving a request line too long takes max_request_line + 2 bytes after
// any blank lines before it. When that is more than the max_header_bytes + 1
// a connection ever holds, the parser answers 431 to the connection, but 414
// when handed the whole stream. Both refuse the request and close; only the
// status differs, so this one difference is let through, and only when the
// line could not be proved too long within what a connection holds.
bool only_414_for_431(std::string_view in, const outcome& whole, const outcome& other,
                      const limits& lim) {
  if (whole.last != other.last || whole.last_at != other.last_at) return false;
  const std::string_view before = std::string_view(whole.text).substr(0, whole.last);
  if (before != std::string_view(other.text).substr(0, other.last)) return false;
  if (!whole.last_verdict().starts_with("error 414 ") ||
      !other.last_verdict().starts_with("error 431 ")) {
    return false;
  }
  const std::string_view held = in.substr(whole.last_at, lim.max_header_bytes + 1);
  return !ref_line_over(held, lim.max_request_line);
}

void expect_same(std::string_view in, const outcome& whole, const outcome& other, const limits& lim,
                 std::string_view how) {
  if (whole.text == other.text || only_414_for_431(in, whole, other, lim)) return;
  std::string detail = "all at once:\n" + whole.text + "\n" + std::string(how) + ":\n" + other.text;
  detail += "\nlimits: line " + std::to_string(lim.max_request_line) + ", head " +
            std::to_string(lim.max_header_bytes) + ", fields " + std::to_string(lim.max_headers);
  fail("incremental feeding gave a different result", detail);
}

void run(std::string_view in, const limits& lim, std::uint64_t h) {
  // request is ~4 KiB; one each, reused across inputs like a connection's,
  // and so are the outcome buffers.
  static auto whole_req = std::make_unique<request>();
  static auto reads_req = std::make_unique<request>();
  static outcome whole;
  static outcome other;

  feed_whole(in, lim, *whole_req, whole);

  const std::size_t split = in.empty() ? 0 : h % (in.size() + 1);
  bool first = true;
  feed_reads(in, lim, *reads_req, other, [&]() -> std::size_t {
    const std::size_t n = first ? split : in.size();
    first = false;
    return n == 0 ? in.size() : n;
  });
  if (whole.text != other.text) {
    expect_same(in, whole, other, lim, "two reads split at " + std::to_string(split));
  }

  // Small reads, scaled so a large input still arrives in a few dozen.
  rng r{h | 1};
  const std::size_t cap = std::max<std::size_t>(16, in.size() / 8);
  feed_reads(in, lim, *reads_req, other, [&] { return 1 + r.next() % cap; });
  expect_same(in, whole, other, lim, "many small reads");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::uint64_t h = hash_of(in);

  // The server's defaults (server/core/config.hh), which need large inputs.
  run(in, limits{}, h);

  // Tight limits within what the configuration accepts (64.., 256.., 1..),
  // so that short inputs cross each of them and both orders of the line
  // and head limits occur.
  limits tight;
  tight.max_request_line = 64 + (h >> 8) % 400;
  tight.max_header_bytes = 256 + (h >> 20) % 400;
  tight.max_headers = 1 + (h >> 32) % 12;
  run(in, tight, h >> 1);
  return 0;
}
