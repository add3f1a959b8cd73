// mime_table: the built-in types, a system mime.types text beneath them,
// [mime.types] overrides above them, the charset rule and the default type.

#include "server/core/mime.hh"

#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace zc {
namespace {

mime_table with(mime_table::settings s) {
  return mime_table(s);
}

TEST(MimeTable, TypesBrowsersDownloadedBeforeAreKnown) {
  const mime_table t;
  EXPECT_EQ(t.content_type("live.m3u8"), "application/vnd.apple.mpegurl");
  EXPECT_EQ(t.content_type("seg0.ts"), "video/mp2t");
  EXPECT_EQ(t.content_type("clip.m4v"), "video/mp4");
  EXPECT_EQ(t.content_type("film.mkv"), "video/x-matroska");
  EXPECT_EQ(t.content_type("subs.vtt"), "text/vtt; charset=utf-8");
  EXPECT_EQ(t.content_type("feed.rss"), "application/rss+xml; charset=utf-8");
  EXPECT_EQ(t.content_type("cv.docx"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
  EXPECT_EQ(t.content_type("ci.yaml"), "application/yaml; charset=utf-8");
  EXPECT_EQ(t.content_type("ci.yml"), "application/yaml; charset=utf-8");
}

// Debian's mime.types says .ts is Qt Linguist, .wav audio/x-wav: a web
// server must say MPEG-TS (HLS segments) and audio/wav.
TEST(MimeTable, BuiltInWinsOverTheSystemFile) {
  mime_table::settings s;
  s.system_types =
      "# comment line\n"
      "text/vnd.trolltech.linguist ts\n"
      "audio/x-wav\t\twav\n"
      "application/vnd.oasis.opendocument.text odt  # a trailing comment\n";
  const mime_table t = with(s);
  EXPECT_EQ(t.content_type("a.ts"), "video/mp2t");
  EXPECT_EQ(t.content_type("a.wav"), "audio/wav");
  EXPECT_EQ(t.content_type("a.odt"), "application/vnd.oasis.opendocument.text");
}

TEST(MimeTable, SystemFileAddsTypesTheBuiltInTableLacks) {
  const mime_table builtin_only;
  EXPECT_EQ(builtin_only.content_type("a.odt"), "application/octet-stream");
  mime_table::settings s;
  s.system_types =
      "application/vnd.oasis.opendocument.text odt\n"
      "text/x-zc-one zc1 ZC2\n"
      "chemical/x-pdb pdb\n";
  const mime_table t = with(s);
  EXPECT_EQ(t.content_type("report.odt"), "application/vnd.oasis.opendocument.text");
  EXPECT_EQ(t.content_type("x.zc1"), "text/x-zc-one; charset=utf-8");
  EXPECT_EQ(t.content_type("x.zc2"), "text/x-zc-one; charset=utf-8");  // folded to lower case
  EXPECT_EQ(t.content_type("X.PDB"), "chemical/x-pdb");
  EXPECT_EQ(t.extensions(), builtin_only.extensions() + 4);
}

TEST(MimeTable, SystemFileFirstLineForAnExtensionKeepsIt) {
  mime_table::settings s;
  s.system_types = "application/x-sh sh\ntext/x-sh sh\n";
  EXPECT_EQ(with(s).content_type("run.sh"), "application/x-sh");
}

TEST(MimeTable, SystemFileMalformedLinesAreSkipped) {
  mime_table::settings s;
  s.system_types =
      "root:x:0:0:root:/root:/bin/bash\n"
      "notatype abc\n"
      "text/ abd\n"
      "/plain abe\n"
      "text/plain;charset=latin1 abf\n"
      "application/sarif+json sarif sarif-external-properties.json\n"
      "\n   \n\t# indented comment\n"
      "text/x-last zzlast";  // no final newline
  const mime_table t = with(s);
  for (const char* name : {"x.abc", "x.abd", "x.abe", "x.abf"})
    EXPECT_EQ(t.content_type(name), "application/octet-stream") << name;
  EXPECT_EQ(t.content_type("x.sarif"), "application/sarif+json; charset=utf-8");
  EXPECT_EQ(t.content_type("x.json"), "application/json; charset=utf-8");  // the built-in one
  EXPECT_EQ(t.content_type("x.zzlast"), "text/x-last; charset=utf-8");
}

TEST(MimeTable, OverridesWinOverEverything) {
  mime_table::settings s;
  s.system_types = "application/x-zc zcx\n";
  s.overrides = {{"zcx", "image/x-zc"},
                 {"ts", "text/vnd.trolltech.linguist"},
                 {"M3U8", "audio/mpegurl"},
                 {"newext", "application/x-new"}};
  const mime_table t = with(s);
  EXPECT_EQ(t.content_type("a.zcx"), "image/x-zc");
  EXPECT_EQ(t.content_type("a.ts"), "text/vnd.trolltech.linguist; charset=utf-8");
  EXPECT_EQ(t.content_type("a.m3u8"), "audio/mpegurl");
  EXPECT_EQ(t.content_type("A.NEWEXT"), "application/x-new");
}

TEST(MimeTable, AnOverrideThatNamesACharsetKeepsIt) {
  mime_table::settings s;
  s.overrides = {{"txt", "text/plain; charset=iso-8859-1"}, {"csv", "text/csv;Charset=\"koi8-r\""}};
  const mime_table t = with(s);
  EXPECT_EQ(t.content_type("a.txt"), "text/plain; charset=iso-8859-1");
  EXPECT_EQ(t.content_type("a.csv"), "text/csv;Charset=\"koi8-r\"");
}

TEST(MimeTable, CharsetIsConfigurableAndCanBeOff) {
  mime_table::settings s;
  s.charset = "iso-8859-15";
  EXPECT_EQ(with(s).content_type("a.html"), "text/html; charset=iso-8859-15");
  EXPECT_EQ(with(s).content_type("a.png"), "image/png");
  s.charset = "";
  const mime_table off = with(s);
  for (const char* name : {"a.html", "a.js", "a.json", "a.svg", "a.txt", "a.vtt"})
    EXPECT_EQ(off.content_type(name).find("charset"), std::string_view::npos) << name;
  EXPECT_EQ(off.content_type("a.html"), "text/html");
}

TEST(MimeTable, DefaultTypeIsConfigurable) {
  mime_table::settings s;
  s.default_type = "text/plain";
  const mime_table t = with(s);
  EXPECT_EQ(t.content_type("README"), "text/plain; charset=utf-8");
  EXPECT_EQ(t.content_type("a.unknownext"), "text/plain; charset=utf-8");
  EXPECT_EQ(t.content_type("a.png"), "image/png");
}

TEST(MimeTable, ExtensionLongerThanAnyIsTheDefault) {
  mime_table::settings s;
  s.overrides = {{std::string(max_extension, 'q'), "application/x-long"}};
  const mime_table t = with(s);
  EXPECT_EQ(t.content_type("a." + std::string(max_extension, 'Q')), "application/x-long");
  EXPECT_EQ(t.content_type("a." + std::string(max_extension + 1, 'q')), "application/octet-stream");
}

TEST(MimeTable, ViewsStayValidWhenTheTableMoves) {
  mime_table::settings s;
  s.overrides = {{"zz", "a/b"}};  // short enough to live inside the string object
  mime_table a(s);
  const std::string_view v = a.content_type("x.zz");
  const mime_table b(std::move(a));
  EXPECT_EQ(v, "a/b");
  EXPECT_EQ(v.data(), b.content_type("y.zz").data());
}

TEST(TakesCharset, TextualTypes) {
  for (const char* t : {"text/plain", "TEXT/HTML", "text/vtt", "application/javascript",
                        "application/json", "application/xml", "application/yaml", "image/svg+xml",
                        "application/rss+xml", "application/manifest+json", "application/ld+json"})
    EXPECT_TRUE(takes_charset(t)) << t;
  for (const char* t : {"image/png", "application/octet-stream", "application/wasm",
                        "application/vnd.apple.mpegurl", "video/mp2t", "text/plain; charset=x",
                        "text/plain;CHARSET=x", "application/jsonx", "nonsense"})
    EXPECT_FALSE(takes_charset(t)) << t;
}

TEST(IsMediaType, AcceptsTypesWithParametersRefusesTheRest) {
  for (const char* t : {"text/plain", "application/vnd.apple.mpegurl", "image/svg+xml",
                        "text/plain; charset=iso-8859-1", "text/csv;header=present"})
    EXPECT_TRUE(is_media_type(t)) << t;
  for (const char* t : {"", "text", "text/", "/plain", "te xt/plain", "text/plain\r\nX: y",
                        "text/pla\x01in", "text/plain; a=\x7f", "text//plain", "a/b/c"})
    EXPECT_FALSE(is_media_type(t)) << t;
}

TEST(IsExtension, LettersDigitsAndAFewMarks) {
  for (const char* e : {"m3u8", "HTML", "c++", "tar-gz", "a_b", "x"})
    EXPECT_TRUE(is_extension(e)) << e;
  for (const char* e : {"", ".html", "tar.gz", "a/b", "a b", "é"})
    EXPECT_FALSE(is_extension(e)) << e;
  EXPECT_TRUE(is_extension(std::string(max_extension, 'a')));
  EXPECT_FALSE(is_extension(std::string(max_extension + 1, 'a')));
}

TEST(FileExtension, LastDotOfTheLastSegment) {
  EXPECT_EQ(file_extension("a/b/c.tar.gz"), "gz");
  EXPECT_EQ(file_extension("v1.2/file"), "");
  EXPECT_EQ(file_extension(".bashrc"), "");
  EXPECT_EQ(file_extension("dir/.eslintrc.json"), "json");
  EXPECT_EQ(file_extension("file."), "");
  EXPECT_EQ(file_extension(""), "");
}

}  // namespace
}  // namespace zc
