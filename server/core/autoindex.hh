#pragma once

// Directory listings (server.autoindex): the entries of a directory that has
// no index file, read with getdents64 from the directory's own descriptor
// (opened beneath the root like any file), sorted, and rendered as HTML.
// Each name is percent-encoded in its link and HTML-escaped in its text, so
// that any name, whatever bytes it holds, links back to that very file.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace zc {

struct listing_entry {
  std::string name;
  bool is_dir = false;
  std::uint64_t size = 0;
  std::int64_t mtime_sec = 0;
  bool described = false;  // size and date known already (a link, by its target)
};

// Directories first, then names in byte order: the same page on every
// filesystem and locale.
bool listed_before(const listing_entry& a, const listing_entry& b) noexcept;

// A listing is bounded: past `max_entries` the first of them in listing
// order are shown and `total` tells how many there were. The names are
// kept by a heap of that size as the directory is read, so a directory of
// a million entries costs the time to read it, not the memory.
inline constexpr std::size_t max_listing_entries = 10000;

struct directory_listing {
  int status = 0;                      // 0, or 500 / 503 (out of descriptors or memory)
  std::vector<listing_entry> entries;  // sorted by listed_before(), at most max_entries
  std::size_t total = 0;               // entries that could be listed, shown or not
};

// Describes the symlink `name` as what it leads to, resolved beneath the
// root; false hides it (it leads outside the root, nowhere, or to a file
// that is not served).
using link_resolver = std::function<bool(std::string_view name, listing_entry& out)>;

// Reads the directory `dir_fd` refers to (through a descriptor of its own,
// so the caller's file offset is untouched). Hidden: "." and "..", names
// starting with '.' unless `show_dotfiles` (server.dotfiles = "allow"),
// names holding '\' (the resolver refuses them), and anything that is
// neither a directory nor a regular file, since neither would be served.
directory_listing read_directory(int dir_fd, std::size_t max_entries,
                                 const link_resolver& resolve_link, bool show_dotfiles = false);

// `text` for HTML text and attribute values: & < > " ' as references, C0
// controls and bytes that are not UTF-8 as U+FFFD.
void append_html_escaped(std::string& out, std::string_view text);
// `name` as one RFC 3986 path segment: every byte but ALPHA, DIGIT and
// "-._~" as %XX. Also safe in an HTML attribute, and never read as a
// scheme (a name such as "a:b").
void append_segment_encoded(std::string& out, std::string_view name);

// The page for directory `rel` ("" is the root; no leading or trailing '/').
void render_listing(std::string& out, std::string_view rel, const directory_listing& listing);

}  // namespace zc
