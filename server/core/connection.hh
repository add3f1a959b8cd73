#pragma once

// The per-connection protocol state machine every engine drives. It owns the
// input buffer, the parser and the reply in progress, and knows nothing of
// sockets: an engine reads bytes into read_space(), calls advance(), and when
// told to send hands reply() to its sender, then calls reply_sent(). A reply
// may be an interim 100 (Continue); the engine need not know: reply_sent()
// then keeps the connection and advance() goes on with the same request.

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <span>

#include "server/core/config.hh"
#include "server/core/handler.hh"
#include "server/core/http_parser.hh"
#include "server/core/reply.hh"

namespace zc {

class connection {
 public:
  enum class step : std::uint8_t {
    need_input,  // read more bytes, then advance() again
    send,        // reply() is ready: send it, then reply_sent()
    close,       // close the connection now
  };

  connection(const config& cfg, handler& h);
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Makes the object ready for a new socket, keeping its buffers.
  void reset() noexcept;

  // Free space at the end of the input buffer (compacted or grown as needed).
  std::span<char> read_space();
  void commit(std::size_t n) noexcept { end_ += n; }

  step advance(std::int64_t now_ms);
  reply& current() noexcept { return reply_; }
  // The current reply has been sent in full. Returns true if the connection
  // must now close.
  bool reply_sent() noexcept;

  // The peer closed its side: whatever is buffered will never complete.
  bool has_partial_request() const noexcept {
    return end_ > start_ || discard_ > 0 || chunked_.active();
  }
  bool replying() const noexcept { return replying_; }
  // True after a reply whose request was not (or could not be) read in full:
  // the peer may still be sending, so close with a lingering shutdown, not a
  // plain close that would answer its data with a reset and destroy the reply.
  bool linger_on_close() const noexcept { return linger_; }
  std::uint64_t requests() const noexcept { return requests_; }
  // Bytes held for input; 0 whenever nothing is buffered.
  std::size_t buffer_capacity() const noexcept { return cap_; }

  // Graceful shutdown: stop after the reply in progress, or after the
  // request that has begun to arrive; an idle connection stops at once.
  void finish_after_current() noexcept;

  // Peer address, recorded by the engine at accept for the access log.
  sockaddr_storage peer{};

 private:
  step start_request(const http::request& req, std::size_t head_len, std::int64_t now_ms);
  step read_chunked(std::int64_t now_ms);
  step finish_request(const http::request* req, int error_status, std::int64_t now_ms);
  void release_idle() noexcept;
  void release_input() noexcept;
  void log_access(const http::request* req);

  const config& cfg_;
  handler& handler_;
  http::parser parser_;
  // Held only while bytes are buffered: an idle keep-alive connection
  // keeps no buffer at all (allocated again by the next read_space()).
  std::unique_ptr<char[]> buf_;
  std::size_t cap_ = 0;
  std::size_t start_ = 0;      // first unconsumed byte
  std::size_t end_ = 0;        // one past the last buffered byte
  std::uint64_t discard_ = 0;  // request body bytes still to drop
  // A chunked body is read before the reply is chosen (its size decides
  // between 200 and 413), so its head stays buffered at start_ meanwhile.
  std::size_t head_len_ = 0;
  http::chunked_decoder chunked_;
  reply reply_;
  bool replying_ = false;
  bool interim_ = false;        // reply_ is a 100 (Continue), the request still to come
  bool continue_sent_ = false;  // ... and it has been sent for the head at start_
  bool linger_ = false;
  bool stopping_ = false;
  std::uint64_t requests_ = 0;
};

}  // namespace zc
