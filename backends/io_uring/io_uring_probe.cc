// What this kernel's io_uring can do (probed once per process on a small
// throwaway ring), the engine's senders and why one is unusable here, and
// the engine's descriptor for the registry.

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
namespace uring_detail {
namespace {

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

}  // namespace

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

}  // namespace uring_detail

namespace {

using namespace uring_detail;

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

// kinds.def's completion senders, and sendfile, listed so that
// --list-backends says why io_uring cannot drive it.
constexpr sender_entry senders[] = {
    {sender_kind::read_write, &always_usable}, {sender_kind::readv_writev, &always_usable},
    {sender_kind::mmap, &always_usable},       {sender_kind::sendfile, &no_sendfile},
    {sender_kind::splice, &splice_unusable},   {sender_kind::send_zc, &send_zc_unusable},
};

std::unique_ptr<engine> make(worker_context ctx, sender_kind sender) {
  auto s = make_sender(sender, *ctx.cfg, engine_family::completion);
  // Before the engine is made: its connection driver holds the sender.
  if (!s) throw std::runtime_error("io_uring: unknown sender " + ctx.cfg->io.sender);
  return std::make_unique<io_uring_engine>(std::move(ctx), std::move(s));
}

}  // namespace

engine_info io_uring_engine::descriptor() {
  // No sendfile operation: splice is its zero-copy path (file -> pipe ->
  // socket, linked, in one submission).
  return {.name = "io_uring",
          .make = &make,
          .senders = senders,
          .unusable = &engine_unusable,
          .preferred = sender_kind::splice,
          .section = &uring_section};
}

}  // namespace zc
