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
#include "backends/dpdk/stack.hh"
#include "backends/dpdk/tcp.hh"
#include "backends/driver.hh"
#include "backends/engine.hh"
#include "backends/registry.hh"
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
  // The sender on this engine, read_write: a file range is read into the
  // connection's staging buffer (pread: the kernel's copy) and copied into
  // the stack's buffers (the stack's copy); heads and in-memory bodies are
  // copied into the stack.
  class body_sender {
   public:
    body_sender(dpdk_engine& e, const config& cfg) : e_(e), cfg_(cfg) {}
    send_result send(conn& c, reply& r);
    void release(send_scratch& s) noexcept;

   private:
    send_result send_part(conn& c, reply& r);
    dpdk_engine& e_;
    const config& cfg_;
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
  void linger_read(conn& c);
  void refuse(dpdk::conn_id id);

  worker_context ctx_;
  const config& cfg_;
  worker_files files_;
  std::unique_ptr<dpdk::device> dev_;
  std::unique_ptr<dpdk::stack> stack_;
  std::unique_ptr<dpdk::tcp> tcp_;
  body_sender sender_;
  conn_driver<dpdk_engine, conn, body_sender> driver_;
  std::vector<conn*> by_id_;  // the driver's connection for each TCP id
  std::vector<dpdk::tcp_event_entry> events_;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace zc
