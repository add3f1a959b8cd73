#pragma once

// TCP connections on the dpdk engine's stack, as the engine sees them: ids,
// byte counts and events, no lwIP type (see device.hh for why). lwIP's raw
// API calls back from inside its input processing; here those callbacks
// only record what happened and queue the connection, and the engine
// handles the queue after the stack's poll returns (take_events), so its
// code never runs inside lwIP and may write, close or abort freely.
//
// Reading follows the socket model: bytes lwIP delivered wait in the
// connection's queue (their frames' own buffers: no copy until read()
// moves them into the caller's buffer), and the receive window opens as
// they are read, so a peer that sends faster than the engine reads is
// slowed by TCP itself. Writing either copies the bytes into the stack or
// references them (the caller keeps them alive and unchanged until acked()
// has passed their end: the file cache's mapping is held that long).

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "backends/dpdk/stack.hh"

namespace zc::dpdk {

using conn_id = std::uint32_t;

enum class tcp_event : std::uint8_t {
  accepted,  // a new connection: peer() tells who
  readable,  // bytes or the peer's FIN arrived
  writable,  // the peer acknowledged bytes: send space and references freed
  gone,      // reset or aborted by the stack: the id is dead, release() it
};

struct tcp_event_entry {
  conn_id id;
  tcp_event what;
};

enum class tcp_read : std::uint8_t { data, again, eof };

class tcp {
 public:
  // Listens on `port` of the stack's address. Throws std::runtime_error if
  // lwIP refuses.
  tcp(stack& st, std::uint16_t port, unsigned backlog);
  ~tcp();
  tcp(const tcp&) = delete;
  tcp& operator=(const tcp&) = delete;

  // What happened since the last call, oldest first; each connection at
  // most once per kind and call.
  void take_events(std::vector<tcp_event_entry>& out);

  sockaddr_in peer(conn_id id) const noexcept;

  // Bytes or the peer's FIN wait to be read.
  bool has_input(conn_id id) const noexcept;

  // Moves up to into.size() received bytes into `into` and opens the
  // window by as much; *n is what was moved.
  tcp_read read(conn_id id, std::span<char> into, std::size_t* n);

  // How many bytes write() would take now.
  std::size_t send_space(conn_id id) const noexcept;
  // Queues bytes to send: copied into the stack, or referenced (kept alive
  // by the caller until acked() passes them). `more`: further bytes follow
  // at once (no PSH). Returns the bytes taken (less than asked when the
  // send buffer fills).
  std::size_t write(conn_id id, std::span<const char> bytes, bool copy, bool more);
  // Sends what is queued now, instead of at the next timer or ACK.
  void output(conn_id id);
  // Bytes ever queued by write(), and the part of them the peer
  // acknowledged.
  std::uint64_t written(conn_id id) const noexcept;
  std::uint64_t acked(conn_id id) const noexcept;

  // FIN after what is queued; reading goes on (a lingering close).
  void shutdown_write(conn_id id);
  // Graceful close: FIN after what is queued; with input unread, RST
  // instead (as the kernel does). The id is free at once when nothing
  // written waits for the peer's acknowledgement. Otherwise close()
  // returns true and the id stays reserved: `writable` (acked() moved) and
  // `gone` keep coming for it, and the caller release()s it once acked()
  // reaches written() or it is gone. So the engine knows what its stack
  // still owes peers (a drain waits for it; bytes written by reference
  // stay alive until then), as a kernel's socket buffers would know.
  bool close(conn_id id);
  // RST now; the id is free at once.
  void abort(conn_id id);
  // Frees the id of a connection that is `gone`, or of a closed one kept
  // until acknowledged (lwIP finishes its close alone, unheard).
  void release(conn_id id);

  // No new connection: a SYN is answered with RST (connection refused).
  void stop_listening();
  // RST on every connection, closed ones still kept included.
  void abort_all();

  // Ids in use: open connections and closed ones kept.
  std::size_t live() const noexcept;

  struct impl;

 private:
  std::unique_ptr<impl> p_;
};

}  // namespace zc::dpdk
