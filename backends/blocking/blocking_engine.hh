#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/accept_pause.hh"
#include "backends/engine.hh"
#include "backends/registry.hh"
#include "backends/sender.hh"
#include "backends/worker.hh"

namespace zc {

// A thread per connection: the design the event engines exist to replace,
// kept as the baseline they are measured against. The worker thread only
// accepts; each connection is served by a thread of its own with blocking
// recv and send, so every wait for a request is a sleep in the kernel and
// every request a wake-up: the context switches epoll and io_uring remove.
//
// Each connection thread is a port of the shared connection driver
// (backends/driver.hh), with a driver of its own for the one connection it
// serves: the driver decides what comes next and which deadline runs, the
// thread waits for it in blocking calls. Each thread owns its connection
// and a copy of the worker's handler; the worker's file cache is one,
// shared by its threads (cache_sharing::threads: a mutex and atomic
// reference counts), so the descriptors it keeps are bounded by its
// budget, not multiplied by the threads; the sender is one too (only
// splice's pipe pool has state, and it locks). A thread whose connection
// has closed parks and serves the next one, instead of ending: thread
// count stays at the peak number of connections, and so do the per-thread
// counter blocks, which are never freed.
//
// Threads get 64 KiB stacks, not the 8 MiB default reservation: nothing on
// a connection thread's path keeps more than a few KiB on its stack. The
// connection limit is the same as the other engines' (one descriptor per
// connection); a thread that cannot be made is a 503, like a connection
// over the limit.
class blocking_engine final : public engine {
 public:
  blocking_engine(worker_context ctx, sender_kind sender);
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
  static void* thread_entry(void* arg);
  void thread_main(conn_thread& t);
  void drain();
  void end_all(std::unique_lock<std::mutex>& lock);

  worker_context ctx_;
  const config& cfg_;
  worker_files files_;           // the cache is shared by every connection thread of this worker
  std::unique_ptr<sender> out_;  // the same
  sys::unique_fd wake_;          // eventfd: stop() writes, the acceptor's poll wakes
  std::atomic<bool> stop_requested_{false};
  // Set (under mu_) when the drain begins; connection threads read it
  // without the lock before each wait for a request and after each reply.
  std::atomic<bool> draining_{false};
  accept_pause out_of_fds_;  // accept failed for want of descriptors or memory

  std::mutex mu_;  // guards everything below, and each thread's socket while it closes
  std::condition_variable all_closed_;                 // the drain waits on it for live_ == 0
  std::vector<std::unique_ptr<conn_thread>> threads_;  // every thread ever started
  std::vector<conn_thread*> parked_;                   // threads with no connection
  std::size_t live_ = 0;                               // connections being served
  bool quit_ = false;                                  // parked threads end
};

}  // namespace zc
