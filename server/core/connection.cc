#include "server/core/connection.hh"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "server/core/access_log.hh"
#include "server/core/buffer_pool.hh"
#include "server/sys/counted.hh"

namespace zc {

namespace {
// Most request heads fit in 4 KiB; the buffer grows to the configured
// limit only for the few that do not.
constexpr std::size_t initial_buffer = 4096;

constexpr std::string_view continue_head = "HTTP/1.1 100 Continue\r\n\r\n";

// A parsed request lives only within one advance(): its fields are views
// into the input buffer, which the next read may move. One per thread, not
// one per connection: with 128 header slots it is 4 KiB, which an idle
// keep-alive connection would otherwise carry for nothing.
http::request& scratch_request() noexcept {
  static thread_local http::request req;
  return req;
}
}  // namespace

connection::connection(const config& cfg, handler& h)
    : cfg_(cfg),
      handler_(h),
      parser_(http::limits{cfg.server.max_request_line, cfg.server.max_header_bytes,
                           cfg.server.max_headers}) {}

void connection::reset() noexcept {
  parser_.reset();
  start_ = end_ = 0;
  discard_ = 0;
  head_len_ = 0;
  chunked_ = {};
  reply_.clear();
  replying_ = interim_ = continue_sent_ = linger_ = stopping_ = false;
  requests_ = 0;
  peer = {};
  release_idle();
}

std::span<char> connection::read_space() {
  if (start_ == end_) start_ = end_ = 0;
  // One byte past the head limit, so the parser can see the limit crossed.
  const std::size_t limit = cfg_.server.max_header_bytes + 1;
  if (end_ == cap_ && start_ > 0) {
    std::memmove(buf_.get(), buf_.get() + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
  }
  if (end_ == cap_ && cap_ < limit) {
    std::size_t ncap = cap_ == 0 ? std::min(initial_buffer, limit) : std::min(cap_ * 2, limit);
    auto nbuf = buffer_pool::take(ncap);
    if (end_ > 0) std::memcpy(nbuf.get(), buf_.get(), end_);
    buffer_pool::give(std::exchange(buf_, std::move(nbuf)), cap_);
    cap_ = ncap;
  }
  return {buf_.get() + end_, cap_ - end_};
}

void connection::release_idle() noexcept {
  // As nginx does with its client header buffer: nothing is buffered, so
  // the memory goes back until the next read. Thousands of idle keep-alive
  // connections then cost their socket and this object, not 4 KiB each;
  // a busy connection pays one malloc per request, far below a system call.
  release_input();
  std::string().swap(reply_.head);
  // The copying senders' staging buffer, as large as the last file sent
  // (up to io.chunk_bytes): no bytes are staged between replies, and an
  // idle connection has no use for it.
  buffer_pool::give(std::move(reply_.scratch.buf), reply_.scratch.buf_cap);
  reply_.scratch.buf_cap = 0;
}

void connection::release_input() noexcept {
  buffer_pool::give(std::move(buf_), cap_);
  cap_ = start_ = end_ = 0;
}

void connection::finish_after_current() noexcept {
  stopping_ = true;
  // A 100 (Continue) told the client to send its body: the request it
  // belongs to is still answered, and that final reply closes.
  if (replying_ && !interim_) reply_.close_after = true;
}

connection::step connection::advance(std::int64_t now_ms) {
  if (replying_) return step::send;
  // Stopping: a connection idle between requests ends here; one whose
  // request has begun to arrive (or whose head waits for its body after a
  // 100 Continue) is read to the end of that request and answered, with a
  // close, as nginx closes only the idle ones.
  if (stopping_ && !continue_sent_ && !has_partial_request()) return step::close;
  if (discard_ > 0) {
    std::uint64_t take = std::min<std::uint64_t>(discard_, end_ - start_);
    start_ += take;
    discard_ -= take;
    if (discard_ > 0) return step::need_input;
  }
  if (chunked_.active()) return read_chunked(now_ms);
  if (start_ == end_) {
    release_idle();
    return step::need_input;
  }

  http::request& req = scratch_request();
  http::parse_result res = parser_.parse({buf_.get() + start_, end_ - start_}, req);
  if (res.status == http::parse_status::incomplete) return step::need_input;
  if (res.status == http::parse_status::error) {
    replying_ = true;
    linger_ = true;
    handler_.error(res.http_status, reply_, true);
    log_access(nullptr);
    return step::send;
  }
  parser_.reset();
  return start_request(req, res.consumed, now_ms);
}

connection::step connection::start_request(const http::request& req, std::size_t head_len,
                                           std::int64_t now_ms) {
  const bool chunked = req.coding == http::transfer_coding::chunked;
  // RFC 9110 §10.1.1: 100 (Continue) only to an HTTP/1.1 client that asked,
  // for a body it has not begun to send, and only if it will be read: a
  // body we refuse (413, 501) or would not wait for (a close after the
  // reply) is answered at once with the final reply, which says close.
  if (req.expect_continue && !continue_sent_ && req.ver == http::version::http11 &&
      (chunked || req.content_length > 0) && end_ - start_ == head_len && req.keep_alive &&
      !stopping_ && req.coding != http::transfer_coding::unsupported &&
      req.content_length <= cfg_.server.max_body) {
    // The head stays buffered and is parsed again once the 100 is out;
    // the request object does not outlive this call.
    continue_sent_ = true;
    interim_ = true;
    replying_ = true;
    reply_.status = 100;
    reply_.head.assign(continue_head);
    return step::send;
  }
  if (chunked) {
    head_len_ = head_len;
    chunked_.reset(cfg_.server.max_body, cfg_.server.max_header_bytes);
    return read_chunked(now_ms);
  }
  start_ += head_len;
  if (req.coding == http::transfer_coding::unsupported) return finish_request(&req, 501, now_ms);
  if (req.content_length > cfg_.server.max_body) return finish_request(&req, 413, now_ms);
  discard_ = req.content_length;
  return finish_request(&req, 0, now_ms);
}

connection::step connection::read_chunked(std::int64_t now_ms) {
  const std::size_t body = start_ + head_len_;
  const http::chunked_decoder::result r = chunked_.feed({buf_.get() + body, end_ - body});
  // Decoded bytes are dropped: what follows them (more of the body, or the
  // next request) moves up against the head, which must stay whole.
  std::memmove(buf_.get() + body, buf_.get() + body + r.consumed, end_ - body - r.consumed);
  end_ -= r.consumed;
  if (r.st == http::chunked_decoder::status::more) return step::need_input;

  int error_status = 0;
  if (r.st == http::chunked_decoder::status::bad) error_status = 400;
  if (r.st == http::chunked_decoder::status::too_large) error_status = 413;
  // The same bytes parsed before: the same complete head.
  http::request& req = scratch_request();
  const http::parse_result res = parser_.parse({buf_.get() + start_, head_len_}, req);
  parser_.reset();
  if (res.status != http::parse_status::complete) error_status = 500;
  start_ += head_len_;
  head_len_ = 0;
  return finish_request(&req, error_status, now_ms);
}

connection::step connection::finish_request(const http::request* req, int error_status,
                                            std::int64_t now_ms) {
  continue_sent_ = false;
  replying_ = true;
  ++requests_;
  // Before the head is made, so that it says Connection: close.
  if (stopping_) reply_.close_after = true;
  if (error_status != 0) {
    // Refused with the body unread or its framing lost: close, and linger
    // so that what the peer still sends cannot reset the reply away.
    linger_ = true;
    handler_.error(error_status, reply_, true, req->verb == http::method::head);
  } else {
    handler_.handle(*req, reply_, now_ms);
  }
  // A body not yet read in full and a close after the reply: unread bytes
  // at close would make the kernel send RST, which can destroy the reply.
  if (reply_.close_after && discard_ > end_ - start_) linger_ = true;
  log_access(req);
  // The request was the last thing buffered and nothing refers to it now:
  // the input buffer goes back before the reply leaves, not after, so that
  // a completion engine with thousands of replies in flight at once (a
  // burst) does not hold an input buffer for each, and leave the heap that
  // much larger when they are done.
  if (start_ == end_) release_input();
  return step::send;
}

bool connection::reply_sent() noexcept {
  auto& c = sys::counters();
  // A 100 (Continue) is a response but not a request served.
  if (!interim_) c.requests.add(1);
  if (reply_.status >= 100 && reply_.status < 600)
    c.responses[static_cast<std::size_t>(reply_.status / 100 - 1)].add(1);
  c.bytes_sent.add(reply_.wire_bytes());
  const bool close = reply_.close_after;
  replying_ = false;
  interim_ = false;
  reply_.clear();
  return close;
}

namespace {
std::string_view peer_text(const sockaddr_storage& peer, char (&buf)[INET6_ADDRSTRLEN]) {
  const char* s = nullptr;
  if (peer.ss_family == AF_INET)
    s = inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&peer)->sin_addr, buf, sizeof buf);
  else if (peer.ss_family == AF_INET6)
    s = inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&peer)->sin6_addr, buf,
                  sizeof buf);
  return s != nullptr ? std::string_view(s) : std::string_view("-");
}
}  // namespace

// One line; `req` is nullptr when the head did not parse.
void connection::log_access(const http::request* req) {
  access_logger* log = access_log();
  if (log == nullptr) return;
  char addr[INET6_ADDRSTRLEN];
  access_entry e;
  e.addr = peer_text(peer, addr);
  if (req != nullptr) {
    e.request_line = true;
    e.method = req->method_text;
    e.target = req->target;
    e.http11 = req->ver == http::version::http11;
    e.referer = req->referer;
    e.user_agent = req->user_agent;
  }
  e.status = reply_.status;
  e.bytes = reply_.body_bytes();
  log->append(e);
}

}  // namespace zc
