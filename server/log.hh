#pragma once

// Logging: spdlog for the server's own messages on stderr, and an optional
// access log (server/access_log.hh): lines formatted in place into each
// worker's buffer, written many to a writev() by a thread of its own.

#include <sys/socket.h>

#include <string>

#include "server/access_log.hh"
#include "server/config.hh"
#include "server/http_parser.hh"
#include "server/reply.hh"

namespace zc {

// Sets up the default logger and, if configured, the access log with a
// buffer for each of `workers` workers. Returns "" or an error (for
// example an access log file that cannot be opened).
std::string init_logging(const config::log_section& cfg, unsigned workers);

// Writes every buffered access log line and stops the access log's writer.
void shutdown_logging();

// The access log, or nullptr when it is off.
access_logger* access_log() noexcept;

// Reopens the access log file by its path (SIGHUP, after logrotate).
void reopen_access_log();

// One line. `req` is nullptr when the head did not parse.
void log_access_line(access_logger& log, const sockaddr_storage& peer, const http::request* req,
                     const reply& r);

}  // namespace zc
