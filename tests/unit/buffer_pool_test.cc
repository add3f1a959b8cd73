#include "server/core/buffer_pool.hh"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

namespace bp = zc::buffer_pool;

TEST(BufferPool, CapacitiesArePowersOfTwoFrom4KiB) {
  EXPECT_EQ(bp::capacity_for(1), 4096u);
  EXPECT_EQ(bp::capacity_for(4096), 4096u);
  EXPECT_EQ(bp::capacity_for(4097), 8192u);
  EXPECT_EQ(bp::capacity_for(200'000), 262'144u);
}

TEST(BufferPool, ABufferGivenBackIsTheNextOneTaken) {
  std::unique_ptr<char[]> a = bp::take(8192);
  char* where = a.get();
  bp::give(std::move(a), 8192);
  EXPECT_EQ(bp::take(8192).get(), where);
}

TEST(BufferPool, KeepsAtMostMaxBytesPerThread) {
  std::thread([] {
    const std::size_t cap = 256 * 1024;
    std::vector<std::unique_ptr<char[]>> held;
    for (std::size_t i = 0; i < 2 * bp::max_bytes / cap; ++i) held.push_back(bp::take(cap));
    std::vector<char*> given;
    for (auto& b : held) {
      given.push_back(b.get());
      bp::give(std::move(b), cap);
    }
    // Only the first max_bytes / cap were kept: taking that many again
    // returns kept buffers, the next one is new.
    std::vector<std::unique_ptr<char[]>> again;
    for (std::size_t i = 0; i < bp::max_bytes / cap; ++i) {
      again.push_back(bp::take(cap));
      EXPECT_NE(std::find(given.begin(), given.end(), again.back().get()), given.end());
    }
  }).join();
}

TEST(BufferPool, EachThreadHasItsOwn) {
  std::unique_ptr<char[]> a = bp::take(32768);
  char* where = a.get();
  bp::give(std::move(a), 32768);
  char* seen_elsewhere = nullptr;
  std::thread([&] { seen_elsewhere = bp::take(32768).get(); }).join();
  EXPECT_NE(seen_elsewhere, where);
  EXPECT_EQ(bp::take(32768).get(), where);
}
