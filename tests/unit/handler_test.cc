// Ranges and conditional requests (RFC 9110 §13, §14), and HTTP dates.

#include <gtest/gtest.h>

#include "server/http_date.hh"
#include "server/ranges.hh"

namespace zc {
namespace {

using kind = byte_range::kind;

TEST(Range, ClosedRangeInsideTheFile) {
  auto r = parse_range("bytes=0-99", 1000);
  EXPECT_EQ(r.k, kind::satisfiable);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.last, 99u);
}

TEST(Range, LastPastTheEndIsClampedToTheEnd) {
  auto r = parse_range("bytes=990-5000", 1000);
  EXPECT_EQ(r.k, kind::satisfiable);
  EXPECT_EQ(r.first, 990u);
  EXPECT_EQ(r.last, 999u);
}

TEST(Range, OpenEndedRangeRunsToTheEnd) {
  auto r = parse_range("bytes=10-", 1000);
  EXPECT_EQ(r.k, kind::satisfiable);
  EXPECT_EQ(r.first, 10u);
  EXPECT_EQ(r.last, 999u);
}

TEST(Range, SuffixRangeTakesTheLastBytes) {
  auto r = parse_range("bytes=-100", 1000);
  EXPECT_EQ(r.k, kind::satisfiable);
  EXPECT_EQ(r.first, 900u);
  EXPECT_EQ(r.last, 999u);
}

TEST(Range, SuffixLongerThanTheFileTakesTheWholeFile) {
  auto r = parse_range("bytes=-5000", 1000);
  EXPECT_EQ(r.k, kind::satisfiable);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.last, 999u);
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
  EXPECT_EQ(parse_range("bytes=99999999999999999999-", 1000).k, kind::none);
}

TEST(Range, UnitIsCaseInsensitiveAndWhitespaceTolerated) {
  auto r = parse_range(" Bytes = 1 - 2 ", 10);
  EXPECT_EQ(r.k, kind::satisfiable);
  EXPECT_EQ(r.first, 1u);
  EXPECT_EQ(r.last, 2u);
}

TEST(Range, HugeFileOffsetsAreExact) {
  const std::uint64_t size = 5ull << 30;  // 5 GiB
  auto r = parse_range("bytes=4294967296-", size);
  EXPECT_EQ(r.k, kind::satisfiable);
  EXPECT_EQ(r.first, 4294967296ull);
  EXPECT_EQ(r.last, size - 1);
}

TEST(Conditional, IfNoneMatchMatchesListedTagWeakly) {
  EXPECT_TRUE(etag_list_matches("\"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_list_matches("\"x\", \"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_list_matches("W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_list_matches("*", "\"abc\""));
  EXPECT_FALSE(etag_list_matches("\"abd\"", "\"abc\""));
  EXPECT_FALSE(etag_list_matches("", "\"abc\""));
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

}  // namespace
}  // namespace zc
