#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "server/core/engine_sections.hh"

namespace zc {

// The longest any duration setting may be: far below the range of
// milliseconds, so that a duration added to a clock reading needs no
// overflow check.
inline constexpr std::int64_t max_duration_ms = 24LL * 60 * 60 * 1000;

// Everything a run is configured with. Defaults here are the defaults a
// user gets with no file and no flags.
struct config {
  struct server_section {
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 8080;
    std::string root = ".";
    std::string pid_file;  // "": none; else the process id is written there at start
    unsigned workers = 1;
    std::vector<int> cpu_affinity;        // empty: no pinning; else worker i -> cpu_affinity[i % n]
    std::size_t max_connections = 10000;  // per worker
    std::size_t max_request_line = 8192;  // bytes; over it: 414
    std::size_t max_header_bytes = 16384;  // whole head incl. request line; over it: 431
    std::size_t max_headers = 64;          // header fields; over it: 431
    std::uint64_t max_body = 1 << 20;      // a GET/HEAD body is read and dropped; over it: 413
    std::chrono::milliseconds header_timeout{10'000};    // first byte to end of head
    std::chrono::milliseconds idle_timeout{60'000};      // keep-alive wait for the next request
    std::chrono::milliseconds send_timeout{60'000};      // no progress writing a reply
    std::chrono::milliseconds shutdown_timeout{10'000};  // graceful drain limit
    std::chrono::milliseconds cache_revalidate{1'000};   // file cache entry lifetime before re-stat
    std::size_t cache_entries = 4096;                    // per worker
    std::string index = "index.html";

    // Byte ranges (multipart/byteranges).
    std::size_t max_ranges = 16;  // range-specs in one Range field; more: the whole file, 200
    // Precompressed files and directory listings (issue 11).
    // Codings whose sibling ("x.br", "x.zst", "x.gz") is sent in place of
    // "x" when the client accepts it, in order of preference; empty: off.
    std::vector<std::string> precompressed{"br", "gzip"};
    bool autoindex = false;  // list a directory that has no index file
  } server;

  // [error_pages]: a file beneath the root sent as the body of an error
  // reply, by status; "" (the default) keeps the built-in body. Only
  // statuses the handler picks for a request it understood: the
  // connection layer's 400/408/413/414/431/501/505 keep theirs.
  struct error_pages_section {
    static constexpr std::array<int, 6> statuses{403, 404, 405, 412, 500, 503};
    std::array<std::string, statuses.size()> path;  // path[i] for statuses[i]: "/errors/404.html"

    const std::string* for_status(int status) const noexcept {
      for (std::size_t i = 0; i < statuses.size(); ++i)
        if (statuses[i] == status) return path[i].empty() ? nullptr : &path[i];
      return nullptr;
    }
  } error_pages;

  struct io_section {
    std::string engine = "epoll";
    std::string sender;                    // unset (""): the engine's default, see --list-backends
    std::size_t chunk_bytes = 256 * 1024;  // largest single write/splice step, staging, pipes
    // Largest single sendfile call: no buffer stands behind it, so it can
    // be larger (nginx's sendfile_max_chunk is 2 MiB too).
    std::size_t sendfile_chunk_bytes = 2 * 1024 * 1024;

    // Each engine's own section, [io.<something>]: its settings struct and
    // keys are declared in the engine's folder, the core only holds them.
    engine_sections sections;
  } io;

  // The admin listener: /metrics and /stats, served by a thread of its own
  // so that reading the figures never runs on (or disturbs) a worker.
  struct admin_section {
    bool enabled = true;
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 9180;
    std::chrono::milliseconds window{10'000};  // "last N seconds" figures
  } admin;

  struct log_section {
    std::string level = "info";      // trace, debug, info, warn, error, off
    std::string access_log = "off";  // off, stderr, stdout, or a file path
    // The access log's line format and how long a line may wait in a
    // worker's buffer before it is written.
    std::string access_format = "combined";  // combined or common
    std::chrono::milliseconds flush_interval{1000};
  } log;

  // What a file's path decides about its reply: its Content-Type ([mime]),
  // its Cache-Control ([cache_control]) and whether it is served at all
  // (server.dotfiles). Made into a file_policy once at start
  // (server/core/file_policy.hh).
  struct mime_section {
    std::string types_file = "/etc/mime.types";  // "": the built-in table only
    std::string default_type = "application/octet-stream";
    std::string charset = "utf-8";  // appended to textual types; "": never
    // [mime.types]: extension (lower case, no dot) -> media type
    std::vector<std::pair<std::string, std::string>> types;
  } mime;

  struct cache_control_section {
    std::string default_value;  // cache_control.default; "": no Cache-Control field
    // [cache_control.extensions]: extension (lower case, no dot) -> value
    std::vector<std::pair<std::string, std::string>> extensions;
    // [cache_control.paths]: "/dir" or "/file" (no trailing slash; "/" is
    // everything) -> value, for that path and everything beneath it
    std::vector<std::pair<std::string, std::string>> paths;
  } cache_control;

  enum class dotfiles_mode : std::uint8_t {
    deny,  // a path with a segment starting with '.' is 404, except /.well-known/
    allow,
  };
  dotfiles_mode dotfiles = dotfiles_mode::deny;  // server.dotfiles
};

}  // namespace zc
