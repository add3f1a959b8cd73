#pragma once

// The deadlines every event engine keeps per connection: the head must
// arrive within server.header_timeout, a keep-alive connection may idle for
// server.idle_timeout, a reply must make progress within
// server.send_timeout, and a lingering close lasts at most linger_ms. Each
// kind has one length, so each is a FIFO timer_list: O(1) to arm, the
// earliest deadline at its head.

#include <algorithm>
#include <array>
#include <cstdint>

#include "backends/timer_list.hh"
#include "server/core/config.hh"

namespace zc {

class conn_timers {
 public:
  enum kind : int { header, idle, send, linger, count };

  // How long a lingering close waits for the peer to stop sending.
  static constexpr std::int64_t linger_ms = 2000;

  explicit conn_timers(const config& cfg) noexcept
      : lists_{timer_list{header, cfg.server.header_timeout.count()},
               timer_list{idle, cfg.server.idle_timeout.count()},
               timer_list{send, cfg.server.send_timeout.count()}, timer_list{linger, linger_ms}} {}

  void arm(timer_node& n, kind k, std::int64_t now) noexcept {
    disarm(n);
    lists_[k].push(n, now);
  }

  void disarm(timer_node& n) noexcept {
    if (n.list >= 0) lists_[static_cast<std::size_t>(n.list)].remove(n);
  }

  // The earliest deadline, or INT64_MAX when nothing is armed.
  std::int64_t next_deadline() const noexcept {
    std::int64_t next = INT64_MAX;
    for (const auto& l : lists_)
      if (!l.empty()) next = std::min(next, l.front()->deadline_ms);
    return next;
  }

  // A connection whose deadline has passed, or nullptr. The caller closes
  // it (which disarms it) and asks again.
  timer_node* expired(std::int64_t now) const noexcept {
    for (const auto& l : lists_)
      if (!l.empty() && l.front()->deadline_ms <= now) return l.front();
    return nullptr;
  }

  // A wait of at least 1 ms (the coarse clock ticks every few ms: a deadline
  // due "now" must not be spun on) and at most a minute; -1 for no deadline.
  static int wait_ms(std::int64_t deadline, std::int64_t now) noexcept {
    if (deadline == INT64_MAX) return -1;
    return static_cast<int>(std::clamp<std::int64_t>(deadline - now, 1, 60'000));
  }

 private:
  std::array<timer_list, count> lists_;
};

}  // namespace zc
