#include "server/core/mime.hh"

#include <algorithm>
#include <array>
#include <map>

namespace zc {

namespace {

struct builtin_entry {
  std::string_view ext;  // lower case, no dot
  std::string_view type;
};

// The types a web server needs right, whatever the system's mime.types
// says: browsers refuse a module script, a stylesheet or WebAssembly
// streaming compilation with the wrong type, and download what they do not
// recognise. Where Debian's media-types differs on purpose: ts is MPEG-TS
// here (HLS segments), not Qt Linguist; wav is audio/wav; rss is
// application/rss+xml, as browsers and feed readers expect. Charsets are
// not written here: the table adds the configured one (takes_charset()).
// Sorted by `ext` (byte order); the static_asserts keep it so.
constexpr auto builtin = std::to_array<builtin_entry>({
    {"7z", "application/x-7z-compressed"},
    {"aac", "audio/aac"},
    {"apng", "image/apng"},
    {"atom", "application/atom+xml"},
    {"avif", "image/avif"},
    {"bmp", "image/bmp"},
    {"bz2", "application/x-bzip2"},
    {"cjs", "text/javascript"},
    {"css", "text/css"},
    {"csv", "text/csv"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"flac", "audio/flac"},
    {"gif", "image/gif"},
    {"gz", "application/gzip"},
    {"htm", "text/html"},
    {"html", "text/html"},
    {"ico", "image/x-icon"},
    {"ics", "text/calendar"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "text/javascript"},
    {"json", "application/json"},
    {"jsonld", "application/ld+json"},
    {"m3u8", "application/vnd.apple.mpegurl"},
    {"m4a", "audio/mp4"},
    {"m4v", "video/mp4"},
    {"map", "application/json"},
    {"md", "text/markdown"},
    {"mjs", "text/javascript"},
    {"mkv", "video/x-matroska"},
    {"mov", "video/quicktime"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"mpd", "application/dash+xml"},
    {"oga", "audio/ogg"},
    {"ogg", "audio/ogg"},
    {"ogv", "video/ogg"},
    {"opus", "audio/ogg"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"rss", "application/rss+xml"},
    {"svg", "image/svg+xml"},
    {"tar", "application/x-tar"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"ts", "video/mp2t"},
    {"ttf", "font/ttf"},
    {"txt", "text/plain"},
    {"vtt", "text/vtt"},
    {"wasm", "application/wasm"},
    {"wav", "audio/wav"},
    {"webm", "video/webm"},
    {"webmanifest", "application/manifest+json"},
    {"webp", "image/webp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"xhtml", "application/xhtml+xml"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"xml", "application/xml"},
    {"xz", "application/x-xz"},
    {"yaml", "application/yaml"},
    {"yml", "application/yaml"},
    {"zip", "application/zip"},
    {"zst", "application/zstd"},
});

static_assert(std::is_sorted(builtin.begin(), builtin.end(),
                             [](const builtin_entry& a, const builtin_entry& b) {
                               return a.ext < b.ext;
                             }),
              "the built-in mime table must stay sorted");
static_assert(std::adjacent_find(builtin.begin(), builtin.end(),
                                 [](const builtin_entry& a, const builtin_entry& b) {
                                   return a.ext == b.ext;
                                 }) == builtin.end(),
              "the built-in mime table has a duplicate extension");

// ASCII only: a locale-aware tolower would make the answer depend on the
// process locale, which extensions and type names do not need.
constexpr char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

bool ends_with_nocase(std::string_view s, std::string_view suffix) noexcept {
  return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

// RFC 9110 §5.6.2 tchar.
bool is_tchar(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// "type/subtype" of a media type, without its parameters or the spaces
// before them.
std::string_view essence(std::string_view media_type) noexcept {
  const auto semi = media_type.find(';');
  std::string_view e = media_type.substr(0, semi);
  while (!e.empty() && (e.back() == ' ' || e.back() == '\t')) e.remove_suffix(1);
  return e;
}

bool names_charset(std::string_view media_type) noexcept {
  // Parameters are "; name=value"; a charset parameter's name, any case.
  for (auto semi = media_type.find(';'); semi != std::string_view::npos;
       semi = media_type.find(';', semi + 1)) {
    std::string_view p = media_type.substr(semi + 1);
    while (!p.empty() && (p.front() == ' ' || p.front() == '\t')) p.remove_prefix(1);
    if (p.size() >= 8 && iequals(p.substr(0, 8), "charset=")) return true;
  }
  return false;
}

std::string with_charset(std::string_view type, std::string_view charset) {
  std::string out(type);
  if (!charset.empty() && takes_charset(type)) {
    out += "; charset=";
    out += charset;
  }
  return out;
}

// Lines of "type ext ext ...", '#' starting a comment; a line whose first
// word is no media type is skipped, and so is an extension the lookup could
// never match (one with a dot, "sarif-external-properties.json"). The first
// line to name an extension keeps it.
void read_mime_types(std::string_view text, std::map<std::string, std::string>& out) {
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (const auto hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    constexpr std::string_view space = " \t\r\v\f";
    std::string_view type;
    for (;;) {
      const auto b = line.find_first_not_of(space);
      if (b == std::string_view::npos) break;
      line.remove_prefix(b);
      const std::string_view word = line.substr(0, line.find_first_of(space));
      line.remove_prefix(word.size());
      if (type.empty()) {
        if (!is_media_type(word) || word.find(';') != std::string_view::npos) break;
        type = word;
      } else if (is_extension(word)) {
        out.emplace(lowered(word), std::string(type));
      }
    }
  }
}

}  // namespace

std::string_view file_extension(std::string_view file_name) noexcept {
  const auto slash = file_name.rfind('/');
  const std::string_view base =
      slash == std::string_view::npos ? file_name : file_name.substr(slash + 1);
  const auto dot = base.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return {};
  return base.substr(dot + 1);
}

bool takes_charset(std::string_view media_type) noexcept {
  if (names_charset(media_type)) return false;
  const std::string_view e = essence(media_type);
  const auto slash = e.find('/');
  if (slash == std::string_view::npos) return false;
  const std::string_view top = e.substr(0, slash);
  const std::string_view sub = e.substr(slash + 1);
  if (iequals(top, "text")) return true;
  if (ends_with_nocase(sub, "+xml") || ends_with_nocase(sub, "+json")) return true;
  if (!iequals(top, "application")) return false;
  for (std::string_view t : {"javascript", "ecmascript", "json", "xml", "yaml"})
    if (iequals(sub, t)) return true;
  return false;
}

bool is_media_type(std::string_view s) noexcept {
  const std::string_view e = essence(s);
  const auto slash = e.find('/');
  if (slash == std::string_view::npos || !is_token(e.substr(0, slash)) ||
      !is_token(e.substr(slash + 1)))
    return false;
  // Parameters are not parsed: printable ASCII keeps the header well formed.
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c == '\t' || (c >= 0x20 && c < 0x7f); });
}

bool is_extension(std::string_view s) noexcept {
  return !s.empty() && s.size() <= max_extension && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '+';
  });
}

mime_table::mime_table() : mime_table(settings{}) {}

mime_table::mime_table(const settings& s) {
  // Extension -> bare type, each source over the one before it.
  std::map<std::string, std::string> chosen;
  read_mime_types(s.system_types, chosen);
  for (const builtin_entry& b : builtin)
    chosen.insert_or_assign(std::string(b.ext), std::string(b.type));
  for (const auto& [ext, type] : s.overrides) chosen.insert_or_assign(lowered(ext), type);

  // One string per distinct Content-Type: a thousand extensions share a few
  // hundred types.
  std::map<std::string, std::uint32_t> index;
  auto intern = [&](std::string_view type) {
    std::string full = with_charset(type, s.charset);
    auto [it, added] =
        index.try_emplace(std::move(full), static_cast<std::uint32_t>(types_.size()));
    if (added) types_.push_back(it->first);
    return it->second;
  };
  default_ = intern(s.default_type);
  entries_.reserve(chosen.size());
  for (const auto& [ext, type] : chosen) entries_.push_back({ext, intern(type)});
  // std::map iterated in key order: entries_ is sorted and unique.
}

std::string_view mime_table::content_type(std::string_view file_name) const noexcept {
  const std::string_view ext = file_extension(file_name);
  // Longer than any extension a table holds: cannot match, and must not
  // overflow the buffer below.
  if (ext.empty() || ext.size() > max_extension) return types_[default_];
  std::array<char, max_extension> buf;
  for (std::size_t i = 0; i < ext.size(); ++i) buf[i] = lower(ext[i]);
  const std::string_view key(buf.data(), ext.size());
  const auto it =
      std::lower_bound(entries_.begin(), entries_.end(), key,
                       [](const entry& e, std::string_view k) noexcept { return e.ext < k; });
  if (it == entries_.end() || it->ext != key) return types_[default_];
  return types_[it->type];
}

std::string_view mime_type(std::string_view file_name) noexcept {
  static const mime_table table;
  return table.content_type(file_name);
}

}  // namespace zc
