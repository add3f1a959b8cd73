#pragma once

// Logging: spdlog for the server's own messages on stderr, and an optional
// access log written by spdlog's asynchronous logger, so a worker only
// formats a line and queues it; a background thread writes in batches.

#include <sys/socket.h>

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "server/config.hh"
#include "server/http_parser.hh"
#include "server/reply.hh"

namespace zc {

// Sets up the default logger and, if configured, the access log. Returns ""
// or an error (for example an access log file that cannot be opened).
std::string init_logging(const config::log_section& cfg);

// Flushes and stops the access log's writer thread.
void shutdown_logging();

// The access logger, or nullptr when the access log is off.
spdlog::logger* access_log() noexcept;

// One Common Log Format line. `req` is nullptr when the head did not parse.
void log_access_line(spdlog::logger& log, const sockaddr_storage& peer, const http::request* req,
                     const reply& r);

}  // namespace zc
