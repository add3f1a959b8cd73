// [error_pages]: a file beneath the root as the body of an error reply. The
// page is looked up in the file cache, so it travels as a file range like
// any other file; the reply keeps the error's status (like nginx's
// error_page with a static file) and none of the page's validators, which
// describe the page and not the resource that was asked for.

#include <charconv>

#include "server/core/handler.hh"

namespace zc {

void handler::reject(int status, reply& out, bool head_only) {
  const std::string* page = cfg_.error_pages.for_status(status);
  if (page == nullptr) return error(status, out, false, head_only);
  // The path was checked at load to be in the cache's normalised form; a
  // page that is missing or unreadable falls back to the built-in body,
  // and since this looks the page up directly, never to another page.
  lookup_result found = cache_.lookup(std::string_view(*page).substr(1), now_ms_);
  if (found.status != 0 || found.file->is_dir) return error(status, out, false, head_only);
  const cached_file& f = *found.file;

  start_head(out, status);
  if (status == 405) out.head.append("Allow: GET, HEAD\r\n");
  out.head.append("Content-Type: ");
  out.head.append(f.mime);
  out.head.append("\r\nContent-Length: ");
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, f.size);
  (void)ec;
  out.head.append(digits, end);
  out.head.append("\r\n");
  end_head(out, false);
  if (!head_only && f.size > 0) {
    out.body = body_kind::file;
    out.file = std::move(found.file);
    out.offset = 0;
    out.length = f.size;
  }
}

}  // namespace zc
