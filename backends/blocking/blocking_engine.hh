#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/engine.hh"
#include "backends/registry.hh"
#include "backends/worker.hh"

namespace zc {

// A thread per connection: the design the event engines exist to replace,
// kept as the baseline they are measured against. The worker thread only
// accepts; each connection is served by a thread of its own with blocking
// recv and send, so every wait for a request is a sleep in the kernel and
// every request a wake-up: the context switches epoll and io_uring remove.
//
// The protocol core is single-threaded by design (the file cache counts
// references without atomics), so each connection thread owns a complete
// set: connection, file cache, handler and sender. A thread whose
// connection has closed parks and serves the next one, instead of ending:
// thread count stays at the peak number of connections, and so do the
// per-thread counter blocks, which are never freed.
class blocking_engine final : public engine {
 public:
  blocking_engine(worker_context ctx, std::string sender);
  ~blocking_engine() override;

  static engine_info descriptor();

  std::string_view name() const noexcept override { return "blocking"; }
  void run() override;
  void stop() noexcept override;

 private:
  struct conn_thread;

  void accept_ready(std::int64_t now);
  void start(int fd, const sockaddr_storage& peer);
  void refuse(int fd);
  void thread_main(conn_thread& t);
  void serve(conn_thread& t);
  void linger(conn_thread& t);
  void drain();
  void end_all(std::unique_lock<std::mutex>& lock);

  worker_context ctx_;
  const config& cfg_;
  std::string sender_;   // each connection thread makes its own sender by this name
  sys::unique_fd wake_;  // eventfd: stop() writes, the acceptor's poll wakes
  std::atomic<bool> stop_requested_{false};
  // Set (under mu_) when the drain begins; connection threads read it
  // without the lock before each wait for a request and after each reply.
  std::atomic<bool> draining_{false};
  std::int64_t accept_resume_ = 0;  // after EMFILE: accept paused until then (0: not paused)

  std::mutex mu_;  // guards everything below, and each thread's socket while it closes
  std::condition_variable all_closed_;                 // the drain waits on it for live_ == 0
  std::vector<std::unique_ptr<conn_thread>> threads_;  // every thread ever started
  std::vector<conn_thread*> parked_;                   // threads with no connection
  std::size_t live_ = 0;                               // connections being served
  bool quit_ = false;                                  // parked threads end
};

}  // namespace zc
