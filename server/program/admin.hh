#pragma once

// The admin listener: /metrics (Prometheus text) and /stats (JSON), served
// by a thread of its own so that reading the figures never runs on a
// worker. The same thread takes a snapshot every second, which gives the
// "last N seconds" figures. Its own system calls are plain (not counted by
// the wrapper layer: it is not the serving path) but the kernel's process
// counter sees them, like every thread's.

#include <atomic>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "server/core/config.hh"
#include "server/program/metrics.hh"
#include "server/sys/unique_fd.hh"

namespace zc {

class admin_server {
 public:
  // Takes the start snapshot. `listener` may be empty (admin off): then only
  // the snapshots are kept, for the exit table.
  admin_server(const config& cfg, sys::unique_fd listener, metrics_labels labels);
  ~admin_server();

  void start();
  void stop();

  // Thread-safe.
  snapshot start_snapshot() const;
  std::string table_now() const;

 private:
  void run();
  void serve_one(int fd);
  void tick();

  const config& cfg_;
  sys::unique_fd listener_;
  sys::unique_fd wake_;
  metrics_labels labels_;
  std::thread thread_;
  mutable std::mutex mu_;  // guards start_ and history_
  snapshot start_;
  std::deque<snapshot> history_;  // one per second, oldest first, spanning the window
};

}  // namespace zc
