#include "server/program/log.hh"

#include <memory>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace zc {

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
    install_access_log(
        std::make_unique<access_logger>(cfg.access_log, format, cfg.flush_interval, workers));
  } catch (const std::exception& e) {
    return "log.access_log = \"" + cfg.access_log + "\": " + e.what() +
           " (must be off, stderr, stdout, or a file that can be opened for appending)";
  }
  return "";
}

void shutdown_logging() {
  if (access_logger* log = access_log()) log->stop();
  spdlog::shutdown();
}

void reopen_access_log() {
  if (access_logger* log = access_log()) log->reopen();
}

}  // namespace zc
