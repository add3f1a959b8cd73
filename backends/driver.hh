#pragma once

// One connection's life, written once for every engine: those that learn
// readiness (epoll, asio), the one that waits in blocking calls (blocking)
// and the one that learns completions (io_uring): read -> advance -> send
// -> reply sent -> next request, linger or close; which deadline runs
// when; the connection pool and its limit; the drain. An engine keeps what
// is truly its own — how it learns that a socket is readable or writable,
// how it reads, how it waits — and offers it to the driver as a port.
// nginx splits the same way: ngx_http_request.c drives every connection,
// the event modules only report readiness.
//
// A port is a class with these members, for its connection type C (derived
// from driver_conn):
//
//   read_status receive(C&)      read into c.proto.read_space() now, if bytes
//                                may be there (the buffer is taken only then)
//   void wait_readable(C&)       nothing to read: call drive() once there is
//   bool write_blocked(const C&) the socket is known full: do not try
//   void wait_writable(C&)       the socket is full: call drive() once not
//   void deadline_set(C&)        a deadline was (re)armed (asio moves its timer)
//   read_status receive_now(C&)  optional: as receive(), but read even if no
//                                readiness was reported (after a last reply,
//                                to tell a lingering close from a plain one)
//   void start_linger(C&)        read and drop until EOF, then driver.close()
//   void release(C&)             the socket goes: close it (the connection is
//                                already counted out)
//   int sock(const C&)           the descriptor the senders write to
//   std::int64_t after_send(C&, std::int64_t now)
//                                optional: a send returned: the time from here
//                                on. A port whose sends wait in the kernel
//                                reads the clock again, and may begin_drain()
//                                here (the reply in flight is then only marked
//                                the last). Without it: `now`.
//   std::int64_t send_waited(const C&)
//                                optional: how long a send that said `again`
//                                had already waited for room in vain. Without
//                                it: 0 (EAGAIN at once, as on a non-blocking
//                                socket).
//
// A completion engine (io_uring) learns a send's outcome later, and its
// operations name the socket until they complete. Its port says so with
// `static constexpr bool completion = true` and has, besides the above:
//
//   send_result send(C&, reply&) prepare the reply's next step: done (the
//                                whole reply is out), failed, or in_flight
//                                (the engine calls sent() once it has ended)
//   bool shutdown_write(C&)      FIN, or false if the socket is gone
//
// and its release(C&) closes once no operation names the socket, then
// calls finished(). Its sender type is the driver's third parameter.
//
// Static, not virtual: the driver is a template over its port, so each
// step is a direct call the compiler sees through.

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include <spdlog/spdlog.h>

#include "backends/conn_timers.hh"
#include "backends/sender.hh"
#include "server/core/config.hh"
#include "server/core/connection.hh"
#include "server/core/handler.hh"
#include "server/sys/counted.hh"

namespace zc {

// What every driven connection carries; an engine adds its own fields.
struct driver_conn : timer_node {
  driver_conn(const config& cfg, handler& h) : proto(cfg, h) {}
  connection proto;
  send_state sending;  // the sender's own per-connection state (splice's pipe)
  bool in_use = false;
  bool lingering = false;
};

enum class read_status : std::uint8_t {
  data,   // bytes were committed to the connection
  again,  // nothing to read now
  eof,    // the peer closed its side
  error,  // the connection is broken
};

template <class Port, class C, class Sender = sender>
class conn_driver {
  static constexpr bool completion_port = requires { requires Port::completion; };

 public:
  conn_driver(int worker, const config& cfg, handler& h, Sender& s, Port& port)
      : worker_(worker), cfg_(cfg), handler_(h), sender_(s), port_(port), timers_(cfg) {}

  conn_driver(const conn_driver&) = delete;
  conn_driver& operator=(const conn_driver&) = delete;

  // A connection object for a socket just accepted, its header deadline
  // running; nullptr over server.max_connections (the engine answers 503).
  // The engine then attaches its socket and calls drive(), or waits for
  // the first readiness.
  C* open(const sockaddr_storage& peer, std::int64_t now, auto&&... conn_args) {
    if (live_ >= cfg_.server.max_connections) return nullptr;
    C* c;
    if (!free_.empty()) {
      c = free_.back();
      free_.pop_back();
    } else {
      conns_.push_back(std::make_unique<C>(conn_args..., cfg_, handler_));
      c = conns_.back().get();
    }
    c->proto.reset();
    c->proto.peer = peer;
    c->in_use = true;
    c->lingering = false;
    ++live_;
    arm(*c, conn_timers::header, now);
    return c;
  }

  // Gives an object back whose socket could not be set up after open().
  void abandon(C& c) {
    timers_.disarm(c);
    c.in_use = false;
    free_.push_back(&c);
    --live_;
  }

  // Moves the connection as far as it can go now: sends what the socket
  // takes, reads what is there, answers what is complete, and stops when
  // it must wait (having said what for) or closes it.
  void drive(C& c, std::int64_t now) {
    for (;;) {
      if (c.proto.replying()) {
        if (port_.write_blocked(c)) return;
        reply& r = c.proto.current();
        const std::uint64_t before = r.progress();
        send_result res;
        if constexpr (completion_port)
          res = port_.send(c, r);
        else
          res = sender_.send_reply(sock_of(c), r, c.sending);
        if constexpr (requires { port_.after_send(c, now); }) now = port_.after_send(c, now);
        if (res.status == send_status::in_flight) return arm(c, conn_timers::send, now);
        if (res.status == send_status::again) {
          // The send deadline runs from when the reply stopped moving. A
          // send that moved nothing does not push it back: on a blocking
          // port such a send has just waited a slice of the timeout.
          if (c.list != conn_timers::send || r.progress() != before)
            arm(c, conn_timers::send, now - send_waited(c));
          return port_.wait_writable(c);
        }
        if (res.status == send_status::failed) return send_failed(c, res);
        sender_.release(c.sending);
        const bool linger = c.proto.linger_on_close();
        if (c.proto.reply_sent())
          return linger || input_waiting(c) ? start_linger(c, now) : close(c);
        continue;
      }
      switch (c.proto.advance(now)) {
        case connection::step::send:
          timers_.disarm(c);  // a whole head arrived: its header/idle deadline is over
          continue;
        case connection::step::close:
          return close(c);
        case connection::step::need_input:
          break;
      }
      switch (port_.receive(c)) {
        case read_status::data:
          continue;
        case read_status::again:
          break;
        case read_status::eof:  // a partial request dies with the connection
        case read_status::error:
          return close(c);
      }
      if (c.proto.has_partial_request()) {
        // From the first byte of a head to its end, however slowly it
        // trickles in: re-arming on every byte would let a slow client
        // hold the connection forever.
        if (c.list != conn_timers::header) arm(c, conn_timers::header, now);
      } else {
        arm(c, c.proto.requests() == 0 ? conn_timers::header : conn_timers::idle, now);
      }
      return port_.wait_readable(c);
    }
  }

  // A completion port's send step has ended: its last operation completed,
  // or one failed. The connection goes on exactly where a send that
  // finished at once would.
  void sent(C& c, const send_result& res, std::int64_t now) {
    if (res.status == send_status::failed) return send_failed(c, res);
    drive(c, now);
  }

  // Send FIN, then read and drop what the peer still sends until it closes
  // or the linger time ends. Closing at once with unread input would make
  // the kernel answer with RST, which can destroy the reply in flight.
  void start_linger(C& c, std::int64_t now) {
    bool shut;
    if constexpr (completion_port)
      shut = port_.shutdown_write(c);
    else
      shut = sys::shutdown(sock_of(c), SHUT_WR) == 0;
    if (!shut) return close(c);
    c.lingering = true;
    arm(c, conn_timers::linger, now);
    port_.start_linger(c);
  }

  void close(C& c) {
    if (!c.in_use) return;
    timers_.disarm(c);
    if constexpr (completion_port) {
      // Operations in flight may still use the reply and its scratch: the
      // object is given back when the port says none is left (finished()).
      c.in_use = false;
      c.lingering = false;
      return port_.release(c);
    }
    sender_.release(c.sending);
    c.proto.reset();
    c.in_use = false;
    c.lingering = false;
    free_.push_back(&c);
    --live_;
    port_.release(c);
  }

  // A completion port's closed connection that no operation names any more.
  void finished(C& c) {
    sender_.release(c.sending);
    c.proto.reset();
    free_.push_back(&c);
    --live_;
  }

  // Closes every connection whose deadline has passed.
  void expire(std::int64_t now) {
    while (timer_node* n = timers_.expired(now)) close(static_cast<C&>(*n));
  }

  // The earliest deadline: a connection's, or the end of the drain.
  std::int64_t next_deadline() const noexcept {
    const std::int64_t next = timers_.next_deadline();
    return draining_ ? std::min(next, drain_deadline_) : next;
  }

  // Graceful shutdown: idle connections close now, the others after the
  // reply in flight, the request half-received or their lingering close,
  // within server.shutdown_timeout.
  void begin_drain(std::int64_t now) {
    if (draining_) return;
    draining_ = true;
    drain_deadline_ = now + cfg_.server.shutdown_timeout.count();
    for (auto& p : conns_) {
      C& c = *p;
      if (!c.in_use) continue;
      // A request half-received is read to its end and answered (with a
      // close), bounded by its header deadline and the drain's; only the
      // connections idle between requests close now, as in nginx.
      if (c.proto.replying() || c.lingering || c.proto.has_partial_request())
        c.proto.finish_after_current();
      else
        close(c);
    }
  }

  bool draining() const noexcept { return draining_; }
  // Drained: nothing left, or the time for it is up. `settled` of the live
  // connections are closed and wait only on the kernel (a completion port's
  // zero-copy notifications): their bytes are the kernel's, not ours to wait for.
  bool drained(std::int64_t now, std::size_t settled = 0) const noexcept {
    return draining_ && (live_ == settled || now >= drain_deadline_);
  }
  std::int64_t drain_deadline() const noexcept { return drain_deadline_; }

  void close_all() {
    for (auto& c : conns_)
      if (c->in_use) close(*c);
  }

  std::size_t live() const noexcept { return live_; }

  // Every connection object ever made, in use or not (an engine's teardown).
  void for_each_conn(auto&& f) {
    for (auto& c : conns_) f(*c);
  }

 private:
  int sock_of(const C& c) const noexcept { return port_.sock(c); }

  std::int64_t send_waited(const C& c) const noexcept {
    if constexpr (requires { port_.send_waited(c); })
      return port_.send_waited(c);
    else
      return 0;
  }

  // After the last reply: did the peer send more (a keep-alive client's
  // next request, pipelined while a drain's last reply was in flight)?
  // Closing with it unread makes the kernel answer with RST, which drops
  // the reply's tail still queued to send. The port reads only if bytes
  // may be there, so a quiet socket costs no call.
  bool input_waiting(C& c) {
    if (c.proto.has_partial_request()) return true;
    // A port that learns readability only while it waits for it (asio
    // waits for writability while a reply goes out) offers receive_now():
    // read whatever is there, reported or not.
    if constexpr (requires { port_.receive_now(c); })
      return port_.receive_now(c) == read_status::data;
    else
      return port_.receive(c) == read_status::data;
  }

  void send_failed(C& c, const send_result& res) {
    if (res.err == 0)
      spdlog::warn("worker {}: {}: file ended before its promised length; closing", worker_,
                   res.op);
    else if (res.err != EPIPE && res.err != ECONNRESET)
      spdlog::debug("worker {}: {}: {}", worker_, res.op, std::strerror(res.err));
    close(c);
  }

  void arm(C& c, conn_timers::kind k, std::int64_t now) {
    timers_.arm(c, k, now);
    port_.deadline_set(c);
  }

  const int worker_;
  const config& cfg_;
  handler& handler_;
  Sender& sender_;
  Port& port_;
  conn_timers timers_;
  std::vector<std::unique_ptr<C>> conns_;  // every connection object ever made
  std::vector<C*> free_;
  std::size_t live_ = 0;
  bool draining_ = false;
  std::int64_t drain_deadline_ = 0;
};

}  // namespace zc
