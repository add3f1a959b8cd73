#pragma once

// What a file's path decides about its reply, beside its bytes: its
// Content-Type (server/core/mime.hh), its Cache-Control (server/core/cache_control.hh)
// and, for a dotfile, whether it is served at all. Built once in main()
// before the workers start, from the config and the system's mime.types,
// then shared read-only by every worker: a file cache stores views into it
// with each entry, so a request costs no lookup at all.
//
// Precompressed siblings (x.js.gz for x.js) must carry the original's type
// and Cache-Control: ask with the original's name.

#include <string>
#include <string_view>

#include "server/core/cache_control.hh"
#include "server/core/config.hh"
#include "server/core/mime.hh"

namespace zc {

struct file_policy {
  mime_table mime;
  cache_control_rules cache_control;

  std::string_view content_type(std::string_view rel) const noexcept {
    return mime.content_type(rel);
  }
  // "Cache-Control: ...\r\n", or "" for none.
  std::string_view cache_control_field(std::string_view rel) const noexcept {
    return cache_control.field(rel);
  }
};

// Built-in types, charset utf-8, no Cache-Control: the policy of a file
// cache made without one (tools, tests).
const file_policy& default_file_policy();

struct file_policy_result {
  std::string error;   // "": built; else one line naming the key, the value and what is allowed
  std::string notice;  // "" or a line worth logging (the default types file is missing)
};

// Builds `out` from the config, reading mime.types_file. A types file that
// cannot be read is an error, except the default one missing (a system
// without Debian's media-types package): then the built-in table serves
// alone, and `notice` says so.
file_policy_result load_file_policy(const config& cfg, file_policy& out);

// Whether the server hides `rel` (a normalised path, see normalize()) when
// server.dotfiles is "deny": when any segment starts with '.' (".env",
// ".git/config", "sub/.htpasswd"), except a first segment ".well-known"
// (RFC 8615: ACME challenges, security.txt), which is served with what is
// beneath it; a dotfile beneath it is still hidden.
bool is_hidden_path(std::string_view rel) noexcept;

}  // namespace zc
