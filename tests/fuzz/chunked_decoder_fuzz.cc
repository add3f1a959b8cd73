// libFuzzer target for the chunked request-body decoder
// (http::chunked_decoder in server/core/http_parser.hh).
//
// The first input byte picks one of two modes; the next four set the
// limits, and the rest is the body or the recipe for one.
//
//  - raw: the bytes are fed as a client would send them. Fed all at once,
//    in two reads and in many small reads, the decoder must give the same
//    verdict at the same stream offset. A body it accepts must also be one
//    that a plain reference reading (written here, apart from the decoder,
//    with a looser grammar) finds complete at that very offset, within the
//    body limit; a body it refuses as too large must be one whose data the
//    reference finds over the limit.
//  - encoded: the bytes are a recipe (chunk sizes, extensions, trailer
//    fields, data) from which a well-formed body is built, followed by
//    bytes of the next request. The decoder must accept it and stop at its
//    last byte, however it is split, unless a limit is passed, and then it
//    must say which.
//
// A failed check prints what differed and aborts, which libFuzzer reports
// as a crash and saves as a reproducer.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "server/core/http_parser.hh"
#include "tests/fuzz/fuzz_util.hh"

namespace {

using zc::http::chunked_decoder;
using st = chunked_decoder::status;

[[noreturn]] void fail(const char* what, std::string_view input) {
  std::fprintf(stderr, "chunked_decoder_fuzz: %s\n", what);
  std::fprintf(stderr, "input (%zu bytes): ", input.size());
  for (const unsigned char c : input.substr(0, 256)) std::fprintf(stderr, "%02x", c);
  std::fprintf(stderr, "\n");
  std::abort();
}

struct limits {
  std::uint64_t max_body;
  std::size_t max_trailer;
};

struct verdict {
  st status;
  std::size_t at;  // stream offset where the decoder stopped
  bool operator==(const verdict&) const = default;
};

// Feeds `body` in pieces of the sizes `next_size` gives, as a connection
// would: stops at the first verdict other than "more".
template <typename Sizes>
verdict decode(std::string_view body, limits lim, Sizes next_size) {
  chunked_decoder d;
  d.reset(lim.max_body, lim.max_trailer);
  std::size_t off = 0;
  while (off < body.size()) {
    const std::size_t n = std::min(next_size(), body.size() - off);
    // A piece of exactly its own size, so that a read past it is caught.
    const std::string piece(body.substr(off, n));
    const chunked_decoder::result r = d.feed(piece);
    if (r.st != st::more) return {r.st, off + r.consumed};
    if (r.consumed != n) fail("\"more\" without consuming every byte", body);
    off += n;
  }
  return {st::more, body.size()};
}

using zc::fuzz::rng;

// Never 0: a xorshift seed of 0 stays 0.
std::uint64_t hash_of(std::string_view in) {
  return zc::fuzz::hash_of(in) | 1;
}

// The same verdict all at once, in two reads and in many small ones.
verdict decode_three_ways(std::string_view body, limits lim) {
  const verdict whole = decode(body, lim, [&] { return body.size(); });
  rng r{hash_of(body)};
  const std::size_t split = body.empty() ? 0 : r.next() % (body.size() + 1);
  bool first = true;
  const verdict two = decode(body, lim, [&] {
    const std::size_t n = first ? split : body.size();
    first = false;
    return std::max<std::size_t>(n, 1);
  });
  const verdict many = decode(body, lim, [&] { return 1 + r.next() % 7; });
  if (!(whole == two) || !(whole == many))
    fail("the verdict depends on how the body is split", body);
  return whole;
}

// ------------------------------------------------------------ reference reading
//
// Where a chunked body ends, read the plain way: lines up to CRLF, a chunk
// line is hex digits and then anything, data is followed by CRLF, and the
// trailer section is lines up to an empty one. It is looser than the
// decoder (which also checks the bytes of extensions and trailer fields and
// caps line lengths), so what the decoder accepts this must accept too.

struct reference_end {
  std::size_t end;        // offset just past the body
  std::uint64_t data;     // chunk data bytes in it
  bool over_limit_first;  // the data passed the limit before the body ended
};

std::optional<std::size_t> line_end(std::string_view b, std::size_t from) {
  const std::size_t cr = b.find("\r\n", from);
  if (cr == std::string_view::npos) return std::nullopt;
  return cr;
}

std::optional<reference_end> reference(std::string_view b, std::uint64_t max_body) {
  std::size_t i = 0;
  std::uint64_t data = 0;
  bool over = false;
  for (;;) {
    const auto eol = line_end(b, i);
    if (!eol) return std::nullopt;
    std::uint64_t size = 0;
    std::size_t digits = 0;
    for (std::size_t k = i; k < *eol; ++k, ++digits) {
      const char c = b[k];
      int d = -1;
      if (c >= '0' && c <= '9') d = c - '0';
      if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
      if (d < 0) break;
      if (size > (UINT64_MAX >> 4)) return std::nullopt;
      size = size * 16 + static_cast<std::uint64_t>(d);
    }
    if (digits == 0) return std::nullopt;
    i = *eol + 2;
    if (size == 0) break;
    if (size > max_body - std::min(max_body, data)) over = true;
    if (over) return reference_end{0, data + size, true};
    if (b.size() - i < size + 2) return std::nullopt;
    i += size;
    data += size;
    if (b.substr(i, 2) != "\r\n") return std::nullopt;
    i += 2;
  }
  for (;;) {  // trailer lines, then the empty line
    const auto eol = line_end(b, i);
    if (!eol) return std::nullopt;
    const bool empty = *eol == i;
    i = *eol + 2;
    if (empty) return reference_end{i, data, false};
  }
}

void check_raw(std::string_view body, limits lim) {
  const verdict v = decode_three_ways(body, lim);
  if (v.status == st::done) {
    const auto ref = reference(body, lim.max_body);
    if (!ref || ref->over_limit_first) fail("accepted a body the reference reading refuses", body);
    if (ref->end != v.at) fail("accepted a body ending elsewhere than the reference's end", body);
    if (ref->data > lim.max_body) fail("accepted more data than the body limit", body);
  } else if (v.status == st::too_large) {
    const auto ref = reference(body.substr(0, v.at), lim.max_body);
    if (!ref || !ref->over_limit_first) fail("\"too large\" for data within the limit", body);
  }
}

// ------------------------------------------------------------ encoded bodies

struct cursor {
  std::string_view in;
  unsigned char byte() {
    if (in.empty()) return 0;
    const auto c = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    return c;
  }
  std::string_view take(std::size_t n) {
    n = std::min(n, in.size());
    const std::string_view s = in.substr(0, n);
    in.remove_prefix(n);
    return s;
  }
};

void append_hex(std::string& out, std::uint64_t v, bool upper, unsigned zeros) {
  out.append(zeros, '0');
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  char buf[16];
  int n = 0;
  do {
    buf[n++] = digits[v & 15];
    v >>= 4;
  } while (v != 0);
  while (n > 0) out.push_back(buf[--n]);
}

// A well-formed body from the recipe; `data`, `trailer` and `longest_line`
// say what the decoder's limits will see.
struct encoded {
  std::string body;
  std::uint64_t data = 0;
  std::size_t trailer = 0;  // bytes the decoder counts against the trailer budget
  std::size_t longest_line = 0;
};

encoded encode(cursor c) {
  static constexpr std::string_view exts[] = {"", ";a", ";a=b", " ;x=\"q s\"", ";n=1;m=tok"};
  static constexpr std::string_view fields[] = {"X-T: v\r\n", "Checksum:abc\r\n", "A:\r\n"};
  encoded e;
  const unsigned chunks = c.byte() % 6;
  for (unsigned k = 0; k < chunks && !c.in.empty(); ++k) {
    const unsigned char shape = c.byte();
    const std::string_view data = c.take(1 + c.byte() % 64);
    if (data.empty()) break;  // a chunk of size 0 is the last chunk
    const std::size_t before = e.body.size();
    append_hex(e.body, data.size(), (shape & 1) != 0, (shape >> 1) % 3);
    e.body.append(exts[(shape >> 3) % std::size(exts)]);
    e.longest_line = std::max(e.longest_line, e.body.size() - before);
    e.body.append("\r\n");
    e.body.append(data);
    e.body.append("\r\n");
    e.data += data.size();
  }
  const unsigned char last = c.byte();
  e.body.append("0");
  e.body.append(exts[last % std::size(exts)]);
  e.longest_line = std::max(e.longest_line, 1 + exts[last % std::size(exts)].size());
  e.body.append("\r\n");
  const std::size_t trailer_start = e.body.size();
  for (unsigned k = 0; k < (last >> 4) % 3; ++k) e.body.append(fields[(last >> k) % 3]);
  e.body.append("\r\n");
  // The decoder counts the last LF of the final chunk line and every byte of
  // the trailer section but the final one.
  e.trailer = e.body.size() - trailer_start;
  return e;
}

void check_encoded(std::string_view recipe, limits lim) {
  const encoded e = encode(cursor{recipe});
  const std::string stream = e.body + "GET / HTTP/1.1\r\n\r\n";
  const verdict v = decode_three_ways(stream, lim);
  if (e.data > lim.max_body) {
    if (v.status != st::too_large) fail("data over the limit not refused as too large", stream);
    return;
  }
  // The decoder counts a chunk line's bytes up to its CR.
  if (e.longest_line + 1 > chunked_decoder::max_line || e.trailer > lim.max_trailer) {
    if (v.status != st::bad) fail("a chunk line or trailer over its cap not refused", stream);
    return;
  }
  if (v.status != st::done) fail("a well-formed body was not accepted", stream);
  if (v.at != e.body.size()) fail("a well-formed body did not end at its last byte", stream);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 5) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto mode = static_cast<unsigned char>(in[0]);
  // Limits small enough for short inputs to pass them, and the defaults.
  const auto body_pick = static_cast<unsigned char>(in[1]);
  const auto trailer_pick = static_cast<unsigned char>(in[2]);
  limits lim{};
  lim.max_body = (body_pick & 0x80) != 0 ? std::uint64_t{1} << 20 : body_pick % 128;
  lim.max_trailer = (trailer_pick & 0x80) != 0 ? 8192 : trailer_pick % 64;
  const std::string_view rest = in.substr(5);
  if ((mode & 1) == 0)
    check_raw(rest, lim);
  else
    check_encoded(rest, lim);
  return 0;
}
