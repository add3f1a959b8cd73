#pragma once

// The kernel's own count of system calls: a perf_event_open counter on the
// raw_syscalls:sys_enter tracepoint. It counts every call a thread enters,
// whoever made it (zcserve, glibc, spdlog, a driver), so set beside the
// wrapper count it shows the calls the wrapper layer cannot see.

#include <cstdint>
#include <optional>
#include <string>

#include "server/sys/unique_fd.hh"

namespace zc::sys {

// What a container (or a sandbox) commonly withholds from this process,
// from /proc/self/status: a refusal is explained by naming which one.
struct process_restrictions {
  bool seccomp_filter = false;       // "Seccomp: 2": a filter decides every call
  std::uint64_t effective_caps = 0;  // CapEff
  bool has_cap(int cap) const noexcept { return ((effective_caps >> cap) & 1) != 0; }
};
process_restrictions read_process_restrictions();

// Why perf_event_open on a tracepoint failed with err, and what would
// let it: seccomp, a missing capability, or kernel.perf_event_paranoid
// (paranoid is its value, or nullopt when unreadable). The seccomp filter
// is named only when it is the likely cause: err is EPERM under a filter
// (the kernel's own refusal of a missing capability is EACCES).
std::string explain_perf_refusal(int err, const process_restrictions& r,
                                 std::optional<int> paranoid);

class kernel_syscall_counter {
 public:
  kernel_syscall_counter() = default;

  // "" if counters can be opened here, else why not (no tracefs, not
  // permitted by perf_event_paranoid, ...). Probed once per process.
  static const std::string& unavailable_reason();

  // Counts the calling thread. With `inherit`, also every thread it (or its
  // descendants) creates afterwards, including the kernel's own threads
  // working for it (io_uring's SQPOLL thread and io-wq workers).
  static kernel_syscall_counter open_for_this_thread(bool inherit);

  bool valid() const noexcept { return static_cast<bool>(fd_); }
  // May be called from any thread. nullopt if the read fails.
  std::optional<std::uint64_t> read() const noexcept;

 private:
  explicit kernel_syscall_counter(int fd) noexcept : fd_(fd) {}
  unique_fd fd_;
};

}  // namespace zc::sys
