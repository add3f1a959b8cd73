#include "server/core/autoindex.hh"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <memory>
#include <queue>

#include "server/core/handler.hh"
#include "server/core/percent_encode.hh"
#include "server/sys/counted.hh"
#include "server/sys/unique_fd.hh"

namespace zc {

namespace {

// The kernel's record for getdents64 (linux_dirent64), which glibc does
// not declare.
struct dirent64_record {
  std::uint64_t ino;
  std::int64_t off;
  std::uint16_t reclen;
  std::uint8_t type;
  char name[1];  // NUL-terminated, padded to reclen
};

constexpr unsigned char dt_unknown = 0, dt_dir = 4, dt_reg = 8, dt_lnk = 10;

bool hidden(std::string_view name, bool show_dotfiles) noexcept {
  // "." and ".." never; other dotfiles only when server.dotfiles serves
  // them ("allow"): a listing links to nothing the server would refuse.
  if (name.empty() || name == "." || name == "..") return true;
  if (name.front() == '.' && !show_dotfiles) return true;
  return name.find('\\') != std::string_view::npos;
}

// The length of the UTF-8 sequence at s[i], or 0 when it is not one
// (overlong forms, surrogates and code points past U+10FFFF included).
std::size_t utf8_length(std::string_view s, std::size_t i) noexcept {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, end);
}

void append_date(std::string& out, std::int64_t sec) {
  const std::time_t t = static_cast<std::time_t>(sec);
  std::tm tm{};
  char buf[32];
  if (gmtime_r(&t, &tm) == nullptr) return;
  out.append(buf, std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm));
}

// A fresh descriptor of the same directory: getdents64 reads from the
// descriptor's offset, which the cached one must keep at 0 for the next
// reader. "." beneath the directory cannot leave it.
sys::unique_fd reopen_directory(int dir_fd) {
  open_how how{};
  how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return sys::unique_fd(sys::openat2(dir_fd, ".", &how));
}

int status_for(int err) noexcept {
  return err == EMFILE || err == ENFILE || err == ENOMEM ? 503 : 500;
}

}  // namespace

bool listed_before(const listing_entry& a, const listing_entry& b) noexcept {
  if (a.is_dir != b.is_dir) return a.is_dir;
  return a.name < b.name;
}

directory_listing read_directory(int dir_fd, std::size_t max_entries,
                                 const link_resolver& resolve_link, bool show_dotfiles) {
  directory_listing out;
  sys::unique_fd fd = reopen_directory(dir_fd);
  if (!fd) {
    out.status = status_for(errno);
    return out;
  }
  // The first `max_entries` in listing order, as a heap whose top is the
  // last of them: a later entry that sorts before it takes its place.
  const auto later = [](const listing_entry& a, const listing_entry& b) {
    return listed_before(a, b);
  };
  std::priority_queue<listing_entry, std::vector<listing_entry>, decltype(later)> kept(later);
  constexpr std::size_t buf_size = 32 * 1024;
  const auto buf = std::make_unique<char[]>(buf_size);
  while (true) {
    const ssize_t n = sys::getdents64(fd.get(), buf.get(), buf_size);
    if (n < 0) {
      out.status = status_for(errno);
      return out;
    }
    if (n == 0) break;
    for (ssize_t at = 0; at < n;) {
      const auto* d = reinterpret_cast<const dirent64_record*>(buf.get() + at);
      at += d->reclen;
      listing_entry e;
      e.name = d->name;
      if (hidden(e.name, show_dotfiles)) continue;
      unsigned char type = d->type;
      if (type == dt_unknown) {  // some filesystems do not say: ask
        struct stat st;
        if (sys::fstatat(fd.get(), e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        type = S_ISDIR(st.st_mode)   ? dt_dir
               : S_ISREG(st.st_mode) ? dt_reg
               : S_ISLNK(st.st_mode) ? dt_lnk
                                     : dt_unknown;
      }
      if (type == dt_lnk) {
        // Described by what it leads to, resolved beneath the root; the
        // size and date are known now, so it is not looked at again.
        if (!resolve_link(e.name, e)) continue;
        e.described = true;
      } else if (type == dt_dir) {
        e.is_dir = true;
      } else if (type != dt_reg) {
        continue;
      }
      ++out.total;
      if (kept.size() < max_entries) {
        kept.push(std::move(e));
      } else if (max_entries > 0 && listed_before(e, kept.top())) {
        kept.pop();
        kept.push(std::move(e));
      }
    }
  }
  out.entries.reserve(kept.size());
  while (!kept.empty()) {
    out.entries.push_back(std::move(const_cast<listing_entry&>(kept.top())));
    kept.pop();
  }
  std::reverse(out.entries.begin(), out.entries.end());
  // Sizes and dates for the entries shown only.
  std::erase_if(out.entries, [&](listing_entry& e) {
    if (e.described) return false;
    struct stat st;
    // Gone since it was read: not listed.
    if (sys::fstatat(fd.get(), e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return true;
    e.size = e.is_dir ? 0 : static_cast<std::uint64_t>(st.st_size);
    e.mtime_sec = st.st_mtim.tv_sec;
    return false;
  });
  return out;
}

void append_html_escaped(std::string& out, std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const char ch = text[i];
    const auto c = static_cast<unsigned char>(ch);
    std::size_t len = utf8_length(text, i);
    if (len == 0 || c < 0x20 || c == 0x7F) {
      out.append("\xEF\xBF\xBD");  // U+FFFD
      i += len == 0 ? 1 : len;
      continue;
    }
    switch (ch) {
      case '&':
        out.append("&amp;");
        break;
      case '<':
        out.append("&lt;");
        break;
      case '>':
        out.append("&gt;");
        break;
      case '"':
        out.append("&quot;");
        break;
      case '\'':
        out.append("&#39;");
        break;
      default:
        out.append(text.substr(i, len));
    }
    i += len;
  }
}

void append_segment_encoded(std::string& out, std::string_view name) {
  append_percent_encoded(out, name, unreserved_marks);
}

void render_listing(std::string& out, std::string_view rel, const directory_listing& listing) {
  std::string title = "Index of /";
  append_html_escaped(title, rel);
  if (!rel.empty()) title.push_back('/');
  out.append("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>");
  out.append(title);
  out.append("</title></head>\n<body>\n<h1>");
  out.append(title);
  out.append("</h1>\n<table>\n<tr><th>Name</th><th>Last modified (UTC)</th><th>Size</th></tr>\n");
  if (!rel.empty()) out.append("<tr><td><a href=\"../\">../</a></td><td></td><td>-</td></tr>\n");
  for (const listing_entry& e : listing.entries) {
    out.append("<tr><td><a href=\"");
    append_segment_encoded(out, e.name);
    if (e.is_dir) out.push_back('/');
    out.append("\">");
    append_html_escaped(out, e.name);
    if (e.is_dir) out.push_back('/');
    out.append("</a></td><td>");
    append_date(out, e.mtime_sec);
    out.append("</td><td>");
    if (e.is_dir)
      out.push_back('-');
    else
      append_uint(out, e.size);
    out.append("</td></tr>\n");
  }
  out.append("</table>\n");
  if (listing.entries.size() < listing.total) {
    out.append("<p>The first ");
    append_uint(out, listing.entries.size());
    out.append(" of ");
    append_uint(out, listing.total);
    out.append(" entries.</p>\n");
  }
  out.append("</body></html>\n");
}

void handler::serve_listing(const http::request& req, const cached_file& dir, std::string_view rel,
                            reply& out) {
  const bool head_only = req.verb == http::method::head;
  // A link is listed as what it leads to, found the way a request for it
  // would find it: through the cache, beneath the root.
  const link_resolver resolve = [&](std::string_view name, listing_entry& e) {
    scratch_.assign(rel);
    if (!scratch_.empty()) scratch_.push_back('/');
    scratch_.append(name);
    const lookup_result r = cache_.lookup(scratch_, now_ms_);
    if (r.status != 0) return false;
    e.is_dir = r.file->is_dir;
    e.size = r.file->size;
    e.mtime_sec = r.file->mtime_sec;
    return true;
  };
  const directory_listing listing = read_directory(dir.fd.get(), max_listing_entries, resolve,
                                                   cfg_.dotfiles == config::dotfiles_mode::allow);
  if (listing.status != 0) return reject(listing.status, out, head_only);

  auto body = std::make_unique<std::string>();
  render_listing(*body, rel, listing);
  start_head(out, 200);
  out.head.append("Content-Type: text/html; charset=utf-8\r\nContent-Length: ");
  append_uint(out.head, body->size());
  out.head.append("\r\n");
  end_head(out, req.ver == http::version::http10 && req.keep_alive);
  if (!head_only && !body->empty()) {
    out.body = body_kind::memory;
    out.memory = *body;
    out.length = body->size();
    out.owned = std::move(body);
  }
}

}  // namespace zc
