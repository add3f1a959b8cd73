// Range sets (RFC 9110 §14.1.1): several ranges in one field, coalesced,
// capped and checked against the file's size; and the multipart/byteranges
// body they become (§14.6), part by part, as reply::next_part() walks it.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "server/core/multipart.hh"
#include "server/core/ranges.hh"
#include "server/core/reply.hh"

namespace zc {
namespace {

using kind = range_set::kind;

// The spans parse_ranges() gives for `value` over `size` bytes, at most
// `cap` range-specs; empty unless satisfiable.
struct parsed {
  kind k;
  std::vector<byte_span> spans;
};

parsed parse(std::string_view value, std::uint64_t size, std::size_t cap = 16) {
  std::vector<byte_span> out(cap);
  const range_set set = parse_ranges(value, size, out);
  out.resize(set.k == kind::satisfiable ? set.count : 0);
  return {set.k, out};
}

using spans = std::vector<byte_span>;

TEST(RangeSet, DisjointRangesKeepTheirOrder) {
  auto p = parse("bytes=0-9,20-29,40-49", 1000);
  EXPECT_EQ(p.k, kind::satisfiable);
  EXPECT_EQ(p.spans, (spans{{0, 9}, {20, 29}, {40, 49}}));
}

TEST(RangeSet, UnsortedRangesAreNotSorted) {
  // §15.3.7.2: parts in the order the client asked for them.
  auto p = parse("bytes=500-599,0-9,100-109", 1000);
  EXPECT_EQ(p.spans, (spans{{500, 599}, {0, 9}, {100, 109}}));
}

TEST(RangeSet, OverlappingRangesAreCoalesced) {
  EXPECT_EQ(parse("bytes=0-9,5-14", 1000).spans, (spans{{0, 14}}));
  EXPECT_EQ(parse("bytes=5-14,0-9", 1000).spans, (spans{{0, 14}}));
  EXPECT_EQ(parse("bytes=0-99,10-19,200-209", 1000).spans, (spans{{0, 99}, {200, 209}}));
}

TEST(RangeSet, AdjacentRangesAreCoalesced) {
  EXPECT_EQ(parse("bytes=0-9,10-19", 1000).spans, (spans{{0, 19}}));
  EXPECT_EQ(parse("bytes=10-19,0-9", 1000).spans, (spans{{0, 19}}));
}

TEST(RangeSet, RangesOneByteApartStaySeparate) {
  EXPECT_EQ(parse("bytes=0-9,11-19", 1000).spans, (spans{{0, 9}, {11, 19}}));
}

TEST(RangeSet, ACoalescedRangeTakesThePlaceOfTheFirstItJoins) {
  // 50-59 came first; 5-55 joins it and 0-9 into one, in 50-59's place,
  // ahead of 300-309 which was asked before 5-55.
  EXPECT_EQ(parse("bytes=50-59,300-309,0-9,5-55", 1000).spans, (spans{{0, 59}, {300, 309}}));
  // A range that bridges two earlier ones merges all three.
  EXPECT_EQ(parse("bytes=0-9,20-29,700-709,10-19", 1000).spans, (spans{{0, 29}, {700, 709}}));
}

TEST(RangeSet, SuffixAndOpenRangesMix) {
  EXPECT_EQ(parse("bytes=-10,0-4,990-", 1000).spans, (spans{{990, 999}, {0, 4}}));
  EXPECT_EQ(parse("bytes=900-,0-0", 1000).spans, (spans{{900, 999}, {0, 0}}));
}

TEST(RangeSet, UnsatisfiableRangesAreDroppedFromASatisfiableSet) {
  EXPECT_EQ(parse("bytes=0-4,5000-6000,10-14", 1000).spans, (spans{{0, 4}, {10, 14}}));
  auto p = parse("bytes=2000-,0-4", 1000);
  EXPECT_EQ(p.k, kind::satisfiable);
  EXPECT_EQ(p.spans, (spans{{0, 4}}));
}

TEST(RangeSet, NoSatisfiableRangeIsUnsatisfiable) {
  EXPECT_EQ(parse("bytes=1000-,2000-3000", 1000).k, kind::unsatisfiable);
  EXPECT_EQ(parse("bytes=-0,1000-", 1000).k, kind::unsatisfiable);
}

TEST(RangeSet, MoreRangeSpecsThanTheCapGetTheWholeBody) {
  std::string v = "bytes=";
  for (int i = 0; i < 16; ++i) v += std::to_string(i * 10) + "-" + std::to_string(i * 10 + 1) + ",";
  auto p = parse(v, 1000, 16);
  EXPECT_EQ(p.k, kind::satisfiable);
  EXPECT_EQ(p.spans.size(), 16u);
  v += "900-901";
  EXPECT_EQ(parse(v, 1000, 16).k, kind::none);
}

TEST(RangeSet, UnsatisfiableRangeSpecsCountTowardTheCap) {
  EXPECT_EQ(parse("bytes=5000-,6000-,0-1", 1000, 2).k, kind::none);
  EXPECT_EQ(parse("bytes=5000-,0-1", 1000, 2).k, kind::satisfiable);
}

TEST(RangeSet, RangesAddingUpToMoreThanTheFileGetTheWholeBody) {
  // Overlap would make the parts outgrow the file (CVE-2011-3192); the
  // sum is of the ranges as asked, before coalescing.
  EXPECT_EQ(parse("bytes=0-,0-", 1000).k, kind::none);
  EXPECT_EQ(parse("bytes=0-599,400-999", 1000).k, kind::none);
  EXPECT_EQ(parse("bytes=-600,0-500", 1000).k, kind::none);
  // Exactly the file's size is still served.
  EXPECT_EQ(parse("bytes=0-499,500-999", 1000).spans, (spans{{0, 999}}));
  EXPECT_EQ(parse("bytes=0-9,0-9", 1000).spans, (spans{{0, 9}}));
}

TEST(RangeSet, AnInvalidRangeSpecVoidsTheWholeField) {
  EXPECT_EQ(parse("bytes=0-4,x-y", 1000).k, kind::none);
  EXPECT_EQ(parse("bytes=0-4,9-5", 1000).k, kind::none);
  EXPECT_EQ(parse("bytes=0-4,-", 1000).k, kind::none);
  EXPECT_EQ(parse("bytes=0-4;10-14", 1000).k, kind::none);
  EXPECT_EQ(parse("bytes=,", 1000).k, kind::none);
  EXPECT_EQ(parse("bytes=", 1000).k, kind::none);
}

TEST(RangeSet, NumbersPastUint64AreStillNumbers) {
  // 1*DIGIT has no bound: a first byte past any file is unsatisfiable
  // (416), a last byte past it means the end of the file (nginx alike).
  EXPECT_EQ(parse("bytes=18446744073709551615-", 1000).k, kind::unsatisfiable);
  EXPECT_EQ(parse("bytes=99999999999999999999999-", 1000).k, kind::unsatisfiable);
  EXPECT_EQ(parse("bytes=0-18446744073709551615", 1000).spans, (spans{{0, 999}}));
  EXPECT_EQ(parse("bytes=10-99999999999999999999999", 1000).spans, (spans{{10, 999}}));
  EXPECT_EQ(parse("bytes=-99999999999999999999999", 1000).spans, (spans{{0, 999}}));
  EXPECT_EQ(parse("bytes=18446744073709551614-18446744073709551615", 1000).k, kind::unsatisfiable);
  // still syntax: a last byte before the first voids the field
  EXPECT_EQ(parse("bytes=18446744073709551615-5", 1000).k, kind::none);
}

TEST(RangeSet, EmptyListElementsAndWhitespaceAreAllowed) {
  EXPECT_EQ(parse(" Bytes = 0-4 , ,\t10 - 14 ,", 1000).spans, (spans{{0, 4}, {10, 14}}));
}

TEST(RangeSet, SingleRangeApiStillRefusesSeveral) {
  EXPECT_EQ(parse_range("bytes=0-1,5-6", 1000).k, byte_range::kind::none);
  EXPECT_EQ(parse_range("bytes=0-1", 1000).k, byte_range::kind::satisfiable);
}

// A multipart state over `file` as the handler makes it for `parts`.
multipart_state make_state(const std::string& file, spans parts) {
  multipart_state m;
  make_boundary(m);
  m.mime = "text/plain";
  m.size = file.size();
  m.parts = std::move(parts);
  m.body_bytes = multipart_body_length(m);
  return m;
}

TEST(Multipart, PartHeadHasTheDelimiterTypeAndRange) {
  multipart_state m = make_state(std::string(100, 'x'), {{0, 9}, {50, 99}});
  std::string head;
  format_part_head(head, m, 1);
  EXPECT_EQ(head, "\r\n--" + std::string(m.boundary_text()) +
                      "\r\nContent-Type: text/plain\r\nContent-Range: bytes 50-99/100\r\n\r\n");
  std::string close;
  format_closing(close, m);
  EXPECT_EQ(close, "\r\n--" + std::string(m.boundary_text()) + "--\r\n");
}

TEST(Multipart, BoundariesDifferFromReplyToReply) {
  multipart_state a, b;
  make_boundary(a);
  make_boundary(b);
  EXPECT_NE(a.boundary_text(), b.boundary_text());
  for (char c : a.boundary_text()) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
}

// Walks a reply through every part the way a sender does, writing heads and
// file bytes to one string: the result is the body a client receives.
TEST(Multipart, NextPartWalksEveryPartThenTheCloseAndTheLengthAgrees) {
  std::string file;
  for (int i = 0; i < 300; ++i) file.push_back(static_cast<char>('a' + i % 26));
  reply r;
  r.multipart = std::make_unique<multipart_state>(make_state(file, {{200, 209}, {0, 0}, {10, 29}}));
  multipart_state& m = *r.multipart;
  // What the handler does: the first part's head after the reply's head.
  r.head = "HTTP/1.1 206 Partial Content\r\n\r\n";
  m.head_bytes = r.head.size();
  format_part_head(r.head, m, 0);
  m.next = 1;
  r.body = body_kind::file;
  r.offset = 200;
  r.length = 10;

  std::string body;
  std::uint64_t progress = 0;
  int parts = 0;
  do {
    body += r.head.substr(parts == 0 ? m.head_bytes : 0);
    if (r.body == body_kind::file) body += file.substr(r.offset, r.length);
    r.head_sent = r.head.size();
    r.body_sent = r.length;
    EXPECT_GT(r.progress(), progress);
    progress = r.progress();
    ++parts;
  } while (r.next_part());
  EXPECT_EQ(parts, 4);  // three ranges and the closing delimiter
  EXPECT_EQ(r.body, body_kind::none);
  EXPECT_FALSE(r.next_part());

  const std::string b(m.boundary_text());
  const std::string want =
      "\r\n--" + b + "\r\nContent-Type: text/plain\r\nContent-Range: bytes 200-209/300\r\n\r\n" +
      file.substr(200, 10) + "\r\n--" + b +
      "\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-0/300\r\n\r\n" + file.substr(0, 1) +
      "\r\n--" + b + "\r\nContent-Type: text/plain\r\nContent-Range: bytes 10-29/300\r\n\r\n" +
      file.substr(10, 20) + "\r\n--" + b + "--\r\n";
  EXPECT_EQ(body, want);
  EXPECT_EQ(m.body_bytes, want.size());
  EXPECT_EQ(r.body_bytes(), want.size());
  EXPECT_EQ(r.wire_bytes(), m.head_bytes + want.size());
  EXPECT_EQ(r.progress(), r.wire_bytes());
}

TEST(Multipart, NextPartResetsProgressAndStaging) {
  reply r;
  r.multipart =
      std::make_unique<multipart_state>(make_state(std::string(100, 'x'), {{0, 9}, {50, 59}}));
  r.multipart->next = 1;
  r.body = body_kind::file;
  r.length = 10;
  r.head_sent = r.head.size();
  r.body_sent = 10;
  r.scratch.buf_off = r.scratch.buf_len = 10;
  ASSERT_TRUE(r.next_part());
  EXPECT_EQ(r.head_sent, 0u);
  EXPECT_EQ(r.body_sent, 0u);
  EXPECT_EQ(r.offset, 50u);
  EXPECT_EQ(r.length, 10u);
  EXPECT_EQ(r.scratch.buf_off, 0u);
  EXPECT_EQ(r.scratch.buf_len, 0u);
  EXPECT_FALSE(r.done());
}

TEST(Multipart, AnOrdinaryReplyHasNoNextPart) {
  reply r;
  r.body = body_kind::file;
  r.head = "HTTP/1.1 200 OK\r\n\r\n";
  r.length = 42;
  EXPECT_FALSE(r.next_part());
  EXPECT_EQ(r.body_bytes(), 42u);
  EXPECT_EQ(r.wire_bytes(), r.head.size() + 42);
  r.clear();
  EXPECT_EQ(r.body_bytes(), 0u);
}

TEST(Multipart, ClearDropsTheMultipartState) {
  reply r;
  r.multipart = std::make_unique<multipart_state>();
  r.clear();
  EXPECT_EQ(r.multipart, nullptr);
}

}  // namespace
}  // namespace zc
