#pragma once

// Logging, set up by the program: spdlog for the server's own messages on
// stderr, and the optional access log (server/core/access_log.hh), which the
// connections write to through access_log().

#include <string>

#include "server/core/access_log.hh"
#include "server/core/config.hh"

namespace zc {

// Sets up the default logger and, if configured, the access log with a
// buffer for each of `workers` workers. Returns "" or an error (for
// example an access log file that cannot be opened).
std::string init_logging(const config::log_section& cfg, unsigned workers);

// Writes every buffered access log line and stops the access log's writer.
void shutdown_logging();

// Reopens the access log file by its path (SIGHUP, after logrotate).
void reopen_access_log();

}  // namespace zc
