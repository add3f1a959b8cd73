#include "server/core/file_policy.hh"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace zc {

namespace {

struct read_result {
  int err = 0;
  std::string text;
};

read_result read_whole(const std::string& path) {
  read_result r;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    r.err = errno;
    return r;
  }
  char buf[65536];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) r.text.append(buf, n);
  if (std::ferror(f) != 0) r.err = errno != 0 ? errno : EIO;
  std::fclose(f);
  return r;
}

}  // namespace

const file_policy& default_file_policy() {
  static const file_policy p;
  return p;
}

file_policy_result load_file_policy(const config& cfg, file_policy& out) {
  file_policy_result r;
  mime_table::settings s;
  s.default_type = cfg.mime.default_type;
  s.charset = cfg.mime.charset;
  s.overrides = cfg.mime.types;
  const std::string& path = cfg.mime.types_file;
  if (!path.empty()) {
    read_result f = read_whole(path);
    if (f.err == ENOENT && path == config::mime_section{}.types_file) {
      r.notice = "mime.types_file = \"" + path +
                 "\": not found; only the built-in types are known (Debian's media-types "
                 "package provides the file)";
    } else if (f.err != 0) {
      r.error = "config: mime.types_file = \"" + path + "\": cannot read: " + std::strerror(f.err) +
                " (must be a readable mime.types file, or \"\" for the built-in types only)";
      return r;
    } else {
      s.system_types = std::move(f.text);
    }
  }
  out.mime = mime_table(s);
  out.cache_control = cache_control_rules(cfg.cache_control);
  return r;
}

bool is_hidden_path(std::string_view rel) noexcept {
  bool first = true;
  while (!rel.empty()) {
    const auto slash = rel.find('/');
    const std::string_view seg = rel.substr(0, slash);
    if (seg.starts_with('.') && !(first && seg == ".well-known")) return true;
    if (slash == std::string_view::npos) break;
    rel.remove_prefix(slash + 1);
    first = false;
  }
  return false;
}

}  // namespace zc
