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
#include "backends/sys/counted.hh"
#include "server/http_date.hh"

namespace zc {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Back-off after the process ran out of descriptors.
constexpr std::size_t discard_size = 16384;

std::unique_ptr<engine> make(worker_context ctx, std::string_view sender) {
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
  return {"asio", &make, readiness_senders(), &always_usable, "sendfile"};
}

struct asio_engine::conn : timer_node {
  conn(asio::io_context& io, const config& cfg, handler& h) : sock(io), proto(cfg, h) {}
  tcp_socket sock;
  connection proto;
  // Bumped at every close. A completion carries the number it was started
  // under: Asio ends operations on a closed socket with operation_aborted
  // later, from its queue, when this object may already serve another
  // connection.
  std::uint64_t gen = 0;
  bool in_use = false;
  bool lingering = false;
};

asio_engine::asio_engine(worker_context ctx, std::unique_ptr<sender> s)
    : ctx_(std::move(ctx)),
      cfg_(*ctx_.cfg),
      sender_(std::move(s)),
      cache_(ctx_.root_fd, cfg_.server.cache_entries, cfg_.server.cache_revalidate.count(),
             cache_sharing::one_thread, ctx_.policy),
      handler_(cfg_, cache_),
      // One thread runs it; stop() posts from another, so it keeps its locks.
      io_(1),
      work_(io_.get_executor()),
      acceptor_(io_),
      timer_(io_),
      timers_(cfg_),
      discard_(std::make_unique<char[]>(discard_size)) {
  const int fd = ctx_.listener.get();
  error_code ec;
  acceptor_.assign(protocol_of(fd), fd, ec);
  if (ec) throw std::runtime_error("asio: assign(listener): " + ec.message());
  ctx_.listener.release();  // Asio owns it now, and closes it
}

asio_engine::~asio_engine() {
  for (auto& c : conns_)
    if (c->in_use) close_conn(*c);
}

void asio_engine::stop() noexcept {
  // The drain runs on the worker thread, inside the loop, like every other
  // handler: posting is what makes stop() safe from any thread.
  if (!stop_requested_.exchange(true)) asio::post(io_, [this] { begin_drain(); });
}

void asio_engine::run() {
  start_accept();
  io_.run();
  for (auto& c : conns_)
    if (c->in_use) close_conn(*c);
}

void asio_engine::start_accept() {
  acceptor_.async_accept(
      peer_, [this](const error_code& ec, tcp_socket s) { on_accept(ec, std::move(s)); });
}

void asio_engine::on_accept(const error_code& ec, tcp_socket s) {
  if (draining_ || ec == asio::error::operation_aborted) return;  // the listener is closed
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
  if (live_ >= cfg_.server.max_connections) {
    // Over the connection limit: a short 503 if the socket takes it at
    // once; the socket closes as `s` goes. The others are not disturbed.
    send_busy_reply(s.native_handle());
    return start_accept();
  }
  conn* c;
  if (!free_.empty()) {
    c = free_.back();
    free_.pop_back();
  } else {
    conns_.push_back(std::make_unique<conn>(io_, cfg_, handler_));
    c = conns_.back().get();
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
    free_.push_back(c);
    return start_accept();
  }
  c->proto.reset();
  std::memcpy(&c->proto.peer, peer_.data(),
              std::min<std::size_t>(peer_.size(), sizeof c->proto.peer));
  c->in_use = true;
  c->lingering = false;
  ++live_;
  start_accept();
  drive(*c, now);
}

void asio_engine::drive(conn& c, std::int64_t now) {
  for (;;) {
    if (c.proto.replying()) {
      reply& r = c.proto.current();
      send_result res = sender_->send_reply(c.sock.native_handle(), r);
      if (res.status == send_status::again) {
        arm(c, conn_timers::send, now);
        c.sock.async_wait(tcp::socket::wait_write,
                          [this, p = &c, gen = c.gen](const error_code& ec) {
                            if (p->gen != gen) return;
                            if (ec) return close_conn(*p);
                            drive(*p, monotonic_ms());
                          });
        return;
      }
      if (res.status == send_status::failed) {
        if (res.err == 0)
          spdlog::warn("worker {}: {}: file ended before its promised length; closing", ctx_.id,
                       res.op);
        else if (res.err != EPIPE && res.err != ECONNRESET)
          spdlog::debug("worker {}: {}: {}", ctx_.id, res.op, std::strerror(res.err));
        return close_conn(c);
      }
      sender_->release(r.scratch);
      const bool linger = c.proto.linger_on_close();
      if (c.proto.reply_sent()) {
        if (linger) return start_linger(c, now);
        return close_conn(c);
      }
      continue;
    }
    switch (c.proto.advance(now)) {
      case connection::step::send:
        timers_.disarm(c);  // a whole head arrived: its header/idle deadline is over
        continue;
      case connection::step::close:
        return close_conn(c);
      case connection::step::need_input:
        break;
    }
    if (c.proto.has_partial_request()) {
      // From the first byte of a head to its end, however slowly it
      // trickles in: re-arming on every byte would let a slow client hold
      // the connection forever.
      if (c.list != conn_timers::header) arm(c, conn_timers::header, now);
    } else {
      arm(c, c.proto.requests() == 0 ? conn_timers::header : conn_timers::idle, now);
    }
    return start_read(c);
  }
}

void asio_engine::start_read(conn& c) {
  if (c.proto.has_partial_request()) return read_some(c);
  // Between requests, wait for readability with no buffer lent to Asio:
  // the connection has released its input buffer and takes one again only
  // when bytes are there. An idle keep-alive connection then holds none,
  // and the speculative recv that would only find EAGAIN is not made.
  c.sock.async_wait(tcp_socket::wait_read, [this, p = &c, gen = c.gen](const error_code& ec) {
    if (p->gen != gen) return;
    if (ec) return close_conn(*p);
    // The socket is readable: read now, in this handler. An async read
    // here would complete through Asio's queue, and draining that queue
    // costs an extra epoll_wait per request.
    std::span<char> space = p->proto.read_space();
    error_code rec;
    const std::size_t n = p->sock.read_some(asio::buffer(space.data(), space.size()), rec);
    // would_block: a wake-up with nothing to read after all; drive() waits again.
    if (rec && rec != asio::error::would_block) return close_conn(*p);
    sys::counters().copied_to_user.add(n);
    p->proto.commit(n);
    drive(*p, monotonic_ms());
  });
}

void asio_engine::read_some(conn& c) {
  // Asio first tries the read at once (a "speculative" recv) and only on
  // EAGAIN waits for epoll to report the socket readable, then reads again.
  std::span<char> space = c.proto.read_space();
  c.sock.async_read_some(asio::buffer(space.data(), space.size()),
                         [this, p = &c, gen = c.gen](const error_code& ec, std::size_t n) {
                           if (p->gen != gen) return;
                           // eof: the peer closed; a partial request dies with it.
                           if (ec) return close_conn(*p);
                           // Asio's recvmsg is not a wrapped call, but its copy
                           // into our buffer is ours to count.
                           sys::counters().copied_to_user.add(n);
                           p->proto.commit(n);
                           drive(*p, monotonic_ms());
                         });
}

void asio_engine::start_linger(conn& c, std::int64_t now) {
  // Send FIN, then read and drop what the peer still sends until it closes
  // or the linger time ends. Closing at once with unread input would make
  // the kernel answer with RST, which can destroy the reply in flight.
  if (sys::shutdown(c.sock.native_handle(), SHUT_WR) != 0) return close_conn(c);
  c.lingering = true;
  arm(c, conn_timers::linger, now);
  linger_read(c);
}

void asio_engine::linger_read(conn& c) {
  c.sock.async_read_some(asio::buffer(discard_.get(), discard_size),
                         [this, p = &c, gen = c.gen](const error_code& ec, std::size_t n) {
                           if (p->gen != gen) return;
                           if (ec) return close_conn(*p);
                           sys::counters().copied_to_user.add(n);
                           linger_read(*p);
                         });
}

void asio_engine::close_conn(conn& c) {
  if (!c.in_use) return;
  timers_.disarm(c);
  sender_->release(c.proto.current().scratch);
  c.proto.reset();
  // Asio's close: it ends the operation in flight (its completion will
  // find the generation moved on) and closes the descriptor itself, a call
  // the wrapper layer does not see and the kernel's count does.
  error_code ec;
  c.sock.close(ec);
  ++c.gen;
  c.in_use = false;
  c.lingering = false;
  free_.push_back(&c);
  --live_;
  if (draining_ && live_ == 0) finish();
}

void asio_engine::arm(conn& c, conn_timers::kind k, std::int64_t now) {
  timers_.arm(c, k, now);
  wake_at(c.deadline_ms);
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
  if (out_of_fds_.ends(now) && !draining_) start_accept();
  while (timer_node* n = timers_.expired(now)) close_conn(static_cast<conn&>(*n));
  if (draining_ && now >= drain_deadline_) {
    // Replies still in flight after server.shutdown_timeout are cut.
    for (auto& c : conns_)
      if (c->in_use) close_conn(*c);
    return finish();
  }
  std::int64_t next = timers_.next_deadline();
  if (draining_) next = std::min(next, drain_deadline_);
  next = std::min(next, out_of_fds_.resume_at());
  if (next != INT64_MAX) wake_at(next);
}

void asio_engine::begin_drain() {
  if (draining_) return;
  draining_ = true;
  drain_deadline_ = monotonic_ms() + cfg_.server.shutdown_timeout.count();
  // Stop accepting: new connections are refused by the kernel from here on.
  error_code ec;
  acceptor_.close(ec);
  out_of_fds_ = {};
  for (auto& p : conns_) {
    conn& c = *p;
    if (!c.in_use) continue;
    if (c.proto.replying() || c.lingering)
      c.proto.finish_after_current();
    else
      close_conn(c);
  }
  if (live_ == 0) return finish();
  wake_at(drain_deadline_);
}

void asio_engine::finish() {
  // Drained: run() returns. Handlers still queued (cancelled waits) are
  // destroyed with the io_context, never run.
  work_.reset();
  io_.stop();
}

}  // namespace zc
