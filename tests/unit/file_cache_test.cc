// The file cache's descriptor budget: idle entries are closed, entries a
// reply holds are not, an open that finds no descriptor closes idle entries
// and tries again, and a cache shared by threads stays consistent.

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "server/core/file_cache.hh"
#include "server/core/file_policy.hh"
#include "server/sys/counted.hh"

namespace zc {
namespace {

namespace fs = std::filesystem;

constexpr int files = 40;

std::string name(int i) {
  return "f" + std::to_string(i) + ".txt";
}
std::string content(int i) {
  return "file number " + std::to_string(i) + "\n";
}

class FileCache : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/zc-file-cache-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    for (int i = 0; i < files; ++i) std::ofstream(dir_ / name(i)) << content(i);
    root_ = ::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(root_, 0);
  }
  void TearDown() override {
    ::close(root_);
    fs::remove_all(dir_);
  }

  static int open_descriptors() {
    int n = 0;
    for (const auto& e : fs::directory_iterator("/proc/self/fd")) n += e.exists() ? 1 : 0;
    return n;
  }

  fs::path dir_;
  int root_ = -1;
};

TEST_F(FileCache, KeepsNoMoreDescriptorsThanItsCapacity) {
  const int before = open_descriptors();
  file_cache cache(root_, 4, 60'000);
  for (int i = 0; i < files; ++i) {
    lookup_result r = cache.lookup(name(i), 0);
    ASSERT_EQ(r.status, 0) << name(i);
    EXPECT_EQ(r.file->size, content(i).size());
  }
  EXPECT_EQ(cache.size(), 4u);
  EXPECT_LE(open_descriptors(), before + 4);
}

TEST_F(FileCache, AnEntryAReplyHoldsKeepsItsDescriptorAndItsPlace) {
  file_cache cache(root_, 2, 60'000);
  lookup_result held = cache.lookup(name(0), 0);
  ASSERT_EQ(held.status, 0);
  for (int i = 1; i < 10; ++i) ASSERT_EQ(cache.lookup(name(i), 0).status, 0);
  // Still open, and still the cache's entry: the idle ones went instead.
  EXPECT_EQ(::fcntl(held.file->fd.get(), F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(cache.lookup(name(0), 0).file.get(), held.file.get());
  EXPECT_EQ(cache.size(), 2u);
}

TEST_F(FileCache, AFullCacheOfHeldEntriesServesANewFileWithoutKeepingIt) {
  file_cache cache(root_, 2, 60'000);
  lookup_result a = cache.lookup(name(0), 0);
  lookup_result b = cache.lookup(name(1), 0);
  lookup_result c = cache.lookup(name(2), 0);
  ASSERT_EQ(c.status, 0);
  EXPECT_EQ(c.file->size, content(2).size());
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.lookup(name(0), 0).file.get(), a.file.get());
  EXPECT_EQ(cache.lookup(name(1), 0).file.get(), b.file.get());
}

TEST_F(FileCache, AnOpenWithoutDescriptorsClosesIdleEntriesAndTriesAgain) {
  file_cache cache(root_, 100, 60'000);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(cache.lookup(name(i), 0).status, 0);
  // Every descriptor number below the limit is taken: the next open fails
  // with EMFILE unless the cache gives some back.
  rlimit was{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &was), 0);
  rlimit tight = was;
  tight.rlim_cur = static_cast<rlim_t>(open_descriptors() + 8);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  std::vector<int> fillers;
  for (int fd; (fd = ::dup(0)) >= 0;) fillers.push_back(fd);
  const int why = errno;
  lookup_result r = cache.lookup(name(30), 0);
  for (int fd : fillers) ::close(fd);
  ::setrlimit(RLIMIT_NOFILE, &was);
  ASSERT_EQ(why, EMFILE);
  ASSERT_EQ(r.status, 0);
  EXPECT_EQ(r.file->size, content(30).size());
  EXPECT_LT(cache.size(), 21u);
}

TEST_F(FileCache, ThreadsSharingOneCacheSeeEveryFileWhole) {
  file_cache cache(root_, 8, 0, cache_sharing::threads);  // revalidate on every lookup
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      std::vector<file_ref> held;
      for (int k = 0; k < 3000; ++k) {
        const int i = (k * 7 + t * 13) % files;
        lookup_result r = cache.lookup(name(i), k);
        if (r.status != 0 || r.file->size != content(i).size()) {
          ++wrong;
          continue;
        }
        // The mapping is made once, by whichever thread gets there first.
        const char* m = r.file->mapping();
        if (m == nullptr || std::string(m, r.file->size) != content(i)) ++wrong;
        // Hold a few, as replies in flight do, and drop them on this thread.
        held.push_back(r.file);
        if (held.size() > 3) held.erase(held.begin());
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(cache.size(), 8u);
}

std::uint64_t opens() {
  return sys::counters().calls[static_cast<std::size_t>(sys::call::openat2)].get();
}

// Precompressed siblings: a missing one is looked for once per
// revalidation of the original, not once per request.
TEST_F(FileCache, AMissingSiblingIsLookedForOncePerRevalidation) {
  file_cache cache(root_, 64, 1000);
  lookup_result f = cache.lookup(name(0), 0);
  ASSERT_EQ(f.status, 0);
  const std::uint64_t before = opens();
  EXPECT_FALSE(cache.sibling(*f.file, name(0), ".gz", 1, 0));
  EXPECT_EQ(opens(), before + 1);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(cache.sibling(*f.file, name(0), ".gz", 1, 10));
  EXPECT_EQ(opens(), before + 1);

  // Added since: found once the original is revalidated, and then served
  // from the cache like any file.
  std::ofstream(dir_ / (name(0) + ".gz")) << "compressed";
  EXPECT_FALSE(cache.sibling(*f.file, name(0), ".gz", 1, 500));
  f = cache.lookup(name(0), 2000);
  ASSERT_EQ(f.status, 0);
  const file_ref s = cache.sibling(*f.file, name(0), ".gz", 1, 2000);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->size, 10u);
  const std::uint64_t found = opens();
  EXPECT_TRUE(cache.sibling(*f.file, name(0), ".gz", 1, 2001));
  EXPECT_EQ(opens(), found);
}

TEST_F(FileCache, ASiblingThatIsADirectoryIsNone) {
  fs::create_directory(dir_ / (name(1) + ".br"));
  file_cache cache(root_, 64, 1000);
  lookup_result f = cache.lookup(name(1), 0);
  ASSERT_EQ(f.status, 0);
  EXPECT_FALSE(cache.sibling(*f.file, name(1), ".br", 0, 0));
  EXPECT_EQ(f.file->siblings_known, 1u);
  EXPECT_EQ(f.file->siblings_present, 0u);
}

// Each entry gets its Content-Type and Cache-Control from the policy the
// cache was made with, by the path it was looked up under, and the views
// outlive the cache (a reply may hold an entry the cache has dropped).
TEST_F(FileCache, EntriesTakeTypeAndCacheControlFromThePolicy) {
  fs::create_directory(dir_ / "assets");
  std::ofstream(dir_ / "assets" / "page.html") << "<p>x</p>\n";
  std::ofstream(dir_ / "data.zct") << "z\n";
  config c;
  c.mime.types_file = "";
  c.mime.types = {{"zct", "application/x-zc-test"}};
  c.cache_control.extensions = {{"html", "no-cache"}};
  c.cache_control.paths = {{"/assets", "max-age=600"}};
  file_policy policy;
  ASSERT_EQ(load_file_policy(c, policy).error, "");
  file_ref held;
  {
    file_cache cache(root_, 4, 60'000, cache_sharing::one_thread, &policy);
    EXPECT_EQ(&cache.policy(), &policy);
    lookup_result page = cache.lookup("assets/page.html", 0);
    ASSERT_EQ(page.status, 0);
    EXPECT_EQ(page.file->mime, "text/html; charset=utf-8");
    EXPECT_EQ(page.file->cache_control, "Cache-Control: max-age=600\r\n");
    lookup_result data = cache.lookup("data.zct", 0);
    ASSERT_EQ(data.status, 0);
    EXPECT_EQ(data.file->mime, "application/x-zc-test");
    EXPECT_EQ(data.file->cache_control, "");
    lookup_result txt = cache.lookup(name(0), 0);
    EXPECT_EQ(txt.file->mime, "text/plain; charset=utf-8");
    held = page.file;
  }
  EXPECT_EQ(held->cache_control, "Cache-Control: max-age=600\r\n");
}

TEST_F(FileCache, WithoutAPolicyTheBuiltInTypesAndNoCacheControl) {
  file_cache cache(root_, 4, 60'000);
  EXPECT_EQ(&cache.policy(), &default_file_policy());
  lookup_result r = cache.lookup(name(1), 0);
  ASSERT_EQ(r.status, 0);
  EXPECT_EQ(r.file->mime, "text/plain; charset=utf-8");
  EXPECT_EQ(r.file->cache_control, "");
}

// What an engine keeps for an entry goes when the entry dies, not when the
// cache lets go of it: a reply still holding a replaced entry keeps it (and
// the engine's slot) alive, and the keeper hears of it once, with its word.
TEST_F(FileCache, AnEngineNoteIsToldOnceWhenTheLastHolderLetsGo) {
  struct keeper final : entry_keeper {
    std::vector<std::int64_t> gone;
    void entry_gone(std::int64_t word) noexcept override { gone.push_back(word); }
  } k;
  file_cache cache(root_, 1, 1000);
  lookup_result held = cache.lookup(name(0), 0);
  ASSERT_EQ(held.status, 0);
  held.file->note = {&k, 42};
  // The file changes: revalidated, the cache replaces the entry the reply holds.
  std::ofstream(dir_ / name(0)) << "a different, longer content\n";
  lookup_result fresh = cache.lookup(name(0), 5000);
  ASSERT_EQ(fresh.status, 0);
  ASSERT_NE(fresh.file.get(), held.file.get());
  EXPECT_TRUE(k.gone.empty()) << "told while a reply still holds the entry";
  held.file.reset();
  EXPECT_EQ(k.gone, std::vector<std::int64_t>{42});

  // An entry only the cache holds is told when the cache closes it.
  fresh.file->note = {&k, 7};
  fresh.file.reset();
  EXPECT_EQ(k.gone.size(), 1u) << "told while the cache still holds the entry";
  ASSERT_EQ(cache.lookup(name(1), 5000).status, 0);  // the idle entry of name(0) goes
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(k.gone, (std::vector<std::int64_t>{42, 7}));
  // An entry without a note tells nobody.
  ASSERT_EQ(cache.lookup(name(2), 5000).status, 0);
  EXPECT_EQ(k.gone.size(), 2u);
}

}  // namespace
}  // namespace zc
