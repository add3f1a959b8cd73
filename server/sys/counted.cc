#include "server/sys/counted.hh"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <deque>
#include <mutex>

#include "server/sys/unique_fd.hh"

namespace zc::sys {

namespace {

constexpr std::array<std::string_view, call_count> names = {
#define ZC_NAME(name) #name,
    ZC_SYSCALLS(ZC_NAME)
#undef ZC_NAME
};

// Blocks live in a deque so their addresses never move and are never freed.
struct block_registry {
  std::mutex mu;
  std::deque<thread_counters> blocks;
};

block_registry& registry() {
  static block_registry* r = new block_registry();  // outlives every thread
  return *r;
}

thread_counters& unbound_block() {
  static thread_counters& b = []() -> thread_counters& {
    auto& r = registry();
    std::lock_guard lock(r.mu);
    return r.blocks.emplace_back();
  }();
  return b;
}

}  // namespace

namespace detail {
thread_local thread_counters* tls = &unbound_block();
}

std::string_view call_name(call c) noexcept {
  return names[static_cast<std::size_t>(c)];
}

std::uint64_t thread_counters::total_calls() const noexcept {
  std::uint64_t sum = 0;
  for (const auto& c : calls) sum += c.get();
  return sum;
}

thread_counters& counters() noexcept {
  return *detail::tls;
}

thread_counters& bind_thread(int worker) {
  // Everything the block holds is ready before it is published to readers,
  // and the thread-local pointer is touched only after the lock is
  // released: its first use in a thread may itself take the lock (to make
  // the shared block for unbound threads).
  kernel_syscall_counter kernel = kernel_syscall_counter::open_for_this_thread(false);
  const pid_t tid = ::gettid();
  thread_counters* b;
  {
    auto& r = registry();
    std::lock_guard lock(r.mu);
    b = &r.blocks.emplace_back();
    b->worker = worker;
    b->tid = tid;
    b->kernel = std::move(kernel);
  }
  detail::tls = b;
  return *b;
}

void record_thread_exit() noexcept {
  thread_counters& b = *detail::tls;
  b.final_kernel_calls = b.kernel.read();
  rusage ru{};
  // Not a counted call: the thread is leaving the serving path.
  if (::getrusage(RUSAGE_THREAD, &ru) == 0) {
    b.final_voluntary_switches = static_cast<std::uint64_t>(ru.ru_nvcsw);
    b.final_involuntary_switches = static_cast<std::uint64_t>(ru.ru_nivcsw);
    b.final_user_seconds = static_cast<double>(ru.ru_utime.tv_sec) + ru.ru_utime.tv_usec / 1e6;
    b.final_system_seconds = static_cast<double>(ru.ru_stime.tv_sec) + ru.ru_stime.tv_usec / 1e6;
  }
  b.exited.store(true, std::memory_order_release);
}

std::vector<const thread_counters*> all_counters() {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  std::vector<const thread_counters*> out;
  out.reserve(r.blocks.size());
  for (const auto& b : r.blocks) out.push_back(&b);
  return out;
}

using detail::bump;
using detail::from_user;
using detail::to_user;

int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) noexcept {
  bump(call::accept4);
  return ::accept4(fd, addr, len, flags);
}

ssize_t read(int fd, void* buf, std::size_t n) noexcept {
  bump(call::read);
  ssize_t r = ::read(fd, buf, n);
  to_user(r);
  return r;
}

ssize_t recv(int fd, void* buf, std::size_t n, int flags) noexcept {
  bump(call::recv);
  ssize_t r = ::recv(fd, buf, n, flags);
  to_user(r);
  return r;
}

ssize_t write(int fd, const void* buf, std::size_t n) noexcept {
  bump(call::write);
  ssize_t r = ::write(fd, buf, n);
  from_user(r);
  return r;
}

ssize_t writev(int fd, const iovec* iov, int iovcnt) noexcept {
  bump(call::writev);
  ssize_t r = ::writev(fd, iov, iovcnt);
  from_user(r);
  return r;
}

ssize_t send(int fd, const void* buf, std::size_t n, int flags) noexcept {
  bump(call::send);
  ssize_t r = ::send(fd, buf, n, flags);
  from_user(r);
  return r;
}

ssize_t sendmsg(int fd, const msghdr* msg, int flags) noexcept {
  bump(call::sendmsg);
  ssize_t r = ::sendmsg(fd, msg, flags);
  from_user(r);
  return r;
}

ssize_t pread(int fd, void* buf, std::size_t n, off_t off) noexcept {
  bump(call::pread);
  ssize_t r = ::pread(fd, buf, n, off);
  to_user(r);
  return r;
}

ssize_t preadv(int fd, const iovec* iov, int iovcnt, off_t off) noexcept {
  bump(call::preadv);
  ssize_t r = ::preadv(fd, iov, iovcnt, off);
  to_user(r);
  return r;
}

ssize_t sendfile(int out_fd, int in_fd, off_t* off, std::size_t n) noexcept {
  bump(call::sendfile);
  return ::sendfile(out_fd, in_fd, off, n);
}

ssize_t splice(int in_fd, loff_t* in_off, int out_fd, loff_t* out_off, std::size_t n,
               unsigned flags) noexcept {
  bump(call::splice);
  return ::splice(in_fd, in_off, out_fd, out_off, n, flags);
}

int pipe2(int fds[2], int flags) noexcept {
  bump(call::pipe2);
  return ::pipe2(fds, flags);
}

void* mmap(void* addr, std::size_t len, int prot, int flags, int fd, off_t off) noexcept {
  bump(call::mmap);
  return ::mmap(addr, len, prot, flags, fd, off);
}

int munmap(void* addr, std::size_t len) noexcept {
  bump(call::munmap);
  return ::munmap(addr, len);
}

int openat2(int dirfd, const char* path, const ::open_how* how) noexcept {
  bump(call::openat2);
  // glibc 2.36 has no wrapper for openat2.
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path, how, sizeof(::open_how)));
}

int fstat(int fd, struct stat* st) noexcept {
  bump(call::fstat);
  return ::fstat(fd, st);
}

int fstatat(int dirfd, const char* path, struct stat* st, int flags) noexcept {
  bump(call::fstatat);
  return ::fstatat(dirfd, path, st, flags);
}

ssize_t getdents64(int fd, void* buf, std::size_t n) noexcept {
  bump(call::getdents64);
  return ::syscall(SYS_getdents64, fd, buf, n);
}

int close(int fd) noexcept {
  bump(call::close);
  return ::close(fd);
}

int shutdown(int fd, int how) noexcept {
  bump(call::shutdown);
  return ::shutdown(fd, how);
}

int setsockopt(int fd, int level, int name, const void* val, socklen_t len) noexcept {
  bump(call::setsockopt);
  return ::setsockopt(fd, level, name, val, len);
}

int fcntl(int fd, int cmd, int arg) noexcept {
  bump(call::fcntl);
  return ::fcntl(fd, cmd, arg);
}

int poll(pollfd* fds, nfds_t n, int timeout_ms) noexcept {
  bump(call::poll);
  return ::poll(fds, n, timeout_ms);
}

int epoll_wait(int epfd, epoll_event* events, int max, int timeout_ms) noexcept {
  bump(call::epoll_wait);
  return ::epoll_wait(epfd, events, max, timeout_ms);
}

int epoll_ctl(int epfd, int op, int fd, epoll_event* ev) noexcept {
  bump(call::epoll_ctl);
  return ::epoll_ctl(epfd, op, fd, ev);
}

int eventfd_read(int fd, std::uint64_t* value) noexcept {
  bump(call::eventfd_read);
  return ::eventfd_read(fd, value);
}

int eventfd_write(int fd, std::uint64_t value) noexcept {
  bump(call::eventfd_write);
  return ::eventfd_write(fd, value);
}

int getpeername(int fd, sockaddr* addr, socklen_t* len) noexcept {
  bump(call::getpeername);
  return ::getpeername(fd, addr, len);
}

int io_uring_enter(unsigned ring_fd, unsigned to_submit, unsigned min_complete, unsigned flags,
                   const void* arg, std::size_t argsz) noexcept {
  bump(call::io_uring_enter);
  int r = static_cast<int>(
      ::syscall(SYS_io_uring_enter, ring_fd, to_submit, min_complete, flags, arg, argsz));
  if (r > 0) detail::tls->uring_submitted.add(static_cast<std::uint64_t>(r));
  return r;
}

int io_uring_register(unsigned ring_fd, unsigned opcode, const void* arg,
                      unsigned nr_args) noexcept {
  bump(call::io_uring_register);
  return static_cast<int>(::syscall(SYS_io_uring_register, ring_fd, opcode, arg, nr_args));
}

void unique_fd::reset(int fd) noexcept {
  if (fd_ >= 0) sys::close(fd_);
  fd_ = fd;
}

}  // namespace zc::sys
