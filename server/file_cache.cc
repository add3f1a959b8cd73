#include "server/file_cache.hh"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cinttypes>
#include <cstdio>

#include "backends/sys/counted.hh"
#include "server/http_date.hh"
#include "server/mime.hh"

namespace zc {

cached_file::~cached_file() {
  if (registrar != nullptr) registrar->forget(registered_slot);
  if (map_ != nullptr) sys::munmap(map_, map_len_);
}

const char* cached_file::mapping() noexcept {
  if (map_ == nullptr && size > 0) {
    void* p = sys::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd.get(), 0);
    if (p == MAP_FAILED) return nullptr;
    map_ = p;
    map_len_ = size;
  }
  return static_cast<const char*>(map_);
}

file_cache::file_cache(int root_fd, std::size_t capacity, std::int64_t revalidate_ms)
    : resolver_(root_fd), capacity_(capacity), revalidate_ms_(revalidate_ms) {
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
  out.file = file_ref(f);
  f->fd = std::move(o.fd);
  f->size = dir ? 0 : static_cast<std::uint64_t>(st.st_size);
  f->mtime_sec = st.st_mtim.tv_sec;
  f->mtime_nsec = st.st_mtim.tv_nsec;
  f->dev = st.st_dev;
  f->ino = st.st_ino;
  f->is_dir = dir;
  f->checked_ms = now_ms;
  char tag[64];
  int n = std::snprintf(tag, sizeof tag, "\"%" PRIx64 "-%" PRIx64 "\"",
                        static_cast<std::uint64_t>(st.st_mtim.tv_sec), f->size);
  f->etag.assign(tag, static_cast<std::size_t>(n));
  format_http_date(st.st_mtim.tv_sec, f->last_modified);
  f->mime = mime_type(rel);
  return out;
}

lookup_result file_cache::lookup(std::string_view rel, std::int64_t now_ms) {
  if (capacity_ == 0) {
    key_.assign(rel);
    return open_fresh(key_, now_ms);
  }
  auto it = map_.find(rel);
  if (it != map_.end()) {
    node& n = it->second;
    lru_.splice(lru_.begin(), lru_, n.lru);
    if (now_ms - n.file->checked_ms < revalidate_ms_) return {0, n.file};
    // Stale: open again and keep the old entry only if it is the same file,
    // unchanged, so a reply in flight and a new one agree on its bytes.
    lookup_result fresh = open_fresh(it->first, now_ms);
    if (fresh.status != 0) {
      lru_.erase(n.lru);
      map_.erase(it);
      return fresh;
    }
    cached_file& o = *n.file;
    const cached_file& f = *fresh.file;
    if (o.dev == f.dev && o.ino == f.ino && o.size == f.size && o.mtime_sec == f.mtime_sec &&
        o.mtime_nsec == f.mtime_nsec) {
      o.checked_ms = now_ms;
      return {0, n.file};
    }
    n.file = fresh.file;
    return fresh;
  }
  key_.assign(rel);
  lookup_result fresh = open_fresh(key_, now_ms);
  if (fresh.status != 0) return fresh;  // misses are not cached: a file may appear
  if (map_.size() >= capacity_) {
    map_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(key_);
  map_.emplace(key_, node{fresh.file, lru_.begin()});
  return fresh;
}

}  // namespace zc
