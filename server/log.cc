#include "server/log.hh"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <memory>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace zc {

namespace {
std::unique_ptr<access_logger> g_access;

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

std::string init_logging(const config::log_section& cfg, unsigned workers) {
  auto main = spdlog::stderr_color_mt("zcserve");
  main->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  auto level = spdlog::level::from_str(cfg.level);
  main->set_level(level);
  spdlog::set_default_logger(main);

  if (cfg.access_log == "off") return "";
  const access_format format =
      cfg.access_format == "common" ? access_format::common : access_format::combined;
  try {
    g_access = std::make_unique<access_logger>(cfg.access_log, format, cfg.flush_interval, workers);
  } catch (const std::exception& e) {
    return "log.access_log = \"" + cfg.access_log + "\": " + e.what() +
           " (must be off, stderr, stdout, or a file that can be opened for appending)";
  }
  return "";
}

void shutdown_logging() {
  if (g_access) g_access->stop();
  spdlog::shutdown();
}

access_logger* access_log() noexcept {
  return g_access.get();
}

void reopen_access_log() {
  if (g_access) g_access->reopen();
}

void log_access_line(access_logger& log, const sockaddr_storage& peer, const http::request* req,
                     const reply& r) {
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
  e.status = r.status;
  e.bytes = r.body == body_kind::none ? 0 : r.length;
  log.append(e);
}

}  // namespace zc
