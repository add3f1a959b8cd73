#pragma once

// The one layer every system call on the serving path goes through. Each
// wrapper bumps a per-thread counter (a plain load and store on memory only
// this thread writes: no lock, no locked instruction) and then makes the
// call. Bytes that cross between user and kernel memory by copy are counted
// where the copy happens: a read into a buffer and a write from one count,
// sendfile and splice do not.

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "server/sys/kernel_count.hh"

struct open_how;

namespace zc::sys {

// X-macro: one line per wrapped call, in the order the exit table prints.
#define ZC_SYSCALLS(X) \
  X(accept4)           \
  X(read)              \
  X(recv)              \
  X(write)             \
  X(writev)            \
  X(send)              \
  X(sendmsg)           \
  X(pread)             \
  X(preadv)            \
  X(sendfile)          \
  X(splice)            \
  X(pipe2)             \
  X(mmap)              \
  X(munmap)            \
  X(openat2)           \
  X(fstat)             \
  X(fstatat)           \
  X(getdents64)        \
  X(close)             \
  X(shutdown)          \
  X(setsockopt)        \
  X(fcntl)             \
  X(poll)              \
  X(epoll_wait)        \
  X(epoll_ctl)         \
  X(eventfd_read)      \
  X(eventfd_write)     \
  X(io_uring_enter)    \
  X(io_uring_register) \
  X(getpeername)

enum class call : std::uint8_t {
#define ZC_ENUM(name) name,
  ZC_SYSCALLS(ZC_ENUM)
#undef ZC_ENUM
      count_
};

inline constexpr std::size_t call_count = static_cast<std::size_t>(call::count_);

std::string_view call_name(call c) noexcept;

// A counter written by one thread and read by any: relaxed load + store so
// the increment compiles to a plain add, yet a reader on another thread
// never sees a torn value.
struct counter {
  std::atomic<std::uint64_t> v{0};
  void add(std::uint64_t n) noexcept {
    v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t get() const noexcept { return v.load(std::memory_order_relaxed); }
};

// Everything one thread counts. Blocks are created once and never freed, so
// a reader (the exit table, the metrics thread) may hold a pointer safely.
struct thread_counters {
  int worker = -1;  // -1: not a worker (main thread, helpers)
  pid_t tid = 0;    // the kernel's id of the thread, for /proc/self/task/<tid>
  std::array<counter, call_count> calls;
  counter copied_to_user;    // kernel -> user copies (read, recv, pread)
  counter copied_from_user;  // user -> kernel copies (write, send, writev)
  // user -> user copies into a userspace TCP stack's buffers (the dpdk
  // engine: lwIP's, and the device's transmit buffers), which make the
  // copies a kernel would make in send() on the other engines
  counter copied_in_user;
  counter body_copied;  // the part of all three that was file body (senders say so)
  counter requests;
  std::array<counter, 5> responses;  // by status class: 1xx .. 5xx
  counter bytes_sent;                // every byte handed to the socket, by any means
  counter uring_submitted;           // io_uring operations handed to the kernel
  // The kernel's count of this thread's system calls; invalid when the
  // kernel refused (see kernel_syscall_counter::unavailable_reason()).
  kernel_syscall_counter kernel;

  // What the thread measured of itself as it ended (record_thread_exit()):
  // /proc/self/task/<tid> goes away with the thread. Written before
  // `exited` is set (release), read after it is seen (acquire).
  std::atomic<bool> exited{false};
  std::uint64_t final_voluntary_switches = 0;
  std::uint64_t final_involuntary_switches = 0;
  double final_user_seconds = 0;
  double final_system_seconds = 0;
  std::optional<std::uint64_t> final_kernel_calls;

  std::uint64_t total_calls() const noexcept;
};

// The calling thread's block. Threads that never called bind_thread() share
// one block labelled worker -1.
thread_counters& counters() noexcept;

// Gives the calling thread a fresh block labelled with `worker`, opens the
// kernel's counter for the thread, and returns the block.
thread_counters& bind_thread(int worker);

// The calling thread records its final figures in its block: its kernel
// syscall count and getrusage(RUSAGE_THREAD). Call last thing in a thread
// that called bind_thread().
void record_thread_exit() noexcept;

// Every block ever created, for aggregation.
std::vector<const thread_counters*> all_counters();

namespace detail {
extern thread_local thread_counters* tls;
inline void bump(call c) noexcept {
  tls->calls[static_cast<std::size_t>(c)].add(1);
}
inline void to_user(ssize_t n) noexcept {
  if (n > 0) tls->copied_to_user.add(static_cast<std::uint64_t>(n));
}
inline void from_user(ssize_t n) noexcept {
  if (n > 0) tls->copied_from_user.add(static_cast<std::uint64_t>(n));
}
}  // namespace detail

// Wrappers. They return what the call returns and leave errno as the call
// left it.
int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) noexcept;
ssize_t read(int fd, void* buf, std::size_t n) noexcept;
ssize_t recv(int fd, void* buf, std::size_t n, int flags) noexcept;
ssize_t write(int fd, const void* buf, std::size_t n) noexcept;
ssize_t writev(int fd, const iovec* iov, int iovcnt) noexcept;
ssize_t send(int fd, const void* buf, std::size_t n, int flags) noexcept;
ssize_t sendmsg(int fd, const msghdr* msg, int flags) noexcept;
ssize_t pread(int fd, void* buf, std::size_t n, off_t off) noexcept;
ssize_t preadv(int fd, const iovec* iov, int iovcnt, off_t off) noexcept;
ssize_t sendfile(int out_fd, int in_fd, off_t* off, std::size_t n) noexcept;
ssize_t splice(int in_fd, loff_t* in_off, int out_fd, loff_t* out_off, std::size_t n,
               unsigned flags) noexcept;
int pipe2(int fds[2], int flags) noexcept;
void* mmap(void* addr, std::size_t len, int prot, int flags, int fd, off_t off) noexcept;
int munmap(void* addr, std::size_t len) noexcept;
int openat2(int dirfd, const char* path, const ::open_how* how) noexcept;
int fstat(int fd, struct stat* st) noexcept;
int fstatat(int dirfd, const char* path, struct stat* st, int flags) noexcept;
// Directory entries, as the kernel's linux_dirent64 records (directory
// listings). Like fstat, what it copies is metadata, not counted as bytes.
ssize_t getdents64(int fd, void* buf, std::size_t n) noexcept;
int close(int fd) noexcept;
int shutdown(int fd, int how) noexcept;
int setsockopt(int fd, int level, int name, const void* val, socklen_t len) noexcept;
int fcntl(int fd, int cmd, int arg) noexcept;
int poll(pollfd* fds, nfds_t n, int timeout_ms) noexcept;
int epoll_wait(int epfd, epoll_event* events, int max, int timeout_ms) noexcept;
int epoll_ctl(int epfd, int op, int fd, epoll_event* ev) noexcept;
int eventfd_read(int fd, std::uint64_t* value) noexcept;
int eventfd_write(int fd, std::uint64_t value) noexcept;
int getpeername(int fd, sockaddr* addr, socklen_t* len) noexcept;
// `arg`/`argsz` as the kernel takes them (IORING_ENTER_EXT_ARG). Also counts
// the submission queue entries the call hands over, so the figures can say
// how many operations each enter carried.
int io_uring_enter(unsigned ring_fd, unsigned to_submit, unsigned min_complete, unsigned flags,
                   const void* arg, std::size_t argsz) noexcept;
int io_uring_register(unsigned ring_fd, unsigned opcode, const void* arg,
                      unsigned nr_args) noexcept;

}  // namespace zc::sys
