#pragma once

// GET and HEAD of files beneath the root: the only place that decides a
// status code. It turns a parsed request into a reply (head bytes plus a
// body description) and does no socket I/O.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/config.hh"
#include "server/file_cache.hh"
#include "server/http_parser.hh"
#include "server/ranges.hh"
#include "server/reply.hh"

namespace zc {

std::string_view reason_phrase(int status) noexcept;

class handler {
 public:
  handler(const config& cfg, file_cache& cache);

  void handle(const http::request& req, reply& out, std::int64_t now_ms);

  // A reply with a small HTML body for an error status. `head_only` drops
  // the body (HEAD requests) but keeps its Content-Length.
  void error(int status, reply& out, bool close_after, bool head_only = false);

 private:
  void start_head(reply& out, int status);
  void end_head(reply& out, bool keep_alive_token);
  void file_fields(reply& out, const cached_file& f);
  void serve_file(const http::request& req, const file_ref& f, reply& out);
  void range_not_satisfiable(const cached_file& f, reply& out, bool head_only, bool ka_token);
  void serve_multipart(const file_ref& file, std::size_t count, reply& out, bool head_only,
                       bool ka_token);
  void redirect_to_directory(const http::request& req, std::string_view rel, reply& out);

  const config& cfg_;
  file_cache& cache_;
  std::string server_field_;
  std::string scratch_;            // for "<dir>/index.html" lookups
  std::vector<byte_span> ranges_;  // a Range field's ranges: server.max_ranges of them
};

}  // namespace zc
