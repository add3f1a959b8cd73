#pragma once

// How a reply's bytes reach a socket, for the engines that learn readiness
// (blocking, epoll, asio). The engine calls send() when the socket can take
// bytes; the sender pushes as much as the socket takes, records progress in
// the reply, and says whether it finished, must wait, or failed. Engines
// never know which sender runs, as nginx's send_chain callers do not.

#include <cerrno>
#include <memory>
#include <string_view>

#include "backends/senders/kinds.hh"
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
  virtual ~sender() = default;

  // Which sender this is (kinds.def): its class is the kind's name with
  // "_sender".
  virtual sender_kind kind() const noexcept = 0;
  // The config value that selects it.
  std::string_view name() const noexcept { return sender_name(kind()); }

  // The current part of the reply (for an ordinary reply, the reply): its
  // head and its body.
  virtual send_result send(int sock, reply& r) = 0;

  // The whole reply, what engines call: part after part, each sent by
  // send() as if it were a reply of its own (a multipart/byteranges body is
  // a sequence of heads and file ranges; see server/core/multipart.hh).
  send_result send_reply(int sock, reply& r) {
    for (;;) {
      const send_result res = send(sock, r);
      if (res.status != send_status::done || !r.next_part()) return res;
    }
  }

  // The connection is done with the reply's scratch (reply finished or
  // connection closing): give back pooled resources.
  virtual void release(send_scratch& /*s*/) noexcept {}

 protected:
  // Outcome of a failed call on the socket: EAGAIN waits, anything else fails.
  static send_result from_errno(std::string_view op) noexcept {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {send_status::again, 0, {}};
    return {send_status::failed, errno, op};
  }
  static send_result file_ended(std::string_view op) noexcept {
    return {send_status::failed, 0, op};
  }
  static constexpr send_result done() noexcept { return {send_status::done, 0, {}}; }

  // The head and an in-memory body (an error page), one writev per call.
  static send_result write_head_and_memory(int sock, reply& r) noexcept;
  // The head alone with MSG_MORE: the kernel holds it back to share a
  // segment with the body that a zero-copy call sends next.
  static send_result send_head_more(int sock, reply& r) noexcept;
};

}  // namespace zc
