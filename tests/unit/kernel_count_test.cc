// Why the kernel's system-call counter was refused: the message must name
// what to change (seccomp, a capability, perf_event_paranoid), since in a
// container each needs a different flag.

#include "server/sys/kernel_count.hh"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

namespace {

using zc::sys::explain_perf_refusal;
using zc::sys::process_restrictions;

process_restrictions with(bool seccomp, std::uint64_t caps) {
  process_restrictions r;
  r.seccomp_filter = seccomp;
  r.effective_caps = caps;
  return r;
}

constexpr std::uint64_t perfmon = std::uint64_t{1} << CAP_PERFMON;

TEST(explain_perf_refusal, capability_in_hand_and_a_filter_blames_seccomp) {
  std::string m = explain_perf_refusal(EPERM, with(true, perfmon), 2);
  EXPECT_NE(m.find("seccomp"), std::string::npos) << m;
  EXPECT_EQ(m.find("lacks CAP_PERFMON"), std::string::npos) << m;
}

TEST(explain_perf_refusal, no_capability_names_perfmon_and_the_paranoid_level) {
  std::string m = explain_perf_refusal(EACCES, with(false, 0), 2);
  EXPECT_NE(m.find("lacks CAP_PERFMON"), std::string::npos) << m;
  EXPECT_NE(m.find("(2)"), std::string::npos) << m;
  EXPECT_EQ(m.find("seccomp"), std::string::npos) << m;
}

TEST(explain_perf_refusal, no_capability_under_a_filter_names_both) {
  std::string m = explain_perf_refusal(EPERM, with(true, 0), 3);
  EXPECT_NE(m.find("lacks CAP_PERFMON"), std::string::npos) << m;
  EXPECT_NE(m.find("seccomp"), std::string::npos) << m;
}

// A filter that allows perf_event_open (docker/seccomp/zcserve-counter.json,
// zcserve.json) leaves the refusal to the kernel, which answers EACCES: the
// capability is what is missing, and the filter must not be blamed.
TEST(explain_perf_refusal, the_kernels_refusal_under_a_filter_names_only_the_capability) {
  std::string m = explain_perf_refusal(EACCES, with(true, 0), 2);
  EXPECT_NE(m.find("lacks CAP_PERFMON"), std::string::npos) << m;
  EXPECT_NE(m.find("(2)"), std::string::npos) << m;
  EXPECT_EQ(m.find("seccomp"), std::string::npos) << m;
}

// With the capability in hand, EACCES under a filter is not the filter's
// answer either: something else (a security module) refused.
TEST(explain_perf_refusal, eacces_with_the_capability_does_not_blame_the_filter) {
  std::string m = explain_perf_refusal(EACCES, with(true, perfmon), 2);
  EXPECT_EQ(m.find("seccomp"), std::string::npos) << m;
  EXPECT_NE(m.find("security module"), std::string::npos) << m;
}

TEST(explain_perf_refusal, paranoid_minus_one_needs_no_capability) {
  std::string m = explain_perf_refusal(EPERM, with(true, 0), -1);
  EXPECT_NE(m.find("seccomp filter"), std::string::npos) << m;
  EXPECT_EQ(m.find("lacks CAP_PERFMON"), std::string::npos) << m;
}

TEST(explain_perf_refusal, other_errors_are_reported_as_they_are) {
  std::string m = explain_perf_refusal(ENOENT, with(true, 0), 2);
  EXPECT_NE(m.find("No such file"), std::string::npos) << m;
  EXPECT_EQ(m.find("seccomp"), std::string::npos) << m;
}

TEST(read_process_restrictions, reads_this_process) {
  // The test runs unconfined or confined; either way the capability set it
  // reports is the kernel's, so CAP_PERFMON matches what capget says.
  process_restrictions r = zc::sys::read_process_restrictions();
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2]{};
  ASSERT_EQ(::syscall(SYS_capget, &h, d), 0);
  const std::uint64_t eff = d[0].effective | (std::uint64_t{d[1].effective} << 32);
  EXPECT_EQ(r.effective_caps, eff);
}

}  // namespace
