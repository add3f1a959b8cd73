// The io_uring senders. Each prepares one step of a reply as submitted
// operations and reads progress back from their completions; the bytes a
// kernel-side copy moves are counted here, where the copy is known to have
// happened.

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "backends/io_uring/io_uring_settings.hh"
#include "backends/io_uring/uring_sender.hh"
#include "backends/senders/pipe_pool.hh"
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

void copied_out(std::uint64_t n, bool body) {
  auto& c = sys::counters();
  c.copied_from_user.add(n);
  if (body) c.body_copied.add(n);
}

// The head and an in-memory body (an error page) gathered in one writev.
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

void send_plain(sqe_source& q, fd_ref sock, std::uint64_t ud, const void* p, std::size_t n) {
  io_uring_sqe* sqe = next_sqe(q, ud);
  io_uring_prep_send(sqe, sock.fd, p, n, MSG_NOSIGNAL);
  target(sqe, sock);
}

// The rest of the head, linked to the body operation after it. A send that
// is merely short does not break a link, so the body would follow a partial
// head; MSG_WAITALL makes io_uring keep sending until the whole head is in
// the socket (or fail, which cancels the body).
void prep_linked_head(sqe_source& q, fd_ref sock, const reply& r, std::uint64_t ud, int more) {
  io_uring_sqe* sqe = next_sqe(q, ud);
  io_uring_prep_send(sqe, sock.fd, r.head.data() + r.head_sent, r.head.size() - r.head_sent,
                     MSG_NOSIGNAL | MSG_WAITALL | more);
  target(sqe, sock);
  sqe->flags |= IOSQE_IO_LINK;
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

class base_sender : public uring_sender {
 public:
  explicit base_sender(const config& cfg) : chunk_(cfg.io.chunk_bytes) {}

  // A READ of the body's next chunk into the staging buffer, linked to the
  // send that follows it; returns the bytes asked for.
  unsigned prep_staging_read(sqe_source& q, reply& r, uring_scratch& u, std::uint64_t ud) {
    send_scratch& s = r.scratch;
    const std::uint64_t left = r.length - r.body_sent;
    senders::reserve_staging(s, static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk_)),
                             chunk_);
    const auto want = static_cast<unsigned>(std::min<std::uint64_t>(left, s.buf_cap));
    const fd_ref f = q.file(*r.file);
    io_uring_sqe* sqe = next_sqe(q, ud);
    io_uring_prep_read(sqe, f.fd, s.buf.get(), want, r.offset + r.body_sent);
    target(sqe, f);
    sqe->flags |= IOSQE_IO_LINK;
    push(u.step, op::read_file, want);
    return want;
  }

  // A step of read_write: what is staged (or a READ of the next chunk,
  // linked), after the rest of the head if any, each as its own send.
  int prep_read_send(sqe_source& q, fd_ref sock, reply& r, uring_scratch& u, std::uint64_t ud) {
    send_scratch& s = r.scratch;
    const std::uint64_t left = r.length - r.body_sent;
    std::size_t staged = s.buf_len - s.buf_off;
    const char* from = s.buf.get() + s.buf_off;
    if (staged == 0 && left > 0 && (r.head_sent == 0 || r.head_done())) {
      staged = prep_staging_read(q, r, u, ud);  // what the linked send carries if the read is whole
      from = s.buf.get();
    }
    if (!r.head_done()) {
      if (staged > 0)
        prep_linked_head(q, sock, r, ud, 0);
      else
        send_plain(q, sock, ud, r.head.data() + r.head_sent, r.head.size() - r.head_sent);
      push(u.step, op::send_head, r.head.size() - r.head_sent);
    }
    if (staged > 0) {
      send_plain(q, sock, ud, from, staged);
      push(u.step, op::send_staged, staged);
    }
    return u.step.count;
  }

  result complete(reply& r, uring_scratch& u, const io_uring_cqe& cqe) override {
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
        s.in_pipe += n;
        break;
      case op::splice_out:
        s.in_pipe -= n;
        r.body_sent += n;
        break;
    }
    return result::ok;
  }

 protected:
  std::size_t chunk_;
};

// read op into the staging buffer, then a send op for the head and one for
// the body, linked so that one submission carries the whole step. A short
// read breaks the link (the sends are cancelled) and the next step resumes
// from what did arrive.
class read_write_sender final : public base_sender {
 public:
  using base_sender::base_sender;
  sender_kind kind() const noexcept override { return sender_kind::read_write; }

  int prep(sqe_source& q, fd_ref sock, reply& r, uring_scratch& u, std::uint64_t ud,
           int* /*err*/) override {
    u.step = {};
    if (r.body != body_kind::file) return prep_memory(q, sock, r, u, ud);
    return prep_read_send(q, sock, r, u, ud);
  }
};

// read op linked to one writev op carrying head and body.
class readv_writev_sender final : public base_sender {
 public:
  using base_sender::base_sender;
  sender_kind kind() const noexcept override { return sender_kind::readv_writev; }

  int prep(sqe_source& q, fd_ref sock, reply& r, uring_scratch& u, std::uint64_t ud,
           int* /*err*/) override {
    u.step = {};
    send_scratch& s = r.scratch;
    if (r.body != body_kind::file) return prep_memory(q, sock, r, u, ud);
    const std::uint64_t left = r.length - r.body_sent;
    int cnt = 0;
    if (!r.head_done()) u.iov[cnt++] = {r.head.data() + r.head_sent, r.head.size() - r.head_sent};
    if (s.buf_off == s.buf_len && left > 0) {
      const unsigned want = prep_staging_read(q, r, u, ud);  // may (re)allocate the buffer
      u.iov[cnt++] = {s.buf.get(), want};
    } else if (s.buf_off < s.buf_len) {
      u.iov[cnt++] = {s.buf.get() + s.buf_off, s.buf_len - s.buf_off};
    }
    if (cnt == 0) return 0;
    io_uring_sqe* sqe = next_sqe(q, ud);
    io_uring_prep_writev(sqe, sock.fd, u.iov, static_cast<unsigned>(cnt), 0);
    target(sqe, sock);
    push(u.step, op::send_gather, 0);
    return u.step.count;
  }
};

// One writev op of the head and the body straight from the mapping.
class mmap_sender final : public base_sender {
 public:
  using base_sender::base_sender;
  sender_kind kind() const noexcept override { return sender_kind::mmap; }

  int prep(sqe_source& q, fd_ref sock, reply& r, uring_scratch& u, std::uint64_t ud,
           int* err) override {
    u.step = {};
    if (r.body != body_kind::file) return prep_memory(q, sock, r, u, ud);
    if (r.done()) return 0;
    const char* base = r.file->mapping();
    if (base == nullptr) {
      *err = errno;
      return -1;
    }
    int cnt = 0;
    if (!r.head_done()) u.iov[cnt++] = {r.head.data() + r.head_sent, r.head.size() - r.head_sent};
    const std::uint64_t len = std::min<std::uint64_t>(r.length - r.body_sent, chunk_);
    if (len > 0) {
      if (!still_holds(r, len, err)) return -1;
      u.iov[cnt++] = {const_cast<char*>(base) + r.offset + r.body_sent,
                      static_cast<std::size_t>(len)};
    }
    io_uring_sqe* sqe = next_sqe(q, ud);
    io_uring_prep_writev(sqe, sock.fd, u.iov, static_cast<unsigned>(cnt), 0);
    target(sqe, sock);
    push(u.step, op::send_gather, 0);
    return 1;
  }
};

// send op for the head (MSG_MORE) linked to a zero-copy send of the mapped
// body. The pages stay pinned until the kernel's notification, which the
// engine waits for before it lets go of the file.
class send_zc_sender final : public base_sender {
 public:
  explicit send_zc_sender(const config& cfg)
      : base_sender(cfg), min_bytes_(cfg.io.sections.get<uring_settings>().zc_min_bytes) {}
  sender_kind kind() const noexcept override { return sender_kind::send_zc; }

  int prep(sqe_source& q, fd_ref sock, reply& r, uring_scratch& u, std::uint64_t ud,
           int* err) override {
    u.step = {};
    if (r.body != body_kind::file) return prep_memory(q, sock, r, u, ud);
    if (r.done()) return 0;
    const char* base = r.file->mapping();
    if (base == nullptr) {
      *err = errno;
      return -1;
    }
    const std::uint64_t len = std::min<std::uint64_t>(r.length - r.body_sent, chunk_);
    if (!still_holds(r, len, err)) return -1;
    if (!r.head_done()) {
      prep_linked_head(q, sock, r, ud, MSG_MORE);
      push(u.step, op::send_head, r.head.size() - r.head_sent);
    }
    const char* p = base + r.offset + r.body_sent;
    if (r.length >= min_bytes_) {
      io_uring_sqe* sqe = next_sqe(q, ud);
      io_uring_prep_send_zc(sqe, sock.fd, p, static_cast<std::size_t>(len), MSG_NOSIGNAL, 0);
      target(sqe, sock);
      push(u.step, op::send_zc, len);
    } else {
      // Small bodies: pinning pages and waiting for a notification costs
      // more than copying a few kilobytes.
      send_plain(q, sock, ud, p, static_cast<std::size_t>(len));
      push(u.step, op::send_mapped, len);
    }
    return u.step.count;
  }

 private:
  std::size_t min_bytes_;
};

// Head with MSG_MORE, then file -> pipe -> socket, all three linked so one
// submission carries the whole step. Splice has no non-blocking path in
// io_uring: the kernel hands it to an io-wq worker thread, whose time shows
// in the process figures.
//
// The pool is bounded (pipes_per_worker(), what the descriptor plan
// reserves). A step that finds it empty reads the next chunk into the
// staging buffer and sends that instead (read_write's step, its copies
// counted as such) rather than fail the reply or park it; bytes staged that
// way are sent before the reply splices again.
class splice_sender final : public base_sender {
 public:
  // Blocking pipes: the splices run in io-wq workers, which may block.
  explicit splice_sender(const config& cfg)
      : base_sender(cfg), pipes_(0, cfg.io.chunk_bytes, pipes_per_worker(cfg.server.workers)) {}
  sender_kind kind() const noexcept override { return sender_kind::splice; }

  int prep(sqe_source& q, fd_ref sock, reply& r, uring_scratch& u, std::uint64_t ud,
           int* err) override {
    u.step = {};
    if (r.body != body_kind::file) return prep_memory(q, sock, r, u, ud);
    if (r.done()) return 0;
    send_scratch& s = r.scratch;
    if (s.buf_off < s.buf_len) return prep_read_send(q, sock, r, u, ud);  // staged earlier
    if (!pipes_.acquire(s)) {
      if (errno == EAGAIN || errno == EMFILE || errno == ENFILE)
        return prep_read_send(q, sock, r, u, ud);
      *err = errno;
      return -1;
    }
    if (!r.head_done()) {
      prep_linked_head(q, sock, r, ud, MSG_MORE);
      push(u.step, op::send_head, r.head.size() - r.head_sent);
    }
    std::uint64_t out = s.in_pipe;
    if (out == 0) {
      out = std::min<std::uint64_t>(r.length - r.body_sent, pipes_.pipe_size());
      const fd_ref f = q.file(*r.file);
      io_uring_sqe* sqe = next_sqe(q, ud);
      // The input end is the file (fixed: SPLICE_F_FD_IN_FIXED), the output
      // end (sqe->fd) the pipe, an ordinary descriptor.
      io_uring_prep_splice(sqe, f.fd, static_cast<std::int64_t>(r.offset + r.body_sent), s.pipe_wr,
                           -1, static_cast<unsigned>(out),
                           SPLICE_F_MOVE | (f.fixed ? SPLICE_F_FD_IN_FIXED : 0u));
      sqe->flags |= IOSQE_IO_LINK;
      push(u.step, op::splice_in, out);
    }
    const unsigned more = r.length - r.body_sent > out ? SPLICE_F_MORE : 0u;
    io_uring_sqe* sqe = next_sqe(q, ud);
    io_uring_prep_splice(sqe, s.pipe_rd, -1, sock.fd, -1, static_cast<unsigned>(out),
                         SPLICE_F_MOVE | more);
    target(sqe, sock);  // the splice's output end is sqe->fd
    push(u.step, op::splice_out, out);
    return u.step.count;
  }

  void release(send_scratch& s) noexcept override { pipes_.release(s); }

 private:
  pipe_pool pipes_;
};

}  // namespace

std::unique_ptr<uring_sender> make_sender(sender_kind kind, const config& cfg) {
  // No default: a kind added to kinds.def must be decided here (-Wswitch).
  switch (kind) {
    case sender_kind::read_write:
      return std::make_unique<read_write_sender>(cfg);
    case sender_kind::readv_writev:
      return std::make_unique<readv_writev_sender>(cfg);
    case sender_kind::mmap:
      return std::make_unique<mmap_sender>(cfg);
    case sender_kind::splice:
      return std::make_unique<splice_sender>(cfg);
    case sender_kind::send_zc:
      return std::make_unique<send_zc_sender>(cfg);
    case sender_kind::sendfile:
      return nullptr;  // io_uring has no sendfile operation
  }
  return nullptr;
}

}  // namespace zc::uring
