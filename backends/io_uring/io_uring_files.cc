// Descriptors: a connection's socket (ordinary or a fixed-table slot), its
// shutdown and close, files registered in the fixed table (the engine is
// the keeper of their cache entries' notes), and what is left open at the
// end.

#include "backends/io_uring/io_uring_internal.hh"

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "server/core/http_date.hh"
#include "server/sys/counted.hh"
#include "server/sys/kernel_count.hh"

namespace zc {

using namespace uring_detail;

uring::fd_ref io_uring_engine::sock(const conn& c) const noexcept {
  return {c.fd, fixed_};
}

void io_uring_engine::sock_shutdown(conn& c, int how) {
  if (!fixed_) {
    sys::shutdown(c.fd, how);
    return;
  }
  // The kernel runs a shutdown in a worker thread and looks the slot up
  // only then: the connection keeps its slot until it has completed, or the
  // shutdown would hit whichever connection was accepted into it next.
  io_uring_sqe* sqe = get();
  io_uring_prep_shutdown(sqe, c.fd, how);
  sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(sqe, op_tag::of(c, op_tag::shutdown).bits());
  ++c.pending;
}

void io_uring_engine::sock_close(conn& c) {
  if (fixed_)
    close_slot(c.fd, op_tag::of(op_tag::ignore).bits());
  else
    sys::close(c.fd);
}

// A process descriptor for a fixed slot (IORING_OP_FIXED_FD_INSTALL): the
// completion's result, for the calls that need one (setsockopt).
void io_uring_engine::prep_fd_install(int slot, std::uint64_t user_data) {
  io_uring_sqe* sqe = get();
  io_uring_prep_rw(static_cast<int>(op_fixed_fd_install), sqe, slot, nullptr, 0, 0);
  sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(sqe, user_data);
}

void io_uring_engine::close_slot(int slot, std::uint64_t user_data) {
  io_uring_sqe* sqe = get();
  io_uring_prep_close_direct(sqe, static_cast<unsigned>(slot));
  io_uring_sqe_set_data64(sqe, user_data);
}

void io_uring_engine::setup_fixed_files() {
  // One table per ring, at most RLIMIT_NOFILE slots (main raises the soft
  // limit to the hard one): room for server.max_connections sockets plus a
  // few closing, and for as many files as the cache keeps plus those that
  // replies in flight still hold after the cache let go of them.
  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  const std::uint64_t limit = std::min<std::uint64_t>(nofile.rlim_cur, 1u << 20);
  const std::uint64_t files = std::min<std::uint64_t>(cfg_.server.cache_entries + 64, limit / 4);
  const std::uint64_t socks =
      std::min<std::uint64_t>(cfg_.server.max_connections + 64, limit - files);
  if (socks < 16)
    throw std::runtime_error("io.uring.fixed_files = true: RLIMIT_NOFILE (" +
                             std::to_string(nofile.rlim_cur) +
                             ") leaves no room for a file table; raise it (ulimit -n)");
  if (socks < cfg_.server.max_connections && ctx_.id == 0)
    spdlog::warn(
        "io_uring: RLIMIT_NOFILE {} bounds the file table: {} connections per worker, not "
        "server.max_connections = {}; more wait in the listen backlog",
        nofile.rlim_cur, socks, cfg_.server.max_connections);
  sock_slots_ = static_cast<unsigned>(socks);
  const auto total = static_cast<unsigned>(socks + files);
  if (int rc = io_uring_register_files_sparse(&ring_, total); rc != 0)
    throw std::runtime_error(std::string("io.uring.fixed_files: registering a table of ") +
                             std::to_string(total) + " files: " + std::strerror(-rc));
  if (int rc = io_uring_register_file_alloc_range(&ring_, 0, sock_slots_); rc != 0)
    throw std::runtime_error(std::string("io.uring.fixed_files: file allocation range: ") +
                             std::strerror(-rc));
  fixed_ = true;
  file_slots_.assign(files, nullptr);
  for (unsigned i = total; i > sock_slots_; --i)
    free_file_slots_.push_back(static_cast<int>(i - 1));
}

// A served file's slot lives on its cache entry, as the core's engine_note
// (server/core/file_cache.hh): the keeper is this engine, the word the slot.
// The core stores the note and, when the entry dies (the cache let it go
// and the last reply holding it ended), calls entry_gone() with the word;
// it never knows what a slot is. So a request finds its file's slot with
// one comparison, an engine without a file table pays nothing per request,
// and a slot is emptied exactly when its file's last holder lets go.
uring::fd_ref io_uring_engine::file(cached_file& f) {
  if (!fixed_) return {f.fd.get(), false};
  if (f.note.keeper == this) return {static_cast<int>(f.note.word), true};
  if (free_file_slots_.empty()) return {f.fd.get(), false};  // full: the ordinary descriptor
  const int slot = free_file_slots_.back();
  int fd = f.fd.get();
  io_uring_files_update up{};
  up.offset = static_cast<unsigned>(slot);
  up.fds = reinterpret_cast<std::uint64_t>(&fd);
  // Once per file (not per request): the served file joins the table.
  if (sys::io_uring_register(static_cast<unsigned>(ring_.ring_fd), IORING_REGISTER_FILES_UPDATE,
                             &up, 1) != 1)
    return {fd, false};
  free_file_slots_.pop_back();
  file_slots_[static_cast<std::size_t>(slot) - sock_slots_] = &f;
  f.note = {this, slot};
  return {slot, true};
}

void io_uring_engine::entry_gone(std::int64_t word) noexcept {
  // The file left the cache and no reply holds it: empty its slot, which
  // is reused once that close has run.
  const int slot = static_cast<int>(word);
  file_slots_[static_cast<std::size_t>(slot) - sock_slots_] = nullptr;
  try {
    close_slot(slot, op_tag::of_slot(slot).bits());
  } catch (const std::exception& e) {
    spdlog::warn("worker {}: file slot {} not released: {}", ctx_.id, slot, e.what());
  }
}

// After the drain: connections still open live only in the file table, so a
// descriptor is installed for each to set SO_LINGER 0 on, and then closing
// the slot resets them (dropping unsent data and the kernel's hold on
// zero-copy pages) instead of leaving them queued behind a silent peer.
void io_uring_engine::abort_leftovers() {
  unsigned waiting = 0;
  // Open or closing alike: a socket still in its slot.
  driver_.for_each_conn([&](conn& c) {
    if (c.fd < 0) return;
    prep_fd_install(c.fd, op_tag::of(op_tag::install).bits());
    ++waiting;
  });
  const std::int64_t deadline = monotonic_ms() + 1000;
  while (waiting > 0 && monotonic_ms() < deadline) {
    enter(flush_sq(), 1, 100);
    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      if (io_uring_cqe_get_data64(cqe) != op_tag::of(op_tag::install).bits()) continue;
      --waiting;
      if (cqe->res < 0) continue;
      reset_on_close(cqe->res);
      sys::close(cqe->res);
    }
    io_uring_cq_advance(&ring_, seen);
  }
  driver_.for_each_conn([this](conn& c) {
    if (c.fd < 0) return;
    close_slot(c.fd, op_tag::of(op_tag::ignore).bits());
    c.fd = -1;
  });
  enter(flush_sq(), 0, -1);
}

}  // namespace zc
