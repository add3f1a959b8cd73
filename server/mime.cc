#include "server/mime.hh"

#include <algorithm>
#include <array>
#include <cstddef>

namespace zc {

namespace {

struct mime_entry {
  std::string_view ext;  // lower case, no dot
  std::string_view type;
};

constexpr std::string_view octet_stream = "application/octet-stream";

// Sorted by `ext` (byte order) for binary search; the static_assert below
// keeps it that way when someone adds a line.
constexpr auto table = std::to_array<mime_entry>({
    {"7z", "application/x-7z-compressed"},
    {"aac", "audio/aac"},
    {"apng", "image/apng"},
    {"avif", "image/avif"},
    {"bmp", "image/bmp"},
    {"bz2", "application/x-bzip2"},
    {"cjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"flac", "audio/flac"},
    {"gif", "image/gif"},
    {"gz", "application/gzip"},
    {"htm", "text/html; charset=utf-8"},
    {"html", "text/html; charset=utf-8"},
    {"ico", "image/x-icon"},
    {"ics", "text/calendar; charset=utf-8"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "text/javascript; charset=utf-8"},
    {"json", "application/json; charset=utf-8"},
    {"m4a", "audio/mp4"},
    {"map", "application/json; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"mov", "video/quicktime"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"oga", "audio/ogg"},
    {"ogg", "audio/ogg"},
    {"ogv", "video/ogg"},
    {"opus", "audio/ogg"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"svg", "image/svg+xml; charset=utf-8"},
    {"tar", "application/x-tar"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"ttf", "font/ttf"},
    {"txt", "text/plain; charset=utf-8"},
    {"wasm", "application/wasm"},
    {"wav", "audio/wav"},
    {"webm", "video/webm"},
    {"webmanifest", "application/manifest+json; charset=utf-8"},
    {"webp", "image/webp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"xhtml", "application/xhtml+xml; charset=utf-8"},
    {"xml", "application/xml; charset=utf-8"},
    {"xz", "application/x-xz"},
    {"zip", "application/zip"},
    {"zst", "application/zstd"},
});

constexpr bool by_ext(const mime_entry& a, const mime_entry& b) noexcept {
  return a.ext < b.ext;
}

static_assert(std::is_sorted(table.begin(), table.end(), by_ext), "mime table must stay sorted");
static_assert(std::adjacent_find(table.begin(), table.end(),
                                 [](const mime_entry& a, const mime_entry& b) {
                                   return a.ext == b.ext;
                                 }) == table.end(),
              "mime table has a duplicate extension");

constexpr std::size_t max_ext =
    std::max_element(table.begin(), table.end(), [](const mime_entry& a, const mime_entry& b) {
      return a.ext.size() < b.ext.size();
    })->ext.size();

}  // namespace

std::string_view mime_type(std::string_view file_name) noexcept {
  const auto slash = file_name.rfind('/');
  const std::string_view base =
      slash == std::string_view::npos ? file_name : file_name.substr(slash + 1);
  const auto dot = base.rfind('.');
  // A leading dot marks a hidden file (".bashrc"), not an extension.
  if (dot == std::string_view::npos || dot == 0) return octet_stream;
  const std::string_view ext = base.substr(dot + 1);
  // Longer than any known extension: cannot match, and must not overflow.
  if (ext.empty() || ext.size() > max_ext) return octet_stream;

  // ASCII-only folding: locale-aware tolower would make the answer depend
  // on the process locale and is not needed for extensions.
  std::array<char, max_ext> buf{};
  for (std::size_t i = 0; i < ext.size(); ++i) {
    const char c = ext[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const std::string_view key(buf.data(), ext.size());

  const auto it =
      std::lower_bound(table.begin(), table.end(), key,
                       [](const mime_entry& e, std::string_view k) noexcept { return e.ext < k; });
  if (it == table.end() || it->ext != key) return octet_stream;
  return it->type;
}

}  // namespace zc
