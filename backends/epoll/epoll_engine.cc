#include "backends/epoll/epoll_engine.hh"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "backends/senders/readiness.hh"
#include "backends/sys/counted.hh"
#include "server/http_date.hh"

namespace zc {

namespace {

constexpr int max_events = 256;
// Accepts per wake-up, so one busy listener cannot starve the connections.
constexpr int accept_batch = 64;
// Back-off after the process ran out of descriptors.
constexpr std::size_t discard_size = 16384;

// Tags for the two descriptors that are not connections.
char listener_tag;
char wake_tag;

}  // namespace

namespace {

std::unique_ptr<engine> make(worker_context ctx, std::string_view sender) {
  auto s = make_readiness_sender(sender, *ctx.cfg);
  return std::make_unique<epoll_engine>(std::move(ctx), std::move(s));
}

}  // namespace

engine_info epoll_engine::descriptor() {
  return {"epoll", &make, readiness_senders(), &always_usable, "sendfile"};
}

struct epoll_engine::conn : timer_node {
  conn(const config& cfg, handler& h) : proto(cfg, h) {}
  sys::unique_fd fd;
  connection proto;
  bool in_use = false;
  bool readable = false;       // a read may find data
  bool write_blocked = false;  // the last send said EAGAIN; wait for EPOLLOUT
  bool peer_shut = false;      // EPOLLRDHUP seen: the peer sent FIN
  bool lingering = false;
};

epoll_engine::epoll_engine(worker_context ctx, std::unique_ptr<sender> s)
    : ctx_(std::move(ctx)),
      cfg_(*ctx_.cfg),
      sender_(std::move(s)),
      cache_(ctx_.root_fd, cfg_.server.cache_entries, cfg_.server.cache_revalidate.count(),
             cache_sharing::one_thread, ctx_.policy),
      handler_(cfg_, cache_),
      timers_(cfg_),
      discard_(std::make_unique<char[]>(discard_size)) {
  ep_.reset(::epoll_create1(EPOLL_CLOEXEC));
  wake_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!ep_ || !wake_)
    throw std::runtime_error(std::string("epoll set-up: ") + std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &listener_tag;
  if (sys::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, ctx_.listener.get(), &ev) != 0)
    throw std::runtime_error(std::string("epoll_ctl(listener): ") + std::strerror(errno));
  ev.data.ptr = &wake_tag;
  if (sys::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, wake_.get(), &ev) != 0)
    throw std::runtime_error(std::string("epoll_ctl(eventfd): ") + std::strerror(errno));
}

epoll_engine::~epoll_engine() {
  for (auto& c : conns_)
    if (c->in_use) close_conn(*c);
}

void epoll_engine::stop() noexcept {
  if (!stop_requested_.exchange(true)) sys::eventfd_write(wake_.get(), 1);
}

void epoll_engine::run() {
  epoll_event events[max_events];
  for (;;) {
    std::int64_t now = monotonic_ms();
    int n = sys::epoll_wait(ep_.get(), events, max_events, wait_timeout(now));
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::error("worker {}: epoll_wait: {}", ctx_.id, std::strerror(errno));
      break;
    }
    now = monotonic_ms();
    for (int i = 0; i < n; ++i) {
      void* tag = events[i].data.ptr;
      if (tag == &listener_tag) {
        accept_ready(now);
      } else if (tag == &wake_tag) {
        std::uint64_t v;
        sys::eventfd_read(wake_.get(), &v);
        begin_drain(now);
      } else {
        on_event(*static_cast<conn*>(tag), events[i].events, now);
      }
    }
    expire(now);
    if (draining_ && (live_ == 0 || now >= drain_deadline_)) break;
  }
  for (auto& c : conns_)
    if (c->in_use) close_conn(*c);
}

int epoll_engine::wait_timeout(std::int64_t now) const {
  std::int64_t next = timers_.next_deadline();
  if (draining_) next = std::min(next, drain_deadline_);
  next = std::min(next, out_of_fds_.resume_at());
  return conn_timers::wait_ms(next, now);
}

void epoll_engine::refuse(int fd) {
  // Over the connection limit: a short 503 if the socket takes it at once,
  // then close. The connections already served are not disturbed.
  send_busy_reply(fd);
  sys::close(fd);
}

void epoll_engine::accept_ready(std::int64_t now) {
  if (draining_ || out_of_fds_.active()) return;
  for (int i = 0; i < accept_batch; ++i) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    int fd = sys::accept4(ctx_.listener.get(), reinterpret_cast<sockaddr*>(&peer), &len,
                          SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (accept_pause::applies(errno)) {
        // The listener is level-triggered and would wake us at once again:
        // take it out of the set for a moment instead of spinning.
        out_of_fds_.begin(ctx_.id, "accept4", errno, now);
        sys::epoll_ctl(ep_.get(), EPOLL_CTL_DEL, ctx_.listener.get(), nullptr);
        return;
      }
      spdlog::error("worker {}: accept4: {}", ctx_.id, std::strerror(errno));
      return;
    }
    if (live_ >= cfg_.server.max_connections) {
      refuse(fd);
      continue;
    }
    conn* c;
    if (!free_.empty()) {
      c = free_.back();
      free_.pop_back();
    } else {
      conns_.push_back(std::make_unique<conn>(cfg_, handler_));
      c = conns_.back().get();
    }
    c->fd.reset(fd);
    c->proto.reset();
    c->proto.peer = peer;
    c->in_use = true;
    c->readable = c->write_blocked = c->peer_shut = c->lingering = false;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = c;
    if (sys::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
      spdlog::error("worker {}: epoll_ctl(add): {}", ctx_.id, std::strerror(errno));
      c->fd.reset();
      c->in_use = false;
      free_.push_back(c);
      continue;
    }
    ++live_;
    // No read yet: the registration itself reports data already queued,
    // and reading now would cost an EAGAIN whenever none is.
    timers_.arm(*c, conn_timers::header, now);
  }
}

void epoll_engine::on_event(conn& c, std::uint32_t events, std::int64_t now) {
  if (!c.in_use) return;
  if (events & (EPOLLERR | EPOLLHUP)) {
    // Both directions gone (or an error pending): nothing more can be sent.
    if (!(events & EPOLLIN) || c.lingering) return close_conn(c);
    c.peer_shut = true;
  }
  if (events & EPOLLRDHUP) c.peer_shut = true;
  if (events & (EPOLLIN | EPOLLRDHUP)) c.readable = true;
  if (events & EPOLLOUT) c.write_blocked = false;
  if (c.lingering) return linger_read(c);
  drive(c, now);
}

void epoll_engine::drive(conn& c, std::int64_t now) {
  for (;;) {
    if (c.proto.replying()) {
      if (c.write_blocked) return;
      reply& r = c.proto.current();
      send_result res = sender_->send_reply(c.fd.get(), r);
      if (res.status == send_status::again) {
        c.write_blocked = true;
        timers_.arm(c, conn_timers::send, now);
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
    if (!c.readable) {
      if (c.proto.has_partial_request()) {
        // From the first byte of a head to its end, however slowly it
        // trickles in: re-arming on every byte would let a slow client
        // hold the connection forever.
        if (c.list != conn_timers::header) timers_.arm(c, conn_timers::header, now);
      } else {
        timers_.arm(c, c.proto.requests() == 0 ? conn_timers::header : conn_timers::idle, now);
      }
      return;
    }
    std::span<char> space = c.proto.read_space();
    ssize_t n = sys::recv(c.fd.get(), space.data(), space.size(), 0);
    if (n > 0) {
      c.proto.commit(static_cast<std::size_t>(n));
      // A short read drained the socket; the next byte brings a new edge.
      // Not after FIN, though: that edge has already been delivered.
      if (static_cast<std::size_t>(n) < space.size() && !c.peer_shut) c.readable = false;
      continue;
    }
    if (n == 0) return close_conn(c);  // peer closed; a partial request dies with it
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      c.readable = false;
      continue;
    }
    if (errno == EINTR) continue;
    return close_conn(c);
  }
}

void epoll_engine::start_linger(conn& c, std::int64_t now) {
  // Send FIN, then read and drop what the peer still sends until it closes
  // or the linger time ends. Closing at once with unread input would make
  // the kernel answer with RST, which can destroy the reply in flight.
  if (sys::shutdown(c.fd.get(), SHUT_WR) != 0) return close_conn(c);
  c.lingering = true;
  timers_.arm(c, conn_timers::linger, now);
  linger_read(c);
}

void epoll_engine::linger_read(conn& c) {
  while (c.readable) {
    ssize_t n = sys::recv(c.fd.get(), discard_.get(), discard_size, 0);
    if (n > 0) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      c.readable = false;
      return;
    }
    if (n < 0 && errno == EINTR) continue;
    return close_conn(c);
  }
}

void epoll_engine::expire(std::int64_t now) {
  if (out_of_fds_.ends(now) && !draining_) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &listener_tag;
    sys::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, ctx_.listener.get(), &ev);
  }
  while (timer_node* n = timers_.expired(now)) close_conn(static_cast<conn&>(*n));
}

void epoll_engine::begin_drain(std::int64_t now) {
  if (draining_) return;
  draining_ = true;
  drain_deadline_ = now + cfg_.server.shutdown_timeout.count();
  // Stop accepting: new connections are refused by the kernel from here on.
  sys::epoll_ctl(ep_.get(), EPOLL_CTL_DEL, ctx_.listener.get(), nullptr);
  ctx_.listener.reset();
  for (auto& p : conns_) {
    conn& c = *p;
    if (!c.in_use) continue;
    if (c.proto.replying() || c.lingering)
      c.proto.finish_after_current();
    else
      close_conn(c);
  }
}

void epoll_engine::close_conn(conn& c) {
  if (!c.in_use) return;
  timers_.disarm(c);
  sender_->release(c.proto.current().scratch);
  c.proto.reset();
  c.fd.reset();  // closing the last reference also leaves the epoll set
  c.in_use = false;
  free_.push_back(&c);
  --live_;
}

}  // namespace zc
