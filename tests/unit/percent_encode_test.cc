// One percent-encoder for every URI the server writes, told which marks
// stay as they are: the whole path of a redirect keeps its separators, a
// name in a directory listing keeps none.

#include <string>

#include <gtest/gtest.h>

#include "server/core/percent_encode.hh"

namespace zc {
namespace {

std::string encoded(std::string_view bytes, std::string_view marks) {
  std::string out = "prefix:";
  append_percent_encoded(out, bytes, marks);
  return out;
}

TEST(PercentEncode, LettersDigitsAndTheMarksNamedStayTheRestIsUpperCaseHex) {
  EXPECT_EQ(encoded("aZ09-._~", ""), "prefix:aZ09%2D%2E%5F%7E");
  EXPECT_EQ(encoded("aZ09-._~", unreserved_marks), "prefix:aZ09-._~");
  EXPECT_EQ(encoded("a b", "b"), "prefix:a%20b");
  EXPECT_EQ(encoded("", path_marks), "prefix:");
}

TEST(PercentEncode, APathKeepsItsSeparatorsAndSubDelims) {
  EXPECT_EQ(encoded("dir/a b/x;y=1,z@h:p!$&'()*+", path_marks),
            "prefix:dir/a%20b/x;y=1,z@h:p!$&'()*+");
  EXPECT_EQ(encoded("a?b#c%d\"e<f>", path_marks), "prefix:a%3Fb%23c%25d%22e%3Cf%3E");
}

TEST(PercentEncode, ASegmentEncodesSlashesAndSubDelims) {
  EXPECT_EQ(encoded("a/b;c=d&e+f?g#h%i", unreserved_marks),
            "prefix:a%2Fb%3Bc%3Dd%26e%2Bf%3Fg%23h%25i");
}

TEST(PercentEncode, AQueryKeepsItsOwnEscapesAndEncodesWhatABrowserWouldNotSend) {
  EXPECT_EQ(encoded("a=1&b=%20x/y?z:@", query_marks), "prefix:a=1&b=%20x/y?z:@");
  EXPECT_EQ(encoded("<script>\"\xc3\xa9`{|}^\\", query_marks),
            "prefix:%3Cscript%3E%22%C3%A9%60%7B%7C%7D%5E%5C");
}

TEST(PercentEncode, ControlAndNonAsciiBytesAreEncodedOneByOne) {
  EXPECT_EQ(encoded(std::string_view("\0\x01\x7f", 3), path_marks), "prefix:%00%01%7F");
  EXPECT_EQ(encoded("\xc3\xa9\xff", unreserved_marks), "prefix:%C3%A9%FF");
}

}  // namespace
}  // namespace zc
