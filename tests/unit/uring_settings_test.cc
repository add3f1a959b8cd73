// Where the io_uring engine puts each worker's submission-queue polling
// thread when io.uring.sq_thread_cpu is left at -1.

#include <gtest/gtest.h>

#include "backends/io_uring/io_uring_settings.hh"

namespace zc {
namespace {

uring_settings sqpoll(int cpu = -1) {
  uring_settings u;
  u.sqpoll = true;
  u.sq_thread_cpu = cpu;
  return u;
}

TEST(SqPlacement, AnExplicitCpuIsTakenAsItIs) {
  const sq_placement p = place_sq_thread(sqpoll(3), {0, 1}, {0}, 1, 0);
  EXPECT_EQ(p.cpu, 3);
  EXPECT_FALSE(p.shares_a_cpu);
}

TEST(SqPlacement, PinnedWorkersLeaveTheSpareCpusToThePollers) {
  // four CPUs, workers on 0 and 2: pollers on 1 and 3, round robin
  EXPECT_EQ(place_sq_thread(sqpoll(), {0, 1, 2, 3}, {0, 2}, 2, 0).cpu, 1);
  EXPECT_EQ(place_sq_thread(sqpoll(), {0, 1, 2, 3}, {0, 2}, 2, 1).cpu, 3);
  // one spare CPU for three workers: all three pollers share it
  for (int w = 0; w < 3; ++w) {
    const sq_placement p = place_sq_thread(sqpoll(), {0, 1, 2, 3}, {0, 1, 2}, 3, w);
    EXPECT_EQ(p.cpu, 3);
    EXPECT_FALSE(p.shares_a_cpu);
    EXPECT_NE(p.note.find("no worker is pinned to"), std::string::npos) << p.note;
  }
}

TEST(SqPlacement, NoSpareCpuIsSaid) {
  // the usual benchmark: the server alone on CPU 0, its worker pinned there
  const sq_placement p = place_sq_thread(sqpoll(), {0}, {0}, 1, 0);
  EXPECT_EQ(p.cpu, -1);
  EXPECT_TRUE(p.shares_a_cpu);
  EXPECT_NE(p.note.find("every CPU this process may run on (0)"), std::string::npos) << p.note;
  // a pinned CPU outside the mask is no spare either way
  EXPECT_TRUE(place_sq_thread(sqpoll(), {0, 1}, {0, 1, 5}, 3, 2).shares_a_cpu);
}

TEST(SqPlacement, UnpinnedWorkersNeedMoreCpusThanWorkers) {
  EXPECT_FALSE(place_sq_thread(sqpoll(), {0, 1}, {}, 1, 0).shares_a_cpu);
  EXPECT_EQ(place_sq_thread(sqpoll(), {0, 1}, {}, 1, 0).cpu, -1);
  const sq_placement p = place_sq_thread(sqpoll(), {0, 1}, {}, 2, 1);
  EXPECT_TRUE(p.shares_a_cpu);
  EXPECT_NE(p.note.find("2 CPUs (0,1) for 2 workers"), std::string::npos) << p.note;
  // an unreadable mask: nothing to say, the scheduler decides
  EXPECT_FALSE(place_sq_thread(sqpoll(), {}, {}, 1, 0).shares_a_cpu);
}

}  // namespace
}  // namespace zc
