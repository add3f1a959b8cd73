#pragma once

// The access log: workers append formatted lines to a buffer of their own
// and one writer thread writes whole buffers, many lines per writev(). The
// design follows nginx's `access_log ... buffer= flush=`, with a thread
// where nginx has a timer:
//
// - Each worker has a slot: a 64 KiB buffer and a mutex. On the event
//   engines one thread uses a slot, so the lock is never contended except
//   for the instant the writer swaps the buffer out; the blocking engine's
//   connection threads share their worker's slot. A line is formatted in
//   place under the lock: no allocation, no queue node, no wake-up.
// - A buffer that cannot take the next line is queued for the writer (one
//   wake-up per buffer, not per line) and the slot takes a spare.
// - Every flush interval (at most 1 s) the writer also takes every slot's
//   partial buffer, so lines reach the file within the interval even from
//   a worker that has gone idle. When no slot holds a line the writer
//   sleeps until one does.
// - Memory is bounded: when the writer falls behind (a slow or full disk)
//   and every buffer is taken, lines are dropped and counted, and workers
//   never wait for the disk.
// - reopen() (SIGHUP, after logrotate renamed the file) is carried out by
//   the writer between two writes: every line taken before it goes to the
//   old file, every line after it to the new one, none is lost.
// - stop() writes every buffered line, then ends the writer.

#include <sys/types.h>
#include <sys/uio.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/core/access_line.hh"
#include "server/sys/unique_fd.hh"

namespace zc {

struct access_log_counts {
  std::uint64_t lines = 0;    // formatted into a buffer
  std::uint64_t dropped = 0;  // lost: no buffer free, or a write failed
  std::uint64_t writes = 0;   // writev() calls that wrote lines
};

class access_logger {
 public:
  static constexpr std::size_t buffer_bytes = 64 * 1024;

  // `path` is "stdout", "stderr" or a file, opened (created 0644) for
  // appending. `slots` is the number of workers; threads that are not
  // workers share one more slot. Throws std::runtime_error when the file
  // cannot be opened.
  access_logger(const std::string& path, access_format format, std::chrono::milliseconds flush,
                unsigned slots);
  ~access_logger();
  access_logger(const access_logger&) = delete;
  access_logger& operator=(const access_logger&) = delete;

  // Appends one line from the calling thread's worker slot; the date is
  // filled in here.
  void append(access_entry e) noexcept;

  // Asks the writer to reopen the file by its path; returns at once.
  void reopen() noexcept;

  // Writes every buffered line and ends the writer. Idempotent.
  void stop() noexcept;

  access_log_counts counts() const noexcept;
  access_format format() const noexcept { return format_; }

 private:
  struct buffer {
    std::unique_ptr<char[]> data;
    std::size_t used = 0;
  };
  struct alignas(64) slot {
    std::mutex mu;
    buffer* buf = nullptr;  // being filled; nullptr until a line needs one
    std::time_t date_sec = -1;
    char date[clf_date_len];  // the second date_sec as CLF text, cached
    // Written under `mu`, read by the metrics thread without it.
    std::atomic<std::uint64_t> lines{0};
    std::atomic<std::uint64_t> dropped{0};
  };

  slot& my_slot() noexcept;
  // Queues `full` (if any) for the writer and returns a spare buffer, or
  // nullptr when every buffer the bound allows is taken.
  buffer* exchange(buffer* full) noexcept;
  void run();
  void collect(std::vector<buffer*>& batch, bool partial_too);
  void write_batch(std::vector<buffer*>& batch);
  void write_failed(int err, std::uint64_t lines_lost);
  void reopen_now();

  const std::string path_;
  const access_format format_;
  const std::chrono::milliseconds flush_;
  const bool is_file_;
  sys::unique_fd file_;  // a file's descriptor; stdout and stderr are not owned
  int fd_ = -1;          // what the writer writes to

  std::unique_ptr<slot[]> slots_;
  const unsigned slot_count_;

  // The handoff between workers and the writer. Lock order: a slot's mutex,
  // then this one; the writer never holds this one while it takes a slot's.
  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<buffer*> full_;   // in the order they filled
  std::vector<buffer*> spare_;  // written, ready to be filled again
  std::vector<std::unique_ptr<buffer>> all_;
  const std::size_t max_buffers_;
  bool stop_ = false;
  bool reopen_ = false;
  // The writer sleeps without a timeout while no slot holds a line (an
  // idle server makes no call for its log); a worker taking a buffer since
  // the writer last looked sets handed_out_, and wakes it if idle_.
  bool idle_ = false;
  bool handed_out_ = false;

  std::vector<iovec> iov_;  // the writer's

  std::atomic<std::uint64_t> writes_{0};
  std::atomic<std::uint64_t> write_dropped_{0};
  // Write errors are reported once, then at most once a minute with the
  // count of lines they cost: a full disk must not flood the error log.
  std::chrono::steady_clock::time_point next_report_{};
  std::uint64_t unreported_lost_ = 0;

  std::thread writer_;
  std::once_flag stopped_;
};

// The process's access log, or nullptr when it is off: installed once at
// start (init_logging), before any worker runs, and kept to the end.
access_logger* access_log() noexcept;
void install_access_log(std::unique_ptr<access_logger> log) noexcept;

}  // namespace zc
