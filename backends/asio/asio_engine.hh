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
#include "backends/engine.hh"
#include "backends/registry.hh"
#include "backends/sender.hh"
#include "backends/worker.hh"
#include "server/connection.hh"
#include "server/file_cache.hh"
#include "server/handler.hh"

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

  void start_accept();
  void on_accept(const error_code& ec, tcp_socket s);
  void drive(conn& c, std::int64_t now);
  void start_read(conn& c);
  void read_some(conn& c);
  void start_linger(conn& c, std::int64_t now);
  void linger_read(conn& c);
  void close_conn(conn& c);
  void arm(conn& c, conn_timers::kind k, std::int64_t now);
  void wake_at(std::int64_t at);
  void on_timer(std::int64_t now);
  void begin_drain();
  void finish();

  worker_context ctx_;
  const config& cfg_;
  std::unique_ptr<sender> sender_;
  file_cache cache_;
  handler handler_;
  // Declared before everything that holds Asio objects, so it outlives
  // them; its destructor drops the handlers still queued without running them.
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  tcp_acceptor acceptor_;
  boost::asio::ip::tcp::endpoint peer_;  // filled by the accept in progress
  // One Asio timer for the whole worker, at the earliest deadline of
  // timers_ (or later); see wake_at().
  boost::asio::steady_timer timer_;
  std::int64_t timer_at_ = 0;    // when timer_ fires; 0: not waiting
  std::uint64_t timer_seq_ = 0;  // tells a superseded wait from the current one
  conn_timers timers_;
  std::vector<std::unique_ptr<conn>> conns_;  // every connection object ever made
  std::vector<conn*> free_;
  std::size_t live_ = 0;
  std::atomic<bool> stop_requested_{false};
  bool draining_ = false;
  std::int64_t drain_deadline_ = 0;
  accept_pause out_of_fds_;          // accept failed for want of descriptors or memory
  std::unique_ptr<char[]> discard_;  // lingering closes read into this
};

}  // namespace zc
