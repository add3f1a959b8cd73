// Range sets (RFC 9110 §14.1.1): several ranges in one field, coalesced,
// capped and checked against the file's size.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "server/ranges.hh"

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

TEST(RangeSet, EmptyListElementsAndWhitespaceAreAllowed) {
  EXPECT_EQ(parse(" Bytes = 0-4 , ,\t10 - 14 ,", 1000).spans, (spans{{0, 4}, {10, 14}}));
}

TEST(RangeSet, SingleRangeApiStillRefusesSeveral) {
  EXPECT_EQ(parse_range("bytes=0-1,5-6", 1000).k, byte_range::kind::none);
  EXPECT_EQ(parse_range("bytes=0-1", 1000).k, byte_range::kind::satisfiable);
}

}  // namespace
}  // namespace zc
