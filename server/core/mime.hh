#pragma once

// Content-Type by file-name extension. Three sources, the later winning:
// the system's mime.types file (Debian's media-types package: some 1200
// types, kept up to date by the distribution), the built-in table (the
// types the web needs, chosen for browsers where the system file is dated
// or wrong for a web server: it maps .ts to Qt Linguist, not MPEG-TS), and
// the config's [mime.types] overrides. Every Content-Type string, charset
// included, is made once when the table is built; a lookup allocates
// nothing and returns a view into the table, which the server keeps for
// its whole run.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zc {

// The part of the last path segment after its last '.', or "" when there is
// none: no dot, a trailing dot, or only a leading one (".bashrc" is a hidden
// file, not an extension).
std::string_view file_extension(std::string_view file_name) noexcept;

// Whether a type takes the configured charset: text/*, the textual
// application types (javascript, ecmascript, json, xml, yaml), and any
// structured +xml or +json type (image/svg+xml, application/rss+xml,
// application/manifest+json). Not when the type already names a charset.
bool takes_charset(std::string_view media_type) noexcept;

// A media type as a Content-Type field holds it: type "/" subtype (RFC 9110
// tokens), then optionally parameters after ';', printable ASCII only.
bool is_media_type(std::string_view s) noexcept;

// An extension a table can hold: 1 to max_extension letters, digits, '-',
// '_' or '+' (no dot: only the last extension of a name is looked up).
inline constexpr std::size_t max_extension = 32;
bool is_extension(std::string_view s) noexcept;

class mime_table {
 public:
  struct settings {
    std::string default_type = "application/octet-stream";
    std::string charset = "utf-8";  // "": no charset parameter is added
    std::string system_types;       // the text of a mime.types file; "": none
    // [mime.types]: extension (any case) -> media type, each as is_media_type()
    std::vector<std::pair<std::string, std::string>> overrides;
  };

  // The built-in table alone, charset utf-8, unknown: application/octet-stream.
  mime_table();
  explicit mime_table(const settings& s);

  mime_table(const mime_table&) = delete;
  mime_table& operator=(const mime_table&) = delete;
  mime_table(mime_table&&) = default;
  mime_table& operator=(mime_table&&) = default;

  // The Content-Type field value for `file_name` (a path or a name), by its
  // extension, case-insensitively; the default type when the extension is
  // unknown or missing. Valid while the table lives.
  std::string_view content_type(std::string_view file_name) const noexcept;

  std::size_t extensions() const noexcept { return entries_.size(); }

 private:
  struct entry {
    std::string ext;  // lower case
    std::uint32_t type;
  };
  // Distinct Content-Type strings, filled in the constructor and then only
  // read. content_type() returns views into them; a move of the table moves
  // the vector's buffer, not the strings in it, so the views stay valid.
  std::vector<std::string> types_;
  std::vector<entry> entries_;  // sorted by ext, unique
  std::uint32_t default_ = 0;
};

// The built-in table with its defaults (a process-wide mime_table): for
// tools and tests that have no configuration.
std::string_view mime_type(std::string_view file_name) noexcept;

}  // namespace zc
