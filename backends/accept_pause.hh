#pragma once

// What an engine does when accept fails for want of descriptors or memory
// (EMFILE, ENFILE, ENOBUFS, ENOMEM): the next accept would fail the same way
// at once, so accepting stops for a moment while the pending connections
// wait in the listen backlog, and the failure is logged at most once a
// second, with how many more there were, instead of once per attempt.

#include <cerrno>
#include <cstdint>
#include <cstring>

#include <spdlog/spdlog.h>

namespace zc {

class accept_pause {
 public:
  static constexpr std::int64_t pause_ms = 100;
  static constexpr std::int64_t log_every_ms = 1000;

  // Whether a failed accept's errno calls for a pause.
  static bool applies(int err) noexcept {
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
  }

  // Starts a pause at `now`, `call` having failed with `err`.
  void begin(int worker, const char* call, int err, std::int64_t now) {
    resume_at_ = now + pause_ms;
    if (now - last_log_ms_ < log_every_ms) {
      ++unlogged_;
      return;
    }
    spdlog::warn(
        "worker {}: {}: {}; pausing accepts for {} ms ({} more such failures since the "
        "last report)",
        worker, call, std::strerror(err), pause_ms, unlogged_);
    last_log_ms_ = now;
    unlogged_ = 0;
  }

  bool active() const noexcept { return resume_at_ != 0; }

  // When accepting may resume, INT64_MAX when not paused.
  std::int64_t resume_at() const noexcept { return active() ? resume_at_ : INT64_MAX; }

  // True, once, when a pause has run its course at `now`.
  bool ends(std::int64_t now) noexcept {
    if (!active() || now < resume_at_) return false;
    resume_at_ = 0;
    return true;
  }

 private:
  std::int64_t resume_at_ = 0;
  std::int64_t last_log_ms_ = INT64_MIN / 2;
  std::uint64_t unlogged_ = 0;
};

}  // namespace zc
