#pragma once

// Kernel bypass: DPDK's poll-mode driver moves frames, lwIP (in the
// process) is the TCP/IP stack, and the worker polls both in a loop of its
// own; no socket, no interrupt. The engine is a port of the shared driver
// (backends/driver.hh) like every other: the driver decides each
// connection's life, the engine moves bytes through the stack. Sends go
// through the port, as on a completion engine: the stack has no descriptor
// a sender could write to. See docs/backends/dpdk.md.

#include <atomic>
#include <memory>
#include <string_view>
#include <vector>

#include "backends/dpdk/device.hh"
#include "backends/dpdk/dpdk_settings.hh"
#include "backends/dpdk/stack.hh"
#include "backends/dpdk/tcp.hh"
#include "backends/driver.hh"
#include "backends/engine.hh"
#include "backends/registry.hh"
#include "backends/sender.hh"
#include "backends/senders/kinds.hh"
#include "backends/worker.hh"

namespace zc {

class dpdk_engine final : public engine {
 public:
  dpdk_engine(worker_context ctx, sender_kind sender);
  ~dpdk_engine() override;

  static engine_info descriptor();

  std::string_view name() const noexcept override { return "dpdk"; }
  void run() override;
  void stop() noexcept override;

  struct conn;
  // The executor of the senders' steps (backends/senders/steps.hh) on this
  // engine: writes into the stack. Heads, in-memory bodies and staged
  // bytes are copied into it (for read_write, the staging read is pread:
  // the kernel's copy, then the copy into the stack's buffers); mapped
  // bytes (mmap) are handed to it by reference, as bytes of the file
  // cache's mapping, the entry held until the peer has acknowledged them
  // (hold/let_go), so that the only copy is the one into a transmit buffer.
  class body_sender {
   public:
    body_sender(dpdk_engine& e, std::unique_ptr<sender> s) : e_(e), sender_(std::move(s)) {}
    send_result send(conn& c, reply& r);
    void release(send_state& st) noexcept { sender_->release(st); }

   private:
    step_outcome carry_out(step st, conn& c, reply& r, std::size_t chunk);
    step_outcome head(conn& c, reply& r, bool more);
    step_outcome copy_range(conn& c, reply& r, std::size_t chunk);
    step_outcome by_reference(conn& c, reply& r, std::size_t chunk);
    dpdk_engine& e_;
    std::unique_ptr<sender> sender_;
  };

 private:
  friend class conn_driver<dpdk_engine, conn, body_sender>;

  // The port (backends/driver.hh).
  static constexpr bool completion = true;
  read_status receive(conn& c);
  void wait_readable(conn&) noexcept {}  // the stack reports input as events
  bool write_blocked(const conn& c) const noexcept;
  void wait_writable(conn& c) noexcept;
  void deadline_set(conn&) noexcept {}  // the loop looks at the lists every turn
  void start_linger(conn&) noexcept {}  // input keeps coming as events; dropped there
  void release(conn& c);
  int sock(const conn& c) const noexcept;
  send_result send(conn& c, reply& r) { return sender_.send(c, r); }
  bool shutdown_write(conn& c);

  void on_event(const dpdk::tcp_event_entry& e, std::int64_t now);
  void flush_when_due();
  void linger_read(conn& c);
  void refuse(dpdk::conn_id id);

  // File bytes the stack references (the mmap sender): each entry is held
  // until the peer acknowledged the last byte written from it, even past
  // the connection's close (tcp::close keeps the id until then).
  // Each is also a reference in page_guard's table, so that a page the
  // file loses while the stack references it reads as zeros that are
  // never sent, instead of killing the process.
  class held {
   public:
    held(file_ref f, std::uint64_t end) : file_(std::move(f)), end_(end) {}
    held(held&& o) noexcept : file_(std::move(o.file_)), end_(o.end_) {}
    held& operator=(held&& o) noexcept;
    ~held();
    held(const held&) = delete;
    held& operator=(const held&) = delete;
    // Registers the mapping with page_guard; false when its table is full.
    bool guard() noexcept;
    const file_ref& file() const noexcept { return file_; }
    std::uint64_t end() const noexcept { return end_; }
    void extend(std::uint64_t end) noexcept { end_ = end; }

   private:
    file_ref file_;
    std::uint64_t end_;  // tcp::written() after its last byte
  };
  // Makes sure `f` is held for connection `id` up to what it has written;
  // false when it cannot be guarded (the sender copies instead).
  bool hold(dpdk::conn_id id, const file_ref& f);
  void let_go(dpdk::conn_id id);
  // A referenced page was lost (page_guard): the frames queued may hold
  // its zeros and are dropped, every connection that references a range
  // that lost a page is reset, and its cache entry is opened anew.
  void recover_from_lost_pages();
  void abort_conn(dpdk::conn_id id);

  worker_context ctx_;
  const config& cfg_;
  const dpdk_settings& own_;  // [io.dpdk], looked up once
  worker_files files_;
  std::unique_ptr<dpdk::device> dev_;
  std::unique_ptr<dpdk::stack> stack_;
  std::unique_ptr<dpdk::tcp> tcp_;
  body_sender sender_;
  conn_driver<dpdk_engine, conn, body_sender> driver_;
  std::vector<conn*> by_id_;             // the driver's connection for each TCP id
  std::vector<std::vector<held>> held_;  // by TCP id
  std::vector<dpdk::tcp_event_entry> events_;
  // When the oldest frame still queued was queued (µs), or -1: none is.
  std::int64_t queued_since_us_ = -1;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace zc
