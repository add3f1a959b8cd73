#include "server/core/resolver.hh"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "server/core/mime.hh"
#include "server/sys/counted.hh"

namespace zc {
namespace {

using namespace std::string_view_literals;

// ---------------------------------------------------------------- normalize

void expect_ok(std::string_view in, std::string_view rel, bool trailing) {
  SCOPED_TRACE(std::string("input: ") + std::string(in));
  const normalized_path p = normalize(in);
  EXPECT_EQ(p.status, 0);
  EXPECT_EQ(p.rel, rel);
  EXPECT_EQ(p.trailing_slash, trailing);
}

void expect_400(std::string_view in) {
  SCOPED_TRACE(std::string("input: ") + std::string(in));
  EXPECT_EQ(normalize(in).status, 400);
}

TEST(Normalize, RootIsEmptyRelWithTrailingSlash) {
  expect_ok("/", "", true);
}

TEST(Normalize, PlainPathLosesLeadingSlash) {
  expect_ok("/index.html", "index.html", false);
  expect_ok("/a/b/c.txt", "a/b/c.txt", false);
}

TEST(Normalize, PathNotStartingWithSlashIs400) {
  expect_400("");
  expect_400("index.html");
  expect_400("*");
  expect_400("http://example.com/");
  expect_400("%2findex.html");
}

TEST(Normalize, TrailingSlashIsRecorded) {
  expect_ok("/a/b/", "a/b", true);
  expect_ok("/a/b", "a/b", false);
}

TEST(Normalize, RepeatedSlashesCollapse) {
  expect_ok("/a//b", "a/b", false);
  expect_ok("//a///b//", "a/b", true);
  expect_ok("///", "", true);
}

TEST(Normalize, DotSegmentsAreDropped) {
  expect_ok("/./a/./b", "a/b", false);
  expect_ok("/a/%2e/b", "a/b", false);
  expect_ok("/.", "", true);
}

TEST(Normalize, FinalDotSegmentMeansDirectory) {
  expect_ok("/a/.", "a", true);
  expect_ok("/a/b/..", "a", true);
  expect_ok("/a/..", "", true);
  expect_ok("/a/%2E%2e", "", true);
}

TEST(Normalize, DotDotPopsOneSegment) {
  expect_ok("/a/b/../c", "a/c", false);
  expect_ok("/a/b/../../c/", "c", true);
  expect_ok("/a/./b/.././c", "a/c", false);
}

TEST(Normalize, DotDotAboveRootIs400) {
  expect_400("/..");
  expect_400("/../");
  expect_400("/../etc/passwd");
  expect_400("/a/../../b");
  expect_400("/a/b/../../../c");
  expect_400("//..//x");
}

TEST(Normalize, EncodedDotDotIsDecodedBeforeSegmentHandling) {
  expect_400("/%2e%2e");
  expect_400("/%2E%2e/");
  expect_400("/%2e%2e/etc/passwd");
  expect_400("/.%2e/x");
  expect_400("/%2e./x");
  expect_ok("/a/%2e%2e/b", "b", false);
}

TEST(Normalize, NamesThatOnlyLookLikeDotsAreKept) {
  expect_ok("/...", "...", false);
  expect_ok("/.hidden", ".hidden", false);
  expect_ok("/a..b/..c/d..", "a..b/..c/d..", false);
}

TEST(Normalize, EncodedSlashIs400) {
  expect_400("/a%2fb");
  expect_400("/a%2Fb");
  expect_400("/%2f");
  expect_400("/a/..%2f..%2fetc/passwd");
}

TEST(Normalize, DecodedNulIs400) {
  expect_400("/%00");
  expect_400("/index.html%00.txt");
}

TEST(Normalize, RawNulIs400) {
  expect_400("/a\0b"sv);
}

TEST(Normalize, BackslashRawOrEncodedIs400) {
  expect_400("/a\\b");
  expect_400("/..\\etc");
  expect_400("/a%5cb");
  expect_400("/a%5Cb");
}

TEST(Normalize, BadPercentEscapeIs400) {
  expect_400("/%");
  expect_400("/a%");
  expect_400("/a%4");
  expect_400("/%zz");
  expect_400("/%g0");
  expect_400("/%0g");
  expect_400("/%%41");
  expect_400("/%4/");
}

TEST(Normalize, PercentEscapesDecodeInEitherCase) {
  expect_ok("/%41%62c", "Abc", false);
  expect_ok("/a%20b", "a b", false);
  expect_ok("/%7euser", "~user", false);
  expect_ok("/%7Euser", "~user", false);
}

TEST(Normalize, PlusIsNotASpaceInPaths) {
  expect_ok("/a+b", "a+b", false);
}

TEST(Normalize, UnicodeEscapesDecodeToUtf8Bytes) {
  expect_ok("/caf%C3%A9.html", "caf\xC3\xA9.html", false);
  expect_ok("/caf%c3%a9/", "caf\xC3\xA9", true);
}

TEST(Normalize, DecodingHappensOnceOnly) {
  // "%25" is a literal '%': the result must not be decoded a second time.
  expect_ok("/%252e%252e", "%2e%2e", false);
  expect_ok("/%252f", "%2f", false);
}

// ---------------------------------------------------------------- resolver

// A document root with an "outside" sibling, made fresh for every test:
//
//   <tmp>/outside/secret.txt
//   <tmp>/outside/dir/
//   <tmp>/root/index.html          "hello"
//   <tmp>/root/sub/file.txt        "sub file"
//   <tmp>/root/link_in      -> sub/file.txt
//   <tmp>/root/link_dir_in  -> sub
//   <tmp>/root/abs_in       -> <tmp>/root/index.html   (absolute, into the root)
//   <tmp>/root/escape_rel   -> ../outside/secret.txt
//   <tmp>/root/escape_abs   -> /etc/passwd
//   <tmp>/root/escape_dir   -> ../outside
//   <tmp>/root/sub/deep_escape -> ../../outside/secret.txt
//   <tmp>/root/loop_a -> loop_b, loop_b -> loop_a
class ResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/zc_resolver_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr) << "mkdtemp: " << std::strerror(errno);
    base_ = tmpl;
    root_ = base_ + "/root";

    make_dir(base_ + "/outside");
    make_dir(base_ + "/outside/dir");
    write_file(base_ + "/outside/secret.txt", "secret");
    make_dir(root_);
    make_dir(root_ + "/sub");
    write_file(root_ + "/index.html", "hello");
    write_file(root_ + "/sub/file.txt", "sub file");
    make_link("sub/file.txt", root_ + "/link_in");
    make_link("sub", root_ + "/link_dir_in");
    make_link(root_ + "/index.html", root_ + "/abs_in");
    make_link("../outside/secret.txt", root_ + "/escape_rel");
    make_link("/etc/passwd", root_ + "/escape_abs");
    make_link("../outside", root_ + "/escape_dir");
    make_link("../../outside/secret.txt", root_ + "/sub/deep_escape");
    make_link("loop_b", root_ + "/loop_a");
    make_link("loop_a", root_ + "/loop_b");

    root_fd_ = ::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(root_fd_, 0) << "open root: " << std::strerror(errno);
  }

  void TearDown() override {
    if (root_fd_ >= 0) ::close(root_fd_);
    if (base_.empty()) return;
    // A mode-000 file inside is still removable (the directory is writable),
    // and remove_all does not follow the symlinks out of the tree.
    std::error_code ec;
    std::filesystem::remove_all(base_, ec);
    EXPECT_FALSE(ec) << "cleanup of " << base_ << ": " << ec.message();
  }

  static void make_dir(const std::string& p) {
    ASSERT_EQ(::mkdir(p.c_str(), 0755), 0) << p << ": " << std::strerror(errno);
  }
  static void make_link(const std::string& target, const std::string& p) {
    ASSERT_EQ(::symlink(target.c_str(), p.c_str()), 0) << p << ": " << std::strerror(errno);
  }
  static void write_file(const std::string& p, std::string_view content, mode_t mode = 0644) {
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    ASSERT_GE(fd, 0) << p << ": " << std::strerror(errno);
    ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    ::close(fd);
  }

  // Whole content of an opened descriptor, to prove which file was opened.
  static std::string slurp(int fd) {
    std::string out;
    char buf[256];
    off_t off = 0;
    for (;;) {
      const ssize_t n = ::pread(fd, buf, sizeof buf, off);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
      off += n;
    }
    return out;
  }

  opened open(const std::string& rel) const { return resolver(root_fd_).open(rel); }

  std::string base_;
  std::string root_;
  int root_fd_ = -1;
};

TEST_F(ResolverTest, RegularFileOpens) {
  const opened o = open("index.html");
  ASSERT_EQ(o.status, 0);
  ASSERT_TRUE(o.fd);
  EXPECT_EQ(slurp(o.fd.get()), "hello");
}

TEST_F(ResolverTest, FileInSubdirectoryOpens) {
  const opened o = open("sub/file.txt");
  ASSERT_EQ(o.status, 0);
  EXPECT_EQ(slurp(o.fd.get()), "sub file");
}

TEST_F(ResolverTest, OpenedDescriptorIsReadOnlyAndCloseOnExec) {
  const opened o = open("index.html");
  ASSERT_EQ(o.status, 0);
  const int fl = ::fcntl(o.fd.get(), F_GETFL);
  EXPECT_EQ(fl & O_ACCMODE, O_RDONLY);
  EXPECT_EQ(fl & O_PATH, 0);
  EXPECT_NE(::fcntl(o.fd.get(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST_F(ResolverTest, EmptyRelOpensTheRootDirectory) {
  const opened o = open("");
  ASSERT_EQ(o.status, 0);
  struct stat st {};
  ASSERT_EQ(::fstat(o.fd.get(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  struct stat root_st {};
  ASSERT_EQ(::stat(root_.c_str(), &root_st), 0);
  EXPECT_EQ(st.st_ino, root_st.st_ino);
  EXPECT_EQ(st.st_dev, root_st.st_dev);
}

TEST_F(ResolverTest, SubdirectoryOpensAsDirectory) {
  const opened o = open("sub");
  ASSERT_EQ(o.status, 0);
  struct stat st {};
  ASSERT_EQ(::fstat(o.fd.get(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(ResolverTest, MissingFileIs404) {
  const opened o = open("nope.html");
  EXPECT_EQ(o.status, 404);
  EXPECT_FALSE(o.fd);
  EXPECT_EQ(open("sub/nope/deeper").status, 404);
}

TEST_F(ResolverTest, FileUsedAsDirectoryIs404) {
  EXPECT_EQ(open("index.html/x").status, 404);
}

TEST_F(ResolverTest, OverlongNameIs404) {
  EXPECT_EQ(open(std::string(300, 'a')).status, 404);
}

TEST_F(ResolverTest, SymlinkLoopIs404) {
  EXPECT_EQ(open("loop_a").status, 404);
}

TEST_F(ResolverTest, SymlinkInsideRootIsServed) {
  const opened o = open("link_in");
  ASSERT_EQ(o.status, 0);
  EXPECT_EQ(slurp(o.fd.get()), "sub file");
}

TEST_F(ResolverTest, SymlinkToDirectoryInsideRootIsFollowed) {
  const opened o = open("link_dir_in/file.txt");
  ASSERT_EQ(o.status, 0);
  EXPECT_EQ(slurp(o.fd.get()), "sub file");
}

TEST_F(ResolverTest, RelativeSymlinkOutOfRootIsRefused) {
  const opened o = open("escape_rel");
  EXPECT_NE(o.status, 0);
  EXPECT_TRUE(o.status == 403 || o.status == 404) << o.status;
  EXPECT_FALSE(o.fd);
}

TEST_F(ResolverTest, NestedRelativeSymlinkOutOfRootIsRefused) {
  const opened o = open("sub/deep_escape");
  EXPECT_TRUE(o.status == 403 || o.status == 404) << o.status;
  EXPECT_FALSE(o.fd);
}

TEST_F(ResolverTest, AbsoluteSymlinkToEtcPasswdIsRefused) {
  const opened o = open("escape_abs");
  EXPECT_NE(o.status, 0);
  EXPECT_FALSE(o.fd);
}

// RESOLVE_BENEATH refuses every absolute symlink, even one whose target lies
// inside the root: the root's absolute location is not something a link
// should depend on. Pinned here so a change of policy is a visible decision.
TEST_F(ResolverTest, AbsoluteSymlinkIsRefusedEvenIntoRoot) {
  const opened o = open("abs_in");
  EXPECT_EQ(o.status, 403);
  EXPECT_FALSE(o.fd);
}

TEST_F(ResolverTest, SymlinkToDirectoryOutsideIsRefused) {
  EXPECT_NE(open("escape_dir").status, 0);
  EXPECT_NE(open("escape_dir/secret.txt").status, 0);
  EXPECT_NE(open("escape_dir/dir").status, 0);
}

// A magic link beneath the root can jump to any open file. A root of
// /proc/self/fd is the simplest way to put one there without mounting
// anything. RESOLVE_BENEATH alone would answer EXDEV (403); the 404 shows
// RESOLVE_NO_MAGICLINKS refused it first, with ELOOP.
TEST_F(ResolverTest, MagicLinkIsRefused) {
  const int proc_fd = ::open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (proc_fd < 0) GTEST_SKIP() << "/proc not mounted";
  const int secret = ::open((base_ + "/outside/secret.txt").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(secret, 0);
  const opened o = resolver(proc_fd).open(std::to_string(secret));
  EXPECT_EQ(o.status, 404);
  EXPECT_FALSE(o.fd);
  ::close(secret);
  ::close(proc_fd);
}

TEST_F(ResolverTest, RelWithDotDotIsRefusedByTheKernelToo) {
  // Not a normalize() output, but open() must hold on its own.
  EXPECT_EQ(open("../outside/secret.txt").status, 403);
  EXPECT_EQ(open("sub/../../outside/secret.txt").status, 403);
  EXPECT_EQ(open("..").status, 403);
}

TEST_F(ResolverTest, AbsoluteRelIsRefused) {
  EXPECT_EQ(open("/etc/passwd").status, 403);
  EXPECT_EQ(open(root_ + "/index.html").status, 403);
}

TEST_F(ResolverTest, RelWithEmbeddedNulIsRefused) {
  const opened o = open(std::string("index.html\0.txt", 15));
  EXPECT_EQ(o.status, 404);
  EXPECT_FALSE(o.fd);
}

TEST_F(ResolverTest, UnreadableFileIs403) {
  if (::geteuid() == 0) {
    GTEST_SKIP() << "running as root: CAP_DAC_OVERRIDE reads mode-000 files";
  }
  write_file(root_ + "/noperm.html", "private", 0000);
  ASSERT_EQ(::chmod((root_ + "/noperm.html").c_str(), 0000), 0);  // umask-proof
  const opened o = open("noperm.html");
  EXPECT_EQ(o.status, 403);
  EXPECT_FALSE(o.fd);
}

// open() of a socket fails with ENXIO. It is a file the root holds but no
// content to serve, like a FIFO: 403, not the 500 of an unknown failure.
TEST_F(ResolverTest, UnixSocketIs403) {
  const int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(s, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string path = root_ + "/sock";
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  const opened o = open("sock");
  EXPECT_EQ(o.status, 403);
  EXPECT_FALSE(o.fd);
  ::close(s);
  ::unlink(path.c_str());
}

TEST_F(ResolverTest, OpenGoesThroughTheCountedLayer) {
  auto& c = sys::counters();
  const auto opens = c.calls[static_cast<std::size_t>(sys::call::openat2)].get();
  const auto closes = c.calls[static_cast<std::size_t>(sys::call::close)].get();
  {
    const opened o = open("index.html");
    ASSERT_EQ(o.status, 0);
  }
  EXPECT_EQ(c.calls[static_cast<std::size_t>(sys::call::openat2)].get(), opens + 1);
  EXPECT_EQ(c.calls[static_cast<std::size_t>(sys::call::close)].get(), closes + 1);
}

// normalize() then open(), the way the handler uses them: no input string
// reaches a file outside the root.
TEST_F(ResolverTest, NormalizeThenOpenCannotEscape) {
  const std::string_view attacks[] = {
      "/../outside/secret.txt",
      "/sub/../../outside/secret.txt",
      "/%2e%2e/outside/secret.txt",
      "/%2E%2e/outside/secret.txt",
      "/.%2e/outside/secret.txt",
      "/sub/..%2f..%2foutside/secret.txt",
      "/..%5coutside%5csecret.txt",
      "/escape_rel",
      "/escape_abs",
      "/escape_dir/secret.txt",
      "/sub/deep_escape",
      "/link_dir_in/../../outside/secret.txt",
  };
  for (const std::string_view a : attacks) {
    SCOPED_TRACE(std::string(a));
    const normalized_path p = normalize(a);
    if (p.status != 0) {
      EXPECT_EQ(p.status, 400);
      continue;
    }
    const opened o = open(p.rel);
    EXPECT_NE(o.status, 0);
    EXPECT_FALSE(o.fd);
  }
}

TEST_F(ResolverTest, NormalizeThenOpenServesLegitimatePaths) {
  struct tc {
    std::string_view url;
    std::string_view content;
  };
  const tc cases[] = {
      {"/index.html", "hello"},          {"//sub///file.txt", "sub file"},
      {"/sub/./../index.html", "hello"}, {"/%73ub/file%2Etxt", "sub file"},
      {"/link_in", "sub file"},
  };
  for (const tc& c : cases) {
    SCOPED_TRACE(std::string(c.url));
    const normalized_path p = normalize(c.url);
    ASSERT_EQ(p.status, 0);
    const opened o = open(p.rel);
    ASSERT_EQ(o.status, 0);
    EXPECT_EQ(slurp(o.fd.get()), c.content);
  }
}

// ---------------------------------------------------------------- mime_type

TEST(MimeType, CommonExtensions) {
  EXPECT_EQ(mime_type("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(mime_type("page.htm"), "text/html; charset=utf-8");
  EXPECT_EQ(mime_type("style.css"), "text/css; charset=utf-8");
  EXPECT_EQ(mime_type("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(mime_type("mod.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(mime_type("data.json"), "application/json; charset=utf-8");
  EXPECT_EQ(mime_type("feed.xml"), "application/xml; charset=utf-8");
  EXPECT_EQ(mime_type("notes.txt"), "text/plain; charset=utf-8");
  EXPECT_EQ(mime_type("logo.svg"), "image/svg+xml; charset=utf-8");
  EXPECT_EQ(mime_type("app.js.map"), "application/json; charset=utf-8");
  EXPECT_EQ(mime_type("photo.png"), "image/png");
  EXPECT_EQ(mime_type("photo.jpg"), "image/jpeg");
  EXPECT_EQ(mime_type("photo.jpeg"), "image/jpeg");
  EXPECT_EQ(mime_type("anim.gif"), "image/gif");
  EXPECT_EQ(mime_type("pic.webp"), "image/webp");
  EXPECT_EQ(mime_type("pic.avif"), "image/avif");
  EXPECT_EQ(mime_type("favicon.ico"), "image/x-icon");
  EXPECT_EQ(mime_type("mod.wasm"), "application/wasm");
  EXPECT_EQ(mime_type("doc.pdf"), "application/pdf");
  EXPECT_EQ(mime_type("a.zip"), "application/zip");
  EXPECT_EQ(mime_type("a.tar"), "application/x-tar");
  EXPECT_EQ(mime_type("clip.mp4"), "video/mp4");
  EXPECT_EQ(mime_type("clip.webm"), "video/webm");
  EXPECT_EQ(mime_type("song.mp3"), "audio/mpeg");
  EXPECT_EQ(mime_type("font.woff"), "font/woff");
  EXPECT_EQ(mime_type("font.woff2"), "font/woff2");
  EXPECT_EQ(mime_type("font.ttf"), "font/ttf");
  EXPECT_EQ(mime_type("font.otf"), "font/otf");
}

TEST(MimeType, LastDotWins) {
  EXPECT_EQ(mime_type("archive.tar.gz"), "application/gzip");
  EXPECT_EQ(mime_type("page.html.txt"), "text/plain; charset=utf-8");
}

TEST(MimeType, ExtensionIsCaseInsensitive) {
  EXPECT_EQ(mime_type("PHOTO.JPG"), "image/jpeg");
  EXPECT_EQ(mime_type("Index.HtMl"), "text/html; charset=utf-8");
  EXPECT_EQ(mime_type("font.WOFF2"), "font/woff2");
}

TEST(MimeType, OnlyTheFinalPathComponentCounts) {
  EXPECT_EQ(mime_type("/a/b/style.css"), "text/css; charset=utf-8");
  EXPECT_EQ(mime_type("sub/index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(mime_type("dir.html/README"), "application/octet-stream");
  EXPECT_EQ(mime_type("/v1.2/file"), "application/octet-stream");
}

TEST(MimeType, UnknownExtensionIsOctetStream) {
  EXPECT_EQ(mime_type("a.unknownext"), "application/octet-stream");
  EXPECT_EQ(mime_type("a.exe"), "application/octet-stream");
  EXPECT_EQ(mime_type("a.htmlx"), "application/octet-stream");
  EXPECT_EQ(mime_type("a.averyveryverylongextensionindeed"), "application/octet-stream");
}

TEST(MimeType, NoExtensionIsOctetStream) {
  EXPECT_EQ(mime_type("README"), "application/octet-stream");
  EXPECT_EQ(mime_type("Makefile"), "application/octet-stream");
  EXPECT_EQ(mime_type("file."), "application/octet-stream");
  EXPECT_EQ(mime_type(""), "application/octet-stream");
  EXPECT_EQ(mime_type("/"), "application/octet-stream");
}

TEST(MimeType, DotfileHasNoExtension) {
  EXPECT_EQ(mime_type(".bashrc"), "application/octet-stream");
  EXPECT_EQ(mime_type("/.bashrc"), "application/octet-stream");
  EXPECT_EQ(mime_type("/home/.html"), "application/octet-stream");
  EXPECT_EQ(mime_type(".eslintrc.json"), "application/json; charset=utf-8");
}

TEST(MimeType, TextTypesCarryCharsetBinaryTypesDoNot) {
  for (const auto* name :
       {"a.html", "a.css", "a.js", "a.json", "a.svg", "a.xml", "a.txt", "a.csv", "a.md"}) {
    EXPECT_NE(mime_type(name).find("; charset=utf-8"), std::string_view::npos) << name;
  }
  for (const auto* name : {"a.png", "a.jpg", "a.gz", "a.mp4", "a.woff2", "a.wasm", "a.pdf"}) {
    EXPECT_EQ(mime_type(name).find("charset"), std::string_view::npos) << name;
  }
}

TEST(MimeType, ReturnsViewsOfStaticStorage) {
  // The same entry for differently spelled inputs: the view does not point
  // into the argument or into a per-call buffer.
  std::string name = "x.HTML";
  const std::string_view a = mime_type(name);
  name.assign(name.size(), 'z');
  EXPECT_EQ(a, "text/html; charset=utf-8");
  EXPECT_EQ(a.data(), mime_type("y.html").data());
}

}  // namespace
}  // namespace zc
