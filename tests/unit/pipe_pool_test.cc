// The splice senders' pipe pool (backends/senders/pipe_pool.hh): bounded,
// reusing only empty pipes, failing with the errno the senders fall back on.

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <set>
#include <thread>
#include <vector>

#include "backends/senders/pipe_pool.hh"

namespace zc {
namespace {

bool is_open(int fd) {
  return ::fcntl(fd, F_GETFD) >= 0;
}

TEST(PipePool, PerWorkerShareIsABoundedFractionOfTheLimit) {
  EXPECT_EQ(pipes_per_worker(128 * 100, 1), 100u);
  EXPECT_EQ(pipes_per_worker(128 * 100, 4), 25u);
  EXPECT_EQ(pipes_per_worker(64, 1), 2u);           // at least 2
  EXPECT_EQ(pipes_per_worker(1u << 30, 1), 1024u);  // at most 1024
}

TEST(PipePool, AcquireIsIdempotentAndAnEmptyPipeIsReused) {
  pipe_pool pool(O_NONBLOCK, 1 << 16, 2);
  send_state s;
  ASSERT_TRUE(pool.acquire(s));
  const int rd = s.pipe_rd, wr = s.pipe_wr;
  ASSERT_TRUE(pool.acquire(s));  // has one: keeps it
  EXPECT_EQ(s.pipe_rd, rd);
  pool.release(s);
  EXPECT_EQ(s.pipe_rd, -1);
  EXPECT_TRUE(is_open(rd));  // idle in the pool
  send_state t;
  ASSERT_TRUE(pool.acquire(t));
  EXPECT_EQ(t.pipe_rd, rd);
  EXPECT_EQ(t.pipe_wr, wr);
  pool.release(t);
}

TEST(PipePool, APipeStillHoldingBytesIsClosedNotReused) {
  pipe_pool pool(O_NONBLOCK, 1 << 16, 1);
  send_state s;
  ASSERT_TRUE(pool.acquire(s));
  ASSERT_EQ(::write(s.pipe_wr, "abc", 3), 3);
  s.in_pipe = 3;
  const int rd = s.pipe_rd;
  pool.release(s);
  EXPECT_FALSE(is_open(rd));
  // Its place in the bound is free again: a fresh, empty pipe.
  send_state t;
  ASSERT_TRUE(pool.acquire(t));
  char c;
  EXPECT_EQ(::read(t.pipe_rd, &c, 1), -1);
  EXPECT_EQ(errno, EAGAIN);
  pool.release(t);
}

TEST(PipePool, ABoundedPoolSaysEagainWhenEveryPipeIsLent) {
  pipe_pool pool(O_NONBLOCK, 1 << 16, 2);
  send_state a, b, c;
  ASSERT_TRUE(pool.acquire(a));
  ASSERT_TRUE(pool.acquire(b));
  errno = 0;
  EXPECT_FALSE(pool.acquire(c));
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(c.pipe_rd, -1);
  pool.release(a);
  EXPECT_TRUE(pool.acquire(c));
  pool.release(b);
  pool.release(c);
}

TEST(PipePool, OutOfDescriptorsIsEmfileAndNothingLeaks) {
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  std::vector<int> held;
  pipe_pool pool(O_NONBLOCK, 1 << 16);
  send_state s;
  {
    // Lower the limit to just above what is open now, then take the rest.
    rlimit low = old;
    low.rlim_cur = 64;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
    for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) held.push_back(fd);
    errno = 0;
    const bool got = pool.acquire(s);
    const int err = errno;
    for (int fd : held) ::close(fd);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
    EXPECT_FALSE(got);
    EXPECT_EQ(err, EMFILE);
    EXPECT_EQ(s.pipe_rd, -1);
  }
  ASSERT_TRUE(pool.acquire(s));  // the failure left no phantom in the count
  pool.release(s);
}

TEST(PipePool, ThePipeIsAskedToHoldTheChunk) {
  pipe_pool pool(O_NONBLOCK, 256 * 1024, 1);
  send_state s;
  ASSERT_TRUE(pool.acquire(s));
  EXPECT_EQ(static_cast<std::size_t>(::fcntl(s.pipe_wr, F_GETPIPE_SZ)), pool.pipe_size());
  EXPECT_GE(pool.pipe_size(), 256u * 1024);  // within the default pipe-max-size of 1 MiB
  pool.release(s);
}

TEST(PipePool, ASharedPoolNeverLendsOnePipeTwiceNorPassesItsBound) {
  constexpr std::size_t bound = 3;
  pipe_pool pool(O_NONBLOCK, 1 << 16, bound, /*threads=*/true);
  std::atomic<int> lent{0}, most{0}, doubled{0};
  std::vector<std::atomic<int>> holders(4096);
  auto work = [&] {
    for (int i = 0; i < 20'000; ++i) {
      send_state s;
      if (!pool.acquire(s)) continue;
      if (holders[static_cast<std::size_t>(s.pipe_rd)].fetch_add(1) != 0) ++doubled;
      const int now = ++lent;
      for (int m = most.load(); now > m && !most.compare_exchange_weak(m, now);) {
      }
      --lent;
      holders[static_cast<std::size_t>(s.pipe_rd)].fetch_sub(1);
      pool.release(s);
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  EXPECT_EQ(doubled.load(), 0);
  EXPECT_LE(static_cast<std::size_t>(most.load()), bound);
}

}  // namespace
}  // namespace zc
