// The readiness executor: a sender's steps carried out with counted system
// calls, each step one call, for as long as the socket takes bytes. A step
// cut short (a short write) ends the plan: the sender is asked again, and
// from the reply's progress says what is left, so the next call starts at
// exactly the next byte.

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "backends/sender.hh"
#include "backends/senders/staging.hh"
#include "server/sys/counted.hh"

namespace zc {

namespace {

using outcome = step_outcome;
constexpr outcome whole{step_outcome::whole};
constexpr outcome cut{step_outcome::cut};

// A failed call on the socket: EAGAIN waits, anything else fails.
outcome from_errno(std::string_view op) noexcept {
  if (errno == EAGAIN || errno == EWOULDBLOCK)
    return {step_outcome::stop, {send_status::again, 0, {}}};
  return {step_outcome::stop, {send_status::failed, errno, op}};
}
outcome failed(int err, std::string_view op) noexcept {
  return {step_outcome::stop, {send_status::failed, err, op}};
}
// The file ended before the promised length: it shrank after the head was
// built. Whatever is sent now would not be the file, so stop.
outcome file_ended(std::string_view op) noexcept {
  return failed(0, op);
}

outcome head_alone(int sock, reply& r, bool more) noexcept {
  const char* p = r.head.data() + r.head_sent;
  const std::size_t len = r.head.size() - r.head_sent;
  // read_write's head is a plain write; before a body that must share its
  // segment, send with MSG_MORE holds it back.
  const ssize_t n =
      more ? sys::send(sock, p, len, MSG_MORE | MSG_NOSIGNAL) : sys::write(sock, p, len);
  if (n < 0) return from_errno(more ? "send" : "write");
  r.head_sent += static_cast<std::size_t>(n);
  return r.head_done() ? whole : cut;
}

// The rest of the head (if any) and `body`, in one writev. Returns how many
// body bytes left through `*body_out`.
outcome gathered(int sock, reply& r, iovec body, std::size_t* body_out) noexcept {
  iovec iov[2];
  int cnt = 0;
  if (!r.head_done()) iov[cnt++] = {r.head.data() + r.head_sent, r.head.size() - r.head_sent};
  if (body.iov_len > 0) iov[cnt++] = body;
  const std::size_t want = (r.head.size() - r.head_sent) + body.iov_len;
  const ssize_t n = sys::writev(sock, iov, cnt);
  // mmap: EFAULT, the mapping lost its pages (the file shrank under us).
  if (n < 0) return from_errno("writev");
  *body_out = senders::account(r, static_cast<std::size_t>(n));
  return static_cast<std::size_t>(n) == want ? whole : cut;
}

outcome carry_out(step st, int sock, reply& r, send_state& pipe, std::size_t chunk) noexcept {
  send_scratch& s = r.scratch;
  std::size_t body = 0;
  // No default: a step added to the vocabulary is decided here (-Wswitch).
  switch (st) {
    case step::stage:
      switch (senders::stage_file(r, chunk)) {
        case senders::stage_status::failed:
          return failed(errno, "pread");
        case senders::stage_status::file_ended:
          return file_ended("pread");
        case senders::stage_status::staged:
        case senders::stage_status::nothing_left:
          return whole;
      }
      return whole;
    case step::head:
      return head_alone(sock, r, false);
    case step::head_more:
      return head_alone(sock, r, true);
    case step::memory: {
      const ssize_t n = sys::write(sock, r.memory.data() + r.body_sent, r.length - r.body_sent);
      if (n < 0) return from_errno("write");
      r.body_sent += static_cast<std::uint64_t>(n);
      return r.body_sent == r.length ? whole : cut;
    }
    case step::head_memory: {
      iovec mem{};
      if (r.body == body_kind::memory)
        mem = {const_cast<char*>(r.memory.data()) + r.body_sent, r.length - r.body_sent};
      return gathered(sock, r, mem, &body);
    }
    case step::staged: {
      const ssize_t n = sys::write(sock, s.buf.get() + s.buf_off, s.buf_len - s.buf_off);
      if (n < 0) return from_errno("write");
      s.buf_off += static_cast<std::size_t>(n);
      r.body_sent += static_cast<std::uint64_t>(n);
      senders::note_body_copied(static_cast<std::size_t>(n));
      return s.buf_off == s.buf_len ? whole : cut;
    }
    case step::head_staged: {
      const outcome o = gathered(sock, r, {s.buf.get() + s.buf_off, s.buf_len - s.buf_off}, &body);
      s.buf_off += body;
      senders::note_body_copied(body);
      return o;
    }
    case step::head_mapped: {
      const char* base = r.file->mapping();
      if (base == nullptr) return failed(errno, "mmap");
      iovec mapped{};
      if (r.body_sent < r.length) {
        const std::uint64_t pos = r.offset + r.body_sent;
        const std::uint64_t len = std::min<std::uint64_t>(r.length - r.body_sent, chunk);
        // The part of the last page past a new end of file reads as zeros:
        // the file must still hold what is about to leave.
        struct stat sb;
        if (sys::fstat(r.file->fd.get(), &sb) != 0) return failed(errno, "fstat");
        if (static_cast<std::uint64_t>(sb.st_size) < pos + len) return file_ended("fstat");
        mapped = {const_cast<char*>(base) + pos, static_cast<std::size_t>(len)};
      }
      const outcome o = gathered(sock, r, mapped, &body);
      senders::note_body_copied(body);
      return o;
    }
    case step::sendfile:
      while (r.body_sent < r.length) {
        // off_t is 64-bit here, so files over 2 GiB work; each call moves
        // at most one chunk (the kernel itself caps a call near 2 GiB).
        off_t off = static_cast<off_t>(r.offset + r.body_sent);
        const auto want =
            static_cast<std::size_t>(std::min<std::uint64_t>(r.length - r.body_sent, chunk));
        const ssize_t n = sys::sendfile(sock, r.file->fd.get(), &off, want);
        if (n < 0) return from_errno("sendfile");
        // 0 before the promised length: the file shrank.
        if (n == 0) return file_ended("sendfile");
        // A short count is not proof of a full socket: the file may have
        // shrunk under the range. Go round again; EAGAIN or 0 tells which.
        r.body_sent += static_cast<std::uint64_t>(n);
      }
      return whole;
    case step::fill_pipe: {
      loff_t off = static_cast<loff_t>(r.offset + r.body_sent);
      const auto want =
          static_cast<std::size_t>(std::min<std::uint64_t>(r.length - r.body_sent, chunk));
      const ssize_t n = sys::splice(r.file->fd.get(), &off, pipe.pipe_wr, nullptr, want,
                                    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n < 0) return failed(errno, "splice");  // the pipe is empty: no EAGAIN to wait on
      if (n == 0) return file_ended("splice");
      pipe.in_pipe = static_cast<std::size_t>(n);
      return whole;
    }
    case step::drain_pipe: {
      const unsigned more = r.length - r.body_sent > pipe.in_pipe ? SPLICE_F_MORE : 0u;
      const ssize_t n = sys::splice(pipe.pipe_rd, nullptr, sock, nullptr, pipe.in_pipe,
                                    SPLICE_F_MOVE | SPLICE_F_NONBLOCK | more);
      if (n < 0) return from_errno("splice");
      pipe.in_pipe -= static_cast<std::size_t>(n);
      r.body_sent += static_cast<std::uint64_t>(n);
      return pipe.in_pipe == 0 ? whole : cut;
    }
    case step::mapped_zc:
      // Completion engines only (kinds.def): a readiness engine never hears
      // when the kernel lets go of the pages.
      return failed(EOPNOTSUPP, "send_zc");
  }
  return failed(EINVAL, step_name(st));
}

}  // namespace

send_result sender::send(int sock, reply& r, send_state& st) {
  return carry_out_plans(
      *this, r, st, [&](step s, std::size_t chunk) { return carry_out(s, sock, r, st, chunk); });
}

}  // namespace zc
