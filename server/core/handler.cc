#include "server/core/handler.hh"

#include <charconv>

#include "server/core/file_policy.hh"
#include "server/core/http_date.hh"
#include "server/core/percent_encode.hh"
#include "server/core/ranges.hh"
#include "server/core/resolver.hh"

namespace zc {

namespace {

struct status_text {
  int code;
  std::string_view reason;
  std::string_view body;
};

#define ZC_ERROR_BODY(code, text) \
  "<!doctype html><title>" #code " " text "</title><h1>" #code " " text "</h1>\n"

constexpr status_text statuses[] = {
    {200, "OK", ""},
    {206, "Partial Content", ""},
    {301, "Moved Permanently", ZC_ERROR_BODY(301, "Moved Permanently")},
    {304, "Not Modified", ""},
    {400, "Bad Request", ZC_ERROR_BODY(400, "Bad Request")},
    {403, "Forbidden", ZC_ERROR_BODY(403, "Forbidden")},
    {404, "Not Found", ZC_ERROR_BODY(404, "Not Found")},
    {405, "Method Not Allowed", ZC_ERROR_BODY(405, "Method Not Allowed")},
    {408, "Request Timeout", ZC_ERROR_BODY(408, "Request Timeout")},
    {413, "Content Too Large", ZC_ERROR_BODY(413, "Content Too Large")},
    {414, "URI Too Long", ZC_ERROR_BODY(414, "URI Too Long")},
    {412, "Precondition Failed", ZC_ERROR_BODY(412, "Precondition Failed")},
    {416, "Range Not Satisfiable", ZC_ERROR_BODY(416, "Range Not Satisfiable")},
    {431, "Request Header Fields Too Large", ZC_ERROR_BODY(431, "Request Header Fields Too Large")},
    {500, "Internal Server Error", ZC_ERROR_BODY(500, "Internal Server Error")},
    {501, "Not Implemented", ZC_ERROR_BODY(501, "Not Implemented")},
    {503, "Service Unavailable", ZC_ERROR_BODY(503, "Service Unavailable")},
    {505, "HTTP Version Not Supported", ZC_ERROR_BODY(505, "HTTP Version Not Supported")},
};

#undef ZC_ERROR_BODY

const status_text& lookup_status(int code) noexcept {
  for (const auto& s : statuses)
    if (s.code == code) return s;
  return statuses[13];  // 500
}

void append_uint(std::string& s, std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  s.append(buf, end);
}

}  // namespace

std::string_view reason_phrase(int status) noexcept {
  return lookup_status(status).reason;
}

handler::handler(const config& cfg, file_cache& cache) : cfg_(cfg), cache_(cache) {
  server_field_ = "Server: zcserve\r\n";
  ranges_.resize(cfg.server.max_ranges);
  for (const std::string& name : cfg_.server.precompressed)
    if (const auto c = coding_named(name)) precompressed_.push_back(*c);
}

void handler::start_head(reply& out, int status) {
  out.status = status;
  out.head.append("HTTP/1.1 ");
  append_uint(out.head, static_cast<std::uint64_t>(status));
  out.head.push_back(' ');
  out.head.append(reason_phrase(status));
  out.head.append("\r\n");
  out.head.append(server_field_);
  out.head.append("Date: ");
  out.head.append(http_date_now());
  out.head.append("\r\n");
}

void handler::end_head(reply& out, bool keep_alive_token) {
  if (out.close_after)
    out.head.append("Connection: close\r\n");
  else if (keep_alive_token)
    out.head.append("Connection: keep-alive\r\n");
  out.head.append("\r\n");
}

void handler::file_fields(reply& out, const cached_file& f) {
  out.head.append("Last-Modified: ");
  out.head.append(f.last_modified);
  out.head.append("\r\nETag: ");
  out.head.append(f.etag);
  out.head.append("\r\n");
}

namespace {
// Caches must key a file with precompressed siblings on Accept-Encoding,
// whichever representation this reply carries (RFC 9110 §12.5.5); a 304
// carries it too (§15.4.5).
void vary_field(reply& out, bool vary) {
  if (vary) out.head.append("Vary: Accept-Encoding\r\n");
}
}  // namespace

void handler::error(int status, reply& out, bool close_after, bool head_only) {
  const status_text& s = lookup_status(status);
  out.close_after = out.close_after || close_after;
  start_head(out, s.code);
  if (s.code == 405) out.head.append("Allow: GET, HEAD\r\n");
  out.head.append("Content-Type: text/html; charset=utf-8\r\nContent-Length: ");
  append_uint(out.head, s.body.size());
  out.head.append("\r\n");
  end_head(out, false);
  if (!head_only && !s.body.empty()) {
    out.body = body_kind::memory;
    out.memory = s.body;
    out.length = s.body.size();
  }
}

void handler::redirect_to_directory(const http::request& req, std::string_view rel, reply& out) {
  const status_text& s = lookup_status(301);
  start_head(out, 301);
  // From the normalised path, never the raw target: "//host/../dir" must
  // not become "//host/../dir/", which a browser reads as another host.
  // `rel` has no empty segment, so the result starts with exactly one '/'.
  out.head.append("Location: /");
  append_percent_encoded(out.head, rel, path_marks);
  out.head.push_back('/');
  if (!req.query.empty()) {
    out.head.push_back('?');
    append_percent_encoded(out.head, req.query, query_marks);
  }
  out.head.append("\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ");
  append_uint(out.head, s.body.size());
  out.head.append("\r\n");
  end_head(out, req.ver == http::version::http10 && req.keep_alive);
  if (req.verb != http::method::head) {
    out.body = body_kind::memory;
    out.memory = s.body;
    out.length = s.body.size();
  }
}

void handler::handle(const http::request& req, reply& out, std::int64_t now_ms) {
  const bool head_only = req.verb == http::method::head;
  now_ms_ = now_ms;
  out.close_after = out.close_after || !req.keep_alive;
  if (req.verb == http::method::other) return reject(405, out, false);

  normalized_path np = normalize(req.path);
  if (np.status != 0) return error(np.status, out, false, head_only);
  // Decided on the normalised path, before the file is looked for: every
  // spelling (%2e, "x/../.env") is caught, and a hidden name answers the
  // same 404 whether it exists or not, directory or file.
  if (cfg_.dotfiles == config::dotfiles_mode::deny && is_hidden_path(np.rel))
    return reject(404, out, head_only);

  lookup_result found = cache_.lookup(np.rel, now_ms);
  if (found.status != 0) return reject(found.status, out, head_only);
  if (!found.file->is_dir && np.trailing_slash) {
    // "/f.txt/" names a directory that does not exist, not the file.
    return reject(404, out, head_only);
  }
  if (found.file->is_dir) {
    if (!np.trailing_slash) return redirect_to_directory(req, np.rel, out);
    scratch_.assign(np.rel);
    if (!scratch_.empty()) scratch_.push_back('/');
    scratch_.append(cfg_.server.index);
    const file_ref dir = std::move(found.file);
    found = cache_.lookup(scratch_, now_ms);
    // No index: a listing if server.autoindex says so, else 403.
    if (found.status == 404 || (found.status == 0 && found.file->is_dir)) {
      if (cfg_.server.autoindex) return serve_listing(req, *dir, np.rel, out);
      return reject(403, out, head_only);
    }
    if (found.status != 0) return reject(found.status, out, head_only);
    return serve_file(req, choose_representation(req, std::move(found.file), scratch_), out);
  }
  serve_file(req, choose_representation(req, std::move(found.file), np.rel), out);
}

void handler::serve_file(const http::request& req, const representation& rep, reply& out) {
  const file_ref& file = rep.file;
  const cached_file& f = *file;
  const bool head_only = req.verb == http::method::head;
  const bool ka_token = req.ver == http::version::http10 && req.keep_alive;

  // RFC 9110 §13.2.2, in its order: If-Match, else If-Unmodified-Since;
  // then If-None-Match, else If-Modified-Since; If-Range last (below).
  const bool failed = !req.if_match.empty()
                          ? !etag_list_matches_strongly(req.if_match, f.etag)
                          : !req.if_unmodified_since.empty() &&
                                modified_since(req.if_unmodified_since, f.mtime_sec);
  if (failed) return reject(412, out, head_only);
  bool not_modified = false;
  if (!req.if_none_match.empty())
    not_modified = etag_list_matches(req.if_none_match, f.etag);
  else if (!req.if_modified_since.empty())
    not_modified = not_modified_since(req.if_modified_since, f.mtime_sec);
  if (not_modified) {
    start_head(out, 304);
    file_fields(out, f);
    vary_field(out, rep.vary);
    out.head.append(rep.cache_control);  // RFC 9110 §15.4.5: a 304 carries it too
    end_head(out, ka_token);
    return;
  }

  std::uint64_t first = 0, length = f.size;
  int status = 200;
  // If-Range (§13.1.5) decides for the whole set of ranges at once.
  if (!req.range.empty() && if_range_allows(req.if_range, f.etag, f.mtime_sec)) {
    const range_set set = parse_ranges(req.range, f.size, ranges_);
    if (set.k == range_set::kind::unsatisfiable)
      return range_not_satisfiable(rep, out, head_only, ka_token);
    // One range left (asked for, or after coalescing) is a plain 206: a
    // client that asked for one need not understand multipart (§15.3.7.2).
    if (set.k == range_set::kind::satisfiable && set.count > 1)
      return serve_multipart(rep, set.count, out, head_only, ka_token);
    if (set.k == range_set::kind::satisfiable) {
      status = 206;
      first = ranges_[0].first;
      length = ranges_[0].length();
    }
  }

  start_head(out, status);
  out.head.append("Content-Type: ");
  out.head.append(rep.mime);
  out.head.append("\r\n");
  coding_fields(out, rep);
  out.head.append("Content-Length: ");
  append_uint(out.head, length);
  out.head.append("\r\n");
  if (status == 206) {
    out.head.append("Content-Range: bytes ");
    append_uint(out.head, first);
    out.head.push_back('-');
    append_uint(out.head, first + length - 1);
    out.head.push_back('/');
    append_uint(out.head, f.size);
    out.head.append("\r\n");
  }
  file_fields(out, f);
  out.head.append(rep.cache_control);
  out.head.append("Accept-Ranges: bytes\r\n");
  end_head(out, ka_token);
  if (!head_only && length > 0) {
    out.body = body_kind::file;
    out.file = file;
    out.offset = first;
    out.length = length;
  }
}

// Content-Encoding of the representation sent (a precompressed sibling),
// and Vary when the file has siblings at all.
void handler::coding_fields(reply& out, const representation& rep) {
  if (!rep.encoding.empty()) {
    out.head.append("Content-Encoding: ");
    out.head.append(rep.encoding);
    out.head.append("\r\n");
  }
  vary_field(out, rep.vary);
}

void handler::range_not_satisfiable(const representation& rep, reply& out, bool head_only,
                                    bool ka_token) {
  const cached_file& f = *rep.file;
  const status_text& s = lookup_status(416);
  start_head(out, 416);
  out.head.append("Content-Range: bytes */");
  append_uint(out.head, f.size);
  out.head.append("\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ");
  append_uint(out.head, s.body.size());
  out.head.append("\r\n");
  file_fields(out, f);
  vary_field(out, rep.vary);
  end_head(out, ka_token);
  if (!head_only) {
    out.body = body_kind::memory;
    out.memory = s.body;
    out.length = s.body.size();
  }
}

// Ranges ranges_[0 .. count) as a multipart/byteranges body. The reply
// starts as its first part (the reply head followed by the part's head,
// then the part's bytes); reply::next_part() makes it each next one.
void handler::serve_multipart(const representation& rep, std::size_t count, reply& out,
                              bool head_only, bool ka_token) {
  const file_ref& file = rep.file;
  const cached_file& f = *file;
  auto m = std::make_unique<multipart_state>();
  make_boundary(*m);
  // The parts are of the representation chosen (a precompressed sibling
  // too, as nginx does): each says the original's type, the whole says
  // the coding.
  m->mime = rep.mime;
  m->size = f.size;
  m->parts.assign(ranges_.begin(), ranges_.begin() + static_cast<std::ptrdiff_t>(count));
  m->body_bytes = multipart_body_length(*m);

  start_head(out, 206);
  out.head.append("Content-Type: multipart/byteranges; boundary=");
  out.head.append(m->boundary_text());
  out.head.append("\r\n");
  coding_fields(out, rep);
  out.head.append("Content-Length: ");
  append_uint(out.head, m->body_bytes);
  out.head.append("\r\n");
  out.head.append(rep.cache_control);
  file_fields(out, f);
  out.head.append("Accept-Ranges: bytes\r\n");
  end_head(out, ka_token);
  if (head_only) return;  // the same head, and no part of the body

  m->head_bytes = out.head.size();
  format_part_head(out.head, *m, 0);
  m->next = 1;
  out.body = body_kind::file;
  out.file = file;
  out.offset = m->parts[0].first;
  out.length = m->parts[0].length();
  out.multipart = std::move(m);
}

}  // namespace zc
