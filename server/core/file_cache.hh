#pragma once

// Per-worker cache of open files: descriptor, size, mtime, ETag, MIME type
// and, on demand, a read-only mapping. A hit costs no system call; an entry
// older than the revalidation interval is re-opened and compared by
// (device, inode, size, mtime), so a replaced or edited file is noticed
// within that interval. An in-flight reply keeps its entry (and so its
// descriptor and mapping) alive after the cache has dropped it.
//
// Descriptors: the cache holds at most `capacity` entries, and main() fits
// that capacity to RLIMIT_NOFILE (see plan_descriptors() in worker.hh).
// When full, it closes the least recently used entry that no reply holds;
// an entry a reply holds keeps its descriptor until the reply ends, which
// the number of connections bounds. An open that fails for want of
// descriptors gives back idle entries and tries once more before the 503.
//
// Threads: an event engine's worker is one thread, so its cache takes no
// lock and counts references with plain increments. The blocking engine's
// connection threads share their worker's one cache (one cache per thread
// multiplied the descriptors by the threads): it is made with
// cache_sharing::threads, which takes a mutex around each lookup and counts
// the references of its entries atomically, since a reply drops its
// reference on its own thread, outside the lock. The mode is a flag, not a
// template parameter: cached_file and file_ref travel through the reply,
// the handler, every sender and an engine's own file table, and a policy type
// would have to travel with them. The flag costs an event engine one
// well-predicted branch per reference and per lookup, and no lock and no
// locked instruction.

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "server/core/file_policy.hh"
#include "server/core/resolver.hh"
#include "server/sys/unique_fd.hh"

namespace zc {

enum class cache_sharing : std::uint8_t {
  one_thread,  // an event engine's worker: no lock, plain reference counts
  threads,     // the blocking engine's connection threads: a mutex, atomic counts
};

// An engine that keeps an entry somewhere of its own beyond the descriptor
// (a table of files registered with the kernel, so that an operation names
// a slot rather than a descriptor) leaves a note on the entry: itself, to
// be told when the entry dies, and one word the core stores and never reads
// (which slot). The entry's destructor tells the keeper, so what the
// engine holds goes exactly when the entry does, however long a reply kept
// it after the cache let go. The note costs 16 bytes per entry and nothing
// per request; an engine that keeps nothing never sets it, and pays one
// null test per entry's death. A keeper that goes before the entries it
// noted (an engine stopping while replies or the cache still hold them)
// clears its notes first.
class entry_keeper {
 public:
  virtual void entry_gone(std::int64_t word) noexcept = 0;

 protected:
  ~entry_keeper() = default;
};

struct engine_note {
  entry_keeper* keeper = nullptr;  // nullptr: no engine keeps anything for this entry
  std::int64_t word = 0;           // the keeper's own, opaque to the core
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
  // Precompressed siblings ("x.br", "x.gz"), bit i for the i-th coding of
  // server.precompressed: which have been looked for, and which were
  // found, since this entry was last (re)validated. Kept in padding.
  std::uint8_t siblings_known = 0;
  std::uint8_t siblings_present = 0;
  // The mapping lost pages under a reader that could not stop reading
  // (a userspace TCP stack checksumming the file's bytes after the file
  // shrank): never served again, the next lookup opens the file anew.
  bool damaged = false;
  std::string etag;             // "\"<inode>-<mtime s>.<ns>-<size>\"" in hex, quotes included
  char last_modified[32] = {};  // IMF-fixdate, NUL-terminated
  std::string_view mime;
  // "Cache-Control: ...\r\n", or "" for none; like `mime`, a view into the
  // file_policy the cache was made with
  std::string_view cache_control;
  std::int64_t checked_ms = 0;  // monotonic time of the last (re)validation
  engine_note note;             // an engine's, told when the entry dies (see entry_keeper)

  cached_file() = default;
  cached_file(const cached_file&) = delete;
  cached_file& operator=(const cached_file&) = delete;
  ~cached_file();

  // The whole file mapped read-only and shared, made on first use and kept
  // with the entry. nullptr for an empty file or when mmap fails (errno set).
  // The kernel's senders never read through the mapping in user space: the
  // kernel does, inside write/writev, where a page beyond a shrunken end of
  // file makes the call fail with EFAULT instead of raising SIGBUS. An
  // engine whose TCP stack is in the process reads it there, and must guard
  // those reads itself (and mark the entry `damaged`).
  const char* mapping() noexcept;

  void add_ref() noexcept {
    if (shared_)
      std::atomic_ref<std::uint32_t>(refs_).fetch_add(1, std::memory_order_relaxed);
    else
      ++refs_;
  }
  void release() noexcept {
    // acq_rel: the thread that deletes must see every other thread's last
    // use of the entry (its mapping, its descriptor) happen before.
    if (shared_ ? std::atomic_ref<std::uint32_t>(refs_).fetch_sub(1, std::memory_order_acq_rel) == 1
                : --refs_ == 0)
      delete this;
  }
  // Only the cache holds it: closing it now cuts no reply short. Asked
  // under the cache's lock, where no other thread can take a reference to
  // an entry it does not already hold one to.
  bool idle() const noexcept {
    return (shared_ ? std::atomic_ref<std::uint32_t>(const_cast<std::uint32_t&>(refs_))
                          .load(std::memory_order_acquire)
                    : refs_) == 1;
  }

 private:
  friend class file_cache;
  void* map_ = nullptr;
  alignas(std::atomic_ref<std::uint32_t>::required_alignment) std::uint32_t refs_ = 0;
  bool shared_ = false;  // set once, before any other thread can see the entry
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
  // capacity 0: nothing is kept, every lookup opens the file. `policy`
  // gives each entry its Content-Type and Cache-Control and must outlive
  // the cache and every reply; nullptr: default_file_policy().
  file_cache(int root_fd, std::size_t capacity, std::int64_t revalidate_ms,
             cache_sharing sharing = cache_sharing::one_thread,
             const file_policy* policy = nullptr);

  // `rel` is a normalised path (see normalize()); "" is the root.
  lookup_result lookup(std::string_view rel, std::int64_t now_ms);

  // The sibling `rel` + `suffix` of `original` (bit `bit` of its sibling
  // record), or nothing when it is missing or not a regular file. What is
  // missing is remembered in the original's entry until that entry is
  // revalidated, so that a file without siblings costs no system call per
  // request for looking; a sibling found is an entry of its own.
  file_ref sibling(cached_file& original, std::string_view rel, std::string_view suffix,
                   unsigned bit, std::int64_t now_ms);

  std::size_t size() const noexcept { return map_.size(); }

  // The types and Cache-Control rules entries take theirs from: for a reply
  // whose file is not the one named (a precompressed sibling), ask with the
  // name the client asked for.
  const file_policy& policy() const noexcept { return policy_; }

 private:
  lookup_result lookup_locked(std::string_view rel, std::int64_t now_ms);
  lookup_result open_fresh(const std::string& rel, std::int64_t now_ms);
  // open_fresh(), and once more after closing idle entries if the first
  // open failed for want of descriptors. `spare_front`: the most recent
  // entry is the one being revalidated and must not be closed under it.
  lookup_result open_or_evict(const std::string& rel, std::int64_t now_ms,
                              bool spare_front = false);
  // Closes up to `n` entries no reply holds, least recently used first;
  // entries replies hold move to the front (they are in use) and stay.
  // Looks at no more than `scan` entries. Returns how many it closed.
  std::size_t evict_idle(std::size_t n, std::size_t scan);

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
  const file_policy& policy_;
  std::size_t capacity_;
  std::int64_t revalidate_ms_;
  bool shared_;
  std::mutex mu_;  // taken only when shared_
  std::list<std::string> lru_;
  std::unordered_map<std::string, node, string_hash, std::equal_to<>> map_;
  std::string key_;          // scratch for misses
  std::string sibling_key_;  // scratch for sibling(): rel + suffix
};

}  // namespace zc
