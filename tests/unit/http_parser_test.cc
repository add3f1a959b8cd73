#include "server/core/http_parser.hh"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace zc::http {
namespace {

using namespace std::string_view_literals;

// request is ~4 KiB; keep it off the test's stack frame.
std::unique_ptr<request> fresh() {
  return std::make_unique<request>();
}

parse_result parse_once(std::string_view buf, request& req, const limits& lim = {}) {
  parser p(lim);
  return p.parse(buf, req);
}

void expect_error(std::string_view buf, int status, const limits& lim = {}) {
  SCOPED_TRACE(std::string("input: ") + std::string(buf));
  auto req = fresh();
  const parse_result r = parse_once(buf, *req, lim);
  EXPECT_EQ(r.status, parse_status::error);
  EXPECT_EQ(r.http_status, status);
  EXPECT_FALSE(r.reason.empty());
}

void expect_reason(std::string_view buf, int status, std::string_view reason) {
  SCOPED_TRACE(std::string("input: ") + std::string(buf));
  auto req = fresh();
  const parse_result r = parse_once(buf, *req);
  EXPECT_EQ(r.status, parse_status::error);
  EXPECT_EQ(r.http_status, status);
  EXPECT_EQ(r.reason, reason);
}

// Parses a head that must be complete and span the whole buffer.
std::unique_ptr<request> expect_complete(std::string_view buf, const limits& lim = {}) {
  SCOPED_TRACE(std::string("input: ") + std::string(buf));
  auto req = fresh();
  const parse_result r = parse_once(buf, *req, lim);
  EXPECT_EQ(r.status, parse_status::complete) << r.reason;
  EXPECT_EQ(r.consumed, buf.size());
  return req;
}

void expect_same(const request& a, const request& b) {
  EXPECT_EQ(a.method_text, b.method_text);
  EXPECT_EQ(a.verb, b.verb);
  EXPECT_EQ(a.target, b.target);
  EXPECT_EQ(a.path, b.path);
  EXPECT_EQ(a.query, b.query);
  EXPECT_EQ(a.ver, b.ver);
  EXPECT_EQ(a.host, b.host);
  EXPECT_EQ(a.has_host, b.has_host);
  EXPECT_EQ(a.keep_alive, b.keep_alive);
  EXPECT_EQ(a.if_none_match, b.if_none_match);
  EXPECT_EQ(a.if_modified_since, b.if_modified_since);
  EXPECT_EQ(a.range, b.range);
  EXPECT_EQ(a.if_range, b.if_range);
  EXPECT_EQ(a.has_content_length, b.has_content_length);
  EXPECT_EQ(a.content_length, b.content_length);
  EXPECT_EQ(a.has_transfer_encoding, b.has_transfer_encoding);
  ASSERT_EQ(a.header_count, b.header_count);
  for (std::size_t i = 0; i < a.header_count; ++i) {
    EXPECT_EQ(a.headers[i].name, b.headers[i].name);
    EXPECT_EQ(a.headers[i].value, b.headers[i].value);
  }
}

// Views must point into the caller's buffer, not into copies.
bool inside(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

// ------------------------------------------------------------ request line

TEST(HttpParser, SimpleGetIsCompleteWithViewsIntoTheBuffer) {
  const std::string buf = "GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
  auto req = expect_complete(buf);
  EXPECT_EQ(req->method_text, "GET");
  EXPECT_EQ(req->verb, method::get);
  EXPECT_EQ(req->target, "/index.html");
  EXPECT_EQ(req->path, "/index.html");
  EXPECT_EQ(req->query, "");
  EXPECT_EQ(req->ver, version::http11);
  EXPECT_TRUE(req->has_host);
  EXPECT_EQ(req->host, "example.com");
  EXPECT_TRUE(req->keep_alive);
  EXPECT_FALSE(req->has_content_length);
  EXPECT_FALSE(req->has_transfer_encoding);
  ASSERT_EQ(req->header_count, 2u);
  EXPECT_EQ(req->headers[0].name, "Host");
  EXPECT_EQ(req->headers[0].value, "example.com");
  EXPECT_EQ(req->headers[1].name, "Accept");
  EXPECT_EQ(req->headers[1].value, "*/*");
  EXPECT_TRUE(inside(req->path, buf));
  EXPECT_TRUE(inside(req->host, buf));
  EXPECT_TRUE(inside(req->headers[1].value, buf));
}

TEST(HttpParser, RefererAndUserAgentAreCapturedForTheAccessLog) {
  const std::string buf =
      "GET / HTTP/1.1\r\nHost: a\r\nuser-agent: curl/8.0\r\nREFERER: http://x/\r\n"
      "User-Agent: second\r\n\r\n";
  auto req = expect_complete(buf);
  EXPECT_EQ(req->referer, "http://x/");
  EXPECT_EQ(req->user_agent, "curl/8.0");  // a repeat is kept out, not refused
  EXPECT_TRUE(inside(req->user_agent, buf));
  auto bare = expect_complete("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(bare->referer, "");
  EXPECT_EQ(bare->user_agent, "");
}

TEST(HttpParser, HeadMethodIsRecognised) {
  auto req = expect_complete("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(req->verb, method::head);
  EXPECT_EQ(req->method_text, "HEAD");
}

TEST(HttpParser, OtherTokenMethodsAreOther) {
  for (std::string_view m : {"POST"sv, "DELETE"sv, "OPTIONS"sv, "X-CUSTOM!"sv}) {
    const std::string buf = std::string(m) + " / HTTP/1.1\r\nHost: a\r\n\r\n";
    auto req = expect_complete(buf);
    EXPECT_EQ(req->verb, method::other);
    EXPECT_EQ(req->method_text, m);
  }
}

TEST(HttpParser, MethodsAreCaseSensitive) {
  auto req = expect_complete("get / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(req->verb, method::other);
}

TEST(HttpParser, NonTokenMethodIs400) {
  expect_error("GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  expect_error(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  expect_error("GET\r\nHost: a\r\n\r\n", 400);
}

TEST(HttpParser, QueryIsSplitFromPath) {
  auto req = expect_complete("GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(req->target, "/a/b?x=1&y=%20");
  EXPECT_EQ(req->path, "/a/b");
  EXPECT_EQ(req->query, "x=1&y=%20");
}

TEST(HttpParser, EmptyQueryAfterQuestionMark) {
  auto req = expect_complete("GET /a? HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(req->path, "/a");
  EXPECT_EQ(req->query, "");
}

TEST(HttpParser, FragmentIsCutFromPathAndQuery) {
  auto req = expect_complete("GET /a?q=1#frag HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(req->path, "/a");
  EXPECT_EQ(req->query, "q=1");
  req = expect_complete("GET /b#frag?x HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(req->path, "/b");
  EXPECT_EQ(req->query, "");
}

TEST(HttpParser, PercentEncodingIsLeftAlone) {
  auto req = expect_complete("GET /a%2Fb%3F HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(req->path, "/a%2Fb%3F");
}

TEST(HttpParser, AbsoluteFormTargetYieldsPathQueryAndHost) {
  auto req =
      expect_complete("GET http://example.com:8080/dir/f.txt?v=2 HTTP/1.1\r\nHost: other\r\n\r\n");
  EXPECT_EQ(req->target, "http://example.com:8080/dir/f.txt?v=2");
  EXPECT_EQ(req->path, "/dir/f.txt");
  EXPECT_EQ(req->query, "v=2");
  // RFC 9112 §3.2.2: the target's authority replaces the Host header.
  EXPECT_EQ(req->host, "example.com:8080");
}

TEST(HttpParser, AbsoluteFormSchemeIsCaseInsensitiveAndEmptyPathIsRoot) {
  auto req = expect_complete("GET HTTP://Example.com HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(req->path, "/");
  EXPECT_EQ(req->host, "Example.com");
  req = expect_complete("GET https://h?q HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(req->path, "/");
  EXPECT_EQ(req->query, "q");
}

TEST(HttpParser, AbsoluteFormStillNeedsHostHeaderIn11) {
  expect_reason("GET http://h/ HTTP/1.1\r\n\r\n", 400, "missing Host");
}

TEST(HttpParser, AbsoluteFormWithEmptyHostOrUserinfoIs400) {
  expect_error("GET http:///a HTTP/1.1\r\nHost: h\r\n\r\n", 400);
  expect_error("GET http://user@h/a HTTP/1.1\r\nHost: h\r\n\r\n", 400);
}

TEST(HttpParser, AsteriskAndOtherTargetFormsAre400) {
  expect_error("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  expect_error("GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  expect_error("CONNECT example.com:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  expect_error("GET ftp://h/a HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

TEST(HttpParser, ControlCharactersInTargetAre400) {
  expect_error("GET /a\x01z HTTP/1.1\r\nHost: a\r\n\r\n"sv, 400);
  expect_error("GET /a\tz HTTP/1.1\r\nHost: a\r\n\r\n"sv, 400);
  expect_error("GET /a\x7fz HTTP/1.1\r\nHost: a\r\n\r\n"sv, 400);
  expect_error("GET /a\0z HTTP/1.1\r\nHost: a\r\n\r\n"sv, 400);
  expect_error("GET /a\rz HTTP/1.1\r\nHost: a\r\n\r\n"sv, 400);
  expect_reason("GET /a z HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid character in request target");
}

TEST(HttpParser, ExtraSpacesInRequestLineAre400) {
  expect_error("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  expect_error("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400);
  expect_error("GET /\r\nHost: a\r\n\r\n", 400);
}

TEST(HttpParser, Http10IsRecognised) {
  auto req = expect_complete("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(req->ver, version::http10);
  EXPECT_FALSE(req->has_host);
}

TEST(HttpParser, MalformedVersionIs400) {
  expect_error("GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400);
  expect_error("GET / http/1.1\r\nHost: a\r\n\r\n", 400);
  expect_error("GET / HTTP/1\r\nHost: a\r\n\r\n", 400);
  expect_error("GET / HTTP/11\r\nHost: a\r\n\r\n", 400);
  expect_error("GET / HTTP/a.b\r\nHost: a\r\n\r\n", 400);
  expect_error("GET / FOO\r\nHost: a\r\n\r\n", 400);
}

TEST(HttpParser, OtherHttpVersionsAre505) {
  expect_reason("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "unsupported HTTP version");
  expect_error("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505);
  expect_error("GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505);
}

TEST(HttpParser, HigherHttp1MinorIsServedAsHttp11) {
  auto req = expect_complete("GET / HTTP/1.2\r\nHost: a\r\n\r\n");
  EXPECT_EQ(req->ver, http::version::http11);
}

TEST(HttpParser, Http2PrefaceIs505) {
  expect_error("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505);
}

// ------------------------------------------------------------ framing

TEST(HttpParser, IncompleteHeadIsIncomplete) {
  auto req = fresh();
  parser p;
  const parse_result r = p.parse("GET / HTTP/1.1\r\nHost: a\r\n", *req);
  EXPECT_EQ(r.status, parse_status::incomplete);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_EQ(p.parse("", *req).status, parse_status::incomplete);
}

TEST(HttpParser, PipelinedRequestsParseOneAfterAnother) {
  const std::string first = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string buf = first +
                          "HEAD /two?x HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n"
                          "GET /thr";
  auto req = fresh();
  parser p;
  std::string_view rest = buf;

  parse_result r = p.parse(rest, *req);
  ASSERT_EQ(r.status, parse_status::complete);
  EXPECT_EQ(r.consumed, first.size());
  EXPECT_EQ(req->path, "/one");
  EXPECT_EQ(req->host, "a");
  EXPECT_TRUE(req->keep_alive);
  rest.remove_prefix(r.consumed);
  p.reset();

  r = p.parse(rest, *req);
  ASSERT_EQ(r.status, parse_status::complete);
  EXPECT_EQ(req->verb, method::head);
  EXPECT_EQ(req->path, "/two");
  EXPECT_EQ(req->query, "x");
  EXPECT_EQ(req->host, "b");
  EXPECT_FALSE(req->keep_alive);
  EXPECT_EQ(req->header_count, 2u);
  rest.remove_prefix(r.consumed);
  p.reset();

  EXPECT_EQ(rest, "GET /thr");
  EXPECT_EQ(p.parse(rest, *req).status, parse_status::incomplete);
}

TEST(HttpParser, CompleteParseLeavesNoProgressBehindEvenWithoutReset) {
  const std::string buf =
      "GET /one HTTP/1.1\r\nHost: a\r\nX-Pad: 0123456789012345678901234567890\r\n\r\n"
      "GET /two HTTP/1.1\r\nHost: b\r\n\r\n";
  auto req = fresh();
  parser p;
  const parse_result r = p.parse(buf, *req);
  ASSERT_EQ(r.status, parse_status::complete);
  const parse_result r2 = p.parse(std::string_view(buf).substr(r.consumed), *req);
  ASSERT_EQ(r2.status, parse_status::complete);
  EXPECT_EQ(req->path, "/two");
}

const std::string kRich =
    "GET /files/a%20b.txt?dl=1 HTTP/1.1\r\n"
    "Host: example.com:8080\r\n"
    "User-Agent: test/1.0\r\n"
    "Connection: keep-alive\r\n"
    "If-None-Match: \"abc\", W/\"def\"\r\n"
    "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
    "Range: bytes=0-99\r\n"
    "If-Range: \"abc\"\r\n"
    "X-Empty:\r\n"
    "X-Spaces: \t  padded value \t \r\n"
    "\r\n";

TEST(HttpParser, ByteByByteFeedingMatchesOneShot) {
  for (const std::string& whole : {kRich, std::string("\r\n\r\nGET / HTTP/1.0\n\n")}) {
    SCOPED_TRACE(whole);
    auto one_shot = expect_complete(whole);

    auto req = fresh();
    parser p;
    for (std::size_t i = 0; i < whole.size(); ++i) {
      ASSERT_EQ(p.parse(std::string_view(whole).substr(0, i), *req).status,
                parse_status::incomplete)
          << "at " << i;
    }
    const parse_result r = p.parse(whole, *req);
    ASSERT_EQ(r.status, parse_status::complete) << r.reason;
    EXPECT_EQ(r.consumed, whole.size());
    expect_same(*one_shot, *req);
  }
}

TEST(HttpParser, TwoChunkFeedingMatchesOneShotAtEverySplit) {
  auto one_shot = expect_complete(kRich);
  for (std::size_t split = 0; split < kRich.size(); ++split) {
    SCOPED_TRACE(split);
    auto req = fresh();
    parser p;
    ASSERT_EQ(p.parse(std::string_view(kRich).substr(0, split), *req).status,
              parse_status::incomplete);
    const parse_result r = p.parse(kRich, *req);
    ASSERT_EQ(r.status, parse_status::complete);
    EXPECT_EQ(r.consumed, kRich.size());
    expect_same(*one_shot, *req);
  }
}

TEST(HttpParser, ResumedSearchStartsNearWhereThePreviousCallStopped) {
  // Deliberately breaks the "same prefix" contract to observe the search:
  // an early "\n\n" appearing after the first call is never looked at, only
  // the last 3 bytes seen before are searched again.
  std::string buf = "GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789";
  auto req = fresh();
  parser p;
  ASSERT_EQ(p.parse(buf, *req).status, parse_status::incomplete);
  buf[27] = '\n';
  buf[28] = '\n';
  buf += "\r\n\r\n";
  const parse_result r = p.parse(buf, *req);
  ASSERT_EQ(r.status, parse_status::complete);
  EXPECT_EQ(r.consumed, buf.size());
}

TEST(HttpParser, TerminatorSplitAcrossCallsIsFound) {
  const std::string whole = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  for (std::size_t cut = whole.size() - 4; cut < whole.size(); ++cut) {
    auto req = fresh();
    parser p;
    ASSERT_EQ(p.parse(std::string_view(whole).substr(0, cut), *req).status,
              parse_status::incomplete);
    EXPECT_EQ(p.parse(whole, *req).status, parse_status::complete) << cut;
  }
}

TEST(HttpParser, BareLfLineEndingsAreAccepted) {
  auto req = expect_complete("GET /x HTTP/1.1\nHost: a\nConnection: close\n\n");
  EXPECT_EQ(req->path, "/x");
  EXPECT_EQ(req->host, "a");
  EXPECT_FALSE(req->keep_alive);
  EXPECT_EQ(req->header_count, 2u);
}

TEST(HttpParser, MixedLineEndingsAreAccepted) {
  auto req = expect_complete("GET /x HTTP/1.1\r\nHost: a\nX: y\r\n\n");
  EXPECT_EQ(req->header_count, 2u);
  EXPECT_EQ(req->headers[1].value, "y");
  req = expect_complete("GET /x HTTP/1.1\nHost: a\n\r\n");
  EXPECT_EQ(req->host, "a");
}

TEST(HttpParser, LeadingEmptyLinesAreSkippedAndConsumed) {
  auto req = expect_complete("\r\n\r\n\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(req->path, "/x");
  EXPECT_EQ(req->method_text, "GET");
}

TEST(HttpParser, OnlyEmptyLinesAreIncomplete) {
  auto req = fresh();
  parser p;
  EXPECT_EQ(p.parse("\r\n\r\n\r", *req).status, parse_status::incomplete);
  EXPECT_EQ(p.parse("\r\n\r\n\r\n", *req).status, parse_status::incomplete);
}

TEST(HttpParser, StrayCrIsRejected) {
  expect_error("GET / HTTP/1.1\r\r\nHost: a\r\n\r\n", 400);
  expect_error("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

// ------------------------------------------------------------ limits

TEST(HttpParser, RequestLineAtLimitIsAccepted) {
  limits lim;
  lim.max_request_line = 64;
  const std::string line = "GET /" + std::string(64 - 14, 'a') + " HTTP/1.1";
  ASSERT_EQ(line.size(), 64u);
  expect_complete(line + "\r\nHost: a\r\n\r\n", lim);
}

TEST(HttpParser, CompleteRequestLineOverLimitIs414) {
  limits lim;
  lim.max_request_line = 64;
  const std::string line = "GET /" + std::string(65 - 14, 'a') + " HTTP/1.1";
  expect_error(line + "\r\nHost: a\r\n\r\n", 414, lim);
  expect_error(line + "\nHost: a\n\n", 414, lim);
}

TEST(HttpParser, UnfinishedRequestLineOverLimitIs414) {
  limits lim;
  lim.max_request_line = 64;
  const std::string buf = "GET /" + std::string(200, 'a');
  auto req = fresh();
  parser p(lim);
  // Up to the limit plus room for a CRLF nothing can be decided.
  EXPECT_EQ(p.parse(std::string_view(buf).substr(0, 65), *req).status, parse_status::incomplete);
  const parse_result r = p.parse(buf, *req);
  EXPECT_EQ(r.status, parse_status::error);
  EXPECT_EQ(r.http_status, 414);
}

TEST(HttpParser, LongRequestLineFedByteByByteIs414AtTheLimit) {
  limits lim;
  lim.max_request_line = 32;
  const std::string buf = "GET /" + std::string(100, 'a');
  auto req = fresh();
  parser p(lim);
  std::size_t i = 1;
  parse_result r;
  for (; i <= buf.size(); ++i) {
    r = p.parse(std::string_view(buf).substr(0, i), *req);
    if (r.status != parse_status::incomplete) break;
  }
  EXPECT_EQ(r.status, parse_status::error);
  EXPECT_EQ(r.http_status, 414);
  EXPECT_EQ(i, 34u);
}

TEST(HttpParser, LongRequestLineWithIncompleteHeadIs414Early) {
  limits lim;
  lim.max_request_line = 32;
  const std::string buf = "GET /" + std::string(60, 'a') + " HTTP/1.1\r\nHost: a\r\n";
  auto req = fresh();
  parser p(lim);
  const parse_result r = p.parse(buf, *req);
  EXPECT_EQ(r.status, parse_status::error);
  EXPECT_EQ(r.http_status, 414);
}

TEST(HttpParser, HeadAtByteLimitIsAccepted) {
  const std::string head = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(30, 'v') + "\r\n\r\n";
  limits lim;
  lim.max_header_bytes = head.size();
  expect_complete(head, lim);
}

TEST(HttpParser, CompleteHeadOverByteLimitIs431) {
  const std::string head = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(30, 'v') + "\r\n\r\n";
  limits lim;
  lim.max_header_bytes = head.size() - 1;
  auto req = fresh();
  const parse_result r = parse_once(head, *req, lim);
  EXPECT_EQ(r.status, parse_status::error);
  EXPECT_EQ(r.http_status, 431);
  EXPECT_EQ(r.reason, "request head too large");
}

TEST(HttpParser, UnfinishedHeadOverByteLimitIs431) {
  limits lim;
  lim.max_header_bytes = 100;
  std::string buf = "GET / HTTP/1.1\r\nHost: a\r\n";
  auto req = fresh();
  parser p(lim);
  while (buf.size() <= 100) {
    ASSERT_EQ(p.parse(buf, *req).status, parse_status::incomplete);
    buf += "X-A: b\r\n";
  }
  const parse_result r = p.parse(buf, *req);
  EXPECT_EQ(r.status, parse_status::error);
  EXPECT_EQ(r.http_status, 431);
}

TEST(HttpParser, EndlessEmptyLinesHitTheByteLimit) {
  limits lim;
  lim.max_header_bytes = 64;
  expect_error(std::string(66, '\n'), 431, lim);
}

TEST(HttpParser, DefaultHeadLimitIs431ForBigHead) {
  const std::string buf =
      "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(20000, 'x') + "\r\n\r\n";
  expect_error(buf, 431);
}

std::string with_fields(std::size_t count, std::string_view version = "HTTP/1.1") {
  std::string buf = "GET / " + std::string(version) + "\r\nHost: a\r\n";
  for (std::size_t i = 1; i < count; ++i) buf += "X-" + std::to_string(i) + ": v\r\n";
  return buf + "\r\n";
}

TEST(HttpParser, MaxHeadersFieldsAreAccepted) {
  limits lim;
  lim.max_headers = 10;
  auto req = expect_complete(with_fields(10), lim);
  EXPECT_EQ(req->header_count, 10u);
}

TEST(HttpParser, TooManyHeaderFieldsIs431) {
  limits lim;
  lim.max_headers = 10;
  expect_error(with_fields(11), 431, lim);
  expect_error(with_fields(65), 431);
}

TEST(HttpParser, HeaderCountIsCappedByCapacity) {
  limits lim;
  lim.max_headers = 1000;
  lim.max_header_bytes = 1 << 20;
  auto req = expect_complete(with_fields(max_headers_capacity), lim);
  EXPECT_EQ(req->header_count, max_headers_capacity);
  expect_error(with_fields(max_headers_capacity + 1), 431, lim);
}

// ------------------------------------------------------------ header fields

TEST(HttpParser, MissingHostInHttp11Is400) {
  expect_reason("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400, "missing Host");
}

TEST(HttpParser, Http10WithoutHostIsAccepted) {
  auto req = expect_complete("GET / HTTP/1.0\r\nAccept: */*\r\n\r\n");
  EXPECT_FALSE(req->has_host);
  req = expect_complete("GET / HTTP/1.0\r\nHost: h\r\n\r\n");
  EXPECT_TRUE(req->has_host);
  EXPECT_EQ(req->host, "h");
}

TEST(HttpParser, EmptyHostIsAccepted) {
  auto req = expect_complete("GET / HTTP/1.1\r\nHost:\r\n\r\n");
  EXPECT_TRUE(req->has_host);
  EXPECT_EQ(req->host, "");
}

TEST(HttpParser, DuplicateHostIs400) {
  expect_reason("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400, "duplicate Host");
  expect_error("GET / HTTP/1.0\r\nHost: a\r\nHOST: b\r\n\r\n", 400);
}

TEST(HttpParser, InvalidHostIs400) {
  expect_error("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nHost: u@h\r\n\r\n", 400);
  expect_complete("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
}

TEST(HttpParser, WhitespaceBeforeColonIs400) {
  expect_reason("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "whitespace before colon");
  expect_reason("GET / HTTP/1.1\r\nHost: a\r\nX\t: b\r\n\r\n", 400, "whitespace before colon");
}

TEST(HttpParser, ObsFoldIs400) {
  expect_reason("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n", 400, "obsolete line folding");
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\tc\r\n\r\n", 400);
}

TEST(HttpParser, WhitespaceBeforeFirstHeaderIs400) {
  expect_error("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400);
}

TEST(HttpParser, MalformedFieldNamesAre400) {
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nX(y): z\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nX\x01: z\r\n\r\n"sv, 400);
}

TEST(HttpParser, HeaderValuesAreTrimmedOfSpaceAndTab) {
  auto req = expect_complete(
      "GET / HTTP/1.1\r\nHost:a\r\nX-A: \t a  b \t\r\nX-B:\r\nX-C:   \r\nX-D:\tin\tside\r\n\r\n");
  ASSERT_EQ(req->header_count, 5u);
  EXPECT_EQ(req->headers[0].value, "a");
  EXPECT_EQ(req->headers[1].value, "a  b");
  EXPECT_EQ(req->headers[2].value, "");
  EXPECT_EQ(req->headers[3].value, "");
  EXPECT_EQ(req->headers[4].value, "in\tside");
}

TEST(HttpParser, ObsTextInHeaderValueIsAccepted) {
  auto req = expect_complete("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n");
  EXPECT_EQ(req->headers[1].value, "caf\xc3\xa9");
}

TEST(HttpParser, CrOrNulInHeaderValueIs400) {
  expect_reason("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400, "CR or NUL in header value");
  expect_reason("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"sv, 400, "CR or NUL in header value");
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nX: ab\r\r\n\r\n", 400);
}

TEST(HttpParser, ControlCharactersInHeaderValueAre400) {
  expect_reason(
      "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01"
      "b\r\n\r\n",
      400, "control character in header value");
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nX: \x1b[31m\r\n\r\n", 400);
}

TEST(HttpParser, KnownFieldsAreFoundCaseInsensitively) {
  auto req = expect_complete(
      "GET / HTTP/1.1\r\nhOsT: h\r\nif-none-match: \"e\"\r\nIF-MODIFIED-SINCE: d\r\n"
      "rAnGe: bytes=1-2\r\nIf-range: \"e\"\r\ncontent-LENGTH: 0\r\n\r\n");
  EXPECT_EQ(req->host, "h");
  EXPECT_EQ(req->if_none_match, "\"e\"");
  EXPECT_EQ(req->if_modified_since, "d");
  EXPECT_EQ(req->range, "bytes=1-2");
  EXPECT_EQ(req->if_range, "\"e\"");
  EXPECT_TRUE(req->has_content_length);
  EXPECT_EQ(req->content_length, 0u);
}

TEST(HttpParser, SimilarNamesAreNotMistakenForKnownFields) {
  auto req = expect_complete(
      "GET / HTTP/1.1\r\nHost: h\r\nHosts: x\r\nRangf: x\r\nConnection2: close\r\n\r\n");
  EXPECT_EQ(req->range, "");
  EXPECT_TRUE(req->keep_alive);
}

TEST(HttpParser, DuplicateConditionalOrRangeFieldsAre400) {
  expect_reason("GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nRange: bytes=2-3\r\n\r\n", 400,
                "duplicate Range");
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nIf-Range: x\r\nIf-Range: x\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: x\r\nIf-None-Match: y\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: x\r\nIf-Modified-Since: x\r\n\r\n",
               400);
}

TEST(HttpParser, ContentLengthIsParsed) {
  auto req = expect_complete("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0012345\r\n\r\n");
  EXPECT_TRUE(req->has_content_length);
  EXPECT_EQ(req->content_length, 12345u);
  req =
      expect_complete("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\n");
  EXPECT_EQ(req->content_length, 18446744073709551615u);
}

TEST(HttpParser, BadContentLengthIs400) {
  for (std::string_view v : {""sv, "abc"sv, "-1"sv, "+5"sv, "1 2"sv, "0x10"sv, "5,"sv,
                             "18446744073709551616"sv, "99999999999999999999999"sv}) {
    const std::string buf =
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::string(v) + "\r\n\r\n";
    expect_reason(buf, 400, "invalid Content-Length");
  }
}

TEST(HttpParser, DuplicateContentLengthWithDifferentValuesIs400) {
  expect_reason("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400,
                "conflicting Content-Length");
}

TEST(HttpParser, RepeatedIdenticalContentLengthIsAccepted) {
  auto req = expect_complete(
      "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n");
  EXPECT_EQ(req->content_length, 5u);
}

TEST(HttpParser, ContentLengthListIsRejectedEvenIfValuesAgree) {
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 400);
}

TEST(HttpParser, TransferEncodingIsFlagged) {
  auto req = expect_complete("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_TRUE(req->has_transfer_encoding);
  EXPECT_FALSE(req->has_content_length);
}

TEST(HttpParser, ContentLengthWithTransferEncodingIs400) {
  expect_reason(
      "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
      "Content-Length with Transfer-Encoding");
  expect_error(
      "GET / HTTP/1.1\r\nHost: a\r\ntransfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n", 400);
}

transfer_coding coding_of(std::string_view fields) {
  const std::string buf = "GET / HTTP/1.1\r\nHost: a\r\n" + std::string(fields) + "\r\n";
  auto req = expect_complete(buf);
  return req->coding;
}

TEST(HttpParser, ChunkedAloneIsTheOneCodingDecoded) {
  EXPECT_EQ(coding_of(""), transfer_coding::none);
  EXPECT_EQ(coding_of("Transfer-Encoding: chunked\r\n"), transfer_coding::chunked);
  EXPECT_EQ(coding_of("Transfer-Encoding: CHUNKED\r\n"), transfer_coding::chunked);
  EXPECT_EQ(coding_of("Transfer-Encoding: , chunked ,\r\n"), transfer_coding::chunked);
  EXPECT_EQ(coding_of("Transfer-Encoding: gzip\r\n"), transfer_coding::unsupported);
  EXPECT_EQ(coding_of("Transfer-Encoding: gzip, chunked\r\n"), transfer_coding::unsupported);
  EXPECT_EQ(coding_of("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"),
            transfer_coding::unsupported);
  EXPECT_EQ(coding_of("Transfer-Encoding: chunkedx\r\n"), transfer_coding::unsupported);
}

TEST(HttpParser, FramingInDoubtIs400) {
  const std::string_view h = "GET / HTTP/1.1\r\nHost: a\r\n";
  expect_reason(std::string(h) + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400,
                "chunked not the final transfer coding");
  expect_reason(std::string(h) + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
                400, "chunked not the final transfer coding");
  expect_reason(std::string(h) + "Transfer-Encoding: chunked, chunked\r\n\r\n", 400,
                "chunked not the final transfer coding");
  expect_reason(std::string(h) + "Transfer-Encoding: \r\n\r\n", 400, "empty Transfer-Encoding");
  expect_reason(std::string(h) + "Transfer-Encoding: ,\r\n\r\n", 400, "empty Transfer-Encoding");
  expect_reason("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
                "Transfer-Encoding in HTTP/1.0");
}

TEST(HttpParser, ExpectContinueIsNoted) {
  auto expects = [](std::string_view value) {
    const std::string buf =
        "GET / HTTP/1.1\r\nHost: a\r\nExpect: " + std::string(value) + "\r\n\r\n";
    return expect_complete(buf)->expect_continue;
  };
  EXPECT_TRUE(expects("100-continue"));
  EXPECT_TRUE(expects("100-Continue"));
  EXPECT_FALSE(expects("100-continued"));
  EXPECT_FALSE(expects("101-continue"));
  EXPECT_FALSE(expects("something-else"));
  EXPECT_FALSE(expect_complete("GET / HTTP/1.1\r\nHost: a\r\n\r\n")->expect_continue);
}

// ------------------------------------------------------------ chunked bodies

constexpr std::uint64_t no_limit = 1 << 20;

// A body with an extension, a quoted extension, trailers, and a pipelined
// request after it that the decoder must not touch.
constexpr std::string_view kChunked =
    "5\r\nhello\r\n"
    "1A;name=value;q=\"a; b\"\r\nabcdefghijklmnopqrstuvwxyz\r\n"
    "00A \t;x\r\n0123456789\r\n"
    "0;last\r\nX-Trailer: yes\r\nX-Empty:\r\n\r\n";
constexpr std::string_view kNext = "GET /next HTTP/1.1\r\n";

chunked_decoder fresh_decoder(std::uint64_t max_body = no_limit) {
  chunked_decoder d;
  d.reset(max_body, 16384);
  return d;
}

TEST(ChunkedDecoder, WholeBodyStopsAtItsEnd) {
  auto d = fresh_decoder();
  const std::string buf = std::string(kChunked) + std::string(kNext);
  const auto r = d.feed(buf);
  EXPECT_EQ(r.st, chunked_decoder::status::done);
  EXPECT_EQ(r.consumed, kChunked.size());
  EXPECT_FALSE(d.active());
}

TEST(ChunkedDecoder, EverySplitPointGivesTheSameEnd) {
  const std::string buf = std::string(kChunked) + std::string(kNext);
  for (std::size_t cut = 0; cut <= kChunked.size(); ++cut) {
    SCOPED_TRACE("split at " + std::to_string(cut));
    auto d = fresh_decoder();
    const auto a = d.feed(std::string_view(buf).substr(0, cut));
    if (cut < kChunked.size()) {
      ASSERT_EQ(a.st, chunked_decoder::status::more);
      ASSERT_EQ(a.consumed, cut);
      EXPECT_TRUE(d.active());
      const auto b = d.feed(std::string_view(buf).substr(cut));
      EXPECT_EQ(b.st, chunked_decoder::status::done);
      EXPECT_EQ(cut + b.consumed, kChunked.size());
    } else {
      EXPECT_EQ(a.st, chunked_decoder::status::done);
      EXPECT_EQ(a.consumed, kChunked.size());
    }
  }
}

TEST(ChunkedDecoder, ByteByByte) {
  auto d = fresh_decoder();
  for (std::size_t i = 0; i < kChunked.size(); ++i) {
    const auto r = d.feed(kChunked.substr(i, 1));
    ASSERT_EQ(r.consumed, 1u) << "at " << i;
    ASSERT_EQ(r.st, i + 1 == kChunked.size() ? chunked_decoder::status::done
                                             : chunked_decoder::status::more)
        << "at " << i;
  }
}

chunked_decoder::status status_of(std::string_view body, std::uint64_t max_body = no_limit) {
  auto d = fresh_decoder(max_body);
  return d.feed(body).st;
}

TEST(ChunkedDecoder, MalformedFramingIsBad) {
  const chunked_decoder::status bad = chunked_decoder::status::bad;
  EXPECT_EQ(status_of("\r\n"), bad);                     // no size
  EXPECT_EQ(status_of("zz\r\n"), bad);                   // not hex
  EXPECT_EQ(status_of("-5\r\n"), bad);                   // sign
  EXPECT_EQ(status_of("0x5\r\n"), bad);                  // prefix
  EXPECT_EQ(status_of("1 2\r\n"), bad);                  // space inside the size
  EXPECT_EQ(status_of("5\nhello\r\n"), bad);             // bare LF after the size
  EXPECT_EQ(status_of("5\rhello\r\n"), bad);             // CR without LF
  EXPECT_EQ(status_of("5\r\nhelloX\r\n"), bad);          // data longer than its size
  EXPECT_EQ(status_of("5\r\nhello\n"), bad);             // bare LF after the data
  EXPECT_EQ(status_of("5;a=\x01\r\n"), bad);             // control byte in an extension
  EXPECT_EQ(status_of("5;a\nb\r\n"), bad);               // LF in an extension
  EXPECT_EQ(status_of("0\r\nNoColon\r\n\r\n"), bad);     // trailer without a name
  EXPECT_EQ(status_of("0\r\n: v\r\n\r\n"), bad);         // empty trailer name
  EXPECT_EQ(status_of("0\r\nA: b\r\n c\r\n\r\n"), bad);  // obs-fold in trailers
  EXPECT_EQ(status_of("0\r\nA: \x7f\r\n\r\n"), bad);     // DEL in a trailer value
  EXPECT_EQ(status_of("0\r\n\n"), bad);                  // bare LF ends the body
}

TEST(ChunkedDecoder, SizeOverflowIsBadNotWrapped) {
  EXPECT_EQ(status_of("10000000000000005\r\n"), chunked_decoder::status::bad);
  EXPECT_EQ(status_of("ffffffffffffffffff\r\n"), chunked_decoder::status::bad);
  // Sixteen digits fit; the limit then says no.
  EXPECT_EQ(status_of("0fffffffffffffff\r\n"), chunked_decoder::status::too_large);
  // Leading zeros are only zeros.
  EXPECT_EQ(status_of("00000000000000000000005\r\nhello\r\n0\r\n\r\n"),
            chunked_decoder::status::done);
}

TEST(ChunkedDecoder, BodyLimitCountsDataOfAllChunks) {
  EXPECT_EQ(status_of("a\r\n0123456789\r\n0\r\n\r\n", 10), chunked_decoder::status::done);
  EXPECT_EQ(status_of("b\r\n", 10), chunked_decoder::status::too_large);
  EXPECT_EQ(status_of("6\r\n012345\r\n5\r\n", 10), chunked_decoder::status::too_large);
  // Refused when the size line ends, before any of the data is read.
  auto d = fresh_decoder(10);
  const auto r = d.feed("b\r\n0123");
  EXPECT_EQ(r.st, chunked_decoder::status::too_large);
  EXPECT_EQ(r.consumed, 3u);
  EXPECT_FALSE(d.active());
}

TEST(ChunkedDecoder, LongLinesAndTrailersAreCapped) {
  const std::string ext = "5;" + std::string(chunked_decoder::max_line, 'x') + "\r\n";
  EXPECT_EQ(status_of(ext), chunked_decoder::status::bad);
  const std::string zeros(chunked_decoder::max_line + 1, '0');
  EXPECT_EQ(status_of(zeros), chunked_decoder::status::bad);
  auto d = chunked_decoder();
  d.reset(no_limit, 64);
  const std::string trailer = "0\r\nX: " + std::string(64, 'y') + "\r\n\r\n";
  EXPECT_EQ(d.feed(trailer).st, chunked_decoder::status::bad);
}

TEST(ChunkedDecoder, ResetStartsAnotherBody) {
  auto d = fresh_decoder();
  EXPECT_EQ(d.feed("zz").st, chunked_decoder::status::bad);
  EXPECT_FALSE(d.active());
  d.reset(no_limit, 16384);
  EXPECT_TRUE(d.active());
  EXPECT_EQ(d.feed("0\r\n\r\n").st, chunked_decoder::status::done);
}

// ------------------------------------------------------------ keep-alive

bool keep_alive_of(std::string_view version, std::string_view connection_lines) {
  const std::string buf =
      "GET / " + std::string(version) + "\r\nHost: a\r\n" + std::string(connection_lines) + "\r\n";
  auto req = expect_complete(buf);
  return req->keep_alive;
}

TEST(HttpParser, Http11KeepsAliveUnlessClose) {
  EXPECT_TRUE(keep_alive_of("HTTP/1.1", ""));
  EXPECT_TRUE(keep_alive_of("HTTP/1.1", "Connection: keep-alive\r\n"));
  EXPECT_TRUE(keep_alive_of("HTTP/1.1", "Connection: Upgrade\r\n"));
  EXPECT_FALSE(keep_alive_of("HTTP/1.1", "Connection: close\r\n"));
  EXPECT_FALSE(keep_alive_of("HTTP/1.1", "connection: CLOSE\r\n"));
  EXPECT_FALSE(keep_alive_of("HTTP/1.1", "Connection: Upgrade, close\r\n"));
  EXPECT_FALSE(keep_alive_of("HTTP/1.1", "Connection: keep-alive, Close\r\n"));
  EXPECT_FALSE(keep_alive_of("HTTP/1.1", "Connection: TE\r\nConnection: close\r\n"));
  EXPECT_TRUE(keep_alive_of("HTTP/1.1", "Connection: closed, xclose\r\n"));
}

TEST(HttpParser, Http10ClosesUnlessKeepAlive) {
  EXPECT_FALSE(keep_alive_of("HTTP/1.0", ""));
  EXPECT_FALSE(keep_alive_of("HTTP/1.0", "Connection: close\r\n"));
  EXPECT_TRUE(keep_alive_of("HTTP/1.0", "Connection: keep-alive\r\n"));
  EXPECT_TRUE(keep_alive_of("HTTP/1.0", "Connection: Keep-Alive\r\n"));
  EXPECT_TRUE(keep_alive_of("HTTP/1.0", "Connection:  foo ,\tKEEP-ALIVE \r\n"));
  EXPECT_FALSE(keep_alive_of("HTTP/1.0", "Connection: keep-alive, close\r\n"));
  EXPECT_FALSE(keep_alive_of("HTTP/1.0", "Connection: keep-alive\r\nConnection: close\r\n"));
  EXPECT_FALSE(keep_alive_of("HTTP/1.0", "Keep-Alive: timeout=5\r\n"));
}

// ------------------------------------------------------------ reuse

TEST(HttpParser, RequestFieldsAreResetBetweenParses) {
  auto req = fresh();
  parser p;
  ASSERT_EQ(p.parse(kRich, *req).status, parse_status::complete);
  p.reset();
  const std::string buf = "HEAD http://h/ HTTP/1.0\r\nContent-Length: 3\r\n\r\n";
  ASSERT_EQ(p.parse(buf, *req).status, parse_status::complete);
  EXPECT_EQ(req->verb, method::head);
  EXPECT_EQ(req->query, "");
  EXPECT_EQ(req->ver, version::http10);
  EXPECT_EQ(req->host, "h");
  EXPECT_FALSE(req->keep_alive);
  EXPECT_EQ(req->if_none_match, "");
  EXPECT_EQ(req->if_modified_since, "");
  EXPECT_EQ(req->range, "");
  EXPECT_EQ(req->if_range, "");
  EXPECT_EQ(req->header_count, 1u);

  p.reset();
  ASSERT_EQ(p.parse("GET / HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: x\r\n"
                    "Expect: 100-continue\r\n\r\n",
                    *req)
                .status,
            parse_status::complete);
  EXPECT_EQ(req->host, "b");
  EXPECT_FALSE(req->has_content_length);
  EXPECT_EQ(req->content_length, 0u);
  EXPECT_TRUE(req->has_transfer_encoding);
  EXPECT_EQ(req->coding, transfer_coding::unsupported);
  EXPECT_TRUE(req->expect_continue);

  p.reset();
  ASSERT_EQ(p.parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n", *req).status, parse_status::complete);
  EXPECT_FALSE(req->has_transfer_encoding);
  EXPECT_EQ(req->coding, transfer_coding::none);
  EXPECT_FALSE(req->expect_continue);
  EXPECT_TRUE(req->keep_alive);
  EXPECT_EQ(req->ver, version::http11);
}

}  // namespace
}  // namespace zc::http

namespace zc::http {
namespace {

// RFC 9112 §3.2 and RFC 3986 §3.2: Host is uri-host [ ":" port ].
TEST(HttpParserHost, ValidAuthoritiesAreAccepted) {
  for (const char* host :
       {"example.com", "example.com:8080", "127.0.0.1", "127.0.0.1:80", "[::1]", "[::1]:8080",
        "[2001:db8::7]", "xn--bcher-kva.example", "a-b_c~d%41", "x:", "",
        // every IPv6address form of RFC 3986 §3.2.2, and IPvFuture
        "[1:2:3:4:5:6:7:8]", "[::]", "[1::]", "[::8]", "[1:2:3:4:5:6:7::]", "[::2:3:4:5:6:7:8]",
        "[FFFF::abcd]:443", "[::ffff:192.0.2.1]", "[1:2:3:4:5:6:1.2.3.4]", "[::1.2.3.4]",
        "[v1.fe80::a+en1]", "[V7f.x:y]", "a%2F%2f", "[1:2:3:4:5:6:7:8]:0"}) {
    const std::string buf = std::string("GET / HTTP/1.1\r\nHost: ") + host + "\r\n\r\n";
    auto req = expect_complete(buf);
    EXPECT_EQ(req->host, host) << host;
  }
}

TEST(HttpParserHost, MalformedAuthoritiesAre400) {
  for (const char* host :
       {"a:1.2", "[::1", "::1", "[::1]x", "a:b:c", "a:65536", "a:99999999999999999999", "a:-1",
        "[zz::1]", "[]", "a]b", "a[b", "[::1]]", "a@b", "a b", "a/b",
        // IPv6 literals the characters alone let through
        "[1::2::3]", "[12345::]", "[:::]", "[1:2:3:4:5:6:7]", "[1:2:3:4:5:6:7:8:9]",
        "[::1.2.3.256]", "[::1.2.3]", "[::01.2.3.4]", "[1.2.3.4::]", "[:1::]", "[1::2:]",
        "[1:2:3:4:5:6:7:8::]", "[::1%25eth0]", "[v.x]", "[v1.]", "[vg.x]",
        // a '%' must begin two hex digits
        "a%zz", "a%", "a%2", "%"}) {
    SCOPED_TRACE(host);
    const std::string buf = std::string("GET / HTTP/1.1\r\nHost: ") + host + "\r\n\r\n";
    expect_error(buf, 400);
    if (std::string_view(host).find('/') != std::string_view::npos) continue;  // ends the authority
    const std::string absolute =
        std::string("GET http://") + host + "/ HTTP/1.1\r\nHost: example.com\r\n\r\n";
    expect_error(absolute, 400);
  }
}

TEST(HttpParserHost, MissingOrRepeatedHostIn11Is400) {
  expect_error("GET / HTTP/1.1\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
}

}  // namespace
}  // namespace zc::http

namespace zc::http {
namespace {

TEST(HttpParser, AcceptEncodingIsCaptured) {
  const std::string buf = "GET / HTTP/1.1\r\nHost: h\r\naccept-ENCODING:  gzip, br;q=0.5 \r\n\r\n";
  auto req = fresh();
  ASSERT_EQ(parse_once(buf, *req).status, parse_status::complete);
  EXPECT_EQ(req->accept_encoding, "gzip, br;q=0.5");
  EXPECT_FALSE(req->accept_encoding_repeated);
}

TEST(HttpParser, RepeatedAcceptEncodingIsFlaggedNotRefused) {
  const std::string buf =
      "GET / HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\nAccept-Encoding: br\r\n\r\n";
  auto req = fresh();
  ASSERT_EQ(parse_once(buf, *req).status, parse_status::complete);
  EXPECT_EQ(req->accept_encoding, "gzip");
  EXPECT_TRUE(req->accept_encoding_repeated);
  // The next request on the same object starts clean.
  ASSERT_EQ(parse_once("GET / HTTP/1.1\r\nHost: h\r\n\r\n", *req).status, parse_status::complete);
  EXPECT_EQ(req->accept_encoding.data(), nullptr);
  EXPECT_FALSE(req->accept_encoding_repeated);
}

TEST(HttpParser, EmptyAcceptEncodingIsPresentAndEmpty) {
  auto req = fresh();
  ASSERT_EQ(
      parse_once("GET / HTTP/1.1\r\nHost: h\r\nAccept-Encoding:\r\nAccept-Encoding: br\r\n\r\n",
                 *req)
          .status,
      parse_status::complete);
  EXPECT_EQ(req->accept_encoding, "");
  EXPECT_TRUE(req->accept_encoding_repeated);
}

}  // namespace
}  // namespace zc::http
