#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "backends/accept_pause.hh"
#include "backends/conn_timers.hh"
#include "backends/driver.hh"
#include "backends/engine.hh"
#include "backends/io_uring/io_uring_settings.hh"
#include "backends/io_uring/uring_steps.hh"
#include "backends/registry.hh"
#include "backends/worker.hh"
#include "server/core/connection.hh"
#include "server/core/file_cache.hh"
#include "server/core/handler.hh"

namespace zc {

// Completions, not readiness: the worker keeps a multishot accept and a
// multishot receive per connection armed in the kernel, and each loop
// iteration hands the kernel every new operation and waits for
// completions in one io_uring_enter. Received bytes land in a ring of
// provided buffers; replies go out as the operations io_uring's executor
// makes of the sender's steps (uring_steps.hh).
// Each connection's life is the shared driver's (backends/driver.hh); this
// engine is its completion port.
class io_uring_engine final : public engine, private uring::sqe_source, private entry_keeper {
 public:
  static engine_info descriptor();

  io_uring_engine(worker_context ctx, std::unique_ptr<sender> s);
  ~io_uring_engine() override;

  std::string_view name() const noexcept override { return "io_uring"; }
  void run() override;
  void stop() noexcept override;

 private:
  struct conn;
  friend class conn_driver<io_uring_engine, conn>;

  // The port the driver drives connections through (backends/driver.hh).
  static constexpr bool completion = true;
  read_status receive(conn& c);
  void wait_readable(conn& c);
  bool write_blocked(const conn& c) const noexcept;
  void wait_writable(conn&) noexcept {}  // a send never says "again": it is in flight
  void deadline_set(conn&) noexcept {}   // the loop's wait looks at the lists
  send_result send(conn& c, reply& r);
  bool shutdown_write(conn& c);
  void start_linger(conn& c);
  void release(conn& c) { close_conn(c); }

  io_uring_sqe* get() override;
  void reserve(unsigned n);
  uring::fd_ref file(cached_file& f) override;
  void entry_gone(std::int64_t slot) noexcept override;
  void setup_fixed_files();
  unsigned flush_sq() noexcept;
  void enter(unsigned to_submit, unsigned wait, int timeout_ms);
  void submit_and_wait(std::int64_t now);

  void arm_accept();
  void arm_wake();
  void arm_recv(conn& c);
  void on_cqe(const io_uring_cqe& cqe, std::int64_t now);
  void on_accept(const io_uring_cqe& cqe, std::int64_t now);
  void on_recv(conn& c, const io_uring_cqe& cqe, std::int64_t now);
  void on_send(conn& c, const io_uring_cqe& cqe, std::int64_t now);
  void log_send_zc_error(int err);
  void close_conn(conn& c);
  void maybe_finalize(conn& c);
  void return_buffer(unsigned bid) noexcept;
  void give_buffers(unsigned total) noexcept;
  void hold_buffer(conn& c, unsigned bid, std::uint32_t len) noexcept;
  void spill_buffer(conn& c, unsigned bid, std::uint32_t len);
  bool take_input(conn& c);
  void drop_front_buffer(conn& c) noexcept;
  void drop_backlog(conn& c) noexcept;
  void pause_recv(conn& c);
  uring::fd_ref sock(const conn& c) const noexcept;
  void sock_shutdown(conn& c, int how);
  void sock_close(conn& c);
  void close_slot(int slot, std::uint64_t user_data);
  void prep_fd_install(int slot, std::uint64_t user_data);
  void abort_leftovers();
  int wait_timeout(std::int64_t now) const;
  void begin_drain(std::int64_t now);

  worker_context ctx_;
  const config& cfg_;
  std::unique_ptr<sender> sender_;
  uring::executor steps_;  // carries sender_'s steps out as linked operations
  worker_files files_;
  io_uring ring_{};
  bool ring_ready_ = false;
  bool sqpoll_ = false;
  std::int64_t spin_ns_ = 0;  // with SQPOLL: completion polling before sleeping
  // Provided receive buffers: the kernel picks one per receive.
  io_uring_buf_ring* buf_ring_ = nullptr;
  std::size_t buf_ring_bytes_ = 0;
  char* bufs_ = nullptr;
  std::size_t bufs_bytes_ = 0;
  unsigned nbufs_ = 0;       // io.uring.buffers: the most the ring is given
  unsigned bufs_given_ = 0;  // buffers [0, bufs_given_) are in the kernel's ring or held
  unsigned buf_size_ = 0;
  unsigned bufs_held_ = 0;  // provided buffers the kernel filled and we have not given back
  // Per provided buffer, while a connection holds it: what was received in
  // it, how much of that is consumed, and the connection's next buffer. A
  // connection's backlog is a list threaded through these, so an idle
  // connection carries two integers for it, not a container.
  struct buf_note {
    std::uint32_t off = 0;
    std::uint32_t len = 0;
    std::int32_t next = -1;
  };
  std::vector<buf_note> notes_;
  // The most a connection may hold before its receive is stopped: one that
  // pipelines requests while its replies do not leave must not take the
  // buffers every other connection receives into.
  unsigned conn_bufs_max_ = 0;
  bool in_chain_ = false;  // a linked step is being prepared: get() must not submit
  // Registered (direct) descriptors, with io.uring.fixed_files: slots
  // [0, sock_slots_) take accepted connections (the kernel picks a free one),
  // the rest hold served files, registered on first use. A registered
  // file's slot is in its cache entry's engine_note (this engine, the slot),
  // so a request finds it without a lookup here; file_slots_ is the way
  // back, for the destructor (io_uring_files.cc).
  bool fixed_ = false;
  unsigned sock_slots_ = 0;
  std::vector<cached_file*> file_slots_;
  std::vector<int> free_file_slots_;
  sockaddr_storage accept_addr_{};  // a direct accept's peer, when the access log wants it
  socklen_t accept_addrlen_ = 0;
  bool accept_paused_ = false;  // the socket slots were full: accept again when one frees
  accept_pause out_of_fds_;     // accept failed for want of descriptors or memory
  sys::unique_fd wake_;
  std::uint64_t wake_value_ = 0;
  bool accept_armed_ = false;
  bool wake_armed_ = false;
  conn_driver<io_uring_engine, conn> driver_;
  std::vector<conn*> starved_;  // receive stopped for want of buffers
  // Of the driver's live connections: sockets closed, zero-copy
  // notifications still to come.
  std::size_t unwinding_ = 0;
  std::uint64_t send_zc_errors_ = 0;  // failed zero-copy sends, for log_send_zc_error
  std::atomic<bool> stop_requested_{false};
};

}  // namespace zc
