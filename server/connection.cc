#include "server/connection.hh"

#include <algorithm>
#include <cstring>

#include "backends/sys/counted.hh"
#include "server/log.hh"

namespace zc {

namespace {
// Most request heads fit in 4 KiB; the buffer grows to the configured
// limit only for the few that do not.
constexpr std::size_t initial_buffer = 4096;
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
  reply_.clear();
  replying_ = linger_ = stopping_ = false;
  requests_ = 0;
  peer = {};
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
    auto nbuf = std::make_unique<char[]>(ncap);
    if (end_ > 0) std::memcpy(nbuf.get(), buf_.get(), end_);
    buf_ = std::move(nbuf);
    cap_ = ncap;
  }
  return {buf_.get() + end_, cap_ - end_};
}

void connection::finish_after_current() noexcept {
  stopping_ = true;
  if (replying_) reply_.close_after = true;
}

connection::step connection::advance(std::int64_t now_ms) {
  if (replying_) return step::send;
  if (stopping_) return step::close;
  if (discard_ > 0) {
    std::uint64_t take = std::min<std::uint64_t>(discard_, end_ - start_);
    start_ += take;
    discard_ -= take;
    if (discard_ > 0) return step::need_input;
  }
  if (start_ == end_) return step::need_input;

  http::parse_result res = parser_.parse({buf_.get() + start_, end_ - start_}, req_);
  if (res.status == http::parse_status::incomplete) return step::need_input;

  replying_ = true;
  if (res.status == http::parse_status::error) {
    linger_ = true;
    handler_.error(res.http_status, reply_, true);
    log_access(false);
    return step::send;
  }
  start_ += res.consumed;
  parser_.reset();
  ++requests_;
  if (req_.has_transfer_encoding) {
    // A GET or HEAD has no use for a body; rather than decode chunked
    // framing just to drop it, refuse and close (RFC 9112 §6.1 permits).
    linger_ = true;
    handler_.error(501, reply_, true, req_.verb == http::method::head);
  } else if (req_.content_length > cfg_.server.max_body) {
    linger_ = true;
    handler_.error(413, reply_, true, req_.verb == http::method::head);
  } else {
    discard_ = req_.content_length;
    handler_.handle(req_, reply_, now_ms);
  }
  if (stopping_) reply_.close_after = true;
  log_access(true);
  return step::send;
}

bool connection::reply_sent() noexcept {
  auto& c = sys::counters();
  c.requests.add(1);
  if (reply_.status >= 100 && reply_.status < 600)
    c.responses[static_cast<std::size_t>(reply_.status / 100 - 1)].add(1);
  c.bytes_sent.add(reply_.head.size() + reply_.length);
  const bool close = reply_.close_after;
  replying_ = false;
  reply_.clear();
  return close;
}

void connection::log_access(bool parsed) {
  if (auto* log = access_log()) log_access_line(*log, peer, parsed ? &req_ : nullptr, reply_);
}

}  // namespace zc
