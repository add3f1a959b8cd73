// file_policy: which paths server.dotfiles = "deny" hides, and how the
// policy is built from the config (the types file read, or refused).

#include "server/core/file_policy.hh"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace zc {
namespace {

TEST(HiddenPath, AnySegmentStartingWithADot) {
  for (const char* p :
       {".env", ".git", ".git/config", "sub/.htpasswd", "a/b/.c/d.txt", "...",
        ".well-known/.secret", "sub/.well-known/x", ".well-knownx/a", ".Well-Known/x"})
    EXPECT_TRUE(is_hidden_path(p)) << p;
}

TEST(HiddenPath, WellKnownAndOrdinaryPathsAreNot) {
  for (const char* p : {"", "index.html", "a/b.c", "sub/x.env", ".well-known",
                        ".well-known/security.txt", ".well-known/acme-challenge/tok3n", "a./b"})
    EXPECT_FALSE(is_hidden_path(p)) << p;
}

class temp_file {
 public:
  explicit temp_file(const std::string& text) {
    char name[] = "/tmp/zc_file_policy_test_XXXXXX";
    const int fd = ::mkstemp(name);
    EXPECT_GE(fd, 0);
    ::close(fd);
    path_ = name;
    std::ofstream(path_) << text;
  }
  ~temp_file() { std::remove(path_.c_str()); }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(LoadFilePolicy, ReadsTheTypesFileAndTheRules) {
  const temp_file types("application/x-zc-test zct\ntext/vnd.trolltech.linguist ts\n");
  config c;
  c.mime.types_file = types.path();
  c.mime.types = {{"m3u8", "audio/x-mpegurl"}};
  c.cache_control.default_value = "max-age=5";
  file_policy p;
  const file_policy_result r = load_file_policy(c, p);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.notice, "");
  EXPECT_EQ(p.content_type("a/b.zct"), "application/x-zc-test");
  EXPECT_EQ(p.content_type("seg.ts"), "video/mp2t");
  EXPECT_EQ(p.content_type("live.m3u8"), "audio/x-mpegurl");
  EXPECT_EQ(p.cache_control_field("a/b.zct"), "Cache-Control: max-age=5\r\n");
}

TEST(LoadFilePolicy, NoTypesFileMeansTheBuiltInTable) {
  config c;
  c.mime.types_file = "";
  file_policy p;
  const file_policy_result r = load_file_policy(c, p);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.notice, "");
  EXPECT_EQ(p.content_type("a.odt"), "application/octet-stream");
  EXPECT_EQ(p.content_type("a.html"), "text/html; charset=utf-8");
}

TEST(LoadFilePolicy, AnUnreadableTypesFileIsAnErrorNamingKeyAndValue) {
  config c;
  c.mime.types_file = "/nonexistent/zc/mime.types";
  file_policy p;
  const file_policy_result r = load_file_policy(c, p);
  EXPECT_NE(r.error.find("mime.types_file = \"/nonexistent/zc/mime.types\""), std::string::npos)
      << r.error;
  EXPECT_NE(r.error.find("No such file or directory"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("must be a readable mime.types file"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find('\n'), std::string::npos) << r.error;
  c.mime.types_file = "/";  // a directory: opens, but cannot be read
  EXPECT_NE(load_file_policy(c, p).error.find("cannot read"), std::string::npos);
}

TEST(DefaultFilePolicy, BuiltInTypesNoCacheControl) {
  const file_policy& p = default_file_policy();
  EXPECT_EQ(p.content_type("x.wasm"), "application/wasm");
  EXPECT_EQ(p.cache_control_field("x.wasm"), "");
}

}  // namespace
}  // namespace zc
