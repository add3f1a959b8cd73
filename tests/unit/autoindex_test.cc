// Directory listings: what is listed, in what order, within what bound, and
// how names are escaped so that each link leads back to its file.

#include "server/core/autoindex.hh"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "server/core/resolver.hh"

namespace zc {
namespace {

namespace fs = std::filesystem;

std::string escaped(std::string_view s) {
  std::string out;
  append_html_escaped(out, s);
  return out;
}

std::string encoded(std::string_view s) {
  std::string out;
  append_segment_encoded(out, s);
  return out;
}

TEST(ListingEscape, HtmlSpecialCharactersBecomeReferences) {
  EXPECT_EQ(escaped("<a href=\"x\">&'</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(escaped("plain name.txt"), "plain name.txt");
}

TEST(ListingEscape, Utf8IsKeptAndInvalidBytesAndControlsAreReplaced) {
  EXPECT_EQ(escaped("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(escaped("a\xFF"), "a" + fffd);
  EXPECT_EQ(escaped("\xC3"), fffd);                           // truncated
  EXPECT_EQ(escaped("\xC0\xAF"), fffd + fffd);                // overlong '/'
  EXPECT_EQ(escaped("\xED\xA0\x80"), fffd + fffd + fffd);     // surrogate
  EXPECT_EQ(escaped("\xF4\x90\x80\x80").substr(0, 3), fffd);  // past U+10FFFF
  EXPECT_EQ(escaped("a\nb\x7F"), "a" + fffd + "b" + fffd);
}

TEST(ListingEscape, SegmentEncodingKeepsOnlyUnreserved) {
  EXPECT_EQ(encoded("Az09-._~"), "Az09-._~");
  EXPECT_EQ(encoded("a b?c#d%e\"f<g"), "a%20b%3Fc%23d%25e%22f%3Cg");
  EXPECT_EQ(encoded("a:b"), "a%3Ab");  // never read as a scheme
  EXPECT_EQ(encoded("x\n\xFF&;+"), "x%0A%FF%26%3B%2B");
}

// Every byte a name may hold survives encoding and the server's decoding.
TEST(ListingEscape, EncodedNamesDecodeBackToTheName) {
  std::string all;
  for (int c = 1; c < 256; ++c)
    if (c != '/' && c != '\\') all.push_back(static_cast<char>(c));
  const normalized_path np = normalize("/" + encoded(all));
  ASSERT_EQ(np.status, 0);
  EXPECT_EQ(np.rel, all);
}

class Listing : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/zc-autoindex-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void file(const std::string& name, std::size_t size) {
    std::ofstream(dir_ / name) << std::string(size, 'x');
  }

  directory_listing read(std::size_t max, const link_resolver& links = nullptr) {
    const int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    const link_resolver none = [](std::string_view, listing_entry&) { return false; };
    directory_listing l = read_directory(fd, max, links ? links : none);
    ::close(fd);
    return l;
  }

  static std::vector<std::string> names(const directory_listing& l) {
    std::vector<std::string> out;
    for (const auto& e : l.entries) out.push_back(e.name);
    return out;
  }

  fs::path dir_;
};

TEST_F(Listing, DirectoriesFirstThenNamesInByteOrder) {
  file("b.txt", 3);
  file("B.txt", 1);
  file("a.txt", 2);
  file("\xC3\xA9.txt", 1);
  fs::create_directory(dir_ / "zdir");
  fs::create_directory(dir_ / "Adir");
  const directory_listing l = read(100);
  ASSERT_EQ(l.status, 0);
  EXPECT_EQ(names(l),
            (std::vector<std::string>{"Adir", "zdir", "B.txt", "a.txt", "b.txt", "\xC3\xA9.txt"}));
  EXPECT_TRUE(l.entries[0].is_dir);
  EXPECT_EQ(l.entries[4].size, 3u);
  EXPECT_GT(l.entries[4].mtime_sec, 0);
  EXPECT_EQ(l.total, 6u);
}

TEST_F(Listing, DotfilesBackslashesAndSpecialFilesAreHidden) {
  file(".env", 1);
  file("a\\b", 1);
  file("shown", 1);
  fs::create_directory(dir_ / ".git");
  ASSERT_EQ(::mkfifo((dir_ / "fifo").c_str(), 0600), 0);
  const directory_listing l = read(100);
  EXPECT_EQ(names(l), (std::vector<std::string>{"shown"}));
  EXPECT_EQ(l.total, 1u);
}

TEST_F(Listing, LinksAreDescribedByTheResolverOrHidden) {
  file("target", 5);
  fs::create_symlink("target", dir_ / "good");
  fs::create_symlink("/etc/passwd", dir_ / "escape");
  const link_resolver links = [](std::string_view name, listing_entry& e) {
    if (name != "good") return false;
    e.size = 5;
    e.mtime_sec = 42;
    return true;
  };
  const directory_listing l = read(100, links);
  ASSERT_EQ(names(l), (std::vector<std::string>{"good", "target"}));
  EXPECT_EQ(l.entries[0].size, 5u);
  EXPECT_EQ(l.entries[0].mtime_sec, 42);
}

TEST_F(Listing, ABigDirectoryShowsItsFirstEntriesAndCountsTheRest) {
  for (int i = 0; i < 50; ++i) file("f" + std::to_string(100 + i), 1);
  fs::create_directory(dir_ / "zz");
  const directory_listing l = read(3);
  EXPECT_EQ(names(l), (std::vector<std::string>{"zz", "f100", "f101"}));
  EXPECT_EQ(l.total, 51u);
  std::string page;
  render_listing(page, "d", l);
  EXPECT_NE(page.find("The first 3 of 51 entries"), std::string::npos) << page;
}

TEST_F(Listing, PageLinksEveryEntryAndTheParent) {
  file("a b&.txt", 7);
  fs::create_directory(dir_ / "sub dir");
  const directory_listing l = read(100);
  std::string page;
  render_listing(page, "x<y", l);
  EXPECT_NE(page.find("<title>Index of /x&lt;y/</title>"), std::string::npos) << page;
  EXPECT_NE(page.find("<a href=\"../\">../</a>"), std::string::npos);
  EXPECT_NE(page.find("<a href=\"sub%20dir/\">sub dir/</a>"), std::string::npos) << page;
  EXPECT_NE(page.find("<a href=\"a%20b%26.txt\">a b&amp;.txt</a>"), std::string::npos) << page;
  EXPECT_NE(page.find("<td>7</td>"), std::string::npos);
  std::string root;
  render_listing(root, "", l);
  EXPECT_EQ(root.find("../"), std::string::npos);
  EXPECT_NE(root.find("<title>Index of /</title>"), std::string::npos);
}

}  // namespace
}  // namespace zc
