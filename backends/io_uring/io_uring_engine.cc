#include "backends/io_uring/io_uring_engine.hh"

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

#include "backends/sys/counted.hh"
#include "backends/sys/kernel_count.hh"
#include "server/http_date.hh"
#include "server/log.hh"

namespace zc {

namespace {

// Newer than the kernel headers this builds against; the number is ABI.
constexpr unsigned op_fixed_fd_install = 54;

// What this kernel's io_uring can do, probed once per process on a small
// throwaway ring.
struct features {
  std::string why_not;  // "" if the engine can run here
  bool ext_arg = false;
  bool defer_taskrun = false;
  bool coop_taskrun = false;
  bool multishot_accept = false;
  bool multishot_recv = false;
  bool buf_ring = false;
  bool send_zc = false;
  // Whether a SEND_ZC cancelled by a broken link still posts a notification
  // (its completion then carries no F_MORE to say so).
  bool zc_cancel_notifies = false;
  bool fixed_fd_install = false;  // IORING_OP_FIXED_FD_INSTALL (6.8)
  bool splice = false;
  bool sqpoll = false;
  std::string summary;
};

bool kernel_at_least(int major, int minor) {
  utsname u{};
  if (::uname(&u) != 0) return false;
  int ma = 0, mi = 0;
  if (std::sscanf(u.release, "%d.%d", &ma, &mi) != 2) return false;
  return ma > major || (ma == major && mi >= minor);
}

// Asks the kernel itself: a read of a bad descriptor linked to a zero-copy
// send on a socket pair fails, the send is cancelled, and a notification
// follows or not.
bool cancelled_send_zc_notifies() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return false;
  io_uring r;
  bool notified = false;
  if (io_uring_queue_init(4, &r, 0) == 0) {
    static char byte;
    io_uring_sqe* sqe = io_uring_get_sqe(&r);
    io_uring_prep_read(sqe, -1, &byte, 1, 0);
    sqe->flags |= IOSQE_IO_LINK;
    io_uring_prep_send_zc(io_uring_get_sqe(&r), sv[0], &byte, 1, MSG_NOSIGNAL, 0);
    if (io_uring_submit(&r) == 2) {
      for (int i = 0; i < 3; ++i) {
        __kernel_timespec ts{0, 200'000'000};
        io_uring_cqe* cqe;
        if (io_uring_wait_cqe_timeout(&r, &cqe, &ts) != 0) break;
        if (cqe->flags & IORING_CQE_F_NOTIF) notified = true;
        io_uring_cqe_seen(&r, cqe);
      }
    }
    io_uring_queue_exit(&r);
  }
  ::close(sv[0]);
  ::close(sv[1]);
  return notified;
}

bool try_setup(unsigned flags) {
  io_uring r;
  io_uring_params p{};
  p.flags = flags;
  if (io_uring_queue_init_params(4, &r, &p) != 0) return false;
  io_uring_queue_exit(&r);
  return true;
}

const features& probe() {
  static const features f = [] {
    features out;
    io_uring ring;
    io_uring_params p{};
    if (int rc = io_uring_queue_init_params(8, &ring, &p); rc != 0) {
      out.why_not = std::string("io_uring_setup: ") + std::strerror(-rc);
      // Container runtimes' default seccomp profiles leave io_uring out, and
      // their filters answer ENOSYS for a call they do not list.
      if (rc == -ENOSYS && sys::read_process_restrictions().seccomp_filter)
        out.why_not +=
            " (refused by this process's seccomp filter: a container runtime's default "
            "profile leaves io_uring out; docker/seccomp/zcserve.json allows it)";
      else
        out.why_not += " (io_uring disabled by kernel.io_uring_disabled, or not built in?)";
      return out;
    }
    out.ext_arg = (p.features & IORING_FEAT_EXT_ARG) != 0;
    if (io_uring_probe* pr = io_uring_get_probe_ring(&ring)) {
      out.send_zc = io_uring_opcode_supported(pr, IORING_OP_SEND_ZC) != 0;
      out.splice = io_uring_opcode_supported(pr, IORING_OP_SPLICE) != 0;
      out.fixed_fd_install = io_uring_opcode_supported(pr, op_fixed_fd_install) != 0;
      io_uring_free_probe(pr);
    }
    // Buffer rings: register a tiny one and take it back.
    {
      void* mem = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (mem != MAP_FAILED) {
        io_uring_buf_reg reg{};
        reg.ring_addr = reinterpret_cast<std::uint64_t>(mem);
        reg.ring_entries = 8;
        reg.bgid = 0;
        if (io_uring_register_buf_ring(&ring, &reg, 0) == 0) {
          out.buf_ring = true;
          io_uring_unregister_buf_ring(&ring, 0);
        }
        ::munmap(mem, 4096);
      }
    }
    io_uring_queue_exit(&ring);
    // Multishot accept and receive have no probe bit of their own; they came
    // with buffer rings (5.19) and 6.0.
    out.multishot_accept = kernel_at_least(5, 19);
    out.multishot_recv = kernel_at_least(6, 0) && out.buf_ring;
    out.defer_taskrun = try_setup(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
    out.coop_taskrun = try_setup(IORING_SETUP_COOP_TASKRUN);
    out.sqpoll = try_setup(IORING_SETUP_SQPOLL);
    if (out.send_zc) out.zc_cancel_notifies = cancelled_send_zc_notifies();
    if (!out.ext_arg)
      out.why_not = "io_uring lacks IORING_FEAT_EXT_ARG (kernel 5.11+ needed)";
    else if (!out.buf_ring)
      out.why_not = "io_uring lacks provided buffer rings (kernel 5.19+ needed)";
    else if (!out.multishot_accept)
      out.why_not = "io_uring lacks multishot accept (kernel 5.19+ needed)";
    auto yes = [](bool b) { return b ? "yes" : "no"; };
    out.summary = std::string("multishot accept ") + yes(out.multishot_accept) +
                  ", multishot recv " + yes(out.multishot_recv) + ", buffer rings " +
                  yes(out.buf_ring) + ", send_zc " + yes(out.send_zc) + ", splice " +
                  yes(out.splice) + ", single issuer + defer taskrun " + yes(out.defer_taskrun) +
                  ", coop taskrun " + yes(out.coop_taskrun) + ", sqpoll " + yes(out.sqpoll) +
                  ", fixed fd install " + yes(out.fixed_fd_install);
    return out;
  }();
  return f;
}

std::string engine_unusable() {
  return probe().why_not;
}
std::string no_sendfile() {
  return "io_uring has no sendfile operation (splice does the same)";
}
std::string splice_unusable() {
  return probe().splice ? "" : "this kernel's io_uring has no IORING_OP_SPLICE";
}
std::string send_zc_unusable() {
  return probe().send_zc ? "" : "this kernel's io_uring has no IORING_OP_SEND_ZC (6.0+)";
}

constexpr sender_entry senders[] = {
    {"read_write", &always_usable}, {"readv_writev", &always_usable},
    {"mmap", &always_usable},       {"sendfile", &no_sendfile},
    {"splice", &splice_unusable},   {"send_zc", &send_zc_unusable},
};

std::unique_ptr<engine> make(worker_context ctx, std::string_view sender) {
  auto s = uring::make_sender(sender, *ctx.cfg);
  return std::make_unique<io_uring_engine>(std::move(ctx), std::move(s));
}

// user_data: a connection's address with the operation kind in its low
// bits (connections are 16-byte aligned), or a kind alone for the engine's
// own operations.
// k_slot: a file slot's close, the slot number above the kind bits.
enum kind : std::uint64_t {
  k_recv = 1,
  k_send = 2,
  k_accept = 3,
  k_wake = 4,
  k_ignore = 5,  // the engine's own fire-and-forget operations
  k_install = 6,
  k_slot = 7,
  k_shutdown = 8,
};
constexpr std::uint64_t kind_bits = 4;
constexpr std::uint64_t kind_mask = (1u << kind_bits) - 1;

// SO_LINGER 0: the close that drops the socket's last reference resets the
// connection and discards unsent data (and with it the kernel's hold on
// zero-copy pages) instead of sending it behind a FIN.
void reset_on_close(int fd) noexcept {
  const linger abort_now{1, 0};
  sys::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_now, sizeof abort_now);
}

// Provided buffers given to the kernel at start; more as connections hold them.
constexpr unsigned initial_buffers = 64;

unsigned round_up_pow2(unsigned v) {
  unsigned p = 1;
  while (p < v) p <<= 1;
  return p;
}

}  // namespace

engine_info io_uring_engine::descriptor() {
  // No sendfile operation: splice is its zero-copy path (file -> pipe ->
  // socket, linked, in one submission).
  return {"io_uring", &make, senders, &engine_unusable, "splice"};
}

struct alignas(1u << kind_bits) io_uring_engine::conn : timer_node {
  conn(const config& cfg, handler& h) : proto(cfg, h) {}
  int fd = -1;
  connection proto;
  uring::uring_scratch us;
  // Provided buffers not yet moved into proto, oldest first (notes_).
  std::int32_t backlog_head = -1;
  std::int32_t backlog_tail = -1;
  std::uint32_t backlog_count = 0;
  std::vector<file_ref> zc_hold;  // files whose pages zero-copy sends still pin
  std::uint32_t pending = 0;      // operations and notifications still to complete
  std::uint32_t step_left = 0;    // operations of the current send step still to complete
  std::uint32_t zc_notifs = 0;
  bool in_use = false;
  bool closing = false;
  bool recv_armed = false;
  bool recv_paused = false;  // its receive is being cancelled: too many buffers held
  bool peer_eof = false;
  bool lingering = false;
  bool abort = false;      // close with a reset: a reply was cut short with pages pinned
  bool unwinding = false;  // socket closed, notifications still to come
};

io_uring_engine::io_uring_engine(worker_context ctx, std::unique_ptr<uring::uring_sender> s)
    : ctx_(std::move(ctx)),
      cfg_(*ctx_.cfg),
      sender_(std::move(s)),
      cache_(ctx_.root_fd, cfg_.server.cache_entries, cfg_.server.cache_revalidate.count(),
             cache_sharing::one_thread, ctx_.policy),
      handler_(cfg_, cache_),
      timers_(cfg_) {
  const features& f = probe();
  if (!f.why_not.empty()) throw std::runtime_error(f.why_not);
  if (!sender_) throw std::runtime_error("io_uring: unknown sender " + cfg_.io.sender);
  const auto& u = cfg_.io.uring;
  if (u.sqpoll && !f.sqpoll)
    throw std::runtime_error("io.uring.sqpoll = true: this kernel refuses IORING_SETUP_SQPOLL");
  if (u.fixed_files && !f.fixed_fd_install)
    throw std::runtime_error(
        "io.uring.fixed_files = true: this kernel's io_uring lacks IORING_OP_FIXED_FD_INSTALL "
        "(6.8+), which a shutdown needs to abort connections that live only in the file table");
  if (ctx_.id == 0) spdlog::info("io_uring: this kernel offers {}", f.summary);

  io_uring_params p{};
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_R_DISABLED;
  p.cq_entries = u.entries * 4;
  if (u.sqpoll) {
    sqpoll_ = true;
    spin_ns_ = u.sqpoll_spin.count() * 1'000'000LL;
    p.flags |= IORING_SETUP_SQPOLL | IORING_SETUP_SINGLE_ISSUER;
    p.sq_thread_idle = static_cast<unsigned>(u.sq_thread_idle.count());
    if (u.sq_thread_cpu >= 0) {
      p.flags |= IORING_SETUP_SQ_AFF;
      p.sq_thread_cpu = static_cast<unsigned>(u.sq_thread_cpu);
    }
  } else if (f.defer_taskrun) {
    // Completions are posted only when this thread asks (inside the loop's
    // io_uring_enter), never by interrupting it.
    p.flags |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  } else if (f.coop_taskrun) {
    p.flags |= IORING_SETUP_COOP_TASKRUN;
  }
  // Made disabled here, on the main thread, and enabled by the worker in
  // run(): a single-issuer ring belongs to the thread that enables it.
  if (int rc = io_uring_queue_init_params(u.entries, &ring_, &p); rc != 0)
    throw std::runtime_error(std::string("io_uring_setup: ") + std::strerror(-rc));
  ring_ready_ = true;

  nbufs_ = round_up_pow2(u.buffers);
  buf_size_ = static_cast<unsigned>(u.buffer_size);
  buf_ring_bytes_ = nbufs_ * sizeof(io_uring_buf);
  void* ringmem =
      ::mmap(nullptr, buf_ring_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  bufs_bytes_ = static_cast<std::size_t>(nbufs_) * buf_size_;
  void* bufmem =
      ::mmap(nullptr, bufs_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ringmem == MAP_FAILED || bufmem == MAP_FAILED)
    throw std::runtime_error(std::string("io_uring buffers: mmap: ") + std::strerror(errno));
  buf_ring_ = static_cast<io_uring_buf_ring*>(ringmem);
  bufs_ = static_cast<char*>(bufmem);
  io_uring_buf_ring_init(buf_ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(buf_ring_);
  reg.ring_entries = nbufs_;
  reg.bgid = 0;
  if (int rc = io_uring_register_buf_ring(&ring_, &reg, 0); rc != 0)
    throw std::runtime_error(std::string("io_uring_register_buf_ring: ") + std::strerror(-rc));
  give_buffers(initial_buffers);
  conn_bufs_max_ = std::max(2u, nbufs_ / 32);
  notes_.resize(nbufs_);

  if (u.fixed_files) setup_fixed_files();

  wake_.reset(::eventfd(0, EFD_CLOEXEC));
  if (!wake_) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
}

io_uring_engine::~io_uring_engine() {
  // Files still registered outlive the engine in replies' and the cache's
  // hands; they must not call back into it.
  for (cached_file* f : file_slots_)
    if (f != nullptr) f->registrar = nullptr;
  // Connections still open here outlived the drain: abort them. A reset
  // (SO_LINGER 0) drops their unsent data now, which also ends the kernel's
  // hold on any zero-copy pages; a plain close would leave those queued
  // behind a peer that does not read, and the ring's teardown would wait on
  // their notifications.
  for (auto& c : conns_) {
    if (c->fd < 0 || fixed_) continue;  // slots go with the ring (abort_leftovers ran)
    reset_on_close(c->fd);
    sys::close(c->fd);
    c->fd = -1;
  }
  // Tearing the ring down cancels and waits for whatever is still in flight;
  // only then may the memory those operations name go.
  if (ring_ready_) io_uring_queue_exit(&ring_);
  for (auto& c : conns_) sender_->release(c->proto.current().scratch);
  if (buf_ring_ != nullptr) ::munmap(buf_ring_, buf_ring_bytes_);
  if (bufs_ != nullptr) ::munmap(bufs_, bufs_bytes_);
}

void io_uring_engine::stop() noexcept {
  if (!stop_requested_.exchange(true)) sys::eventfd_write(wake_.get(), 1);
}

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
  io_uring_sqe_set_data64(sqe, k_accept);
  accept_armed_ = true;
}

void io_uring_engine::arm_wake() {
  io_uring_sqe* sqe = get();
  io_uring_prep_read(sqe, wake_.get(), &wake_value_, sizeof wake_value_, 0);
  io_uring_sqe_set_data64(sqe, k_wake);
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
  io_uring_sqe_set_data64(sqe, reinterpret_cast<std::uint64_t>(&c) | k_recv);
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

void io_uring_engine::drop_front_buffer(conn& c) noexcept {
  const auto bid = static_cast<unsigned>(c.backlog_head);
  c.backlog_head = notes_[bid].next;
  if (c.backlog_head < 0) c.backlog_tail = -1;
  --c.backlog_count;
  return_buffer(bid);
}

void io_uring_engine::drop_backlog(conn& c) noexcept {
  while (c.backlog_head >= 0) drop_front_buffer(c);
}

// Stops a connection's multishot receive: it holds its share of the
// provided buffers, which it will not drain before its replies leave.
void io_uring_engine::pause_recv(conn& c) {
  if (!c.recv_armed || c.recv_paused || !probe().multishot_recv) return;
  c.recv_paused = true;
  io_uring_sqe* sqe = get();
  io_uring_prep_cancel64(sqe, reinterpret_cast<std::uint64_t>(&c) | k_recv, 0);
  io_uring_sqe_set_data64(sqe, k_ignore);
}

void io_uring_engine::run() {
  // liburing 2.3 declares io_uring_enable_rings() but does not export it.
  if (::syscall(SYS_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0) !=
      0)
    throw std::runtime_error(std::string("io_uring_register(ENABLE_RINGS): ") +
                             std::strerror(errno));
  arm_accept();
  arm_wake();
  for (;;) {
    std::int64_t now = monotonic_ms();
    submit_and_wait(now);
    now = monotonic_ms();
    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      on_cqe(*cqe, now);
      ++seen;
    }
    io_uring_cq_advance(&ring_, seen);
    if (!starved_.empty() && bufs_held_ < bufs_given_) {
      // Buffers came back: receive again where the ring had run dry (not
      // before: the receive would fail at once, and the loop would spin).
      std::vector<conn*> again;
      again.swap(starved_);
      for (conn* c : again)
        if (c->in_use && !c->closing && !c->recv_armed) arm_recv(*c);
    }
    if (out_of_fds_.ends(now) && !accept_armed_ && !draining_ && !accept_paused_) arm_accept();
    expire(now);
    // A connection whose socket is closed and only awaits zero-copy
    // notifications has nothing left to finish: its bytes are the kernel's.
    if (draining_ && ((live_ == unwinding_ && !accept_armed_) || now >= drain_deadline_)) break;
  }
  if (fixed_) abort_leftovers();
}

void io_uring_engine::on_cqe(const io_uring_cqe& cqe, std::int64_t now) {
  const std::uint64_t ud = io_uring_cqe_get_data64(&cqe);
  const std::uint64_t k = ud & kind_mask;
  if (k == k_accept) return on_accept(cqe, now);
  if (k == k_wake) {
    wake_armed_ = false;
    return begin_drain(now);
  }
  if (k == k_ignore || ud == k_install) return;
  if (k == k_slot) {
    free_file_slots_.push_back(static_cast<int>(ud >> kind_bits));
    return;
  }
  conn& c = *reinterpret_cast<conn*>(ud & ~kind_mask);
  if (k == k_recv) return on_recv(c, cqe, now);
  if (k == k_send) return on_send(c, cqe, now);
  if (k == k_shutdown) {
    --c.pending;
    if (c.closing) maybe_finalize(c);
  }
  if (k == k_install) {
    // A descriptor for an aborted connection's slot: set SO_LINGER 0 through
    // it and drop it; closing the slot then resets the connection.
    --c.pending;
    if (cqe.res >= 0) {
      reset_on_close(cqe.res);
      sys::close(cqe.res);
    }
    maybe_finalize(c);
  }
}

void io_uring_engine::on_accept(const io_uring_cqe& cqe, std::int64_t now) {
  if (!(cqe.flags & IORING_CQE_F_MORE)) accept_armed_ = false;
  if (cqe.res < 0) {
    if (cqe.res == -ENFILE && fixed_) {
      // Every socket slot is taken: the next connection waits in the
      // listen backlog until one is closed.
      spdlog::warn("worker {}: accept: all {} socket slots of the file table in use", ctx_.id,
                   sock_slots_);
      accept_paused_ = true;
      return;
    }
    if (accept_pause::applies(-cqe.res)) {
      // Re-arming at once would fail at once, again and again: wait.
      out_of_fds_.begin(ctx_.id, "accept", -cqe.res, now);
      if (accept_armed_) {
        io_uring_sqe* sqe = get();
        io_uring_prep_cancel64(sqe, k_accept, 0);
        io_uring_sqe_set_data64(sqe, k_ignore);
      }
      return;
    }
    if (cqe.res != -ECANCELED && cqe.res != -EINVAL)
      spdlog::warn("worker {}: accept: {}", ctx_.id, std::strerror(-cqe.res));
  } else if (draining_) {
    if (fixed_)
      close_slot(cqe.res, k_ignore);
    else
      sys::close(cqe.res);
  } else if (live_ >= cfg_.server.max_connections) {
    // Over the limit: a short 503 if the socket takes it at once, then close.
    if (fixed_) {
      reserve(2);  // the send and the close it is linked to
      io_uring_sqe* sqe = get();
      io_uring_prep_send(sqe, cqe.res, busy_reply.data(), busy_reply.size(),
                         MSG_NOSIGNAL | MSG_DONTWAIT);
      sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK;  // closed even if the send fails
      io_uring_sqe_set_data64(sqe, k_ignore);
      close_slot(cqe.res, k_ignore);
    } else {
      send_busy_reply(cqe.res);
      sys::close(cqe.res);
    }
  } else {
    conn* c;
    if (!free_.empty()) {
      c = free_.back();
      free_.pop_back();
    } else {
      conns_.push_back(std::make_unique<conn>(cfg_, handler_));
      c = conns_.back().get();
    }
    c->fd = cqe.res;
    c->proto.reset();
    if (access_log() != nullptr) {
      if (fixed_) {
        std::memcpy(&c->proto.peer, &accept_addr_, sizeof accept_addr_);
      } else {
        // A multishot accept has no per-connection address buffer: ask, but
        // only when the address will be used.
        socklen_t len = sizeof c->proto.peer;
        sys::getpeername(c->fd, reinterpret_cast<sockaddr*>(&c->proto.peer), &len);
      }
    }
    c->in_use = true;
    c->closing = c->recv_armed = c->recv_paused = c->peer_eof = c->lingering = c->abort = false;
    c->pending = c->step_left = c->zc_notifs = 0;
    ++live_;
    arm_recv(*c);
    timers_.arm(*c, conn_timers::header, now);
  }
  if (!accept_armed_ && !draining_ && !accept_paused_ && !out_of_fds_.active()) arm_accept();
}

void io_uring_engine::on_recv(conn& c, const io_uring_cqe& cqe, std::int64_t now) {
  // A multishot receive stays one operation in flight until its last
  // completion, the one without F_MORE.
  if (!(cqe.flags & IORING_CQE_F_MORE)) {
    --c.pending;
    c.recv_armed = false;
  }
  if (!c.recv_armed) c.recv_paused = false;
  if (cqe.res > 0) {
    const unsigned bid = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
    if (++bufs_held_ * 2 >= bufs_given_) give_buffers(bufs_given_ * 2);
    // The kernel copied these bytes into our buffer.
    sys::counters().copied_to_user.add(static_cast<std::uint64_t>(cqe.res));
    if (c.closing || c.lingering) {
      return_buffer(bid);
    } else {
      hold_buffer(c, bid, static_cast<std::uint32_t>(cqe.res));
      if (c.backlog_count >= conn_bufs_max_) pause_recv(c);
    }
  } else if (cqe.res == -ENOBUFS) {
    give_buffers(bufs_given_ * 2);
    starved_.push_back(&c);
  } else if (cqe.res == -ECANCELED && !c.closing) {
    // pause_recv's cancel: the bytes wait in the socket (and the peer's
    // window closes) until the backlog drains and drive() receives again.
  } else {
    c.peer_eof = true;  // 0: the peer's FIN; an error: the connection is gone
  }
  if (c.closing) return maybe_finalize(c);
  if (c.lingering) {
    if (c.peer_eof) close_conn(c);
    return;
  }
  drive(c, now);
}

void io_uring_engine::on_send(conn& c, const io_uring_cqe& cqe, std::int64_t now) {
  if (cqe.flags & IORING_CQE_F_NOTIF) {
    // The kernel is done with a zero-copy send's pages.
    if (c.zc_notifs == 0) return;  // not announced: nothing was counted for it
    --c.pending;
    if (--c.zc_notifs == 0) c.zc_hold.clear();
    if (c.closing) maybe_finalize(c);
    return;
  }
  --c.pending;
  // A zero-copy send says with F_MORE that a notification will follow; one
  // cancelled by a broken link says nothing, yet on some kernels a
  // notification follows it too (probed at start-up). Either way the
  // connection may not be freed before it arrives.
  const uring::step_ops& st = c.us.step;
  const bool zc_op = st.done < st.count && st.ops[st.done] == uring::op::send_zc;
  if ((cqe.flags & IORING_CQE_F_MORE) ||
      (zc_op && cqe.res == -ECANCELED && probe().zc_cancel_notifies)) {
    ++c.zc_notifs;
    ++c.pending;
    const file_ref& f = c.proto.current().file;
    if (c.zc_hold.empty() || c.zc_hold.back().get() != f.get()) c.zc_hold.push_back(f);
  }
  const uring::result res = sender_->complete(c.proto.current(), c.us, cqe);
  --c.step_left;
  if (c.closing) return maybe_finalize(c);
  if (res == uring::result::failed) {
    if (cqe.res == 0 || cqe.res == -EFAULT)
      spdlog::warn("worker {}: {}: file ended before its promised length; closing", ctx_.id,
                   sender_->name());
    else if (zc_op && cqe.res != -EPIPE && cqe.res != -ECONNRESET)
      log_send_zc_error(-cqe.res);
    else if (cqe.res != -EPIPE && cqe.res != -ECONNRESET)
      spdlog::debug("worker {}: send: {}", ctx_.id, std::strerror(-cqe.res));
    return close_conn(c);
  }
  if (c.step_left == 0) drive(c, now);
}

// A zero-copy send that fails for a reason of this host (not the peer's
// going away) fails every large reply alike, and the client sees only a
// closed connection: say why, on the 1st, 2nd, 4th, 8th... failure so that
// a flood of them costs a few lines.
void io_uring_engine::log_send_zc_error(int err) {
  ++send_zc_errors_;
  if ((send_zc_errors_ & (send_zc_errors_ - 1)) != 0) return;
  if (err == ENOMEM || err == ENOBUFS) {
    // The kernel accounts a zero-copy send's pinned pages to the user's
    // locked memory; past RLIMIT_MEMLOCK (8 MiB by default, 64 KiB on
    // older systems) the send fails, unless the process has CAP_IPC_LOCK.
    rlimit r{};
    ::getrlimit(RLIMIT_MEMLOCK, &r);
    spdlog::warn(
        "worker {}: send_zc: {} ({} so far; connection closed): the pinned pages of replies "
        "in flight exceed RLIMIT_MEMLOCK ({}); raise it (ulimit -l, podman --ulimit memlock=) "
        "or grant CAP_IPC_LOCK",
        ctx_.id, std::strerror(err), send_zc_errors_,
        r.rlim_cur == RLIM_INFINITY ? std::string("unlimited")
                                    : std::to_string(r.rlim_cur / 1024) + " KiB");
  } else {
    spdlog::warn("worker {}: send_zc: {} ({} so far; connection closed)", ctx_.id,
                 std::strerror(err), send_zc_errors_);
  }
}

void io_uring_engine::drive(conn& c, std::int64_t now) {
  for (;;) {
    if (c.closing || c.step_left > 0) return;
    if (c.proto.replying()) {
      reply& r = c.proto.current();
      int err = 0;
      reserve(uring::max_step_ops);
      in_chain_ = true;
      const int n = sender_->prep(*this, sock(c), r, c.us,
                                  reinterpret_cast<std::uint64_t>(&c) | k_send, &err);
      in_chain_ = false;
      if (n < 0) {
        if (err == 0)
          spdlog::warn("worker {}: {}: file ended before its promised length; closing", ctx_.id,
                       sender_->name());
        return close_conn(c);
      }
      if (n > 0) {
        c.step_left = static_cast<std::uint32_t>(n);
        c.pending += static_cast<std::uint32_t>(n);
        timers_.arm(c, conn_timers::send, now);
        return;
      }
      // This part is out: the next one (of a multipart body) is prepared
      // the same way, after the last step of this one has completed.
      if (r.next_part()) continue;
      sender_->release(r.scratch);
      const bool linger = c.proto.linger_on_close();
      if (c.proto.reply_sent()) return linger ? start_linger(c, now) : close_conn(c);
      continue;
    }
    switch (c.proto.advance(now)) {
      case connection::step::send:
        timers_.disarm(c);
        continue;
      case connection::step::close:
        return close_conn(c);
      case connection::step::need_input:
        break;
    }
    if (c.backlog_head >= 0) {
      // Move received bytes into the connection's buffer; a provided buffer
      // goes back to the kernel as soon as it is drained.
      const auto bid = static_cast<unsigned>(c.backlog_head);
      buf_note& b = notes_[bid];
      std::span<char> space = c.proto.read_space();
      const std::size_t n = std::min<std::size_t>(space.size(), b.len - b.off);
      std::memcpy(space.data(), bufs_ + static_cast<std::size_t>(bid) * buf_size_ + b.off, n);
      c.proto.commit(n);
      b.off += static_cast<std::uint32_t>(n);
      if (b.off == b.len) drop_front_buffer(c);
      continue;
    }
    if (c.peer_eof) return close_conn(c);
    if (!c.recv_armed) arm_recv(c);
    if (c.proto.has_partial_request()) {
      if (c.list != conn_timers::header) timers_.arm(c, conn_timers::header, now);
    } else {
      timers_.arm(c, c.proto.requests() == 0 ? conn_timers::header : conn_timers::idle, now);
    }
    return;
  }
}

void io_uring_engine::start_linger(conn& c, std::int64_t now) {
  // FIN now, then drop what the peer still sends until it closes or the
  // linger time ends, so its unread input does not turn our close into a
  // reset that destroys the reply.
  if (fixed_)
    sock_shutdown(c, SHUT_WR);  // an operation: its failure shows in the receive
  else if (sys::shutdown(c.fd, SHUT_WR) != 0)
    return close_conn(c);
  c.lingering = true;
  drop_backlog(c);
  timers_.arm(c, conn_timers::linger, now);
  if (c.peer_eof) return close_conn(c);
  if (!c.recv_armed) arm_recv(c);
}

void io_uring_engine::close_conn(conn& c) {
  if (c.closing) return;
  c.closing = true;
  timers_.disarm(c);
  // A reply cut short (error, timeout) whose zero-copy pages are still in
  // the socket: nothing more will be sent, so reset rather than leave them
  // pinned behind a peer that may never read.
  c.abort = c.zc_notifs > 0 && c.proto.replying();
  // Operations still in flight keep the socket open; each must complete
  // before it is closed. With only the receive left (the usual case after a
  // last reply), cancelling it is enough and costs no system call; anything
  // else (a send step, a linked chain not yet started) is ended by shutting
  // the socket down, which fails whatever comes next.
  const std::uint32_t ops = c.pending - c.zc_notifs;
  if (ops == 1 && c.recv_armed && c.step_left == 0) {
    io_uring_sqe* sqe = get();
    io_uring_prep_cancel64(sqe, reinterpret_cast<std::uint64_t>(&c) | k_recv, 0);
    io_uring_sqe_set_data64(sqe, k_ignore);
  } else if (ops > 0) {
    sock_shutdown(c, SHUT_RDWR);
  }
  maybe_finalize(c);
}

void io_uring_engine::maybe_finalize(conn& c) {
  if (!c.closing || c.pending > c.zc_notifs) return;  // operations still name the socket
  // With SQPOLL the process cannot exit while zero-copy pages are in flight
  // (the kernel's teardown of the polling thread waits for them), so the
  // socket stays open until they are released: a drain that runs out of
  // time can then reset it instead of hanging on a peer that never reads.
  if (sqpoll_ && c.pending > 0 && !c.abort) return;
  if (c.fd >= 0) {
    // Closed as soon as no operation uses it, even if zero-copy notifications
    // are still to come: the kernel keeps the pages until the peer has the
    // bytes or the orphaned socket is given up on, and only the connection's
    // bookkeeping waits for that.
    if (c.abort) {
      if (fixed_) {
        // SO_LINGER needs a descriptor: install one for the slot first; the
        // close follows its completion (on_install).
        prep_fd_install(c.fd, reinterpret_cast<std::uint64_t>(&c) | k_install);
        ++c.pending;
        c.abort = false;
        return;
      }
      reset_on_close(c.fd);
    }
    sock_close(c);
    c.fd = -1;
    if (c.pending > 0) {
      c.unwinding = true;
      ++unwinding_;
    }
    if (accept_paused_) {
      accept_paused_ = false;  // a socket slot is free once this close has run
      if (!accept_armed_ && !draining_) arm_accept();
    }
  }
  if (c.pending > 0) return;  // notifications still to come
  if (c.unwinding) {
    c.unwinding = false;
    --unwinding_;
  }
  drop_backlog(c);
  c.zc_hold.clear();
  sender_->release(c.proto.current().scratch);
  c.proto.reset();
  c.in_use = false;
  free_.push_back(&c);
  --live_;
}

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
  io_uring_sqe_set_data64(sqe, reinterpret_cast<std::uint64_t>(&c) | k_shutdown);
  ++c.pending;
}

void io_uring_engine::sock_close(conn& c) {
  if (fixed_)
    close_slot(c.fd, k_ignore);
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

uring::fd_ref io_uring_engine::file(cached_file& f) {
  if (!fixed_) return {f.fd.get(), false};
  if (f.registrar == this) return {f.registered_slot, true};
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
  f.registrar = this;
  f.registered_slot = slot;
  return {slot, true};
}

void io_uring_engine::forget(int slot) noexcept {
  // The file left the cache and no reply holds it: empty its slot, which
  // is reused once that close has run.
  file_slots_[static_cast<std::size_t>(slot) - sock_slots_] = nullptr;
  try {
    close_slot(slot, (static_cast<std::uint64_t>(slot) << kind_bits) | k_slot);
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
  for (auto& c : conns_) {
    if (!c->in_use || c->fd < 0) continue;
    prep_fd_install(c->fd, k_install);
    ++waiting;
  }
  const std::int64_t deadline = monotonic_ms() + 1000;
  while (waiting > 0 && monotonic_ms() < deadline) {
    enter(flush_sq(), 1, 100);
    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      if (io_uring_cqe_get_data64(cqe) != k_install) continue;
      --waiting;
      if (cqe->res < 0) continue;
      reset_on_close(cqe->res);
      sys::close(cqe->res);
    }
    io_uring_cq_advance(&ring_, seen);
  }
  for (auto& c : conns_) {
    if (!c->in_use || c->fd < 0) continue;
    close_slot(c->fd, k_ignore);
    c->fd = -1;
  }
  enter(flush_sq(), 0, -1);
}

int io_uring_engine::wait_timeout(std::int64_t now) const {
  std::int64_t next = std::min(timers_.next_deadline(), out_of_fds_.resume_at());
  if (draining_) next = std::min(next, drain_deadline_);
  return conn_timers::wait_ms(next, now);
}

void io_uring_engine::expire(std::int64_t now) {
  while (timer_node* n = timers_.expired(now)) close_conn(static_cast<conn&>(*n));
}

void io_uring_engine::begin_drain(std::int64_t now) {
  if (draining_) return;
  draining_ = true;
  drain_deadline_ = now + cfg_.server.shutdown_timeout.count();
  // Stop accepting: cancel the multishot accept; the kernel refuses new
  // connections once the listener closes with the engine.
  if (accept_armed_) {
    io_uring_sqe* sqe = get();
    io_uring_prep_cancel64(sqe, k_accept, 0);
    io_uring_sqe_set_data64(sqe, k_ignore);
  }
  ::shutdown(ctx_.listener.get(), SHUT_RD);
  for (auto& p : conns_) {
    conn& c = *p;
    if (!c.in_use || c.closing) continue;
    if (c.proto.replying() || c.lingering)
      c.proto.finish_after_current();
    else
      close_conn(c);
  }
}

}  // namespace zc
