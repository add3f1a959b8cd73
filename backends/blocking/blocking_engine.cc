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
#include <utility>

#include <spdlog/spdlog.h>

#include "backends/driver.hh"
#include "backends/sender.hh"
#include "backends/senders/readiness.hh"
#include "server/core/handler.hh"
#include "server/core/http_date.hh"
#include "server/sys/counted.hh"

namespace zc {

namespace {

// Accepts per wake-up, so one busy listener cannot delay the stop signal.
constexpr int accept_batch = 64;
// A lingering close reads into this, on the connection thread's stack,
// which is small (thread_stack).
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
// SO_SNDTIMEO is set to this fraction of server.send_timeout; see
// conn_thread::serve().
constexpr std::int64_t send_slices = 8;

std::unique_ptr<engine> make(worker_context ctx, sender_kind sender) {
  return std::make_unique<blocking_engine>(std::move(ctx), sender);
}

// What a connection thread is doing, for the drain: which sockets to wake.
enum class phase : std::uint8_t {
  parked,     // no connection
  busy,       // parsing, handling or sending
  reading,    // in (or about to enter) recv for a request, none of it here yet
  finishing,  // in recv for the rest of a request that has begun: a drain lets it end
  lingering,  // after an error reply: reading and dropping until the peer stops
};

// What the driver stopped for, and the connection thread waits for next.
enum class wait_kind : std::uint8_t {
  input,   // a request, or the rest of one: recv until the deadline
  room,    // the socket was full: send again (the send waits in the kernel)
  linger,  // a lingering close: recv and drop until EOF or the deadline
};

}  // namespace

engine_info blocking_engine::descriptor() {
  return {"blocking", &make, readiness_senders(), &always_usable, sender_kind::sendfile};
}

// A connection thread, and the port through which its own driver drives
// the connection it serves (backends/driver.hh). The driver's deadline
// lists and pool are single-threaded, so each thread has a driver of its
// own, and since a thread serves one connection at a time its lists hold
// at most one deadline: the one the thread's next blocking call waits
// until. The driver decides what comes next and which deadline runs, as on
// every engine; the thread makes the waits, in blocking calls where epoll
// would return to epoll_wait: recv for input (SO_RCVTIMEO set to the
// deadline) and the sender's own calls for room (SO_SNDTIMEO slices). The
// port records which wait drive() stopped for and serve() makes it, then
// drives again: a loop rather than a drive() called back from the port,
// which would grow the stack by a frame with every request.
struct blocking_engine::conn_thread {
  explicit conn_thread(blocking_engine& e)
      : engine(e),
        core(e.files_.http),
        driver(e.ctx_.id, e.cfg_, core, *e.out_, *this),
        send_slice_ms(std::max<std::int64_t>(e.cfg_.server.send_timeout.count() / send_slices, 1)) {
  }

  // The port.
  read_status receive(driver_conn&) noexcept;
  read_status receive_now(driver_conn& c) noexcept;
  void wait_readable(driver_conn&) noexcept { waiting = wait_kind::input; }
  // Never known full: a send waits for room itself.
  bool write_blocked(const driver_conn&) const noexcept { return false; }
  void wait_writable(driver_conn&) noexcept { waiting = wait_kind::room; }
  void deadline_set(driver_conn&) noexcept {}  // each wait reads the connection's deadline
  void start_linger(driver_conn&) noexcept {
    doing = phase::lingering;
    waiting = wait_kind::linger;
  }
  // The socket closes in thread_main(), under the engine's mutex.
  void release(driver_conn&) noexcept {}
  int sock(const driver_conn&) const noexcept { return fd.get(); }
  std::int64_t after_send(driver_conn& c, std::int64_t);
  std::int64_t send_waited(const driver_conn&) const noexcept { return send_slice_ms; }

  void serve();
  void read_input(driver_conn& c);
  void read_linger(driver_conn& c);
  bool drain_begun(driver_conn& c);

  blocking_engine& engine;
  // A copy of the worker's handler over the worker's one cache: a handler
  // keeps a request's scratch, so each thread has its own.
  handler core;
  conn_driver<conn_thread, driver_conn> driver;
  const std::int64_t send_slice_ms;  // SO_SNDTIMEO; see serve()
  std::int64_t rcv_timeout_ms = 0;   // SO_RCVTIMEO now on the socket; 0: none set yet
  // When the last blocking call returned: the time the driver is driven
  // with and arms deadlines with, so that a wait for a deadline just armed
  // is its whole timeout, the same each time (no setsockopt).
  std::int64_t now = 0;
  wait_kind waiting = wait_kind::input;
  read_status ended = read_status::again;  // what the last recv found, if not bytes

  // Handed over under the engine's mutex. The thread uses the descriptor
  // without the lock while it serves, but closes it only under the lock,
  // so the drain's shutdown() can never reach a number already reused.
  sys::unique_fd fd;
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
      files_(ctx_, cache_sharing::threads),
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
    t->fd.reset(fd);
    t->peer = peer;
    ++live_;
    lock.unlock();
    t->handed.notify_one();
    return;
  }
  auto t = std::make_unique<conn_thread>(*this);
  t->fd.reset(fd);
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
    t->fd.release();
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
    t.handed.wait(lock, [&] { return t.fd || quit_; });
    if (!t.fd) break;
    lock.unlock();
    t.doing = phase::busy;
    try {
      t.serve();
    } catch (const std::exception& e) {
      // What an event engine's run() would throw to main: the same verdict.
      spdlog::critical("worker {}: {}; stopping the server", ctx_.id, e.what());
      stop_server_fatally();
    }
    t.driver.close_all();  // after a throw, the connection is still open
    lock.lock();
    t.doing = phase::parked;
    t.fd.reset();
    --live_;
    parked_.push_back(&t);
    if (live_ == 0 && draining_) all_closed_.notify_all();
  }
  lock.unlock();
  sys::record_thread_exit();
}

void blocking_engine::conn_thread::serve() {
  // server.send_timeout: how long a reply may make no progress. The kernel
  // keeps SO_SNDTIMEO per call, as a budget for the call's waits, and a
  // call that moved some bytes before its budget ran out returns a short
  // count, not EAGAIN; the sender then calls again, which waits a whole
  // budget more. With the whole timeout as the budget, a stalled reader was
  // closed after up to twice the timeout. So each call waits at most a
  // slice of it: a call that says EAGAIN has waited a slice and moved
  // nothing (send_waited()), and the driver's send deadline runs from a
  // slice before the first such call after the reply last moved. A stalled
  // reply ends between one timeout and one timeout plus a slice after its
  // last byte moved. A live reply costs no extra call (a call returns early
  // only after a whole slice of waiting).
  if (!set_timeout(fd.get(), SO_SNDTIMEO, send_slice_ms)) return;
  rcv_timeout_ms = 0;
  now = monotonic_ms();
  // The header deadline runs from here. One driver serves one connection
  // at a time: never over server.max_connections (at least 1), which the
  // acceptor keeps for the worker.
  driver_conn& c = *driver.open(peer, now);
  waiting = wait_kind::input;  // nothing to drive before the first bytes
  ended = read_status::again;
  for (;;) {
    driver.expire(now);  // the deadline the next wait would wait until has passed
    if (!c.in_use) return;
    switch (waiting) {
      case wait_kind::input:
        read_input(c);
        break;
      case wait_kind::room:
        driver.drive(c, now);
        break;
      case wait_kind::linger:
        read_linger(c);
        break;
    }
  }
}

void blocking_engine::conn_thread::read_input(driver_conn& c) {
  // A request that has begun is read to its end and answered even when a
  // drain begins meanwhile (the driver's rule, as nginx's): only a thread
  // waiting for a request not yet begun is woken by the drain.
  doing = c.proto.has_partial_request() ? phase::finishing : phase::reading;
  // drain() sets draining_ and then shuts the read side of every socket
  // whose thread it finds reading; both sides are sequentially consistent,
  // so either drain_begun() sees the flag or the recv below returns 0.
  if (drain_begun(c)) return;
  if (!set_rcv_timeout(fd.get(), rcv_timeout_ms, c.deadline_ms - now)) return driver.close(c);
  const std::span<char> space = c.proto.read_space();
  const ssize_t n = sys::recv(fd.get(), space.data(), space.size(), 0);
  doing = phase::busy;
  now = monotonic_ms();
  if (n > 0) {
    c.proto.commit(static_cast<std::size_t>(n));
    // Shutting down meanwhile: the request these bytes begin is answered,
    // with a close (the driver marks it the last).
    if (drain_begun(c)) return;
  } else if (n == 0) {
    ended = read_status::eof;
  } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
    // SO_RCVTIMEO ran out: the header or idle deadline has passed, though
    // the coarse clock may trail the kernel's timer by a tick.
    return driver.expire(std::max(now, c.deadline_ms));
  } else if (errno == EINTR) {
    return;
  } else {
    ended = read_status::error;
  }
  driver.drive(c, now);
}

read_status blocking_engine::conn_thread::receive(driver_conn&) noexcept {
  // Bytes were read and committed before drive() was called (read_input()):
  // all there is to tell is how the last recv ended, if not with bytes.
  return std::exchange(ended, read_status::again);
}

// After a last reply: what the peer sent while it went out, read without
// waiting, so that the driver lingers instead of closing into a reset that
// would drop the reply's tail.
read_status blocking_engine::conn_thread::receive_now(driver_conn& c) noexcept {
  const std::span<char> space = c.proto.read_space();
  const ssize_t n = sys::recv(fd.get(), space.data(), space.size(), MSG_DONTWAIT);
  if (n > 0) {
    c.proto.commit(static_cast<std::size_t>(n));
    return read_status::data;
  }
  if (n == 0) return read_status::eof;
  return errno == EAGAIN || errno == EWOULDBLOCK ? read_status::again : read_status::error;
}

void blocking_engine::conn_thread::read_linger(driver_conn& c) {
  if (!set_rcv_timeout(fd.get(), rcv_timeout_ms, c.deadline_ms - now)) return driver.close(c);
  char discard[discard_size];
  const ssize_t n = sys::recv(fd.get(), discard, sizeof discard, 0);
  now = monotonic_ms();
  // The peer closed, the socket failed, or SO_RCVTIMEO ran out with the
  // linger time: the close is done.
  if (n == 0 || (n < 0 && errno != EINTR)) driver.close(c);
}

std::int64_t blocking_engine::conn_thread::after_send(driver_conn& c, std::int64_t) {
  // The send may have waited in the kernel: what follows runs from now.
  now = monotonic_ms();
  // The reply is in flight, so a drain begun meanwhile only makes it the last.
  drain_begun(c);
  return now;
}

bool blocking_engine::conn_thread::drain_begun(driver_conn& c) {
  // The worker's drain reaches this thread's driver here, where the thread
  // looks: before and after each wait for input, and after each send.
  if (engine.draining_) driver.begin_drain(now);
  return !c.in_use;
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
    if (t->fd && t->doing == phase::reading) sys::shutdown(t->fd.get(), SHUT_RD);
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
    if (t->fd) sys::shutdown(t->fd.get(), SHUT_RDWR);
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
