#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "backends/accept_pause.hh"
#include "backends/conn_timers.hh"
#include "backends/driver.hh"
#include "backends/engine.hh"
#include "backends/registry.hh"
#include "backends/sender.hh"
#include "backends/worker.hh"
#include "server/core/file_cache.hh"
#include "server/core/handler.hh"

namespace zc {

// Readiness by epoll, edge-triggered: each socket is registered once for
// input and output at accept and never modified again, so a keep-alive
// request costs no epoll_ctl. A read that returns less than the space
// offered means the queue is empty, so the engine waits for the next edge
// instead of making the extra read that would only say EAGAIN.
class epoll_engine final : public engine {
 public:
  epoll_engine(worker_context ctx, std::unique_ptr<sender> s);
  ~epoll_engine() override;

  static engine_info descriptor();

  std::string_view name() const noexcept override { return "epoll"; }
  void run() override;
  void stop() noexcept override;

 private:
  struct conn;
  friend class conn_driver<epoll_engine, conn>;

  // The port the driver drives connections through (backends/driver.hh).
  read_status receive(conn& c);
  void wait_readable(conn&) noexcept {}  // registered once, edge-triggered
  bool write_blocked(const conn& c) const noexcept;
  void wait_writable(conn& c) noexcept;
  void deadline_set(conn&) noexcept {}  // the loop's wait looks at the lists
  void start_linger(conn& c) { linger_read(c); }
  void release(conn& c) noexcept;
  int sock(const conn& c) const noexcept;
  // Non-blocking sockets: a send never waits (no after_send, send_waited).

  void accept_ready(std::int64_t now);
  void on_event(conn& c, std::uint32_t events, std::int64_t now);
  void linger_read(conn& c);
  int wait_timeout(std::int64_t now) const;
  void begin_drain(std::int64_t now);
  void refuse(int fd);

  worker_context ctx_;
  const config& cfg_;
  std::unique_ptr<sender> sender_;
  worker_files files_;
  sys::unique_fd ep_;
  sys::unique_fd wake_;  // eventfd: stop() writes, the loop wakes
  conn_driver<epoll_engine, conn> driver_;
  std::atomic<bool> stop_requested_{false};
  accept_pause out_of_fds_;          // accept failed for want of descriptors or memory
  std::unique_ptr<char[]> discard_;  // lingering closes read into this
};

}  // namespace zc
