#include "backends/senders/mmap.hh"

#include <sys/stat.h>
#include <sys/uio.h>

#include "backends/senders/staging.hh"
#include "server/sys/counted.hh"

namespace zc {

send_result mmap_sender::send(int sock, reply& r) {
  const char* base = nullptr;
  if (r.body == body_kind::file) {
    base = r.file->mapping();
    if (base == nullptr) return {send_status::failed, errno, "mmap"};
  }
  while (!r.done()) {
    iovec iov[2];
    int cnt = 0;
    if (!r.head_done()) iov[cnt++] = {r.head.data() + r.head_sent, r.head.size() - r.head_sent};
    if (r.body == body_kind::memory && r.body_sent < r.length) {
      iov[cnt++] = {const_cast<char*>(r.memory.data()) + r.body_sent, r.length - r.body_sent};
    } else if (r.body == body_kind::file && r.body_sent < r.length) {
      const std::uint64_t pos = r.offset + r.body_sent;
      const std::uint64_t len = std::min<std::uint64_t>(r.length - r.body_sent, chunk_);
      struct stat st;
      if (sys::fstat(r.file->fd.get(), &st) != 0) return {send_status::failed, errno, "fstat"};
      if (static_cast<std::uint64_t>(st.st_size) < pos + len) return file_ended("fstat");
      iov[cnt++] = {const_cast<char*>(base) + pos, static_cast<std::size_t>(len)};
    }
    ssize_t n = sys::writev(sock, iov, cnt);
    if (n < 0) {
      // EFAULT: the mapping lost its pages (the file shrank under us).
      if (errno == EFAULT) return {send_status::failed, EFAULT, "writev"};
      return from_errno("writev");
    }
    const std::size_t body = senders::account(r, static_cast<std::size_t>(n));
    if (r.body == body_kind::file) senders::note_body_copied(body);
  }
  return done();
}

}  // namespace zc
