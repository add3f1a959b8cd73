#include "backends/worker.hh"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "backends/senders/kinds.hh"
#include "backends/senders/pipe_pool.hh"
#include "server/sys/counted.hh"
#include "server/sys/kernel_count.hh"

namespace zc {

namespace {
std::string fail(const char* what, const std::string& where) {
  return where + ": " + what + ": " + std::strerror(errno);
}
}  // namespace

namespace {
std::atomic<bool> fatal_stop{false};
}  // namespace

void stop_server_fatally() noexcept {
  fatal_stop.store(true, std::memory_order_relaxed);
  // main() waits for the stop signals in sigwait(); every other thread has
  // them blocked, so this wakes main and nothing else.
  ::kill(::getpid(), SIGTERM);
}

bool stopped_fatally() noexcept {
  return fatal_stop.load(std::memory_order_relaxed);
}

worker_files::worker_files(const worker_context& ctx, cache_sharing sharing)
    : cache(ctx.root_fd, ctx.cfg->server.cache_entries, ctx.cfg->server.cache_revalidate.count(),
            sharing, ctx.policy),
      http(*ctx.cfg, cache) {}

namespace {

constexpr std::string_view built_in_busy_reply =
    "HTTP/1.1 503 Service Unavailable\r\nServer: zcserve\r\nContent-Type: text/plain\r\n"
    "Content-Length: 20\r\nConnection: close\r\nRetry-After: 1\r\n\r\nserver at capacity.\n";

}  // namespace

std::string_view busy_reply = built_in_busy_reply;

void set_busy_page(std::string_view type, std::string_view body) {
  // Lives as long as the process: io_uring and the dpdk stack send from it
  // without copying.
  static std::string page;
  page = "HTTP/1.1 503 Service Unavailable\r\nServer: zcserve\r\nContent-Type: ";
  page.append(type);
  page.append("\r\nContent-Length: ");
  page.append(std::to_string(body.size()));
  page.append("\r\nConnection: close\r\nRetry-After: 1\r\n\r\n");
  page.append(body);
  busy_reply = page;
}

void send_busy_reply(int fd) noexcept {
  sys::send(fd, busy_reply.data(), busy_reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

descriptor_plan plan_descriptors(std::uint64_t nofile, const config& cfg) noexcept {
  descriptor_plan p;
  const std::uint64_t workers = std::max(1u, cfg.server.workers);
  // 64 for the process (stdio, the root, the admin listener and its
  // clients, logs, /proc files the figures read), and 4 per worker (its
  // listener, epoll or ring, eventfd, timer).
  p.reserve = std::min<std::uint64_t>(64 + 4 * workers, nofile / 4);
  const std::uint64_t per_worker = (nofile - p.reserve) / workers;
  // Only a sender that kinds.def says needs pipes (splice) borrows them,
  // readiness and io_uring alike.
  const std::optional<sender_kind> kind = find_sender_kind(cfg.io.sender);
  p.pipes = kind && traits(*kind).needs == sender_needs::pipes
                ? pipes_per_worker(nofile, cfg.server.workers)
                : 0;
  const std::uint64_t avail = per_worker > 2 * p.pipes ? per_worker - 2 * p.pipes : 0;
  const std::uint64_t files_floor = std::min<std::uint64_t>(
      cfg.server.cache_entries, std::max<std::uint64_t>(4, nofile / 20 / workers));
  p.per_connection =
      cfg.io.engine == "blocking" && sys::kernel_syscall_counter::unavailable_reason().empty() ? 2
                                                                                               : 1;
  const std::uint64_t conns = (avail > files_floor ? avail - files_floor : 0) / p.per_connection;
  p.connections = static_cast<std::size_t>(
      std::max<std::uint64_t>(1, std::min<std::uint64_t>(cfg.server.max_connections, conns)));
  const std::uint64_t used = std::uint64_t{p.connections} * p.per_connection;
  p.files = static_cast<std::size_t>(
      std::min<std::uint64_t>(cfg.server.cache_entries, avail > used ? avail - used : 0));
  return p;
}

std::string format_endpoint(const std::string& host, std::uint16_t port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

listen_result make_listener(const std::string& host, std::uint16_t port, int backlog,
                            std::string_view key) {
  listen_result out;
  const std::string where = std::string(key) + " = " + format_endpoint(host, port);
  // Numeric addresses and names ("localhost") alike; the first address
  // the resolver gives is the one bound. No AI_ADDRCONFIG: it does not
  // count loopback, so where 127.0.0.1 is the only IPv4 address (a
  // namespace whose NIC the dpdk engine owns) it refused 127.0.0.1.
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* ai = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &ai); rc != 0) {
    out.error = where + ": " + ::gai_strerror(rc) +
                " (must be HOST:PORT with a numeric address or a resolvable name)";
    out.bad_value = true;
    return out;
  }
  sockaddr_storage ss{};
  std::memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
  const socklen_t len = ai->ai_addrlen;
  const int family = ai->ai_family;
  ::freeaddrinfo(ai);
  // Set-up calls, made once before serving: not on the counted path.
  sys::unique_fd fd(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    out.error = fail("socket", where);
    return out;
  }
  int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    out.error = fail("setsockopt", where);
    return out;
  }
  // Accepted sockets inherit TCP_NODELAY from the listener, so it costs no
  // call per connection. Without it, a pipelined reply's small tail can wait
  // for the peer's delayed ACK (Nagle).
  if (::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
    out.error = fail("setsockopt(TCP_NODELAY)", where);
    return out;
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    out.error = fail("bind", where);
    return out;
  }
  if (::listen(fd.get(), backlog) != 0) {
    out.error = fail("listen", where);
    return out;
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &blen) != 0) {
    out.error = fail("getsockname", where);
    return out;
  }
  out.port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                     : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  out.fd = std::move(fd);
  return out;
}

}  // namespace zc
