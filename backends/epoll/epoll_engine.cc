#include "backends/epoll/epoll_engine.hh"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "backends/senders/readiness.hh"
#include "server/core/http_date.hh"
#include "server/sys/counted.hh"

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

std::unique_ptr<engine> make(worker_context ctx, sender_kind sender) {
  auto s = make_readiness_sender(sender, *ctx.cfg);
  return std::make_unique<epoll_engine>(std::move(ctx), std::move(s));
}

}  // namespace

engine_info epoll_engine::descriptor() {
  return {"epoll", &make, readiness_senders(), &always_usable, sender_kind::sendfile};
}

struct epoll_engine::conn : driver_conn {
  using driver_conn::driver_conn;
  sys::unique_fd fd;
  bool readable = false;       // a read may find data
  bool write_blocked = false;  // the last send said EAGAIN; wait for EPOLLOUT
  bool peer_shut = false;      // EPOLLRDHUP seen: the peer sent FIN
};

epoll_engine::epoll_engine(worker_context ctx, std::unique_ptr<sender> s)
    : ctx_(std::move(ctx)),
      cfg_(*ctx_.cfg),
      sender_(std::move(s)),
      files_(ctx_),
      driver_(ctx_.id, cfg_, files_.http, *sender_, *this),
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
  driver_.close_all();
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
    if (out_of_fds_.ends(now) && !driver_.draining()) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.ptr = &listener_tag;
      sys::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, ctx_.listener.get(), &ev);
    }
    driver_.expire(now);
    if (driver_.drained(now)) break;
  }
  driver_.close_all();
}

int epoll_engine::wait_timeout(std::int64_t now) const {
  const std::int64_t next = std::min(driver_.next_deadline(), out_of_fds_.resume_at());
  return conn_timers::wait_ms(next, now);
}

void epoll_engine::refuse(int fd) {
  // Over the connection limit: a short 503 if the socket takes it at once,
  // then close. The connections already served are not disturbed.
  send_busy_reply(fd);
  sys::close(fd);
}

void epoll_engine::accept_ready(std::int64_t now) {
  if (driver_.draining() || out_of_fds_.active()) return;
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
    // The header deadline runs from here. No read yet: the registration
    // itself reports data already queued, and reading now would cost an
    // EAGAIN whenever none is.
    conn* c = driver_.open(peer, now);
    if (c == nullptr) {
      refuse(fd);
      continue;
    }
    c->fd.reset(fd);
    c->readable = c->write_blocked = c->peer_shut = false;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = c;
    if (sys::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
      spdlog::error("worker {}: epoll_ctl(add): {}", ctx_.id, std::strerror(errno));
      c->fd.reset();
      driver_.abandon(*c);
      continue;
    }
  }
}

void epoll_engine::on_event(conn& c, std::uint32_t events, std::int64_t now) {
  if (!c.in_use) return;
  if (events & (EPOLLERR | EPOLLHUP)) {
    // Both directions gone (or an error pending): nothing more can be sent.
    if (!(events & EPOLLIN) || c.lingering) return driver_.close(c);
    c.peer_shut = true;
  }
  if (events & EPOLLRDHUP) c.peer_shut = true;
  if (events & (EPOLLIN | EPOLLRDHUP)) c.readable = true;
  if (events & EPOLLOUT) c.write_blocked = false;
  if (c.lingering) return linger_read(c);
  driver_.drive(c, now);
}

read_status epoll_engine::receive(conn& c) {
  // Edge-triggered: without a new edge since the socket was found empty,
  // a read would only say EAGAIN (and an idle connection takes no buffer).
  while (c.readable) {
    const std::span<char> space = c.proto.read_space();
    const ssize_t n = sys::recv(c.fd.get(), space.data(), space.size(), 0);
    if (n > 0) {
      c.proto.commit(static_cast<std::size_t>(n));
      // A short read drained the socket; the next byte brings a new edge.
      // Not after FIN, though: that edge has already been delivered.
      if (static_cast<std::size_t>(n) < space.size() && !c.peer_shut) c.readable = false;
      return read_status::data;
    }
    if (n == 0) return read_status::eof;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      c.readable = false;
      break;
    }
    if (errno != EINTR) return read_status::error;
  }
  return read_status::again;
}

bool epoll_engine::write_blocked(const conn& c) const noexcept {
  return c.write_blocked;
}

void epoll_engine::wait_writable(conn& c) noexcept {
  c.write_blocked = true;  // until EPOLLOUT, from the registration made at accept
}

int epoll_engine::sock(const conn& c) const noexcept {
  return c.fd.get();
}

void epoll_engine::release(conn& c) noexcept {
  c.fd.reset();  // closing the last reference also leaves the epoll set
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
    return driver_.close(c);
  }
}

void epoll_engine::begin_drain(std::int64_t now) {
  if (driver_.draining()) return;
  // Stop accepting: new connections are refused by the kernel from here on.
  sys::epoll_ctl(ep_.get(), EPOLL_CTL_DEL, ctx_.listener.get(), nullptr);
  ctx_.listener.reset();
  driver_.begin_drain(now);
}

}  // namespace zc
