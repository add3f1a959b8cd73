#pragma once

// How a reply's bytes reach the peer. A sender, one class per io.sender
// name (backends/senders/<name>.cc), says what a reply's body needs as a
// few steps (backends/senders/steps.hh), computed from the reply's
// progress; each engine family carries the steps out in its own way: the
// readiness engines (blocking, epoll, asio) with system calls through
// send() below, io_uring as linked operations, dpdk as writes into its
// stack. Engines never know which sender runs, as nginx's send_chain
// callers do not.

#include <cerrno>
#include <cstddef>
#include <memory>
#include <string_view>

#include "backends/senders/kinds.hh"
#include "backends/senders/send_state.hh"
#include "backends/senders/steps.hh"
#include "server/core/reply.hh"

namespace zc {

struct config;

enum class send_status : std::uint8_t {
  done,    // the whole reply is out
  again,   // the socket is full: wait until writable and call again
  failed,  // the connection must close (peer gone, file shrank, ...)
  // A completion engine's operations are queued; the engine reports their
  // outcome later (conn_driver::sent). Never returned by send() itself.
  in_flight,
};

struct send_result {
  send_status status = send_status::done;
  int err = 0;          // errno of the failing call, 0 when the file ended early
  std::string_view op;  // name of the failing call
};

class sender {
 public:
  explicit sender(std::size_t chunk) noexcept : chunk_(chunk) {}
  virtual ~sender() = default;

  // Which sender this is (kinds.def): its class is the kind's name with
  // "_sender".
  virtual sender_kind kind() const noexcept = 0;
  // The config value that selects it.
  std::string_view name() const noexcept { return sender_name(kind()); }

  // The next steps of the current part of `r` (for an ordinary reply, the
  // reply), from its progress and the connection's `st`: empty once the
  // part is out. Not const: a sender may lend the connection a resource
  // for them (splice's pipe, in `st`).
  virtual plan next(reply& r, send_state& st) = 0;

  // The connection is done with what it was lent (reply finished or
  // connection closing): give pooled resources back.
  virtual void release(send_state& /*st*/) noexcept {}

  // The readiness executor (backends/senders/readiness.cc): carries next()
  // out on a non-blocking (or time-sliced) socket, one counted system call
  // a step, as long as the socket takes bytes.
  send_result send(int sock, reply& r, send_state& st);

  // The whole reply, what readiness engines call: part after part, each
  // sent by send() as if it were a reply of its own (a
  // multipart/byteranges body is a sequence of heads and file ranges; see
  // server/core/multipart.hh).
  send_result send_reply(int sock, reply& r, send_state& st) {
    for (;;) {
      const send_result res = send(sock, r, st);
      if (res.status != send_status::done || !r.next_part()) return res;
    }
  }

 protected:
  std::size_t chunk_;  // io.chunk_bytes
};

// What became of one step, for the executors that carry steps out one at
// a time (readiness, dpdk).
struct step_outcome {
  enum went_t : std::uint8_t {
    whole,  // the step's bytes all moved: on to the next step
    cut,    // fewer: ask the sender again, from the reply's progress
    stop,   // the peer cannot take more now, or the reply failed: `res` says which
  } went;
  send_result res{};
};

// Asks `s` for the steps of the current part of `r` and carries each out
// with `carry_out(step, chunk)`, until the part is out (done) or a step
// stops. A step cut short ends its plan: the sender, asked again, says
// what is left, so the next step starts at exactly the next byte.
template <class CarryOut>
send_result carry_out_plans(sender& s, reply& r, send_state& state, CarryOut&& carry_out) {
  for (;;) {
    const plan p = s.next(r, state);
    if (p.failed()) return {send_status::failed, p.err, p.op};
    if (p.count == 0) return {send_status::done, 0, {}};
    for (const step st : p) {
      const step_outcome o = carry_out(st, p.chunk);
      if (o.went == step_outcome::stop) return o.res;
      if (o.went == step_outcome::cut) break;
    }
  }
}

// The sender `kind` names, for an engine of `family`; nullptr for a kind
// that family does not drive (kinds.def). `shared_by_threads`: the sender
// will be used by several threads at once (a blocking worker's connection
// threads); every sender is stateless between calls but for splice's pipe
// pool, which then takes a lock.
std::unique_ptr<sender> make_sender(sender_kind kind, const config& cfg, engine_family family,
                                    bool shared_by_threads = false);

}  // namespace zc
