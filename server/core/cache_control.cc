#include "server/core/cache_control.hh"

#include <algorithm>
#include <array>

#include "server/core/mime.hh"

namespace zc {

namespace {

constexpr char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool printable(char c) noexcept {
  return c >= 0x20 && c < 0x7f;
}

}  // namespace

bool is_cache_control_value(std::string_view s) noexcept {
  if (s.empty()) return true;
  if (s.front() == ' ' || s.back() == ' ') return false;
  return std::all_of(s.begin(), s.end(), printable);
}

bool is_cache_control_path(std::string_view s) noexcept {
  if (s.empty() || s.front() != '/' || s.find("//") != std::string_view::npos) return false;
  if (!std::all_of(s.begin(), s.end(),
                   [](char c) { return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f; }))
    return false;
  if (s.size() > 1 && s.back() == '/') s.remove_suffix(1);
  s.remove_prefix(1);  // "/" is now "", the root: no segment to check
  while (!s.empty()) {
    const auto slash = s.find('/');
    const std::string_view seg = s.substr(0, slash);
    if (seg.empty() || seg == "." || seg == "..") return false;
    if (slash == std::string_view::npos) break;
    s.remove_prefix(slash + 1);
  }
  return true;
}

std::string canonical_cache_control_path(std::string_view s) {
  if (s.size() > 1 && s.back() == '/') s.remove_suffix(1);
  return std::string(s);
}

cache_control_rules::cache_control_rules() {
  lines_.emplace_back();
}

cache_control_rules::cache_control_rules(const config::cache_control_section& c) {
  lines_.emplace_back();
  default_ = intern(c.default_value);
  for (const auto& [path, value] : c.paths) {
    std::string rel = canonical_cache_control_path(path).substr(1);
    paths_.push_back({std::move(rel), intern(value)});
  }
  // Longest first, so the first match is the longest. Two rules of one
  // length cannot both match one path (they would be the same path).
  std::stable_sort(paths_.begin(), paths_.end(), [](const path_rule& a, const path_rule& b) {
    return a.rel.size() > b.rel.size();
  });
  for (const auto& [ext, value] : c.extensions) {
    std::string e(ext);
    for (char& ch : e) ch = lower(ch);
    exts_.push_back({std::move(e), intern(value)});
  }
  std::stable_sort(exts_.begin(), exts_.end(),
                   [](const ext_rule& a, const ext_rule& b) { return a.ext < b.ext; });
}

std::uint32_t cache_control_rules::intern(std::string_view value) {
  if (value.empty()) return 0;
  std::string line = "Cache-Control: ";
  line.append(value);
  line.append("\r\n");
  const auto it = std::find(lines_.begin(), lines_.end(), line);
  if (it != lines_.end()) return static_cast<std::uint32_t>(it - lines_.begin());
  lines_.push_back(std::move(line));
  return static_cast<std::uint32_t>(lines_.size() - 1);
}

std::string_view cache_control_rules::field(std::string_view rel) const noexcept {
  for (const path_rule& p : paths_) {
    // The path itself, or something beneath it; "" (the root) covers all.
    if (p.rel.empty() ||
        (rel.starts_with(p.rel) && (rel.size() == p.rel.size() || rel[p.rel.size()] == '/')))
      return lines_[p.line];
  }
  const std::string_view ext = file_extension(rel);
  if (!exts_.empty() && !ext.empty() && ext.size() <= max_extension) {
    std::array<char, max_extension> buf;
    for (std::size_t i = 0; i < ext.size(); ++i) buf[i] = lower(ext[i]);
    const std::string_view key(buf.data(), ext.size());
    const auto it =
        std::lower_bound(exts_.begin(), exts_.end(), key,
                         [](const ext_rule& e, std::string_view k) { return e.ext < k; });
    if (it != exts_.end() && it->ext == key) return lines_[it->line];
  }
  return lines_[default_];
}

}  // namespace zc
