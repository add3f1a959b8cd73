#include "server/core/file_cache.hh"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <iterator>

#include "server/core/http_date.hh"
#include "server/sys/counted.hh"

namespace zc {

namespace {
// An open that failed for want of descriptors closes this many idle
// entries before its one retry: one would do for this open, but the
// descriptor freed can go to any thread of the process (an accept, another
// worker) before the retry takes it.
constexpr std::size_t evict_on_emfile = 16;
// Entries looked at per eviction. Entries replies hold are moved to the
// front as they are met, so a later eviction does not meet them again
// until the whole list has turned over.
constexpr std::size_t evict_scan = 64;
}  // namespace

cached_file::~cached_file() {
  if (note.keeper != nullptr) note.keeper->entry_gone(note.word);
  // The mapping always spans `size`, which never changes after the open.
  if (map_ != nullptr) sys::munmap(map_, size);
}

const char* cached_file::mapping() noexcept {
  if (size == 0) return nullptr;
  if (!shared_) {
    if (map_ == nullptr) {
      void* p = sys::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd.get(), 0);
      if (p == MAP_FAILED) return nullptr;
      map_ = p;
    }
    return static_cast<const char*>(map_);
  }
  // Two connection threads may map the same entry at once: the first to
  // publish its mapping wins, the other unmaps its own and uses the
  // winner's.
  std::atomic_ref<void*> slot(map_);
  if (void* p = slot.load(std::memory_order_acquire)) return static_cast<const char*>(p);
  void* p = sys::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) return nullptr;
  void* expected = nullptr;
  if (!slot.compare_exchange_strong(expected, p, std::memory_order_acq_rel)) {
    sys::munmap(p, size);
    return static_cast<const char*>(expected);
  }
  return static_cast<const char*>(p);
}

file_cache::file_cache(int root_fd, std::size_t capacity, std::int64_t revalidate_ms,
                       cache_sharing sharing, const file_policy* policy)
    : resolver_(root_fd),
      policy_(policy != nullptr ? *policy : default_file_policy()),
      capacity_(capacity),
      revalidate_ms_(revalidate_ms),
      shared_(sharing == cache_sharing::threads) {
  if (capacity_ > 0) map_.reserve(capacity_);
}

lookup_result file_cache::open_fresh(const std::string& rel, std::int64_t now_ms) {
  lookup_result out;
  opened o = resolver_.open(rel);
  if (o.status != 0) {
    out.status = o.status;
    return out;
  }
  struct stat st;
  if (sys::fstat(o.fd.get(), &st) != 0) {
    out.status = 500;
    return out;
  }
  const bool dir = S_ISDIR(st.st_mode);
  if (!dir && !S_ISREG(st.st_mode)) {
    out.status = 403;  // devices, fifos, sockets are never served
    return out;
  }
  if (!dir && sys::fcntl(o.fd.get(), F_SETFL, 0) != 0) {
    out.status = 500;
    return out;
  }
  auto* f = new cached_file();
  f->shared_ = shared_;
  out.file = file_ref(f);
  f->fd = std::move(o.fd);
  f->size = dir ? 0 : static_cast<std::uint64_t>(st.st_size);
  f->mtime_sec = st.st_mtim.tv_sec;
  f->mtime_nsec = st.st_mtim.tv_nsec;
  f->dev = st.st_dev;
  f->ino = st.st_ino;
  f->is_dir = dir;
  f->checked_ms = now_ms;
  // What changes with the content as far as the kernel tells: the inode (a
  // new file renamed over the old one), the size, and the mtime to the
  // nanosecond (an edit within the same second). Seconds and size alone
  // kept one strong ETag across two versions.
  char tag[80];
  int n = std::snprintf(tag, sizeof tag, "\"%" PRIx64 "-%" PRIx64 ".%" PRIx64 "-%" PRIx64 "\"",
                        static_cast<std::uint64_t>(st.st_ino),
                        static_cast<std::uint64_t>(st.st_mtim.tv_sec),
                        static_cast<std::uint64_t>(st.st_mtim.tv_nsec), f->size);
  f->etag.assign(tag, static_cast<std::size_t>(n));
  format_http_date(st.st_mtim.tv_sec, f->last_modified);
  f->mime = policy_.content_type(rel);
  f->cache_control = policy_.cache_control_field(rel);
  return out;
}

lookup_result file_cache::open_or_evict(const std::string& rel, std::int64_t now_ms,
                                        bool spare_front) {
  lookup_result fresh = open_fresh(rel, now_ms);
  if (fresh.status != 503) return fresh;
  // 503 is the resolver's answer to EMFILE, ENFILE and ENOMEM: descriptors
  // this cache keeps idle are the ones the process can give back at once.
  // The scan keeps to the entries behind the front when the front is the
  // entry being revalidated: eviction preserves the list's circular order,
  // so size - 1 steps from the back never reach it.
  std::size_t scan = evict_scan;
  if (spare_front) scan = std::min(scan, lru_.empty() ? 0 : lru_.size() - 1);
  if (evict_idle(evict_on_emfile, scan) > 0) fresh = open_fresh(rel, now_ms);
  return fresh;
}

std::size_t file_cache::evict_idle(std::size_t n, std::size_t scan) {
  std::size_t closed = 0;
  for (std::size_t i = 0; i < scan && closed < n && !lru_.empty(); ++i) {
    auto it = map_.find(lru_.back());
    if (it->second.file->idle()) {
      map_.erase(it);
      lru_.pop_back();
      ++closed;
    } else {
      lru_.splice(lru_.begin(), lru_, std::prev(lru_.end()));
    }
  }
  return closed;
}

lookup_result file_cache::lookup(std::string_view rel, std::int64_t now_ms) {
  if (!shared_) return lookup_locked(rel, now_ms);
  // The opens of a miss happen under the lock too: two threads missing on
  // the same file would otherwise both open it and race to insert.
  std::lock_guard lock(mu_);
  return lookup_locked(rel, now_ms);
}

lookup_result file_cache::lookup_locked(std::string_view rel, std::int64_t now_ms) {
  if (capacity_ == 0) {
    key_.assign(rel);
    return open_or_evict(key_, now_ms);
  }
  auto it = map_.find(rel);
  if (it != map_.end()) {
    node& n = it->second;
    lru_.splice(lru_.begin(), lru_, n.lru);
    if (!n.file->damaged && now_ms - n.file->checked_ms < revalidate_ms_) return {0, n.file};
    // Stale: open again and keep the old entry only if it is the same file,
    // unchanged, so a reply in flight and a new one agree on its bytes.
    lookup_result fresh = open_or_evict(it->first, now_ms, true);
    // No descriptor to look with: the entry is still an open file, and
    // serving it a little staler beats a 503. It is looked at again on the
    // next request.
    if (fresh.status == 503) return {0, n.file};
    if (fresh.status != 0) {
      lru_.erase(n.lru);
      map_.erase(it);
      return fresh;
    }
    cached_file& o = *n.file;
    const cached_file& f = *fresh.file;
    if (!o.damaged && o.dev == f.dev && o.ino == f.ino && o.size == f.size &&
        o.mtime_sec == f.mtime_sec && o.mtime_nsec == f.mtime_nsec) {
      o.checked_ms = now_ms;
      o.siblings_known = 0;  // looked for again, so one added since is found
      return {0, n.file};
    }
    n.file = fresh.file;
    return fresh;
  }
  key_.assign(rel);
  lookup_result fresh = open_or_evict(key_, now_ms);
  if (fresh.status != 0) return fresh;  // misses are not cached: a file may appear
  // Full, and every entry looked at is in a reply: this file is served
  // without being kept, so the cache stays within its descriptors.
  if (map_.size() >= capacity_ && evict_idle(1, evict_scan) == 0) return fresh;
  lru_.push_front(key_);
  map_.emplace(key_, node{fresh.file, lru_.begin()});
  return fresh;
}

file_ref file_cache::sibling(cached_file& original, std::string_view rel, std::string_view suffix,
                             unsigned bit, std::int64_t now_ms) {
  std::unique_lock<std::mutex> lock;
  if (shared_) lock = std::unique_lock(mu_);  // the record is shared with other threads
  const auto mask = static_cast<std::uint8_t>(1u << bit);
  if ((original.siblings_known & mask) != 0 && (original.siblings_present & mask) == 0) return {};
  sibling_key_.assign(rel);
  sibling_key_.append(suffix);
  lookup_result r = lookup_locked(sibling_key_, now_ms);
  // Out of descriptors says nothing about the sibling: look again next time.
  if (r.status == 503) return {};
  original.siblings_known |= mask;
  if (r.status != 0 || r.file->is_dir) {
    original.siblings_present &= static_cast<std::uint8_t>(~mask);
    return {};
  }
  original.siblings_present |= mask;
  return std::move(r.file);
}

}  // namespace zc
