#include "server/program/admin.hh"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "server/core/http_date.hh"
#include "server/core/http_parser.hh"

namespace zc {

namespace {

constexpr int tick_ms = 1000;
constexpr int request_timeout_ms = 2000;

bool write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    s.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void respond(int fd, int status, std::string_view reason, std::string_view type,
             std::string_view body, bool head_only) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                     "\r\nServer: zcserve-admin\r\nDate: " + std::string(http_date_now()) +
                     "\r\nContent-Type: " + std::string(type) +
                     "\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n";
  if (write_all(fd, head) && !head_only) write_all(fd, body);
}

}  // namespace

admin_server::admin_server(const config& cfg, sys::unique_fd listener, metrics_labels labels)
    : cfg_(cfg), listener_(std::move(listener)), labels_(std::move(labels)) {
  wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  start_ = take_snapshot(cfg_.server.workers);
  history_.push_back(start_);
}

admin_server::~admin_server() {
  stop();
}

void admin_server::start() {
  thread_ = std::thread([this] { run(); });
  pthread_setname_np(thread_.native_handle(), "zc-admin");
}

void admin_server::stop() {
  if (!thread_.joinable()) return;
  std::uint64_t one = 1;
  (void)::write(wake_.get(), &one, sizeof one);
  thread_.join();
}

snapshot admin_server::start_snapshot() const {
  std::lock_guard lock(mu_);
  return start_;
}

std::string admin_server::table_now() const {
  return exit_table(take_snapshot(cfg_.server.workers), start_snapshot());
}

void admin_server::tick() {
  snapshot s = take_snapshot(cfg_.server.workers);
  std::lock_guard lock(mu_);
  history_.push_back(std::move(s));
  // Keep just enough to reach back one window from the newest.
  const std::int64_t window = cfg_.admin.window.count();
  while (history_.size() > 2 && history_.back().at_ms - history_[1].at_ms >= window)
    history_.pop_front();
}

void admin_server::run() {
  std::int64_t next_tick = monotonic_ms() + tick_ms;
  for (;;) {
    pollfd fds[2] = {{wake_.get(), POLLIN, 0}, {listener_.get(), POLLIN, 0}};
    const int nfds = listener_ ? 2 : 1;
    const std::int64_t wait = std::max<std::int64_t>(0, next_tick - monotonic_ms());
    int n = ::poll(fds, static_cast<nfds_t>(nfds), static_cast<int>(wait));
    if (n < 0 && errno != EINTR) {
      spdlog::error("admin: poll: {}", std::strerror(errno));
      return;
    }
    if (fds[0].revents & POLLIN) return;
    // The figures are an instrument beside the server: whatever goes wrong
    // while taking or serving them is logged, never the end of the process.
    try {
      if (const std::int64_t now = monotonic_ms(); now >= next_tick) {
        // Due again one tick later even if this one throws (out of memory):
        // retrying at once would fail at once, and fill the log.
        next_tick = std::max(next_tick + tick_ms, now + 1);
        tick();
      }
      if (nfds == 2 && (fds[1].revents & POLLIN)) {
        int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
          serve_one(fd);
          ::close(fd);
        }
      }
    } catch (const std::exception& e) {
      spdlog::error("admin: {}", e.what());
    }
  }
}

void admin_server::serve_one(int fd) {
  // One request per connection, read with a deadline: a client that sends
  // nothing holds the admin thread for at most request_timeout_ms.
  timeval tv{request_timeout_ms / 1000, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  char buf[8192];
  std::size_t len = 0;
  http::parser parser;
  http::request req;
  http::parse_result res;
  for (;;) {
    ssize_t n = ::recv(fd, buf + len, sizeof buf - len, 0);
    if (n <= 0) return;
    len += static_cast<std::size_t>(n);
    res = parser.parse({buf, len}, req);
    if (res.status != http::parse_status::incomplete) break;
    if (len == sizeof buf) return;
  }
  if (res.status == http::parse_status::error) {
    respond(fd, 400, "Bad Request", "text/plain", "bad request\n", false);
    return;
  }
  const bool head_only = req.verb == http::method::head;
  if (req.verb == http::method::other) {
    respond(fd, 405, "Method Not Allowed", "text/plain", "GET or HEAD\n", false);
    return;
  }
  if (req.path == "/metrics") {
    snapshot s = take_snapshot(cfg_.server.workers);
    respond(fd, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", prometheus_text(s, labels_),
            head_only);
  } else if (req.path == "/stats") {
    snapshot now = take_snapshot(cfg_.server.workers);
    snapshot start, window_start;
    {
      std::lock_guard lock(mu_);
      start = start_;
      // The oldest snapshot still inside the window (or the start).
      window_start = history_.front();
      for (const snapshot& h : history_) {
        if (now.at_ms - h.at_ms <= cfg_.admin.window.count()) {
          window_start = h;
          break;
        }
      }
    }
    respond(fd, 200, "OK", "application/json", stats_json(now, start, window_start, labels_),
            head_only);
  } else if (req.path == "/") {
    respond(fd, 200, "OK", "text/plain; charset=utf-8",
            "zcserve admin: /metrics (Prometheus text), /stats (JSON)\n", head_only);
  } else {
    respond(fd, 404, "Not Found", "text/plain", "not found: try /metrics or /stats\n", head_only);
  }
}

}  // namespace zc
