#pragma once

// What every engine instance is given: its worker number, the config, its
// own SO_REUSEPORT listening socket and the document root.

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "server/core/config.hh"
#include "server/core/file_cache.hh"
#include "server/core/file_policy.hh"
#include "server/core/handler.hh"
#include "server/sys/unique_fd.hh"

namespace zc {

struct worker_context {
  int id = 0;
  const config* cfg = nullptr;
  sys::unique_fd listener;  // non-blocking, listening
  int root_fd = -1;         // O_PATH descriptor of the document root, shared, not owned
  // Content-Type and Cache-Control by path, shared read-only, not owned;
  // nullptr: the defaults (see file_policy.hh)
  const file_policy* policy = nullptr;
};

// What a worker serves with, made the same way on every engine: its file
// cache (server.cache_entries entries, revalidated after
// server.cache_revalidate, typed by the shared file policy) and the
// handler over it. `sharing`: the blocking engine's connection threads
// share one cache, each serving with a copy of `http` (a handler keeps a
// request's scratch).
struct worker_files {
  explicit worker_files(const worker_context& ctx,
                        cache_sharing sharing = cache_sharing::one_thread);
  file_cache cache;
  handler http;
};

struct listen_result {
  sys::unique_fd fd;
  std::uint16_t port = 0;  // the port actually bound (useful when asked for 0)
  std::string error;       // "" on success
  bool bad_value = false;  // the address itself is wrong (a configuration error)
};

// A non-blocking TCP listener with SO_REUSEADDR and SO_REUSEPORT, so every
// worker has its own accept queue and the kernel spreads connections.
// `key` names the setting in error messages.
listen_result make_listener(const std::string& host, std::uint16_t port, int backlog = 4096,
                            std::string_view key = "server.listen");

// What a connection over server.max_connections gets, sent with
// MSG_DONTWAIT before the close: the connections already served are not
// disturbed, and a client that cannot take it at once gets the close alone.
// A built-in text, or error_pages.503 read at start (set_busy_page); set
// before any worker starts and never changed after, so workers read it
// without a lock.
extern std::string_view busy_reply;

// Makes busy_reply carry `body` as its Content-Type `type`, in place of
// the built-in text. Called once, before the workers start.
void set_busy_page(std::string_view type, std::string_view body);

// Sends busy_reply on `fd` as described; the caller closes it.
void send_busy_reply(int fd) noexcept;

// A worker that cannot go on (its ring or event loop failed) stops the whole
// server: the other workers drain as on SIGTERM, and the process then exits
// non-zero so that a supervisor restarts it. Safe from any thread.
void stop_server_fatally() noexcept;
// True once stop_server_fatally() was called.
bool stopped_fatally() noexcept;

// How RLIMIT_NOFILE is shared out, per worker. A connection costs one
// descriptor, its socket: a splice reply borrows a pipe only while it is in
// flight, from a pool bounded to `pipes` (pipes_per_worker()), and the
// files it serves come from the worker's cache, bounded to `files` entries.
// The process keeps `reserve` for itself (listeners, event loops, rings,
// logs, the admin server). Files a reply holds after the cache let go of
// them are not reserved: they are few, bounded by the connections, and an
// open that finds no descriptor makes the cache close idle entries and try
// again before it answers 503.
//
// The blocking engine's connection is also a thread, and every serving
// thread holds a perf counter of its own system calls (when the kernel
// count is available): two descriptors per connection there.
struct descriptor_plan {
  std::uint64_t reserve = 0;    // the whole process's own descriptors
  unsigned per_connection = 1;  // descriptors each connection holds for its life
  std::size_t connections = 0;  // per worker: server.max_connections, or fewer
  std::size_t files = 0;        // per worker: server.cache_entries, or fewer
  std::size_t pipes = 0;        // per worker, two descriptors each (splice only)
};

// Fits cfg's connections and cache to `nofile` descriptors. Connections
// come first: the cache gets at least 1/20 of the limit (if it wants that
// many entries) and whatever server.max_connections leaves beyond that.
descriptor_plan plan_descriptors(std::uint64_t nofile, const config& cfg) noexcept;

// "host:port", with brackets for IPv6.
std::string format_endpoint(const std::string& host, std::uint16_t port);

}  // namespace zc
