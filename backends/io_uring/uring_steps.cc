// io_uring's executor: each of a sender's steps as one submitted
// operation, the plan's operations linked into one chain, and progress
// read back from their completions. The bytes a kernel-side copy moves are
// counted here, where the copy is known to have happened.

#include "backends/io_uring/uring_steps.hh"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "backends/io_uring/io_uring_settings.hh"
#include "backends/senders/staging.hh"
#include "server/sys/counted.hh"

namespace zc::uring {

namespace {

void push(step_ops& s, op o, std::uint64_t want) {
  s.ops[s.count] = o;
  s.want[s.count] = want;
  ++s.count;
}

io_uring_sqe* next_sqe(sqe_source& q, std::uint64_t user_data) {
  io_uring_sqe* sqe = q.get();
  io_uring_sqe_set_data64(sqe, user_data);
  return sqe;
}

// Every entry but the chain's last is linked to the next, so one
// submission carries the whole step and its parts run in order. A short
// read breaks the link (what follows it is cancelled) and the next steps
// resume from what did arrive. After the prep call, which clears the flags.
void link_if(io_uring_sqe* sqe, bool linked) {
  if (linked) sqe->flags |= IOSQE_IO_LINK;
}

void copied_out(std::uint64_t n, bool body) {
  auto& c = sys::counters();
  c.copied_from_user.add(n);
  if (body) c.body_copied.add(n);
}

// The head and an in-memory body (an error page) gathered in one writev,
// whatever the sender: on a ring a second operation costs more than the
// gather.
int prep_memory(sqe_source& q, fd_ref sock, reply& r, uring_scratch& u, std::uint64_t ud) {
  int cnt = 0;
  if (!r.head_done()) u.iov[cnt++] = {r.head.data() + r.head_sent, r.head.size() - r.head_sent};
  if (r.body == body_kind::memory && r.body_sent < r.length)
    u.iov[cnt++] = {const_cast<char*>(r.memory.data()) + r.body_sent, r.length - r.body_sent};
  if (cnt == 0) return 0;
  io_uring_sqe* sqe = next_sqe(q, ud);
  io_uring_prep_writev(sqe, sock.fd, u.iov, static_cast<unsigned>(cnt), 0);
  target(sqe, sock);
  push(u.step, op::send_memory, 0);
  return 1;
}

void send_plain(sqe_source& q, fd_ref sock, std::uint64_t ud, bool linked, const void* p,
                std::size_t n, int flags = 0) {
  io_uring_sqe* sqe = next_sqe(q, ud);
  io_uring_prep_send(sqe, sock.fd, p, n, MSG_NOSIGNAL | flags);
  target(sqe, sock);
  link_if(sqe, linked);
}

// The mapped file must still hold the bytes about to leave: past a new end
// of file, the last page's tail reads as zeros rather than faulting.
bool still_holds(const reply& r, std::uint64_t len, int* err) {
  struct stat st;
  if (sys::fstat(r.file->fd.get(), &st) != 0) {
    *err = errno;
    return false;
  }
  if (static_cast<std::uint64_t>(st.st_size) < r.offset + r.body_sent + len) {
    *err = 0;
    return false;
  }
  return true;
}

}  // namespace

executor::executor(sender& s, const config& cfg)
    : sender_(s), zc_min_bytes_(cfg.io.sections.get<uring_settings>().zc_min_bytes) {}

int executor::prep(sqe_source& q, fd_ref sock, reply& r, send_state& pipe, uring_scratch& u,
                   std::uint64_t ud, int* err) {
  u.step = {};
  if (r.body != body_kind::file) return prep_memory(q, sock, r, u, ud);
  const plan p = sender_.next(r, pipe);
  if (p.failed()) {
    *err = p.err;
    return -1;
  }
  if (p.count == 0) return 0;

  // What may fail, before the first entry is taken: an entry taken stays
  // in the ring, and a chain cut there would run without its end.
  const std::uint64_t left = r.length - r.body_sent;
  const char* base = nullptr;
  std::uint64_t mapped = 0;
  for (const step st : p) {
    if (st == step::sendfile || st == step::memory || st == step::head_memory) {
      *err = EOPNOTSUPP;  // io_uring has no sendfile (kinds.def); memory went above
      return -1;
    }
    if (st != step::head_mapped && st != step::mapped_zc) continue;
    base = r.file->mapping();
    if (base == nullptr) {
      *err = errno;
      return -1;
    }
    mapped = std::min<std::uint64_t>(left, p.chunk);
    if (mapped > 0 && !still_holds(r, mapped, err)) return -1;
  }

  send_scratch& s = r.scratch;
  // What the staging buffer will hold when the chain's sends run: filled
  // by a read earlier in the chain, or staged by an earlier step.
  char* staged = s.buf.get() + s.buf_off;
  std::size_t staged_len = s.buf_len - s.buf_off;
  std::uint64_t in_pipe = pipe.in_pipe;
  for (std::uint8_t i = 0; i < p.count; ++i) {
    const bool linked = i + 1 < p.count;
    // No default: a step added to the vocabulary is decided here (-Wswitch).
    switch (p.steps[i]) {
      case step::stage: {
        senders::reserve_staging(s,
                                 static_cast<std::size_t>(std::min<std::uint64_t>(left, p.chunk)),
                                 p.chunk);  // may (re)allocate the buffer
        const auto want = static_cast<unsigned>(std::min<std::uint64_t>(left, s.buf_cap));
        const fd_ref f = q.file(*r.file);
        io_uring_sqe* sqe = next_sqe(q, ud);
        io_uring_prep_read(sqe, f.fd, s.buf.get(), want, r.offset + r.body_sent);
        target(sqe, f);
        link_if(sqe, linked);
        push(u.step, op::read_file, want);
        staged = s.buf.get();
        staged_len = want;  // what the linked send carries if the read is whole
        break;
      }
      case step::head:
      case step::head_more: {
        const int more = p.steps[i] == step::head_more ? MSG_MORE : 0;
        // A send that is merely short does not break a link, so the body
        // would follow a partial head; MSG_WAITALL makes io_uring keep
        // sending until the whole head is in the socket (or fail, which
        // cancels the body).
        send_plain(q, sock, ud, linked, r.head.data() + r.head_sent, r.head.size() - r.head_sent,
                   more | (linked ? MSG_WAITALL : 0));
        push(u.step, op::send_head, r.head.size() - r.head_sent);
        break;
      }
      case step::staged:
        send_plain(q, sock, ud, linked, staged, staged_len);
        push(u.step, op::send_staged, staged_len);
        break;
      case step::head_staged:
      case step::head_mapped: {
        int cnt = 0;
        if (!r.head_done())
          u.iov[cnt++] = {r.head.data() + r.head_sent, r.head.size() - r.head_sent};
        if (p.steps[i] == step::head_staged && staged_len > 0) u.iov[cnt++] = {staged, staged_len};
        if (p.steps[i] == step::head_mapped && mapped > 0)
          u.iov[cnt++] = {const_cast<char*>(base) + r.offset + r.body_sent,
                          static_cast<std::size_t>(mapped)};
        io_uring_sqe* sqe = next_sqe(q, ud);
        io_uring_prep_writev(sqe, sock.fd, u.iov, static_cast<unsigned>(cnt), 0);
        target(sqe, sock);
        link_if(sqe, linked);
        push(u.step, op::send_gather, 0);
        break;
      }
      case step::mapped_zc: {
        const char* from = base + r.offset + r.body_sent;
        if (r.length >= zc_min_bytes_) {
          io_uring_sqe* sqe = next_sqe(q, ud);
          io_uring_prep_send_zc(sqe, sock.fd, from, static_cast<std::size_t>(mapped), MSG_NOSIGNAL,
                                0);
          target(sqe, sock);
          link_if(sqe, linked);
          push(u.step, op::send_zc, mapped);
        } else {
          // Small bodies: pinning pages and waiting for a notification
          // costs more than copying a few kilobytes.
          send_plain(q, sock, ud, linked, from, static_cast<std::size_t>(mapped));
          push(u.step, op::send_mapped, mapped);
        }
        break;
      }
      case step::fill_pipe: {
        // Splice has no non-blocking path in io_uring: the kernel hands it
        // to an io-wq worker thread, whose time shows in the process figures.
        in_pipe = std::min<std::uint64_t>(left, p.chunk);
        const fd_ref f = q.file(*r.file);
        io_uring_sqe* sqe = next_sqe(q, ud);
        // The input end is the file (fixed: SPLICE_F_FD_IN_FIXED), the
        // output end (sqe->fd) the pipe, an ordinary descriptor.
        io_uring_prep_splice(sqe, f.fd, static_cast<std::int64_t>(r.offset + r.body_sent),
                             pipe.pipe_wr, -1, static_cast<unsigned>(in_pipe),
                             SPLICE_F_MOVE | (f.fixed ? SPLICE_F_FD_IN_FIXED : 0u));
        link_if(sqe, linked);
        push(u.step, op::splice_in, in_pipe);
        break;
      }
      case step::drain_pipe: {
        const unsigned more = left > in_pipe ? SPLICE_F_MORE : 0u;
        io_uring_sqe* sqe = next_sqe(q, ud);
        io_uring_prep_splice(sqe, pipe.pipe_rd, -1, sock.fd, -1, static_cast<unsigned>(in_pipe),
                             SPLICE_F_MOVE | more);
        target(sqe, sock);  // the splice's output end is sqe->fd
        link_if(sqe, linked);
        push(u.step, op::splice_out, in_pipe);
        break;
      }
      case step::sendfile:
      case step::memory:
      case step::head_memory:
        break;  // refused above
    }
  }
  return u.step.count;
}

result executor::complete(reply& r, send_state& pipe, uring_scratch& u, const io_uring_cqe& cqe) {
  const op o = u.step.ops[u.step.done++];
  if (cqe.res == -ECANCELED) return result::ok;  // a link broke before it; redo from progress
  if (cqe.res < 0) return result::failed;
  const auto n = static_cast<std::uint64_t>(cqe.res);
  send_scratch& s = r.scratch;
  switch (o) {
    case op::read_file:
      if (n == 0) return result::failed;  // the file shrank under the promised length
      s.buf_off = 0;
      s.buf_len = n;
      sys::counters().copied_to_user.add(n);
      sys::counters().body_copied.add(n);
      break;
    case op::send_head:
      r.head_sent += n;
      copied_out(n, false);
      break;
    case op::send_memory:
      senders::account(r, n);
      copied_out(n, false);
      break;
    case op::send_staged:
      s.buf_off += n;
      r.body_sent += n;
      copied_out(n, true);
      break;
    case op::send_gather: {
      const std::size_t body = senders::account(r, n);
      if (r.body == body_kind::file && s.buf_len > 0) s.buf_off += body;
      copied_out(n - body, false);
      copied_out(body, true);
      break;
    }
    case op::send_mapped:
      r.body_sent += n;
      copied_out(n, true);
      break;
    case op::send_zc:
      r.body_sent += n;  // no copy: the pages themselves went out
      break;
    case op::splice_in:
      if (n == 0) return result::failed;
      pipe.in_pipe += n;
      break;
    case op::splice_out:
      pipe.in_pipe -= n;
      r.body_sent += n;
      break;
  }
  return result::ok;
}

}  // namespace zc::uring
