// The loop, the completions, and the port through which the shared driver
// (backends/driver.hh) runs each connection.

#include "backends/io_uring/io_uring_internal.hh"

#include <sched.h>
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

namespace {

// The CPUs this thread (the main thread, which makes every ring: the
// polling thread starts with its mask) may run on.
std::vector<int> allowed_cpus() {
  std::vector<int> out;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return out;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) out.push_back(c);
  return out;
}

}  // namespace

io_uring_engine::io_uring_engine(worker_context ctx, std::unique_ptr<sender> s)
    : ctx_(std::move(ctx)),
      cfg_(*ctx_.cfg),
      sender_(std::move(s)),
      steps_(*sender_, cfg_),
      files_(ctx_),
      driver_(ctx_.id, cfg_, files_.http, *sender_, *this) {
  const features& f = probe();
  if (!f.why_not.empty()) throw std::runtime_error(f.why_not);
  const uring_settings& u = cfg_.io.sections.get<uring_settings>();
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
    const sq_placement where =
        place_sq_thread(u, allowed_cpus(), cfg_.server.cpu_affinity, cfg_.server.workers, ctx_.id);
    if (where.cpu >= 0) {
      p.flags |= IORING_SETUP_SQ_AFF;
      p.sq_thread_cpu = static_cast<unsigned>(where.cpu);
    }
    if (where.shares_a_cpu && ctx_.id == 0)
      spdlog::warn("{}", where.note);
    else if (!where.note.empty())
      spdlog::info("{}", where.note);
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
    if (f != nullptr) f->note = {};
  // Connections still open here outlived the drain: abort them. A reset
  // (SO_LINGER 0) drops their unsent data now, which also ends the kernel's
  // hold on any zero-copy pages; a plain close would leave those queued
  // behind a peer that does not read, and the ring's teardown would wait on
  // their notifications.
  driver_.for_each_conn([this](conn& c) {
    if (c.fd < 0 || fixed_) return;  // slots go with the ring (abort_leftovers ran)
    reset_on_close(c.fd);
    sys::close(c.fd);
    c.fd = -1;
  });
  // Tearing the ring down cancels and waits for whatever is still in flight;
  // only then may the memory those operations name go.
  if (ring_ready_) io_uring_queue_exit(&ring_);
  driver_.for_each_conn([this](conn& c) { sender_->release(c.sending); });
  if (buf_ring_ != nullptr) ::munmap(buf_ring_, buf_ring_bytes_);
  if (bufs_ != nullptr) ::munmap(bufs_, bufs_bytes_);
}

void io_uring_engine::stop() noexcept {
  if (!stop_requested_.exchange(true)) sys::eventfd_write(wake_.get(), 1);
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
    if (out_of_fds_.ends(now) && !accept_armed_ && !driver_.draining() && !accept_paused_)
      arm_accept();
    driver_.expire(now);
    // Drained once the cancelled accept has completed too, or at the deadline.
    if (driver_.drained(now, unwinding_) && (!accept_armed_ || now >= driver_.drain_deadline()))
      break;
  }
  if (fixed_) abort_leftovers();
}

void io_uring_engine::on_cqe(const io_uring_cqe& cqe, std::int64_t now) {
  const op_tag tag = op_tag::from(io_uring_cqe_get_data64(&cqe));
  conn* c = tag.connection<conn>();
  switch (tag.what()) {
    case op_tag::accept:
      return on_accept(cqe, now);
    case op_tag::wake:
      wake_armed_ = false;
      return begin_drain(now);
    case op_tag::ignore:
      return;
    case op_tag::slot:
      free_file_slots_.push_back(tag.slot_number());
      return;
    case op_tag::recv:
      return on_recv(*c, cqe, now);
    case op_tag::send:
      return on_send(*c, cqe, now);
    case op_tag::shutdown:
      --c->pending;
      if (c->closing) maybe_finalize(*c);
      return;
    case op_tag::install:
      // The engine's own (abort_leftovers() reaps those itself).
      if (c == nullptr) return;
      // A descriptor for an aborted connection's slot: set SO_LINGER 0
      // through it and drop it; closing the slot then resets the connection.
      --c->pending;
      if (cqe.res >= 0) {
        reset_on_close(cqe.res);
        sys::close(cqe.res);
      }
      maybe_finalize(*c);
      return;
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
        io_uring_prep_cancel64(sqe, op_tag::of(op_tag::accept).bits(), 0);
        io_uring_sqe_set_data64(sqe, op_tag::of(op_tag::ignore).bits());
      }
      return;
    }
    if (cqe.res != -ECANCELED && cqe.res != -EINVAL)
      spdlog::warn("worker {}: accept: {}", ctx_.id, std::strerror(-cqe.res));
  } else if (driver_.draining()) {
    if (fixed_)
      close_slot(cqe.res, op_tag::of(op_tag::ignore).bits());
    else
      sys::close(cqe.res);
  } else if (conn* c = driver_.open({}, now); c == nullptr) {
    // Over the limit: a short 503 if the socket takes it at once, then close.
    if (fixed_) {
      reserve(2);  // the send and the close it is linked to
      io_uring_sqe* sqe = get();
      io_uring_prep_send(sqe, cqe.res, busy_reply.data(), busy_reply.size(),
                         MSG_NOSIGNAL | MSG_DONTWAIT);
      sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK;  // closed even if the send fails
      io_uring_sqe_set_data64(sqe, op_tag::of(op_tag::ignore).bits());
      close_slot(cqe.res, op_tag::of(op_tag::ignore).bits());
    } else {
      send_busy_reply(cqe.res);
      sys::close(cqe.res);
    }
  } else {
    c->fd = cqe.res;
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
    c->closing = c->recv_armed = c->recv_paused = c->peer_eof = c->abort = false;
    c->pending = c->step_left = c->zc_notifs = 0;
    // The header deadline runs from open(); the receive waits for the first bytes.
    arm_recv(*c);
  }
  if (!accept_armed_ && !driver_.draining() && !accept_paused_ && !out_of_fds_.active())
    arm_accept();
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
    } else if (c.spill || c.backlog_count >= conn_bufs_max_) {
      spill_buffer(c, bid, static_cast<std::uint32_t>(cqe.res));  // after what it holds
      pause_recv(c);
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
    if (c.peer_eof) driver_.close(c);
    return;
  }
  driver_.drive(c, now);
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
  const uring::result res = steps_.complete(c.proto.current(), c.sending, c.us, cqe);
  --c.step_left;
  if (c.closing) return maybe_finalize(c);
  if (res == uring::result::failed) {
    // A read that found no bytes (or a page past a shrunk file's end): the
    // file ended; anything else is the failing operation's errno.
    if (cqe.res == 0 || cqe.res == -EFAULT)
      return driver_.sent(c, {send_status::failed, 0, sender_->name()}, now);
    if (zc_op && cqe.res != -EPIPE && cqe.res != -ECONNRESET) log_send_zc_error(-cqe.res);
    return driver_.sent(c, {send_status::failed, -cqe.res, zc_op ? "send_zc" : "send"}, now);
  }
  if (c.step_left == 0) driver_.sent(c, {send_status::done, 0, {}}, now);
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

read_status io_uring_engine::receive(conn& c) {
  // The multishot receive has already put what arrived in provided buffers
  // (or spilled it): receiving is moving that into the connection.
  if (take_input(c)) return read_status::data;
  return c.peer_eof ? read_status::eof : read_status::again;
}

void io_uring_engine::wait_readable(conn& c) {
  if (!c.recv_armed) arm_recv(c);
}

bool io_uring_engine::write_blocked(const conn& c) const noexcept {
  return c.step_left > 0;  // a step is in flight; its completions go on with it
}

send_result io_uring_engine::send(conn& c, reply& r) {
  for (;;) {
    int err = 0;
    reserve(uring::max_step_ops);
    in_chain_ = true;
    const int n =
        steps_.prep(*this, sock(c), r, c.sending, c.us, op_tag::of(c, op_tag::send).bits(), &err);
    in_chain_ = false;
    if (n < 0) return {send_status::failed, err, sender_->name()};
    if (n > 0) {
      c.step_left = static_cast<std::uint32_t>(n);
      c.pending += static_cast<std::uint32_t>(n);
      return {send_status::in_flight, 0, {}};
    }
    // This part is out: the next one (of a multipart body) is prepared the
    // same way, after the last step of this one has completed.
    if (!r.next_part()) return {send_status::done, 0, {}};
  }
}

bool io_uring_engine::shutdown_write(conn& c) {
  if (!fixed_) return sys::shutdown(c.fd, SHUT_WR) == 0;
  sock_shutdown(c, SHUT_WR);  // an operation: its failure shows in the receive
  return true;
}

void io_uring_engine::start_linger(conn& c) {
  // What was received and not read is dropped; so is what still comes,
  // until the peer's FIN (or the driver's linger deadline).
  drop_backlog(c);
  if (c.peer_eof) return driver_.close(c);
  if (!c.recv_armed) arm_recv(c);
}

void io_uring_engine::close_conn(conn& c) {
  if (c.closing) return;
  c.closing = true;
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
    io_uring_prep_cancel64(sqe, op_tag::of(c, op_tag::recv).bits(), 0);
    io_uring_sqe_set_data64(sqe, op_tag::of(op_tag::ignore).bits());
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
        prep_fd_install(c.fd, op_tag::of(c, op_tag::install).bits());
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
      if (!accept_armed_ && !driver_.draining()) arm_accept();
    }
  }
  if (c.pending > 0) return;  // notifications still to come
  if (c.unwinding) {
    c.unwinding = false;
    --unwinding_;
  }
  drop_backlog(c);
  c.zc_hold.clear();
  driver_.finished(c);
}

int io_uring_engine::wait_timeout(std::int64_t now) const {
  const std::int64_t next = std::min(driver_.next_deadline(), out_of_fds_.resume_at());
  return conn_timers::wait_ms(next, now);
}

void io_uring_engine::begin_drain(std::int64_t now) {
  if (driver_.draining()) return;
  // Stop accepting: cancel the multishot accept; the kernel refuses new
  // connections once the listener closes with the engine.
  if (accept_armed_) {
    io_uring_sqe* sqe = get();
    io_uring_prep_cancel64(sqe, op_tag::of(op_tag::accept).bits(), 0);
    io_uring_sqe_set_data64(sqe, op_tag::of(op_tag::ignore).bits());
  }
  ::shutdown(ctx_.listener.get(), SHUT_RD);
  driver_.begin_drain(now);
}

}  // namespace zc
