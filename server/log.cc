#include "server/log.hh"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "server/http_date.hh"

namespace zc {

namespace {
std::shared_ptr<spdlog::logger> g_access;

std::string_view method_name(const http::request& req) {
  return req.method_text;
}
}  // namespace

std::string init_logging(const config::log_section& cfg) {
  auto main = spdlog::stderr_color_mt("zcserve");
  main->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  auto level = spdlog::level::from_str(cfg.level);
  main->set_level(level);
  spdlog::set_default_logger(main);

  if (cfg.access_log == "off") return "";
  try {
    // A bounded queue and one writer thread: workers never wait on the disk;
    // when the queue is full the oldest lines are dropped, not the request.
    spdlog::init_thread_pool(65536, 1);
    spdlog::sink_ptr sink;
    if (cfg.access_log == "stderr")
      sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    else if (cfg.access_log == "stdout")
      sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    else
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(cfg.access_log);
    g_access = std::make_shared<spdlog::async_logger>(
        "access", sink, spdlog::thread_pool(), spdlog::async_overflow_policy::overrun_oldest);
    g_access->set_pattern("%v");
    g_access->set_level(spdlog::level::info);
    g_access->flush_on(spdlog::level::err);
  } catch (const spdlog::spdlog_ex& e) {
    return std::string("log.access_log = ") + cfg.access_log + ": " + e.what();
  }
  return "";
}

void shutdown_logging() {
  if (g_access) g_access->flush();
  g_access.reset();
  spdlog::shutdown();
}

spdlog::logger* access_log() noexcept {
  return g_access.get();
}

void log_access_line(spdlog::logger& log, const sockaddr_storage& peer, const http::request* req,
                     const reply& r) {
  char addr[INET6_ADDRSTRLEN] = "-";
  if (peer.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&peer);
    inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof addr);
  } else if (peer.ss_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&peer);
    inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof addr);
  }
  const std::uint64_t body = r.body_bytes();
  if (req != nullptr) {
    log.info("{} - - [{}] \"{} {} HTTP/1.{}\" {} {}", addr, http_date_now(), method_name(*req),
             req->target, req->ver == http::version::http11 ? 1 : 0, r.status, body);
  } else {
    log.info("{} - - [{}] \"-\" {} {}", addr, http_date_now(), r.status, body);
  }
}

}  // namespace zc
