#include "server/core/resolver.hh"

#include <fcntl.h>
#include <linux/openat2.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "server/sys/counted.hh"

namespace zc {

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Removes the last segment of `rel` (segments joined by '/', no leading or
// trailing '/'). Returns false when there is nothing left to pop: ".." would
// climb above the root.
bool pop_segment(std::string& rel) noexcept {
  if (rel.empty()) return false;
  const auto slash = rel.rfind('/');
  rel.resize(slash == std::string::npos ? 0 : slash);
  return true;
}

constexpr int bad_request = 400;

}  // namespace

normalized_path normalize(std::string_view url_path) {
  normalized_path out;
  // On failure nothing half-decoded is left in `rel` for a careless caller.
  const auto fail = [&out] {
    out.status = bad_request;
    out.rel.clear();
    return std::move(out);
  };
  if (url_path.empty() || url_path.front() != '/') return fail();
  // Decoding only ever shrinks the path, so one reservation covers it.
  out.rel.reserve(url_path.size());

  bool last_was_dot_segment = false;
  std::size_t i = 0;
  const std::size_t n = url_path.size();
  while (i < n) {
    // Raw '/' separates segments; a run of them is one separator.
    while (i < n && url_path[i] == '/') ++i;
    if (i == n) break;

    // Decode the segment straight onto the end of `rel`; if it turns out to
    // be "." or ".." it is taken off again. Segments are decoded one at a
    // time, before the dot check, so "%2e%2e" is "..", and a decoded '/'
    // can never become a separator because it is refused outright.
    const std::size_t seg_start = out.rel.size() + (out.rel.empty() ? 0 : 1);
    if (!out.rel.empty()) out.rel.push_back('/');
    while (i < n && url_path[i] != '/') {
      char c = url_path[i];
      if (c == '%') {
        const int hi = i + 2 < n ? hex_value(url_path[i + 1]) : -1;
        const int lo = hi >= 0 ? hex_value(url_path[i + 2]) : -1;
        if (lo < 0) return fail();
        c = static_cast<char>(hi * 16 + lo);
        // An encoded '/' would let the client smuggle path structure past
        // the segment split.
        if (c == '/') return fail();
        i += 3;
      } else {
        ++i;
      }
      // A NUL would cut the C string the kernel sees. '\\' is a separator
      // on other systems and a classic traversal vector through proxies and
      // caches that normalise it; no file we serve needs either.
      if (c == '\0' || c == '\\') return fail();
      out.rel.push_back(c);
    }

    const std::string_view seg = std::string_view(out.rel).substr(seg_start);
    last_was_dot_segment = seg == "." || seg == "..";
    if (!last_was_dot_segment) continue;
    const bool up = seg == "..";
    // Drop the segment together with the '/' added before it.
    out.rel.resize(seg_start == 0 ? 0 : seg_start - 1);
    if (up && !pop_segment(out.rel)) return fail();
  }

  // "/a/b/.." names the directory "a", exactly as "/a/" does, so it gets the
  // same directory treatment (index file, redirect) downstream.
  out.trailing_slash = url_path.back() == '/' || last_was_dot_segment;
  return out;
}

opened resolver::open(const std::string& rel) const {
  opened out;
  // A NUL would silently cut the path the kernel sees and open a different
  // file than the one asked for; no such name can exist.
  if (std::memchr(rel.data(), '\0', rel.size()) != nullptr) {
    out.status = 404;
    return out;
  }

  ::open_how how{};
  // O_NONBLOCK so that a FIFO planted under the root cannot block the
  // worker in open(); the file cache refuses anything but regular files and
  // directories and clears the flag on what it keeps (io_uring treats an
  // O_NONBLOCK file as "never punt to a worker").
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  // The kernel, not normalize(), is what keeps us under the root:
  // RESOLVE_BENEATH refuses '..' past the root and absolute symlinks, and
  // RESOLVE_NO_MAGICLINKS refuses /proc/<pid>/fd-style links that jump to
  // any open file.
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  const char* path = rel.empty() ? "." : rel.c_str();

  // With RESOLVE_BENEATH the kernel answers EAGAIN when a concurrent rename
  // or mount could have let a ".." (e.g. inside a symlink target) escape; it
  // asks the caller to retry. A bounded loop keeps a hostile renamer from
  // pinning the worker.
  constexpr int attempts = 4;
  int fd = -1;
  int err = 0;
  for (int a = 0; a < attempts; ++a) {
    fd = sys::openat2(root_fd_, path, &how);
    if (fd >= 0) break;
    err = errno;
    if (err != EAGAIN && err != EINTR) break;
  }
  if (fd >= 0) {
    out.fd.reset(fd);
    return out;
  }

  switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
    case ELOOP:  // symlink loop, or a magic link refused
      out.status = 404;
      break;
    case EACCES:
    case EPERM:
    case EXDEV:  // RESOLVE_BENEATH: the path tried to leave the root
    case ENXIO:  // a Unix socket (or a device without its driver): no bytes to serve
      out.status = 403;
      break;
    case EMFILE:  // out of descriptors or kernel memory for now: not the
    case ENFILE:  // file's fault, and a retry may well succeed
    case ENOMEM:
      out.status = 503;
      break;
    default:
      out.status = 500;
      break;
  }
  return out;
}

}  // namespace zc
