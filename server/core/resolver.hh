#pragma once

// URL path -> file descriptor beneath the document root. The string is
// percent-decoded and normalised first, but safety does not rest on that:
// the open itself is openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) against
// a descriptor of the root, so the kernel refuses any path that would leave
// it, whatever the string looked like.

#include <string>
#include <string_view>

#include "server/sys/unique_fd.hh"

namespace zc {

struct normalized_path {
  int status = 0;   // 0 ok; else the HTTP status to answer (400)
  std::string rel;  // decoded, no leading '/', no "." or "..", no empty segments; "" is the root
  bool trailing_slash = false;  // the URL path ended in '/'
};

// Percent-decodes `url_path` (the request target's path, before '?') and
// resolves "." and ".." segments lexically. Rejects (400): not starting with
// '/', bad %-escapes, a decoded NUL, an encoded '/' (%2F) or '\\', and ".."
// that would climb above the root.
normalized_path normalize(std::string_view url_path);

struct opened {
  int status = 0;  // 0 ok; 403 (EACCES, EPERM, EXDEV: escape attempt), 404 (ENOENT, ENOTDIR), 500
  sys::unique_fd fd;
};

class resolver {
 public:
  // `root_fd` is an O_PATH|O_DIRECTORY descriptor of the document root; not owned.
  explicit resolver(int root_fd) noexcept : root_fd_(root_fd) {}

  // Opens `rel` (output of normalize) read-only, O_CLOEXEC|O_NOCTTY, beneath
  // the root. "" opens the root itself. Symlinks inside the root are followed;
  // any that leads outside it (absolute or relative) fails with 403/404.
  opened open(const std::string& rel) const;

 private:
  int root_fd_;
};

}  // namespace zc
