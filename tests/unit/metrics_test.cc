// Figures are read while the workers may hold every descriptor the process
// may open: the admin thread must then report what it can and never fault.
// Under UBSan the old iostream reader tripped the vptr check here (the
// check itself wants a pipe, and there was no descriptor left for one).

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <vector>

#include <gtest/gtest.h>

#include "server/program/metrics.hh"

namespace {

// Burns a little CPU in this thread, so that its /proc figures are not 0.
void spin_for(std::chrono::milliseconds d) {
  auto until = std::chrono::steady_clock::now() + d;
  volatile unsigned long x = 0;
  while (std::chrono::steady_clock::now() < until) x = x + 1;
}

// Opens descriptors until the process's limit is reached, leaving `spare`,
// and closes them again when it goes.
class exhausted_descriptors {
 public:
  explicit exhausted_descriptors(int spare) {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit low = saved_;
    low.rlim_cur = 64;  // small, so the test opens few
    ::setrlimit(RLIMIT_NOFILE, &low);
    for (;;) {
      int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) break;
      held_.push_back(fd);
    }
    for (int i = 0; i < spare && !held_.empty(); ++i) {
      ::close(held_.back());
      held_.pop_back();
    }
  }
  ~exhausted_descriptors() {
    for (int fd : held_) ::close(fd);
    ::setrlimit(RLIMIT_NOFILE, &saved_);
  }
  exhausted_descriptors(const exhausted_descriptors&) = delete;
  exhausted_descriptors& operator=(const exhausted_descriptors&) = delete;
  bool any() const { return !held_.empty(); }

 private:
  rlimit saved_{};
  std::vector<int> held_;
};

TEST(MetricsTest, ReadsThisThreadsCpuAndSwitches) {
  zc::sys::bind_thread(0);
  spin_for(std::chrono::milliseconds(50));
  zc::snapshot s = zc::take_snapshot(1);
  ASSERT_EQ(s.workers.size(), 1u);
  EXPECT_GT(s.workers[0].user_seconds + s.workers[0].system_seconds, 0.0);
  EXPECT_GT(s.workers[0].voluntary_switches + s.workers[0].involuntary_switches, 0u);
}

// One descriptor left: the /proc file opens and takes it, and nothing after
// that may need another.
TEST(MetricsTest, OneDescriptorLeftStillReads) {
  zc::sys::bind_thread(0);
  spin_for(std::chrono::milliseconds(50));
  exhausted_descriptors held(1);
  ASSERT_TRUE(held.any());
  zc::snapshot s = zc::take_snapshot(1);
  EXPECT_GT(s.workers[0].user_seconds + s.workers[0].system_seconds, 0.0);
}

// None left: no figures from /proc this time, and no fault.
TEST(MetricsTest, NoDescriptorLeftReadsNothingAndGoesOn) {
  zc::sys::bind_thread(0);
  exhausted_descriptors held(0);
  ASSERT_TRUE(held.any());
  zc::snapshot s = zc::take_snapshot(1);
  EXPECT_EQ(s.workers[0].user_seconds + s.workers[0].system_seconds, 0.0);
}

}  // namespace
