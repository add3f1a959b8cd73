#pragma once

// Per-worker cache of open files: descriptor, size, mtime, ETag, MIME type
// and, on demand, a read-only mapping. A hit costs no system call; an entry
// older than the revalidation interval is re-opened and compared by
// (device, inode, size, mtime), so a replaced or edited file is noticed
// within that interval. Entries are reference-counted without atomics: a
// worker shares nothing, and an in-flight reply keeps its entry (and so its
// descriptor and mapping) alive after the cache has dropped it.

#include <sys/types.h>

#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "backends/sys/unique_fd.hh"
#include "server/resolver.hh"

namespace zc {

// Told when a cached_file it registered somewhere (io_uring's fixed file
// table) dies, so the registration can go with it.
class file_registrar {
 public:
  virtual void forget(int slot) noexcept = 0;

 protected:
  ~file_registrar() = default;
};

class cached_file {
 public:
  sys::unique_fd fd;
  std::uint64_t size = 0;
  std::int64_t mtime_sec = 0;
  std::int64_t mtime_nsec = 0;
  dev_t dev = 0;
  ino_t ino = 0;
  bool is_dir = false;
  std::string etag;             // "\"<mtime hex>-<size hex>\"", quotes included
  char last_modified[32] = {};  // IMF-fixdate, NUL-terminated
  std::string_view mime;
  std::int64_t checked_ms = 0;          // monotonic time of the last (re)validation
  file_registrar* registrar = nullptr;  // who holds this file in a slot, if anyone
  int registered_slot = -1;

  cached_file() = default;
  cached_file(const cached_file&) = delete;
  cached_file& operator=(const cached_file&) = delete;
  ~cached_file();

  // The whole file mapped read-only and shared, made on first use and kept
  // with the entry. nullptr for an empty file or when mmap fails (errno set).
  // The server itself never reads through the mapping: only the kernel does,
  // inside write/writev, where a page beyond a shrunken end of file makes the
  // call fail with EFAULT instead of raising SIGBUS in the process.
  const char* mapping() noexcept;

  void add_ref() noexcept { ++refs_; }
  void release() noexcept {
    if (--refs_ == 0) delete this;
  }

 private:
  void* map_ = nullptr;
  std::size_t map_len_ = 0;
  std::uint32_t refs_ = 0;
};

// Intrusive, non-atomic owning pointer to a cached_file.
class file_ref {
 public:
  file_ref() noexcept = default;
  explicit file_ref(cached_file* f) noexcept : f_(f) {
    if (f_) f_->add_ref();
  }
  file_ref(const file_ref& o) noexcept : file_ref(o.f_) {}
  file_ref(file_ref&& o) noexcept : f_(std::exchange(o.f_, nullptr)) {}
  file_ref& operator=(file_ref o) noexcept {
    std::swap(f_, o.f_);
    return *this;
  }
  ~file_ref() {
    if (f_) f_->release();
  }
  cached_file* get() const noexcept { return f_; }
  cached_file* operator->() const noexcept { return f_; }
  cached_file& operator*() const noexcept { return *f_; }
  explicit operator bool() const noexcept { return f_ != nullptr; }
  void reset() noexcept { file_ref().swap(*this); }
  void swap(file_ref& o) noexcept { std::swap(f_, o.f_); }

 private:
  cached_file* f_ = nullptr;
};

struct lookup_result {
  int status = 0;  // 0 ok, else 403/404/500, or 503 when out of descriptors
  file_ref file;
};

class file_cache {
 public:
  // capacity 0: nothing is kept, every lookup opens the file.
  file_cache(int root_fd, std::size_t capacity, std::int64_t revalidate_ms);

  // `rel` is a normalised path (see normalize()); "" is the root.
  lookup_result lookup(std::string_view rel, std::int64_t now_ms);

  std::size_t size() const noexcept { return map_.size(); }

 private:
  lookup_result open_fresh(const std::string& rel, std::int64_t now_ms);

  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  struct node {
    file_ref file;
    std::list<std::string>::iterator lru;  // position in lru_, front = most recent
  };

  resolver resolver_;
  std::size_t capacity_;
  std::int64_t revalidate_ms_;
  std::list<std::string> lru_;
  std::unordered_map<std::string, node, string_hash, std::equal_to<>> map_;
  std::string key_;  // scratch for misses
};

}  // namespace zc
