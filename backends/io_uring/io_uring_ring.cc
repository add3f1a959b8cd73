// The submission queue and the provided receive buffers.

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

#include "server/core/access_log.hh"
#include "server/core/http_date.hh"
#include "server/sys/counted.hh"
#include "server/sys/kernel_count.hh"

namespace zc {

using namespace uring_detail;

// The submission queue tail is published to the kernel here, with release
// ordering when a polling thread reads it concurrently.
unsigned io_uring_engine::flush_sq() noexcept {
  io_uring_sq& sq = ring_.sq;
  const unsigned tail = sq.sqe_tail;
  if (sq.sqe_head != tail) {
    sq.sqe_head = tail;
    if (sqpoll_)
      io_uring_smp_store_release(sq.ktail, tail);
    else
      IO_URING_WRITE_ONCE(*sq.ktail, tail);
  }
  return tail - io_uring_smp_load_acquire(sq.khead);
}

void io_uring_engine::enter(unsigned to_submit, unsigned wait, int timeout_ms) {
  unsigned flags = 0;
  if (sqpoll_) {
    io_uring_smp_mb();
    if (IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_NEED_WAKEUP)
      flags |= IORING_ENTER_SQ_WAKEUP;
    to_submit = 0;  // the polling thread takes them
  }
  __kernel_timespec ts{};
  io_uring_getevents_arg arg{};
  const void* argp = nullptr;
  std::size_t argsz = 0;
  if (wait > 0 || !sqpoll_) flags |= IORING_ENTER_GETEVENTS;
  if (wait > 0 && timeout_ms >= 0) {
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = (timeout_ms % 1000) * 1'000'000LL;
    arg.ts = reinterpret_cast<std::uint64_t>(&ts);
    argp = &arg;
    argsz = sizeof arg;
    flags |= IORING_ENTER_EXT_ARG;
  }
  if (flags == 0 && to_submit == 0) return;
  int rc = sys::io_uring_enter(static_cast<unsigned>(ring_.ring_fd), to_submit, wait, flags, argp,
                               argsz);
  if (rc < 0 && errno != ETIME && errno != EINTR && errno != EBUSY && errno != EAGAIN)
    throw std::runtime_error(std::string("io_uring_enter: ") + std::strerror(errno));
}

io_uring_sqe* io_uring_engine::get() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe != nullptr) return sqe;
  // Submitting now would cut the chain being prepared in two.
  if (in_chain_) throw std::logic_error("io_uring: a linked step outgrew the room made for it");
  reserve(1);
  return io_uring_get_sqe(&ring_);
}

// Makes room for `n` more entries in the submission queue. Without a polling
// thread, submitting what is queued empties it. With SQPOLL the kernel's
// thread takes entries at its own pace (and may be asleep): wake it if need
// be and wait in the kernel (IORING_ENTER_SQ_WAIT) until it has taken some.
// A full queue is back-pressure, never a reason to stop serving.
void io_uring_engine::reserve(unsigned n) {
  if (io_uring_sq_space_left(&ring_) >= n) return;
  enter(flush_sq(), 0, -1);
  for (int tries = 0; io_uring_sq_space_left(&ring_) < n; ++tries) {
    if (!sqpoll_) {
      // The kernel takes every entry it is given unless it cannot allocate
      // a request for one; give it those again.
      if (tries == 100) throw std::runtime_error("io_uring: the kernel takes no more submissions");
      enter(flush_sq(), 0, -1);
      continue;
    }
    unsigned flags = IORING_ENTER_SQ_WAIT;
    io_uring_smp_mb();
    if (IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_NEED_WAKEUP)
      flags |= IORING_ENTER_SQ_WAKEUP;
    if (sys::io_uring_enter(static_cast<unsigned>(ring_.ring_fd), 0, 0, flags, nullptr, 0) < 0 &&
        errno != EINTR)
      throw std::runtime_error(std::string("io_uring_enter(SQ_WAIT): ") + std::strerror(errno));
  }
}

void io_uring_engine::submit_and_wait(std::int64_t now) {
  const unsigned to_submit = flush_sq();
  if (io_uring_cq_ready(&ring_) > 0) {
    // Completions are already there: submit without waiting (with SQPOLL
    // and the polling thread awake, that takes no system call at all).
    if (to_submit > 0) enter(to_submit, 0, -1);
    return;
  }
  if (sqpoll_) {
    if (to_submit > 0) enter(0, 0, -1);  // wakes the polling thread only if it sleeps
    // Poll the completion queue for a while before sleeping in the kernel:
    // the price of not making a system call, paid in this worker's CPU.
    timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
      if (io_uring_cq_ready(&ring_) > 0) return;
      timespec t;
      clock_gettime(CLOCK_MONOTONIC, &t);
      if ((t.tv_sec - start.tv_sec) * 1'000'000'000LL + (t.tv_nsec - start.tv_nsec) > spin_ns_)
        break;
      __builtin_ia32_pause();
    }
  }
  enter(to_submit, 1, wait_timeout(now));
}

void io_uring_engine::arm_accept() {
  io_uring_sqe* sqe = get();
  if (!fixed_) {
    io_uring_prep_multishot_accept(sqe, ctx_.listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
  } else if (access_log() == nullptr) {
    io_uring_prep_multishot_accept_direct(sqe, ctx_.listener.get(), nullptr, nullptr, 0);
  } else {
    // A direct socket has no descriptor to ask getpeername about: take the
    // address with the accept, one accept at a time.
    accept_addrlen_ = sizeof accept_addr_;
    io_uring_prep_accept_direct(sqe, ctx_.listener.get(),
                                reinterpret_cast<sockaddr*>(&accept_addr_), &accept_addrlen_, 0,
                                IORING_FILE_INDEX_ALLOC - 1);
  }
  io_uring_sqe_set_data64(sqe, op_tag::of(op_tag::accept).bits());
  accept_armed_ = true;
}

void io_uring_engine::arm_wake() {
  io_uring_sqe* sqe = get();
  io_uring_prep_read(sqe, wake_.get(), &wake_value_, sizeof wake_value_, 0);
  io_uring_sqe_set_data64(sqe, op_tag::of(op_tag::wake).bits());
  wake_armed_ = true;
}

void io_uring_engine::arm_recv(conn& c) {
  io_uring_sqe* sqe = get();
  if (probe().multishot_recv)
    io_uring_prep_recv_multishot(sqe, c.fd, nullptr, 0, 0);
  else
    io_uring_prep_recv(sqe, c.fd, nullptr, buf_size_, 0);
  uring::target(sqe, sock(c));
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = 0;
  io_uring_sqe_set_data64(sqe, op_tag::of(c, op_tag::recv).bits());
  ++c.pending;
  c.recv_armed = true;
}

// The kernel takes provided buffers in ring order, so every buffer in the
// ring is written to (its first page made resident) within a few cycles,
// however few are in use at once. The ring therefore starts small and is
// given more only when connections hold half of it, or it ran dry: a
// worker serving idle keep-alive connections keeps 64 buffers resident, not
// io.uring.buffers of them.
void io_uring_engine::give_buffers(unsigned total) noexcept {
  total = std::min(total, nbufs_);
  const int mask = io_uring_buf_ring_mask(nbufs_);
  for (unsigned i = bufs_given_; i < total; ++i)
    io_uring_buf_ring_add(buf_ring_, bufs_ + static_cast<std::size_t>(i) * buf_size_, buf_size_,
                          static_cast<unsigned short>(i), mask, static_cast<int>(i - bufs_given_));
  if (total > bufs_given_)
    io_uring_buf_ring_advance(buf_ring_, static_cast<int>(total - bufs_given_));
  bufs_given_ = std::max(bufs_given_, total);
}

void io_uring_engine::return_buffer(unsigned bid) noexcept {
  --bufs_held_;
  io_uring_buf_ring_add(buf_ring_, bufs_ + static_cast<std::size_t>(bid) * buf_size_, buf_size_,
                        static_cast<unsigned short>(bid), io_uring_buf_ring_mask(nbufs_), 0);
  io_uring_buf_ring_advance(buf_ring_, 1);
}

void io_uring_engine::hold_buffer(conn& c, unsigned bid, std::uint32_t len) noexcept {
  notes_[bid] = {0, len, -1};
  if (c.backlog_tail >= 0)
    notes_[static_cast<unsigned>(c.backlog_tail)].next = static_cast<std::int32_t>(bid);
  else
    c.backlog_head = static_cast<std::int32_t>(bid);
  c.backlog_tail = static_cast<std::int32_t>(bid);
  ++c.backlog_count;
}

// The kernel goes on filling provided buffers for a connection until the
// cancel of its receive lands (with SQPOLL on a busy machine, milliseconds
// later), and a multishot receive fills many in one go before the worker
// sees the first: past its cap, what a connection receives is copied into
// memory of its own and the buffer given back, so that no connection holds
// more than its share of the ring however late the stop lands. The copy
// costs only connections that pipeline far ahead of their replies.
void io_uring_engine::spill_buffer(conn& c, unsigned bid, std::uint32_t len) {
  if (!c.spill) c.spill = std::make_unique<conn::spilled_input>();
  c.spill->bytes.append(bufs_ + static_cast<std::size_t>(bid) * buf_size_, len);
  return_buffer(bid);
}

// Moves received bytes into the connection's buffer, oldest first: the
// provided buffers it holds, then what was spilled. False when there were
// none. A provided buffer goes back to the kernel as soon as it is drained.
bool io_uring_engine::take_input(conn& c) {
  std::span<char> space = c.proto.read_space();
  if (c.backlog_head >= 0) {
    const auto bid = static_cast<unsigned>(c.backlog_head);
    buf_note& b = notes_[bid];
    const std::size_t n = std::min<std::size_t>(space.size(), b.len - b.off);
    std::memcpy(space.data(), bufs_ + static_cast<std::size_t>(bid) * buf_size_ + b.off, n);
    c.proto.commit(n);
    b.off += static_cast<std::uint32_t>(n);
    if (b.off == b.len) drop_front_buffer(c);
    return true;
  }
  if (c.spill) {
    conn::spilled_input& sp = *c.spill;
    const std::size_t n = std::min(space.size(), sp.bytes.size() - sp.off);
    std::memcpy(space.data(), sp.bytes.data() + sp.off, n);
    c.proto.commit(n);
    sp.off += n;
    if (sp.off == sp.bytes.size()) c.spill.reset();
    return true;
  }
  return false;
}

void io_uring_engine::drop_front_buffer(conn& c) noexcept {
  const auto bid = static_cast<unsigned>(c.backlog_head);
  c.backlog_head = notes_[bid].next;
  if (c.backlog_head < 0) c.backlog_tail = -1;
  --c.backlog_count;
  return_buffer(bid);
}

void io_uring_engine::drop_backlog(conn& c) noexcept {
  while (c.backlog_head >= 0) drop_front_buffer(c);
  c.spill.reset();
}

// Stops a connection's multishot receive: it holds its share of the
// provided buffers, which it will not drain before its replies leave.
void io_uring_engine::pause_recv(conn& c) {
  if (!c.recv_armed || c.recv_paused || !probe().multishot_recv) return;
  c.recv_paused = true;
  io_uring_sqe* sqe = get();
  io_uring_prep_cancel64(sqe, op_tag::of(c, op_tag::recv).bits(), 0);
  io_uring_sqe_set_data64(sqe, op_tag::of(op_tag::ignore).bits());
}

}  // namespace zc
