#pragma once

// The kernel's own count of system calls: a perf_event_open counter on the
// raw_syscalls:sys_enter tracepoint. It counts every call a thread enters,
// whoever made it (zcserve, glibc, spdlog, a driver), so set beside the
// wrapper count it shows the calls the wrapper layer cannot see.

#include <cstdint>
#include <optional>
#include <string>

#include "backends/sys/unique_fd.hh"

namespace zc::sys {

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
