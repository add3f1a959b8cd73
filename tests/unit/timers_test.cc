// The per-connection deadline lists every event engine keeps
// (backends/timer_list.hh, backends/conn_timers.hh).

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdint>

#include "backends/conn_timers.hh"
#include "backends/timer_list.hh"
#include "server/core/config.hh"

namespace zc {
namespace {

TEST(TimerList, KeepsArmingOrderWhichIsDeadlineOrder) {
  timer_list l(0, 100);
  std::array<timer_node, 3> n;
  l.push(n[0], 10);
  l.push(n[1], 20);
  l.push(n[2], 30);
  EXPECT_EQ(l.front(), &n[0]);
  EXPECT_EQ(n[0].deadline_ms, 110);
  EXPECT_EQ(n[2].deadline_ms, 130);
  EXPECT_EQ(n[1].list, 0);
}

TEST(TimerList, RemovesFromHeadMiddleAndTail) {
  timer_list l(3, 5);
  std::array<timer_node, 4> n;
  for (auto& x : n) l.push(x, 0);
  l.remove(n[1]);  // middle
  EXPECT_EQ(n[0].next, &n[2]);
  EXPECT_EQ(n[2].prev, &n[0]);
  EXPECT_EQ(n[1].list, -1);
  EXPECT_EQ(n[1].next, nullptr);
  l.remove(n[0]);  // head
  EXPECT_EQ(l.front(), &n[2]);
  EXPECT_EQ(n[2].prev, nullptr);
  l.remove(n[3]);  // tail
  EXPECT_EQ(n[2].next, nullptr);
  l.push(n[0], 1);  // the tail is right: a push links after n[2]
  EXPECT_EQ(n[2].next, &n[0]);
  l.remove(n[2]);
  l.remove(n[0]);
  EXPECT_TRUE(l.empty());
}

config timeouts(int header, int idle, int send) {
  config c;
  c.server.header_timeout = std::chrono::milliseconds(header);
  c.server.idle_timeout = std::chrono::milliseconds(idle);
  c.server.send_timeout = std::chrono::milliseconds(send);
  return c;
}

TEST(ConnTimers, NothingArmedMeansNoDeadlineAndAnInfiniteWait) {
  conn_timers t(timeouts(10, 20, 30));
  EXPECT_EQ(t.next_deadline(), INT64_MAX);
  EXPECT_EQ(t.expired(1'000'000), nullptr);
  EXPECT_EQ(conn_timers::wait_ms(t.next_deadline(), 0), -1);
}

TEST(ConnTimers, TheEarliestDeadlineAcrossKindsComesFirst) {
  conn_timers t(timeouts(1000, 50, 300));
  timer_node a, b, c;
  t.arm(a, conn_timers::header, 0);  // 1000
  t.arm(b, conn_timers::idle, 10);   // 60
  t.arm(c, conn_timers::send, 0);    // 300
  EXPECT_EQ(t.next_deadline(), 60);
  EXPECT_EQ(t.expired(59), nullptr);
  EXPECT_EQ(t.expired(60), &b);
  t.disarm(b);
  EXPECT_EQ(t.expired(60), nullptr);
  EXPECT_EQ(t.next_deadline(), 300);
  EXPECT_EQ(t.expired(300), &c);
  EXPECT_NE(t.expired(5000), nullptr);  // both due: either, the caller asks again
}

TEST(ConnTimers, ReArmingMovesANodeToAnotherListAndDisarmTwiceIsHarmless) {
  conn_timers t(timeouts(100, 200, 300));
  timer_node n;
  t.arm(n, conn_timers::header, 0);
  t.arm(n, conn_timers::idle, 0);  // a request finished: now idle
  EXPECT_EQ(n.list, conn_timers::idle);
  EXPECT_EQ(t.next_deadline(), 200);
  t.arm(n, conn_timers::linger, 0);
  EXPECT_EQ(t.next_deadline(), conn_timers::linger_ms);
  t.disarm(n);
  t.disarm(n);
  EXPECT_EQ(t.next_deadline(), INT64_MAX);
}

TEST(ConnTimers, WaitIsAtLeastOneMillisecondAndAtMostAMinute) {
  EXPECT_EQ(conn_timers::wait_ms(100, 100), 1);  // due now: never a busy spin
  EXPECT_EQ(conn_timers::wait_ms(50, 100), 1);   // overdue
  EXPECT_EQ(conn_timers::wait_ms(137, 100), 37);
  EXPECT_EQ(conn_timers::wait_ms(10'000'000, 0), 60'000);
}

}  // namespace
}  // namespace zc
