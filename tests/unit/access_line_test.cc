#include "server/core/access_line.hh"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace zc {
namespace {

std::string line(const access_entry& e, access_format f = access_format::combined) {
  std::vector<char> buf(access_line_bound(e, f));
  char* end = format_access_line(buf.data(), e, f);
  EXPECT_LE(static_cast<std::size_t>(end - buf.data()), buf.size());
  return std::string(buf.data(), end);
}

access_entry get(std::string_view target) {
  access_entry e;
  e.addr = "192.0.2.7";
  e.date = "10/Oct/2000:13:55:36 +0000";
  e.request_line = true;
  e.method = "GET";
  e.target = target;
  e.status = 200;
  e.bytes = 2326;
  return e;
}

TEST(AccessLine, ClfDateIsDayMonthYearTimeInUtc) {
  char out[clf_date_len];
  format_clf_date(971185536, out);  // 2000-10-10T13:45:36Z
  EXPECT_EQ(std::string(out, clf_date_len), "10/Oct/2000:13:45:36 +0000");
  format_clf_date(0, out);
  EXPECT_EQ(std::string(out, clf_date_len), "01/Jan/1970:00:00:00 +0000");
}

TEST(AccessLine, CombinedHasRefererAndUserAgentOrDashes) {
  access_entry e = get("/a?b=c");
  EXPECT_EQ(line(e),
            "192.0.2.7 - - [10/Oct/2000:13:55:36 +0000] \"GET /a?b=c HTTP/1.1\" 200 2326 "
            "\"-\" \"-\"\n");
  e.referer = "http://example.com/";
  e.user_agent = "curl/8.0";
  e.http11 = false;
  EXPECT_EQ(line(e),
            "192.0.2.7 - - [10/Oct/2000:13:55:36 +0000] \"GET /a?b=c HTTP/1.0\" 200 2326 "
            "\"http://example.com/\" \"curl/8.0\"\n");
  EXPECT_EQ(line(e, access_format::common),
            "192.0.2.7 - - [10/Oct/2000:13:55:36 +0000] \"GET /a?b=c HTTP/1.0\" 200 2326\n");
}

TEST(AccessLine, UnparsedRequestIsADash) {
  access_entry e;
  e.addr = "::1";
  e.date = "10/Oct/2000:13:55:36 +0000";
  e.status = 400;
  EXPECT_EQ(line(e), "::1 - - [10/Oct/2000:13:55:36 +0000] \"-\" 400 0 \"-\" \"-\"\n");
}

TEST(AccessLine, QuotesBackslashesAndNonPrintableBytesAreEscaped) {
  access_entry e = get("/x");
  e.user_agent = "a\"b\\c\td\x1b[31m\xff";
  EXPECT_EQ(line(e),
            "192.0.2.7 - - [10/Oct/2000:13:55:36 +0000] \"GET /x HTTP/1.1\" 200 2326 "
            "\"-\" \"a\\x22b\\x5Cc\\x09d\\x1B[31m\\xFF\"\n");
}

TEST(AccessLine, AHugeFieldIsCutToItsLimitWithoutSplittingAnEscape) {
  const std::string ua(3 * max_header_field, '"');  // each becomes 4 bytes
  access_entry e = get("/x");
  e.user_agent = ua;
  const std::string out = line(e);
  const auto open = out.rfind(" \"") + 2;
  const std::string field = out.substr(open, out.size() - open - 2);
  EXPECT_EQ(field.size(), max_header_field);
  EXPECT_EQ(field.substr(field.size() - 4), "\\x22");
}

}  // namespace
}  // namespace zc
