#include "backends/asio/asio_engine.hh"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <span>
#include <stdexcept>

#include <spdlog/spdlog.h>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>

#include "backends/senders/readiness.hh"
#include "server/core/http_date.hh"
#include "server/sys/counted.hh"

namespace zc {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Back-off after the process ran out of descriptors.
constexpr std::size_t discard_size = 16384;

std::unique_ptr<engine> make(worker_context ctx, sender_kind sender) {
  auto s = make_readiness_sender(sender, *ctx.cfg);
  return std::make_unique<asio_engine>(std::move(ctx), std::move(s));
}

// The deadline lists count CLOCK_MONOTONIC_COARSE milliseconds
// (monotonic_ms()); steady_clock is CLOCK_MONOTONIC, the same clock read
// finely, so a deadline converts by its number alone.
asio::steady_timer::time_point to_time_point(std::int64_t ms) {
  return asio::steady_timer::time_point(std::chrono::milliseconds(ms));
}

tcp protocol_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  // Set-up, once per worker: not on the counted path.
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    throw std::runtime_error(std::string("asio: getsockname(listener): ") + std::strerror(errno));
  return ss.ss_family == AF_INET6 ? tcp::v6() : tcp::v4();
}

}  // namespace

engine_info asio_engine::descriptor() {
  return {"asio", &make, readiness_senders(), &always_usable, sender_kind::sendfile};
}

struct asio_engine::conn : driver_conn {
  conn(asio::io_context& io, const config& cfg, handler& h) : driver_conn(cfg, h), sock(io) {}
  tcp_socket sock;
  // Bumped at every close. A completion carries the number it was started
  // under: Asio ends operations on a closed socket with operation_aborted
  // later, from its queue, when this object may already serve another
  // connection.
  std::uint64_t gen = 0;
  bool readable = false;  // Asio said so, and nothing was read since
};

asio_engine::asio_engine(worker_context ctx, std::unique_ptr<sender> s)
    : ctx_(std::move(ctx)),
      cfg_(*ctx_.cfg),
      sender_(std::move(s)),
      files_(ctx_),
      // One thread runs it; stop() posts from another, so it keeps its locks.
      io_(1),
      work_(io_.get_executor()),
      acceptor_(io_),
      timer_(io_),
      driver_(ctx_.id, cfg_, files_.http, *sender_, *this),
      discard_(std::make_unique<char[]>(discard_size)) {
  const int fd = ctx_.listener.get();
  error_code ec;
  acceptor_.assign(protocol_of(fd), fd, ec);
  if (ec) throw std::runtime_error("asio: assign(listener): " + ec.message());
  ctx_.listener.release();  // Asio owns it now, and closes it
}

asio_engine::~asio_engine() {
  driver_.close_all();
}

void asio_engine::stop() noexcept {
  // The drain runs on the worker thread, inside the loop, like every other
  // handler: posting is what makes stop() safe from any thread.
  if (!stop_requested_.exchange(true)) asio::post(io_, [this] { begin_drain(); });
}

void asio_engine::run() {
  start_accept();
  io_.run();
  driver_.close_all();
}

void asio_engine::start_accept() {
  acceptor_.async_accept(
      peer_, [this](const error_code& ec, tcp_socket s) { on_accept(ec, std::move(s)); });
}

void asio_engine::on_accept(const error_code& ec, tcp_socket s) {
  if (driver_.draining() || ec == asio::error::operation_aborted) return;  // the listener is closed
  const std::int64_t now = monotonic_ms();
  if (ec) {
    const int err = ec.value();
    if (accept_pause::applies(err)) {
      // Accepting again at once would fail the same way: no accept in
      // flight until the pause ends (on_timer starts the next).
      out_of_fds_.begin(ctx_.id, "accept", err, now);
      return wake_at(out_of_fds_.resume_at());
    }
    spdlog::error("worker {}: accept: {}", ctx_.id, ec.message());
    return start_accept();
  }
  sockaddr_storage peer{};
  std::memcpy(&peer, peer_.data(), std::min<std::size_t>(peer_.size(), sizeof peer));
  conn* c = driver_.open(peer, now, io_);
  if (c == nullptr) {
    // Over the connection limit: a short 503 if the socket takes it at
    // once; the socket closes as `s` goes. The others are not disturbed.
    send_busy_reply(s.native_handle());
    return start_accept();
  }
  c->sock = std::move(s);
  // The senders write on the native handle and must get EAGAIN, never
  // block. Asio would switch the socket to non-blocking for its own reads
  // anyway; saying so first makes that the one ioctl, and Asio knows of it.
  error_code nb;
  c->sock.non_blocking(true, nb);
  if (nb) {
    spdlog::error("worker {}: non_blocking: {}", ctx_.id, nb.message());
    c->sock.close(nb);
    driver_.abandon(*c);
    return start_accept();
  }
  c->readable = false;
  start_accept();
  driver_.drive(*c, now);
}

read_status asio_engine::receive(conn& c) {
  // Between requests, nothing is read until Asio reports the socket
  // readable (wait_readable): the connection has released its input buffer
  // and takes one again only when bytes are there, so an idle keep-alive
  // connection holds none, and the speculative recv that would only find
  // EAGAIN is not made. Within a request, read at once.
  if (!c.readable && !c.proto.has_partial_request()) return read_status::again;
  return receive_now(c);
}

// While a reply goes out the connection waits for writability only, so
// bytes the peer sends meanwhile are never reported: after a last reply
// the driver reads once regardless, since closing with them unread would
// reset the reply's tail away.
read_status asio_engine::receive_now(conn& c) {
  c.readable = false;
  const std::span<char> space = c.proto.read_space();
  error_code ec;
  const std::size_t n = c.sock.read_some(asio::buffer(space.data(), space.size()), ec);
  if (ec == asio::error::would_block) return read_status::again;
  if (ec == asio::error::eof) return read_status::eof;
  if (ec) return read_status::error;
  // Asio's recvmsg is not a wrapped call, but its copy into our buffer is
  // ours to count.
  sys::counters().copied_to_user.add(n);
  c.proto.commit(n);
  return read_status::data;
}

void asio_engine::wait_readable(conn& c) {
  // The read is made in the driver, called from this handler: an async
  // read would complete through Asio's queue, and draining that queue
  // costs an extra epoll_wait per request.
  c.sock.async_wait(tcp_socket::wait_read, [this, p = &c, gen = c.gen](const error_code& ec) {
    if (p->gen != gen) return;
    if (ec) return driver_.close(*p);
    p->readable = true;
    driver_.drive(*p, monotonic_ms());
  });
}

void asio_engine::wait_writable(conn& c) {
  c.sock.async_wait(tcp_socket::wait_write, [this, p = &c, gen = c.gen](const error_code& ec) {
    if (p->gen != gen) return;
    if (ec) return driver_.close(*p);
    driver_.drive(*p, monotonic_ms());
  });
}

void asio_engine::deadline_set(conn& c) {
  wake_at(c.deadline_ms);
}

int asio_engine::sock(const conn& c) const noexcept {
  return const_cast<tcp_socket&>(c.sock).native_handle();
}

void asio_engine::linger_read(conn& c) {
  c.sock.async_read_some(asio::buffer(discard_.get(), discard_size),
                         [this, p = &c, gen = c.gen](const error_code& ec, std::size_t n) {
                           if (p->gen != gen) return;
                           if (ec) return driver_.close(*p);
                           sys::counters().copied_to_user.add(n);
                           linger_read(*p);
                         });
}

void asio_engine::release(conn& c) noexcept {
  // Asio's close: it ends the operation in flight (its completion will
  // find the generation moved on) and closes the descriptor itself, a call
  // the wrapper layer does not see and the kernel's count does.
  error_code ec;
  c.sock.close(ec);
  ++c.gen;
  if (driver_.draining() && driver_.live() == 0) finish();
}

void asio_engine::wake_at(std::int64_t at) {
  // The timeouts are the event engines' shared O(1) lists (conn_timers),
  // watched by one Asio timer. A wake-up already due no later than `at`
  // looks at the lists when it comes and waits again for what is left, so
  // a deadline removed or pushed back (every request's) costs nothing here.
  // Only an earlier one moves the timer, which costs Asio a timerfd_settime
  // and a cancelled wait; a steady_timer per connection would pay that on
  // most requests.
  if (timer_at_ != 0 && timer_at_ <= at) return;
  timer_at_ = at;
  const std::uint64_t seq = ++timer_seq_;
  timer_.expires_at(to_time_point(at));
  timer_.async_wait([this, seq, at](const error_code& ec) {
    if (ec || seq != timer_seq_) return;  // superseded by an earlier wake-up
    timer_at_ = 0;
    // The coarse clock may trail the timer by a tick; the timer firing is
    // proof enough that `at` has passed.
    on_timer(std::max(monotonic_ms(), at));
  });
}

void asio_engine::on_timer(std::int64_t now) {
  if (out_of_fds_.ends(now) && !driver_.draining()) start_accept();
  driver_.expire(now);
  if (driver_.drained(now)) {
    // Replies still in flight after server.shutdown_timeout are cut.
    driver_.close_all();
    return finish();
  }
  const std::int64_t next = std::min(driver_.next_deadline(), out_of_fds_.resume_at());
  if (next != INT64_MAX) wake_at(next);
}

void asio_engine::begin_drain() {
  if (driver_.draining()) return;
  // Stop accepting: new connections are refused by the kernel from here on.
  error_code ec;
  acceptor_.close(ec);
  out_of_fds_ = {};
  driver_.begin_drain(monotonic_ms());
  if (driver_.live() == 0) return finish();
  wake_at(driver_.drain_deadline());
}

void asio_engine::finish() {
  // Drained: run() returns. Handlers still queued (cancelled waits) are
  // destroyed with the io_context, never run.
  work_.reset();
  io_.stop();
}

}  // namespace zc
