#include "server/core/access_log.hh"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "server/sys/counted.hh"

namespace zc {
namespace {

namespace fs = std::filesystem;

struct temp_dir {
  fs::path path;
  temp_dir() {
    char tmpl[] = "/tmp/zc-access-log-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~temp_dir() { fs::remove_all(path); }
};

std::vector<std::string> read_lines(const fs::path& p) {
  std::vector<std::string> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The target of a line: "/t<thread>/<seq>".
std::pair<int, int> thread_and_seq(const std::string& line) {
  int t = -1;
  int seq = -1;
  const auto at = line.find("\"GET /t");
  if (at != std::string::npos) std::sscanf(line.c_str() + at, "\"GET /t%d/%d", &t, &seq);
  return {t, seq};
}

// Writers on two worker slots (two threads sharing the first, as the
// blocking engine's connection threads do) and one on the slot for other
// threads, a rotation in the middle: every line is written once, each
// thread's lines in order, old ones in the renamed file.
TEST(AccessLog, ThreadsAndARotationLoseNoLineAndKeepEachThreadsOrder) {
  temp_dir dir;
  const fs::path log = dir.path / "access.log";
  const fs::path rotated = dir.path / "access.log.1";
  // 6000 lines of about 75 bytes fill fewer buffers than the logger may
  // hold (2 per slot + 8, of 64 KiB): none may be dropped, even should the
  // writer not run at all until the end.
  constexpr int per_thread = 1500;
  const int workers[] = {0, 0, 1, -1};  // -1: not a worker
  constexpr int threads = 4;
  access_log_counts counts;
  {
    access_logger logger(log.string(), access_format::combined, std::chrono::milliseconds(5), 2);
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&logger, &log, &rotated, t, w = workers[t]] {
        if (w >= 0) sys::bind_thread(w);
        std::string target;
        for (int i = 0; i < per_thread; ++i) {
          target = "/t" + std::to_string(t) + "/" + std::to_string(i);
          access_entry e;
          e.addr = "127.0.0.1";
          e.request_line = true;
          e.method = "GET";
          e.target = target;
          e.status = 200;
          logger.append(e);
          if (i == per_thread / 2 && t == 0) {
            fs::rename(log, rotated);
            logger.reopen();
            // The writer creates the new file as it reopens; from then on
            // this thread's lines go there.
            for (int n = 0; n < 5000 && !fs::exists(log); ++n) ::usleep(1000);
          }
        }
      });
    }
    for (auto& th : ts) th.join();
    logger.stop();
    counts = logger.counts();
  }
  EXPECT_EQ(counts.lines, std::uint64_t{threads * per_thread});
  EXPECT_EQ(counts.dropped, 0u);
  EXPECT_GT(counts.writes, 0u);

  std::vector<std::string> lines = read_lines(rotated);
  const std::size_t old_lines = lines.size();
  for (auto& l : read_lines(log)) lines.push_back(std::move(l));
  EXPECT_GT(old_lines, 0u);
  EXPECT_LT(old_lines, lines.size());
  bool late_line_in_old_file = false;
  for (std::size_t i = 0; i < old_lines; ++i) {
    const auto [t, seq] = thread_and_seq(lines[i]);
    if (t == 0 && seq > per_thread / 2) late_line_in_old_file = true;
  }
  EXPECT_FALSE(late_line_in_old_file) << "a line made after the reopen went to the old file";
  EXPECT_EQ(lines.size(), counts.lines);
  std::map<int, int> last;
  for (const std::string& l : lines) {
    const auto [t, seq] = thread_and_seq(l);
    ASSERT_GE(t, 0) << l;
    auto it = last.find(t);
    if (it != last.end()) {
      ASSERT_GT(seq, it->second) << "thread " << t << " out of order: " << l;
    }
    last[t] = seq;
  }
}

TEST(AccessLog, StopWritesWhatIsBufferedAndNothingIsLeftBehind) {
  temp_dir dir;
  const fs::path log = dir.path / "access.log";
  // A flush interval the test never waits for: only stop() can write.
  access_logger logger(log.string(), access_format::common, std::chrono::milliseconds(1000), 1);
  access_entry e;
  e.addr = "::1";
  e.status = 400;
  for (int i = 0; i < 3; ++i) logger.append(e);
  logger.stop();
  logger.stop();  // idempotent
  const auto lines = read_lines(log);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].substr(0, 9), "::1 - - [");
  EXPECT_EQ(lines[0].substr(lines[0].size() - 11), "] \"-\" 400 0");
}

TEST(AccessLog, AFileThatCannotBeOpenedThrows) {
  EXPECT_THROW(access_logger("/nonexistent-dir/x/access.log", access_format::combined,
                             std::chrono::milliseconds(1000), 1),
               std::runtime_error);
}

}  // namespace
}  // namespace zc
