// Accept-Encoding (RFC 9110 §12.5.3) and the choice of a precompressed
// sibling.

#include "server/core/encoding.hh"

#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

namespace zc {
namespace {

constexpr auto br = content_coding::br;
constexpr auto gzip = content_coding::gzip;
constexpr auto zstd = content_coding::zstd;

accepted_codings parse(std::string_view v) {
  accepted_codings a;
  parse_accept_encoding(v, a);
  return a;
}

// What is sent for `header` when siblings for `offered` exist: the coding,
// or "identity" for the file itself.
std::string_view pick(std::string_view header, std::initializer_list<content_coding> offered) {
  const std::vector<content_coding> v(offered);
  const auto c = choose_coding(parse(header), v);
  return c ? info(*c).name : "identity";
}

TEST(AcceptEncoding, PlainListGivesEachCodingFullWeight) {
  const auto a = parse("gzip, deflate, br");
  EXPECT_EQ(a.weight(gzip), 1000);
  EXPECT_EQ(a.weight(br), 1000);
  EXPECT_EQ(a.weight(zstd), 0);
}

TEST(AcceptEncoding, QValuesUpToThreeDecimals) {
  const auto a = parse("br;q=0.5, gzip;q=0.125, zstd;q=1.000");
  EXPECT_EQ(a.weight(br), 500);
  EXPECT_EQ(a.weight(gzip), 125);
  EXPECT_EQ(a.weight(zstd), 1000);
  EXPECT_EQ(parse("gzip;q=0.").weight(gzip), 0);
  EXPECT_EQ(parse("gzip;q=1.").weight(gzip), 1000);
  EXPECT_EQ(parse("gzip;q=0.001").weight(gzip), 1);
}

TEST(AcceptEncoding, TokensAndParameterNameAreCaseInsensitive) {
  const auto a = parse("GZip;Q=0.7, BR");
  EXPECT_EQ(a.weight(gzip), 700);
  EXPECT_EQ(a.weight(br), 1000);
}

TEST(AcceptEncoding, WhitespaceAroundElementsAndSemicolons) {
  const auto a = parse(" \tgzip \t; \tq=0.3 ,br ;q=0.2\t");
  EXPECT_EQ(a.weight(gzip), 300);
  EXPECT_EQ(a.weight(br), 200);
}

TEST(AcceptEncoding, XGzipIsGzip) {
  EXPECT_EQ(parse("x-gzip").weight(gzip), 1000);
}

TEST(AcceptEncoding, MalformedElementsAreIgnoredTheRestCounts) {
  for (std::string_view bad :
       {"gzip;q=0.5000", "gzip;q=1.5", "gzip;q=1.01", "gzip;q=abc", "gzip;q=", "gzip;q =0.5",
        "gzip;level=9", "gzip;q=-1", "gz@ip", "gzip;", "gzip;q=.5", "gzip;q=2"}) {
    const std::string header = std::string(bad) + ", br;q=0.4";
    const auto a = parse(header);
    EXPECT_EQ(a.listed[static_cast<std::size_t>(gzip)], accepted_codings::not_listed) << bad;
    EXPECT_EQ(a.weight(br), 400) << bad;
  }
}

TEST(AcceptEncoding, EmptyElementsMeanNothing) {
  const auto a = parse(", ,gzip,,");
  EXPECT_EQ(a.weight(gzip), 1000);
  EXPECT_EQ(a.weight(br), 0);
}

TEST(AcceptEncoding, StarCoversCodingsNotListed) {
  const auto a = parse("gzip;q=0.2, *;q=0.6");
  EXPECT_EQ(a.weight(gzip), 200);
  EXPECT_EQ(a.weight(br), 600);
  EXPECT_EQ(a.identity_weight(), 600);
}

TEST(AcceptEncoding, ACodingListedTwiceKeepsItsLowestWeight) {
  EXPECT_EQ(parse("gzip, gzip;q=0").weight(gzip), 0);
  EXPECT_EQ(parse("gzip;q=0.3, x-gzip;q=0.9").weight(gzip), 300);
}

TEST(AcceptEncoding, SeveralFieldLinesFormOneList) {
  accepted_codings a;
  parse_accept_encoding("gzip;q=0.5", a);
  parse_accept_encoding("br", a);
  EXPECT_EQ(a.weight(gzip), 500);
  EXPECT_EQ(a.weight(br), 1000);
}

TEST(ChooseCoding, NoHeaderOrEmptyHeaderGetsTheFileItself) {
  EXPECT_EQ(pick("", {br, gzip}), "identity");
  EXPECT_EQ(pick("identity", {br, gzip}), "identity");
}

TEST(ChooseCoding, EqualWeightsFollowTheServersOrder) {
  EXPECT_EQ(pick("gzip, br", {br, gzip}), "br");
  EXPECT_EQ(pick("br, gzip", {gzip, br}), "gzip");
}

TEST(ChooseCoding, HigherWeightWins) {
  EXPECT_EQ(pick("br;q=0.5, gzip", {br, gzip}), "gzip");
  EXPECT_EQ(pick("br;q=0.501, gzip;q=0.5", {gzip, br}), "br");
}

TEST(ChooseCoding, OnlyCodingsWithASiblingAreOffered) {
  EXPECT_EQ(pick("br, gzip", {gzip}), "gzip");
  EXPECT_EQ(pick("br", {gzip}), "identity");
}

TEST(ChooseCoding, WeightZeroIsNeverSent) {
  EXPECT_EQ(pick("gzip;q=0", {gzip}), "identity");
  EXPECT_EQ(pick("*;q=0, identity", {br, gzip}), "identity");
  EXPECT_EQ(pick("*, br;q=0", {br, gzip}), "gzip");
}

TEST(ChooseCoding, IdentityListedWithAHigherWeightWins) {
  EXPECT_EQ(pick("gzip;q=0.5, identity", {gzip}), "identity");
  EXPECT_EQ(pick("gzip;q=0.5, identity;q=0.5", {gzip}), "gzip");
}

TEST(ChooseCoding, IdentityNotListedRanksBelowAnyListedCoding) {
  EXPECT_EQ(pick("gzip;q=0.001", {gzip}), "gzip");
}

TEST(ChooseCoding, IdentityExcludedStillGetsTheFileWhenNoCodingFits) {
  EXPECT_EQ(parse("identity;q=0").identity_weight(), 0);
  EXPECT_EQ(pick("identity;q=0", {gzip}), "identity");
  EXPECT_EQ(pick("identity;q=0, gzip", {gzip}), "gzip");
  EXPECT_EQ(pick("*;q=0", {br}), "identity");
  EXPECT_EQ(pick("identity;q=0", {}), "identity");
}

TEST(ChooseCoding, StarAcceptsEveryOfferedCoding) {
  EXPECT_EQ(pick("*", {gzip, br}), "gzip");
  EXPECT_EQ(pick("*", {zstd}), "zstd");
}

TEST(CodingNames, ConfigNamesAndSuffixes) {
  EXPECT_EQ(coding_named("br"), br);
  EXPECT_EQ(coding_named("gzip"), gzip);
  EXPECT_EQ(coding_named("zstd"), zstd);
  EXPECT_FALSE(coding_named("GZIP"));
  EXPECT_FALSE(coding_named("deflate"));
  EXPECT_EQ(info(gzip).suffix, ".gz");
  EXPECT_EQ(info(br).suffix, ".br");
  EXPECT_EQ(info(zstd).suffix, ".zst");
}

}  // namespace
}  // namespace zc
