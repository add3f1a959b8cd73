// cache_control_rules: the longest path rule, else the extension rule, else
// the default; "" sends no field; the keys and values config_load accepts.

#include "server/core/cache_control.hh"

#include <string>

#include <gtest/gtest.h>

namespace zc {
namespace {

config::cache_control_section site() {
  config::cache_control_section c;
  c.default_value = "max-age=60";
  c.extensions = {{"html", "no-cache"}, {"woff2", "max-age=31536000, immutable"}, {"txt", ""}};
  c.paths = {{"/assets", "max-age=31536000, immutable"},
             {"/assets/live", "no-store"},
             {"/sw.js", "no-cache, max-age=0"},
             {"/private", ""}};
  return c;
}

TEST(CacheControl, NoRulesNoField) {
  const cache_control_rules none;
  EXPECT_EQ(none.field("index.html"), "");
  EXPECT_EQ(none.field(""), "");
  const cache_control_rules empty{config::cache_control_section{}};
  EXPECT_EQ(empty.field("a/b.css"), "");
}

TEST(CacheControl, DefaultCoversFilesNoRuleDoes) {
  const cache_control_rules r(site());
  EXPECT_EQ(r.field("style.css"), "Cache-Control: max-age=60\r\n");
  EXPECT_EQ(r.field("README"), "Cache-Control: max-age=60\r\n");
  EXPECT_EQ(r.field("assets-old/app.js"), "Cache-Control: max-age=60\r\n");  // not beneath /assets
}

TEST(CacheControl, ExtensionRuleOverTheDefault) {
  const cache_control_rules r(site());
  EXPECT_EQ(r.field("index.html"), "Cache-Control: no-cache\r\n");
  EXPECT_EQ(r.field("docs/Guide.HTML"), "Cache-Control: no-cache\r\n");
  EXPECT_EQ(r.field("fonts/a.woff2"), "Cache-Control: max-age=31536000, immutable\r\n");
  EXPECT_EQ(r.field("page.html.bak"),
            "Cache-Control: max-age=60\r\n");  // the last extension counts
}

TEST(CacheControl, PathRuleOverTheExtensionLongestFirst) {
  const cache_control_rules r(site());
  EXPECT_EQ(r.field("assets/app.js"), "Cache-Control: max-age=31536000, immutable\r\n");
  EXPECT_EQ(r.field("assets/page.html"), "Cache-Control: max-age=31536000, immutable\r\n");
  EXPECT_EQ(r.field("assets/live/feed.json"), "Cache-Control: no-store\r\n");
  EXPECT_EQ(r.field("assets/lively.css"), "Cache-Control: max-age=31536000, immutable\r\n");
  EXPECT_EQ(r.field("sw.js"), "Cache-Control: no-cache, max-age=0\r\n");
  EXPECT_EQ(r.field("sw.json"), "Cache-Control: max-age=60\r\n");
}

TEST(CacheControl, EmptyRuleOptsOutOfTheDefault) {
  const cache_control_rules r(site());
  EXPECT_EQ(r.field("notes.txt"), "");
  EXPECT_EQ(r.field("private/index.html"), "");
}

TEST(CacheControl, RootPathRuleCoversEverythingOverExtensions) {
  config::cache_control_section c = site();
  c.paths.emplace_back("/", "private");
  const cache_control_rules r(c);
  EXPECT_EQ(r.field("index.html"), "Cache-Control: private\r\n");
  EXPECT_EQ(r.field("assets/app.js"), "Cache-Control: max-age=31536000, immutable\r\n");
}

TEST(CacheControl, EqualValuesShareOneLine) {
  const cache_control_rules r(site());
  EXPECT_EQ(r.field("assets/a.js").data(), r.field("fonts/b.woff2").data());
}

TEST(CacheControlValue, PrintableWithoutOuterSpace) {
  for (const char* v : {"", "no-cache", "max-age=31536000, immutable", "private, max-age=0",
                        "s-maxage=10, stale-while-revalidate=\"30\""})
    EXPECT_TRUE(is_cache_control_value(v)) << v;
  for (const char* v : {" no-cache", "no-cache ", "no-cache\r\nSet-Cookie: a=b", "a\tb", "\x7f",
                        "max-age=\xc3\xa9"})
    EXPECT_FALSE(is_cache_control_value(v)) << v;
}

TEST(CacheControlPath, RootedWithoutDotSegments) {
  for (const char* p : {"/", "/assets", "/assets/", "/a/b.c/d", "/.well-known", "/v1.2/x"})
    EXPECT_TRUE(is_cache_control_path(p)) << p;
  for (const char* p :
       {"", "assets", "//", "/a//b", "/a/./b", "/a/..", "/./", "/assets//", "/a\nb", "/a\x7f"})
    EXPECT_FALSE(is_cache_control_path(p)) << p;
  EXPECT_EQ(canonical_cache_control_path("/assets/"), "/assets");
  EXPECT_EQ(canonical_cache_control_path("/"), "/");
}

}  // namespace
}  // namespace zc
