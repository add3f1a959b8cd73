#include "server/core/access_log.hh"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sys/uio.h>
#include <time.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <new>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "server/sys/counted.hh"

namespace zc {

namespace {

// O_APPEND: logrotate's copytruncate and other writers of the same file
// never see their bytes overwritten; 0644 as nginx and Apache create logs.
int open_log(const std::string& path) noexcept {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

std::uint64_t count_lines(const iovec* iov, std::size_t n) noexcept {
  std::uint64_t lines = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto* p = static_cast<const char*>(iov[i].iov_base);
    lines += static_cast<std::uint64_t>(std::count(p, p + iov[i].iov_len, '\n'));
  }
  return lines;
}

void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
  // One writer per counter (under its lock): a plain add, readable anywhere.
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace

access_logger::access_logger(const std::string& path, access_format format,
                             std::chrono::milliseconds flush, unsigned slots)
    : path_(path),
      format_(format),
      flush_(flush),
      is_file_(path != "stdout" && path != "stderr"),
      slots_(std::make_unique<slot[]>(slots + 1)),
      slot_count_(slots + 1),
      // Two per slot (one filling while one is written) and a few for bursts.
      max_buffers_(2 * (static_cast<std::size_t>(slots) + 1) + 8) {
  if (is_file_) {
    file_ = sys::unique_fd(open_log(path));
    if (!file_) throw std::runtime_error(std::strerror(errno));
    fd_ = file_.get();
  } else {
    fd_ = path == "stdout" ? STDOUT_FILENO : STDERR_FILENO;
  }
  // Reserved now so that handing a buffer over never allocates.
  full_.reserve(max_buffers_);
  spare_.reserve(max_buffers_);
  all_.reserve(max_buffers_);
  writer_ = std::thread([this] { run(); });
}

access_logger::~access_logger() {
  stop();
}

access_logger::slot& access_logger::my_slot() noexcept {
  const int w = sys::counters().worker;
  const unsigned others = slot_count_ - 1;
  return slots_[w >= 0 && static_cast<unsigned>(w) < others ? static_cast<unsigned>(w) : others];
}

access_logger::buffer* access_logger::exchange(buffer* full) noexcept {
  buffer* next = nullptr;
  bool wake = full != nullptr;
  {
    std::lock_guard lk(mu_);
    if (full != nullptr) full_.push_back(full);
    if (!spare_.empty()) {
      next = spare_.back();
      spare_.pop_back();
    } else if (all_.size() < max_buffers_) {
      // Buffers are made as the load asks for them, never freed until exit:
      // a server that logs little holds one per worker.
      auto* b = new (std::nothrow) buffer;
      if (b != nullptr) {
        b->data.reset(new (std::nothrow) char[buffer_bytes]);
        if (b->data) {
          all_.emplace_back(b);
          next = b;
        } else {
          delete b;
        }
      }
    }
    if (next != nullptr) {
      handed_out_ = true;
      if (idle_) {
        idle_ = false;
        wake = true;  // the first line after a quiet spell
      }
    }
  }
  // One wake-up per full buffer (some hundreds of lines), not per line.
  if (wake) wake_.notify_one();
  return next;
}

void access_logger::append(access_entry e) noexcept {
  slot& s = my_slot();
  std::lock_guard lk(s.mu);
  timespec now{};
  // Through the vDSO: no system call. The text changes once a second.
  ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
  if (now.tv_sec != s.date_sec) {
    format_clf_date(now.tv_sec, s.date);
    s.date_sec = now.tv_sec;
  }
  e.date = {s.date, clf_date_len};
  const std::size_t need = access_line_bound(e, format_);
  assert(need <= buffer_bytes);
  if (s.buf == nullptr || buffer_bytes - s.buf->used < need) {
    s.buf = exchange(s.buf != nullptr && s.buf->used > 0 ? s.buf : nullptr);
    if (s.buf == nullptr) {
      // Every buffer is full or being written: the disk is behind. Losing
      // a line is better than making a worker wait for it.
      bump(s.dropped);
      return;
    }
  }
  char* start = s.buf->data.get() + s.buf->used;
  s.buf->used += static_cast<std::size_t>(format_access_line(start, e, format_) - start);
  bump(s.lines);
}

void access_logger::reopen() noexcept {
  {
    std::lock_guard lk(mu_);
    reopen_ = true;
  }
  wake_.notify_one();
}

void access_logger::stop() noexcept {
  std::call_once(stopped_, [this] {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    wake_.notify_one();
    if (writer_.joinable()) writer_.join();
  });
}

access_log_counts access_logger::counts() const noexcept {
  access_log_counts c;
  for (unsigned i = 0; i < slot_count_; ++i) {
    c.lines += slots_[i].lines.load(std::memory_order_relaxed);
    c.dropped += slots_[i].dropped.load(std::memory_order_relaxed);
  }
  c.dropped += write_dropped_.load(std::memory_order_relaxed);
  c.writes = writes_.load(std::memory_order_relaxed);
  return c;
}

void access_logger::run() {
  // Its own counters, so that its writes show in the figures as "other".
  sys::bind_thread(-1);
  pthread_setname_np(pthread_self(), "zc-access-log");
  std::vector<buffer*> batch;
  batch.reserve(max_buffers_);
  iov_.reserve(max_buffers_);
  auto next_flush = std::chrono::steady_clock::now() + flush_;
  for (;;) {
    bool stop = false;
    bool reopen = false;
    {
      std::unique_lock lk(mu_);
      const auto ready = [this] { return stop_ || reopen_ || !full_.empty(); };
      if (idle_) {
        // Nothing buffered anywhere: sleep until a worker takes a buffer
        // (exchange() wakes us), rather than wake every interval for
        // nothing. Its line then waits one interval, to batch with others.
        wake_.wait(lk, [&] { return ready() || !idle_; });
        next_flush = std::chrono::steady_clock::now() + flush_;
      }
      wake_.wait_until(lk, next_flush, ready);
      stop = stop_;
      reopen = reopen_;
      reopen_ = false;
    }
    const auto now = std::chrono::steady_clock::now();
    const bool everything = stop || reopen || now >= next_flush;
    collect(batch, everything);
    if (everything) {
      next_flush = now + flush_;
      std::lock_guard lk(mu_);
      // Idle only if no worker took a buffer since collect() looked at its
      // slot: one that did has a line the next round must take.
      idle_ = batch.empty() && !handed_out_;
    }
    write_batch(batch);
    // After the write: every line taken before the signal went to the old
    // file (the one logrotate renamed), every later one goes to the new.
    if (reopen) reopen_now();
    if (stop) break;
  }
  sys::record_thread_exit();
}

void access_logger::collect(std::vector<buffer*>& batch, bool partial_too) {
  if (!partial_too) {
    std::lock_guard lk(mu_);
    batch.insert(batch.end(), full_.begin(), full_.end());
    full_.clear();
    return;
  }
  {
    std::lock_guard lk(mu_);
    handed_out_ = false;
  }
  for (unsigned i = 0; i < slot_count_; ++i) {
    slot& s = slots_[i];
    std::lock_guard sl(s.mu);
    // The full buffers queued so far, this slot's among them, hold older
    // lines than its partial one: take them first, so each worker's lines
    // stay in order in the file.
    {
      std::lock_guard lk(mu_);
      batch.insert(batch.end(), full_.begin(), full_.end());
      full_.clear();
    }
    if (s.buf != nullptr && s.buf->used > 0) {
      batch.push_back(s.buf);
      s.buf = nullptr;  // the worker takes a spare with its next line
    }
  }
}

void access_logger::write_batch(std::vector<buffer*>& batch) {
  if (batch.empty()) return;
  iov_.clear();
  for (buffer* b : batch) iov_.push_back({b->data.get(), b->used});
  std::size_t i = 0;
  while (i < iov_.size()) {
    const int n = static_cast<int>(std::min<std::size_t>(iov_.size() - i, IOV_MAX));
    const ssize_t w = sys::writev(fd_, &iov_[i], n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      write_failed(w < 0 ? errno : EIO, count_lines(&iov_[i], iov_.size() - i));
      break;
    }
    bump(writes_);
    // A short write (a signal, a full disk on the way): go on from the
    // first byte not written.
    auto left = static_cast<std::size_t>(w);
    while (i < iov_.size() && left >= iov_[i].iov_len) left -= iov_[i++].iov_len;
    if (left > 0) {
      iov_[i].iov_base = static_cast<char*>(iov_[i].iov_base) + left;
      iov_[i].iov_len -= left;
    }
  }
  for (buffer* b : batch) b->used = 0;
  {
    std::lock_guard lk(mu_);
    spare_.insert(spare_.end(), batch.begin(), batch.end());
  }
  batch.clear();
}

void access_logger::write_failed(int err, std::uint64_t lines_lost) {
  bump(write_dropped_, lines_lost);
  unreported_lost_ += lines_lost;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_report_) return;
  spdlog::error("access log {}: writev: {}; {} line(s) lost (reported at most once a minute)",
                path_, std::strerror(err), unreported_lost_);
  unreported_lost_ = 0;
  next_report_ = now + std::chrono::minutes(1);
}

void access_logger::reopen_now() {
  if (!is_file_) return;
  sys::unique_fd f(open_log(path_));
  if (!f) {
    spdlog::error("access log {}: cannot reopen: {}; still writing to the file already open", path_,
                  std::strerror(errno));
    return;
  }
  file_ = std::move(f);
  fd_ = file_.get();
  spdlog::info("access log {} reopened", path_);
}

namespace {
std::unique_ptr<access_logger>& installed() noexcept {
  static std::unique_ptr<access_logger> log;
  return log;
}
}  // namespace

access_logger* access_log() noexcept {
  return installed().get();
}

void install_access_log(std::unique_ptr<access_logger> log) noexcept {
  installed() = std::move(log);
}

}  // namespace zc
