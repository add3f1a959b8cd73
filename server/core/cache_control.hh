#pragma once

// Cache-Control by path, as [cache_control] configures it. For a file, the
// first of these that has a rule gives the value:
//
//   1. the longest path rule that is the file's path or one of its
//      directories ("/assets" covers /assets/app.js and /assets/img/a.png,
//      not /assets-old/x);
//   2. the rule for its extension, case-insensitively (the last one: "html"
//      for page.html, "gz" for a.tar.gz);
//   3. cache_control.default.
//
// A path is the more specific choice (a directory of fingerprinted assets,
// one service worker), so it wins over an extension. A rule whose value is
// "" sends no Cache-Control, which lets a path or an extension opt out of
// the default. Each distinct "Cache-Control: ...\r\n" line is made once at
// start; field() returns a view of one, so serving a file appends one view.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/core/config.hh"

namespace zc {

// A value the field may carry: printable ASCII (no control character, so no
// CR or LF), no leading or trailing space. "" is allowed: no field.
bool is_cache_control_value(std::string_view s) noexcept;

// A path rule's key: starts with '/', no empty, "." or ".." segment, no
// control character; one trailing '/' is allowed and ignored.
bool is_cache_control_path(std::string_view s) noexcept;

// "/assets/" -> "/assets": the form path rules are kept and shown in.
std::string canonical_cache_control_path(std::string_view s);

class cache_control_rules {
 public:
  // No rules: no Cache-Control on any file.
  cache_control_rules();
  // The values and keys are assumed checked (config_load.cc does it).
  explicit cache_control_rules(const config::cache_control_section& c);

  // The whole "Cache-Control: <value>\r\n" line for the file at `rel` (a
  // normalised path as normalize() makes it: no leading '/'), or "" when no
  // field is to be sent. Valid while the rules live.
  std::string_view field(std::string_view rel) const noexcept;

 private:
  struct path_rule {
    std::string rel;  // "assets" for "/assets"; "" for "/"
    std::uint32_t line;
  };
  struct ext_rule {
    std::string ext;  // lower case
    std::uint32_t line;
  };
  std::uint32_t intern(std::string_view value);

  // Distinct field lines; index 0 is "" (no field). Filled in the
  // constructor, then only read: a move of the object moves the vector's
  // buffer, not the strings, so views stay valid.
  std::vector<std::string> lines_;
  std::vector<path_rule> paths_;  // longest first
  std::vector<ext_rule> exts_;    // sorted by ext
  std::uint32_t default_ = 0;
};

}  // namespace zc
