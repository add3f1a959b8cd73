#include "backends/blocking/blocking_engine.hh"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <span>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "backends/conn_timers.hh"
#include "backends/sender.hh"
#include "backends/senders/readiness.hh"
#include "backends/sys/counted.hh"
#include "server/connection.hh"
#include "server/file_cache.hh"
#include "server/handler.hh"
#include "server/http_date.hh"

namespace zc {

namespace {

// Accepts per wake-up, so one busy listener cannot delay the stop signal.
constexpr int accept_batch = 64;
// Back-off after the process ran out of descriptors.
// On the connection thread's stack, which is small (thread_stack).
constexpr std::size_t discard_size = 4096;
// A connection thread's stack: its deepest path (handler, resolver, a
// sender, a log line) uses a few KiB; glibc takes static TLS (the counters,
// about 4 KiB) from the same allocation.
#if defined(__SANITIZE_ADDRESS__)
// AddressSanitizer pads every frame with red zones: give it room.
constexpr std::size_t thread_stack = 1024 * 1024;
#else
constexpr std::size_t thread_stack = 64 * 1024;
#endif
// SO_SNDTIMEO is set to this fraction of server.send_timeout; see serve().
constexpr std::int64_t send_slices = 8;

std::unique_ptr<engine> make(worker_context ctx, sender_kind sender) {
  return std::make_unique<blocking_engine>(std::move(ctx), sender);
}

// What a connection thread is doing, for the drain: which sockets to wake.
enum class phase : std::uint8_t {
  parked,     // no connection
  busy,       // parsing, handling or sending
  reading,    // in (or about to enter) recv for a request
  lingering,  // after an error reply: reading and dropping until the peer stops
};

}  // namespace

engine_info blocking_engine::descriptor() {
  return {"blocking", &make, readiness_senders(), &always_usable, sender_kind::sendfile};
}

struct blocking_engine::conn_thread {
  conn_thread(blocking_engine& e, file_cache& cache)
      : engine(e), core(e.cfg_, cache), proto(e.cfg_, core) {}

  blocking_engine& engine;
  // Used by this thread alone; the cache and the sender behind them are the
  // worker's.
  handler core;
  connection proto;
  std::int64_t rcv_timeout_ms = 0;  // SO_RCVTIMEO now on the socket; 0: none set yet

  // Handed over under the engine's mutex. The thread uses the descriptor
  // without the lock while it serves, but closes it only under the lock,
  // so the drain's shutdown() can never reach a number already reused.
  sys::unique_fd sock;
  sockaddr_storage peer{};
  std::condition_variable handed;  // a connection arrived, or quit_
  pthread_t th{};
  bool started = false;  // th is a thread to join
  std::atomic<phase> doing{phase::parked};
};

namespace {

// SO_RCVTIMEO / SO_SNDTIMEO: how long one blocking call may wait. The
// kernel reads 0 as "forever", so never less than 1 ms.
bool set_timeout(int fd, int opt, std::int64_t ms) {
  ms = std::max<std::int64_t>(ms, 1);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>(ms % 1000 * 1000);
  return sys::setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv) == 0;
}

// Only when the wait changes: a keep-alive connection waits for its next
// request with the same idle timeout every time, so a request whose head
// arrives whole costs no setsockopt.
bool set_rcv_timeout(int fd, std::int64_t& current, std::int64_t ms) {
  if (ms == current) return true;
  if (!set_timeout(fd, SO_RCVTIMEO, ms)) return false;
  current = ms;
  return true;
}

}  // namespace

blocking_engine::blocking_engine(worker_context ctx, sender_kind sender)
    : ctx_(std::move(ctx)),
      cfg_(*ctx_.cfg),
      cache_(ctx_.root_fd, cfg_.server.cache_entries, cfg_.server.cache_revalidate.count(),
             cache_sharing::threads, ctx_.policy),
      out_(make_readiness_sender(sender, cfg_, true)) {
  if (out_ == nullptr)
    throw std::runtime_error("blocking: " + std::string(sender_name(sender)) +
                             " is not a readiness sender");
  wake_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
}

blocking_engine::~blocking_engine() {
  // After a normal run() this finds nothing to do; after one that threw, it
  // ends every connection at once.
  std::unique_lock lock(mu_);
  end_all(lock);
}

void blocking_engine::stop() noexcept {
  if (!stop_requested_.exchange(true)) sys::eventfd_write(wake_.get(), 1);
}

void blocking_engine::run() {
  pollfd fds[2] = {{ctx_.listener.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
  for (;;) {
    int timeout = -1;
    if (out_of_fds_.active())
      timeout = static_cast<int>(std::clamp<std::int64_t>(out_of_fds_.resume_at() - monotonic_ms(),
                                                          1, accept_pause::pause_ms));
    // poll() skips a negative descriptor: the listener sits out a pause.
    fds[0].fd = out_of_fds_.active() ? -1 : ctx_.listener.get();
    int n = sys::poll(fds, 2, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::error("worker {}: poll: {}", ctx_.id, std::strerror(errno));
      break;
    }
    if (fds[1].revents != 0) break;  // stop()
    const std::int64_t now = monotonic_ms();
    out_of_fds_.ends(now);
    if (fds[0].revents != 0) accept_ready(now);
  }
  drain();
}

void blocking_engine::accept_ready(std::int64_t now) {
  for (int i = 0; i < accept_batch; ++i) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    // No SOCK_NONBLOCK: the connection's thread sleeps in recv and send.
    int fd =
        sys::accept4(ctx_.listener.get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (accept_pause::applies(errno)) {
        // The listener stays readable: polling it again at once would spin.
        out_of_fds_.begin(ctx_.id, "accept4", errno, now);
        return;
      }
      spdlog::error("worker {}: accept4: {}", ctx_.id, std::strerror(errno));
      return;
    }
    start(fd, peer);
  }
}

void blocking_engine::refuse(int fd) {
  // Over the connection limit: a short 503 if the socket takes it at once,
  // then close. The connections already served are not disturbed.
  send_busy_reply(fd);
  sys::close(fd);
}

void blocking_engine::start(int fd, const sockaddr_storage& peer) {
  std::unique_lock lock(mu_);
  if (live_ >= cfg_.server.max_connections) {
    lock.unlock();
    return refuse(fd);
  }
  if (!parked_.empty()) {
    conn_thread* t = parked_.back();
    parked_.pop_back();
    t->sock.reset(fd);
    t->peer = peer;
    ++live_;
    lock.unlock();
    t->handed.notify_one();
    return;
  }
  auto t = std::make_unique<conn_thread>(*this, cache_);
  t->sock.reset(fd);
  t->peer = peer;
  pthread_attr_t attr;
  int err = pthread_attr_init(&attr);
  if (err == 0) {
    err = pthread_attr_setstacksize(&attr, thread_stack);
    if (err == 0) err = pthread_create(&t->th, &attr, &thread_entry, t.get());
    pthread_attr_destroy(&attr);
  }
  if (err != 0) {
    // No thread to be had (RLIMIT_NPROC, threads-max, memory): this
    // connection is turned away like one over the limit.
    t->sock.release();
    lock.unlock();
    spdlog::warn("worker {}: cannot start a connection thread: {}", ctx_.id, std::strerror(err));
    return refuse(fd);
  }
  t->started = true;
  threads_.push_back(std::move(t));
  ++live_;
}

void* blocking_engine::thread_entry(void* arg) {
  auto& t = *static_cast<conn_thread*>(arg);
  t.engine.thread_main(t);
  return nullptr;
}

void blocking_engine::thread_main(conn_thread& t) {
  // Named before bind_thread(): prctl is the thread's set-up, not serving.
  char name[16];
  std::snprintf(name, sizeof name, "zc-conn-%d", ctx_.id);
  ::prctl(PR_SET_NAME, name);
  sys::bind_thread(ctx_.id);
  std::unique_lock lock(mu_);
  for (;;) {
    t.handed.wait(lock, [&] { return t.sock || quit_; });
    if (!t.sock) break;
    lock.unlock();
    t.doing = phase::busy;
    try {
      serve(t);
    } catch (const std::exception& e) {
      // What an event engine's run() would throw to main: the same verdict.
      spdlog::critical("worker {}: {}; stopping the server", ctx_.id, e.what());
      stop_server_fatally();
    }
    out_->release(t.proto.current().scratch);
    t.proto.reset();
    lock.lock();
    t.doing = phase::parked;
    t.sock.reset();
    --live_;
    parked_.push_back(&t);
    if (live_ == 0 && draining_) all_closed_.notify_all();
  }
  lock.unlock();
  sys::record_thread_exit();
}

void blocking_engine::serve(conn_thread& t) {
  const int fd = t.sock.get();
  connection& c = t.proto;
  c.peer = t.peer;
  t.rcv_timeout_ms = 0;
  const std::int64_t header_ms = cfg_.server.header_timeout.count();
  const std::int64_t idle_ms = cfg_.server.idle_timeout.count();
  // server.send_timeout: how long a reply may make no progress. The kernel
  // keeps SO_SNDTIMEO per call, as a budget for the call's waits, and a
  // call that moved some bytes before its budget ran out returns a short
  // count, not EAGAIN; the sender then calls again, which waits a whole
  // budget more. With the whole timeout as the budget, a stalled reader was
  // closed after up to twice the timeout. So each call waits at most a
  // slice of it, and serve() decides from the reply's progress between
  // slices: a stalled reply ends between one timeout and one timeout plus
  // a slice after its last byte moved. A live reply costs no extra call
  // (a call returns early only after a whole slice of waiting).
  const std::int64_t send_ms = cfg_.server.send_timeout.count();
  const std::int64_t slice_ms = std::max<std::int64_t>(send_ms / send_slices, 1);
  if (!set_timeout(fd, SO_SNDTIMEO, slice_ms)) return;
  std::int64_t moved_ms = -1;  // when the reply in flight last moved a byte, at the latest

  std::int64_t now = monotonic_ms();
  // The first head is timed from accept, as on the event engines.
  std::int64_t deadline = now + header_ms;
  bool timing_head = true;
  for (;;) {
    if (c.replying()) {
      reply& r = c.current();
      const std::uint64_t sent = r.progress();
      send_result res = out_->send_reply(fd, r);
      if (res.status == send_status::again) {
        // On a blocking socket only SO_SNDTIMEO ends a send with EAGAIN: the
        // last call waited a whole slice and moved nothing, so the last
        // byte moved (in this send() or before it) a slice ago or earlier.
        now = monotonic_ms();
        if (moved_ms < 0 || r.progress() != sent) moved_ms = now - slice_ms;
        if (now - moved_ms < send_ms) continue;
        spdlog::debug("worker {}: {}: no progress for {} ms; closing", ctx_.id, res.op, send_ms);
        return;
      }
      if (res.status == send_status::failed) {
        if (res.err == 0)
          spdlog::warn("worker {}: {}: file ended before its promised length; closing", ctx_.id,
                       res.op);
        else if (res.err != EPIPE && res.err != ECONNRESET)
          spdlog::debug("worker {}: {}: {}", ctx_.id, res.op, std::strerror(res.err));
        return;
      }
      out_->release(r.scratch);
      moved_ms = -1;
      const bool lingers = c.linger_on_close();
      if (c.reply_sent()) {
        if (lingers) linger(t);
        return;
      }
      if (draining_) return;  // that was the reply in flight
      now = monotonic_ms();
      timing_head = c.has_partial_request();
      deadline = now + (timing_head ? header_ms : idle_ms);
      continue;
    }
    switch (c.advance(now)) {
      case connection::step::send:
        continue;
      case connection::step::close:
        return;
      case connection::step::need_input:
        break;
    }
    // From the first byte of a head to its end, however slowly it trickles
    // in: restarting the wait per byte would let a slow client hold the
    // thread forever.
    if (!timing_head && c.has_partial_request()) {
      timing_head = true;
      deadline = now + header_ms;
    }
    t.doing = phase::reading;
    // drain() sets draining_ and then shuts the read side of every socket
    // whose thread it finds reading; both sides are sequentially
    // consistent, so either this load sees the flag or the recv below
    // returns 0.
    if (draining_) return;
    if (now >= deadline) return;  // header or idle timeout
    if (!set_rcv_timeout(fd, t.rcv_timeout_ms, deadline - now)) return;
    std::span<char> space = c.read_space();
    ssize_t n = sys::recv(fd, space.data(), space.size(), 0);
    t.doing = phase::busy;
    now = monotonic_ms();
    if (n > 0) {
      c.commit(static_cast<std::size_t>(n));
      // Shutting down: bytes that raced the drain do not start a new reply.
      if (draining_) return;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // 0: the peer closed (a partial request dies with it). EAGAIN:
    // SO_RCVTIMEO ran out, which is the header or idle timeout.
    return;
  }
}

void blocking_engine::linger(conn_thread& t) {
  // Send FIN, then read and drop what the peer still sends until it closes
  // or the linger time ends. Closing at once with unread input would make
  // the kernel answer with RST, which can destroy the reply in flight.
  const int fd = t.sock.get();
  if (sys::shutdown(fd, SHUT_WR) != 0) return;
  t.doing = phase::lingering;
  char discard[discard_size];
  std::int64_t now = monotonic_ms();
  const std::int64_t deadline = now + conn_timers::linger_ms;
  while (now < deadline) {
    if (!set_rcv_timeout(fd, t.rcv_timeout_ms, deadline - now)) return;
    ssize_t n = sys::recv(fd, discard, sizeof discard, 0);
    if (n == 0 || (n < 0 && errno != EINTR)) return;
    now = monotonic_ms();
  }
}

void blocking_engine::drain() {
  const auto limit = std::chrono::steady_clock::now() + cfg_.server.shutdown_timeout;
  // Stop accepting: new connections are refused by the kernel from here on.
  ctx_.listener.reset();
  std::unique_lock lock(mu_);
  draining_ = true;
  // Idle connections end now: shutdown(SHUT_RD) makes a blocked recv
  // return 0 and sends nothing to the peer. Replies in flight go on; their
  // threads see draining_ when they are done.
  for (auto& t : threads_)
    if (t->sock && t->doing == phase::reading) sys::shutdown(t->sock.get(), SHUT_RD);
  if (!all_closed_.wait_until(lock, limit, [this] { return live_ == 0; }))
    spdlog::info("worker {}: {} connection(s) still busy after server.shutdown_timeout; closing",
                 ctx_.id, live_);
  end_all(lock);
}

void blocking_engine::end_all(std::unique_lock<std::mutex>& lock) {
  draining_ = true;
  // Both directions: a send blocked on a peer that does not read fails with
  // EPIPE at once, a recv returns 0.
  for (auto& t : threads_)
    if (t->sock) sys::shutdown(t->sock.get(), SHUT_RDWR);
  all_closed_.wait(lock, [this] { return live_ == 0; });
  quit_ = true;
  for (auto& t : threads_) t->handed.notify_one();
  lock.unlock();
  for (auto& t : threads_)
    if (t->started) {
      pthread_join(t->th, nullptr);
      t->started = false;
    }
}

}  // namespace zc
