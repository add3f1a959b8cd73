#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

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

// Boost.Asio's reactor in place of a hand-written epoll loop: one
// io_context per worker, run by the worker thread alone. Asio accepts and
// reads (async_accept, async_read_some into the connection's buffer, after
// an async_wait for readability between requests, so that an idle
// connection lends Asio no buffer); the replies go out through the same
// readiness senders as on every other engine, called on the socket's
// native handle, with async_wait(write) when the socket is full. So the
// two engines differ only in the loop around the same calls, and what Asio
// adds is what the figures show.
class asio_engine final : public engine {
 public:
  asio_engine(worker_context ctx, std::unique_ptr<sender> s);
  ~asio_engine() override;

  static engine_info descriptor();

  std::string_view name() const noexcept override { return "asio"; }
  void run() override;
  void stop() noexcept override;

 private:
  struct conn;
  using error_code = boost::system::error_code;
  // Bound to the io_context's own executor, not the type-erased default:
  // the socket and every operation in flight on it carry their executor,
  // and the erased one costs some 40 bytes more in each, per connection.
  using executor = boost::asio::io_context::executor_type;
  using tcp_socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, executor>;
  using tcp_acceptor = boost::asio::basic_socket_acceptor<boost::asio::ip::tcp, executor>;

  friend class conn_driver<asio_engine, conn>;

  // The port the driver drives connections through (backends/driver.hh).
  read_status receive(conn& c);
  read_status receive_now(conn& c);
  void wait_readable(conn& c);
  bool write_blocked(const conn&) const noexcept { return false; }
  void wait_writable(conn& c);
  void deadline_set(conn& c);
  void start_linger(conn& c) { linger_read(c); }
  void release(conn& c) noexcept;
  int sock(const conn& c) const noexcept;
  // Non-blocking sockets: a send never waits (no after_send, send_waited).

  void start_accept();
  void on_accept(const error_code& ec, tcp_socket s);
  void linger_read(conn& c);
  void wake_at(std::int64_t at);
  void on_timer(std::int64_t now);
  void begin_drain();
  void finish();

  worker_context ctx_;
  const config& cfg_;
  std::unique_ptr<sender> sender_;
  worker_files files_;
  // Declared before everything that holds Asio objects, so it outlives
  // them; its destructor drops the handlers still queued without running them.
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  tcp_acceptor acceptor_;
  boost::asio::ip::tcp::endpoint peer_;  // filled by the accept in progress
  // One Asio timer for the whole worker, at the earliest deadline of the
  // driver's lists (or later); see wake_at().
  boost::asio::steady_timer timer_;
  std::int64_t timer_at_ = 0;    // when timer_ fires; 0: not waiting
  std::uint64_t timer_seq_ = 0;  // tells a superseded wait from the current one
  conn_driver<asio_engine, conn> driver_;
  std::atomic<bool> stop_requested_{false};
  accept_pause out_of_fds_;          // accept failed for want of descriptors or memory
  std::unique_ptr<char[]> discard_;  // lingering closes read into this
};

}  // namespace zc
