// Ranges and conditional requests (RFC 9110 §13, §14), HTTP dates, and the
// connection state machine that drives the handler.

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string_view>

#include <gtest/gtest.h>

#include "server/core/config.hh"
#include "server/core/connection.hh"
#include "server/core/file_cache.hh"
#include "server/core/handler.hh"
#include "server/core/http_date.hh"
#include "server/core/ranges.hh"

namespace zc {
namespace {

using kind = byte_range::kind;

// parse_range(field, size) is the one satisfiable range [first, last].
::testing::AssertionResult satisfiable(std::string_view field, std::uint64_t size,
                                       std::uint64_t first, std::uint64_t last) {
  const byte_range r = parse_range(field, size);
  if (r.k != kind::satisfiable)
    return ::testing::AssertionFailure() << field << " of " << size << ": not satisfiable";
  if (r.first != first || r.last != last)
    return ::testing::AssertionFailure() << field << " of " << size << ": " << r.first << "-"
                                         << r.last << ", want " << first << "-" << last;
  return ::testing::AssertionSuccess();
}

TEST(Range, ClosedRangeInsideTheFile) {
  EXPECT_TRUE(satisfiable("bytes=0-99", 1000, 0, 99));
}

TEST(Range, LastPastTheEndIsClampedToTheEnd) {
  EXPECT_TRUE(satisfiable("bytes=990-5000", 1000, 990, 999));
}

TEST(Range, OpenEndedRangeRunsToTheEnd) {
  EXPECT_TRUE(satisfiable("bytes=10-", 1000, 10, 999));
}

TEST(Range, SuffixRangeTakesTheLastBytes) {
  EXPECT_TRUE(satisfiable("bytes=-100", 1000, 900, 999));
}

TEST(Range, SuffixLongerThanTheFileTakesTheWholeFile) {
  EXPECT_TRUE(satisfiable("bytes=-5000", 1000, 0, 999));
}

TEST(Range, StartAtOrPastTheEndIsUnsatisfiable) {
  EXPECT_EQ(parse_range("bytes=1000-", 1000).k, kind::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=2000-3000", 1000).k, kind::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-", 0).k, kind::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 1000).k, kind::unsatisfiable);
}

TEST(Range, MalformedOrForeignRangesAreIgnored) {
  EXPECT_EQ(parse_range("bytes=5-1", 1000).k, kind::none);
  EXPECT_EQ(parse_range("bytes=a-b", 1000).k, kind::none);
  EXPECT_EQ(parse_range("items=0-1", 1000).k, kind::none);
  EXPECT_EQ(parse_range("bytes=0-1,5-6", 1000).k, kind::none);
  EXPECT_EQ(parse_range("bytes=-", 1000).k, kind::none);
  EXPECT_EQ(parse_range("bytes=+1-2", 1000).k, kind::none);
  // a number past 2^64 is still a number (ranges_test.cc): past the file
  EXPECT_EQ(parse_range("bytes=99999999999999999999-", 1000).k, kind::unsatisfiable);
}

TEST(Range, UnitIsCaseInsensitiveAndWhitespaceTolerated) {
  EXPECT_TRUE(satisfiable(" Bytes = 1 - 2 ", 10, 1, 2));
}

TEST(Range, HugeFileOffsetsAreExact) {
  const std::uint64_t size = 5ull << 30;  // 5 GiB
  EXPECT_TRUE(satisfiable("bytes=4294967296-", size, 4294967296ull, size - 1));
}

TEST(Conditional, IfNoneMatchMatchesListedTagWeakly) {
  EXPECT_TRUE(etag_list_matches("\"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_list_matches("\"x\", \"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_list_matches("W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_list_matches("*", "\"abc\""));
  EXPECT_FALSE(etag_list_matches("\"abd\"", "\"abc\""));
  EXPECT_FALSE(etag_list_matches("", "\"abc\""));
}

TEST(Conditional, IfMatchMatchesListedTagStrongly) {
  EXPECT_TRUE(etag_list_matches_strongly("\"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_list_matches_strongly(" \"x\" , \"abc\" ", "\"abc\""));
  EXPECT_TRUE(etag_list_matches_strongly("*", "\"abc\""));
  EXPECT_FALSE(etag_list_matches_strongly("W/\"abc\"", "\"abc\""));
  EXPECT_FALSE(etag_list_matches_strongly("\"abcd\"", "\"abc\""));
  EXPECT_FALSE(etag_list_matches_strongly("", "\"abc\""));
}

TEST(Conditional, IfUnmodifiedSinceFailsOnlyForALaterMtime) {
  const std::time_t t = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_FALSE(modified_since("Sun, 06 Nov 1994 08:49:37 GMT", t));
  EXPECT_TRUE(modified_since("Sun, 06 Nov 1994 08:49:36 GMT", t));
  EXPECT_FALSE(modified_since("Sun, 06 Nov 1994 08:49:38 GMT", t));
  EXPECT_FALSE(modified_since("not a date", t));  // ignored
}

TEST(Conditional, IfRangeNeedsAStrongMatchOrTheExactDate) {
  char date[http_date_len + 1] = {};
  format_http_date(784111777, date);
  EXPECT_TRUE(if_range_allows("\"abc\"", "\"abc\"", 784111777));
  EXPECT_FALSE(if_range_allows("W/\"abc\"", "\"abc\"", 784111777));
  EXPECT_FALSE(if_range_allows("\"zzz\"", "\"abc\"", 784111777));
  EXPECT_TRUE(if_range_allows(date, "\"abc\"", 784111777));
  EXPECT_FALSE(if_range_allows(date, "\"abc\"", 784111778));
  EXPECT_TRUE(if_range_allows("", "\"abc\"", 1));
}

TEST(Conditional, IfModifiedSinceComparesSeconds) {
  EXPECT_TRUE(not_modified_since("Sun, 06 Nov 1994 08:49:37 GMT", 784111777));
  EXPECT_TRUE(not_modified_since("Sun, 06 Nov 1994 08:49:38 GMT", 784111777));
  EXPECT_FALSE(not_modified_since("Sun, 06 Nov 1994 08:49:36 GMT", 784111777));
  EXPECT_FALSE(not_modified_since("yesterday", 784111777));
}

TEST(HttpDate, FormatsImfFixdate) {
  char out[http_date_len + 1] = {};
  format_http_date(784111777, out);
  EXPECT_STREQ(out, "Sun, 06 Nov 1994 08:49:37 GMT");
}

TEST(HttpDate, ParsesAllThreeFormsRfc9110Requires) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), 784111777);
  EXPECT_FALSE(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT"));
  EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 25:49:37 GMT"));
  EXPECT_FALSE(parse_http_date(""));
}

TEST(HttpDate, NowIsAValidDateThatRoundTrips) {
  auto now = http_date_now();
  ASSERT_EQ(now.size(), http_date_len);
  auto t = parse_http_date(now);
  ASSERT_TRUE(t.has_value());
  EXPECT_GT(*t, 1'600'000'000);
}

// ------------------------------------------------------------ connection

// A connection driven the way an engine drives it, with no socket: bytes
// go into read_space(), replies come out of current().
class ConnectionTest : public ::testing::Test {
 protected:
  ConnectionTest()
      : root_(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)),
        cache_(root_, 16, 1000),
        handler_(cfg_, cache_),
        conn_(cfg_, handler_) {}
  ~ConnectionTest() override { ::close(root_); }

  void feed(std::string_view bytes) {
    std::span<char> space = conn_.read_space();
    ASSERT_GE(space.size(), bytes.size());
    std::memcpy(space.data(), bytes.data(), bytes.size());
    conn_.commit(bytes.size());
  }

  // Sends the reply advance() asked for; returns its status.
  int reply() {
    EXPECT_EQ(conn_.advance(0), connection::step::send);
    const int status = conn_.current().status;
    EXPECT_FALSE(conn_.reply_sent());
    return status;
  }

  config cfg_;
  int root_;
  file_cache cache_;
  handler handler_;
  connection conn_;
};

// The parsed request (4 KiB with its header slots) is not part of it, nor
// is the input buffer: what every idle keep-alive connection costs.
TEST_F(ConnectionTest, StaysSmall) {
  EXPECT_LE(sizeof(connection), 512u);
}

TEST_F(ConnectionTest, IdleConnectionHoldsNoBuffers) {
  feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_GT(conn_.buffer_capacity(), 0u);
  ASSERT_EQ(conn_.advance(0), connection::step::send);
  EXPECT_EQ(conn_.current().status, 403);  // "/" has no index.html
  // As a copying sender leaves it: a staging buffer sized to the last file.
  conn_.current().scratch.buf = std::make_unique<char[]>(1024);
  conn_.current().scratch.buf_cap = 1024;
  EXPECT_FALSE(conn_.reply_sent());
  EXPECT_EQ(conn_.advance(0), connection::step::need_input);
  EXPECT_EQ(conn_.buffer_capacity(), 0u);
  EXPECT_LT(conn_.current().head.capacity(), 32u);
  EXPECT_EQ(conn_.current().scratch.buf, nullptr);
  EXPECT_FALSE(conn_.has_partial_request());
  // And it serves the next request as the first.
  feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(reply(), 403);
  EXPECT_EQ(conn_.requests(), 2u);
}

TEST_F(ConnectionTest, BufferStaysWhileRequestsAreQueued) {
  feed("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nGET /");
  EXPECT_EQ(reply(), 403);
  EXPECT_EQ(reply(), 403);
  EXPECT_EQ(conn_.advance(0), connection::step::need_input);
  EXPECT_GT(conn_.buffer_capacity(), 0u);
  EXPECT_TRUE(conn_.has_partial_request());
}

TEST_F(ConnectionTest, ExpectContinueGetsAnInterimReplyFirst) {
  feed("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(conn_.advance(0), connection::step::send);
  EXPECT_EQ(conn_.current().status, 100);
  EXPECT_EQ(conn_.current().head, "HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_EQ(conn_.current().body, body_kind::none);
  EXPECT_FALSE(conn_.reply_sent());
  EXPECT_EQ(conn_.requests(), 0u);
  EXPECT_EQ(reply(), 403);
  EXPECT_EQ(conn_.requests(), 1u);
  EXPECT_EQ(conn_.advance(0), connection::step::need_input);
  EXPECT_TRUE(conn_.has_partial_request());  // the body is still to come
  feed("abcGET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(reply(), 403);
  EXPECT_EQ(conn_.requests(), 2u);
}

TEST_F(ConnectionTest, AShutdownDuringAnInterimReplyStillAnswersTheRequest) {
  feed("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(conn_.advance(0), connection::step::send);
  EXPECT_EQ(conn_.current().status, 100);
  conn_.finish_after_current();  // SIGTERM while the 100 is on its way
  // The client was told to go on: the 100 must not end the connection
  // before the final reply, which then closes it.
  EXPECT_FALSE(conn_.reply_sent());
  EXPECT_EQ(conn_.advance(0), connection::step::send);
  EXPECT_EQ(conn_.current().status, 403);
  EXPECT_TRUE(conn_.current().close_after);
  EXPECT_TRUE(conn_.linger_on_close());  // the body may still be on its way
  EXPECT_TRUE(conn_.reply_sent());
}

TEST_F(ConnectionTest, ChunkedBodyIsReadBeforeTheReply) {
  feed("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
  EXPECT_EQ(conn_.advance(0), connection::step::need_input);
  EXPECT_TRUE(conn_.has_partial_request());
  feed("lo\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(reply(), 403);
  EXPECT_EQ(reply(), 403);
  EXPECT_EQ(conn_.advance(0), connection::step::need_input);
  EXPECT_EQ(conn_.buffer_capacity(), 0u);
}

TEST_F(ConnectionTest, ChunkedBodyOverTheLimitIs413AndLingers) {
  cfg_.server.max_body = 4;
  feed("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n");
  EXPECT_EQ(conn_.advance(0), connection::step::send);
  EXPECT_EQ(conn_.current().status, 413);
  EXPECT_TRUE(conn_.linger_on_close());
  EXPECT_TRUE(conn_.reply_sent());
}

}  // namespace
}  // namespace zc
