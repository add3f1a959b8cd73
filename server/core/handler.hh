#pragma once

// GET and HEAD of files beneath the root: the only place that decides a
// status code. It turns a parsed request into a reply (head bytes plus a
// body description) and does no socket I/O.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/core/config.hh"
#include "server/core/encoding.hh"
#include "server/core/file_cache.hh"
#include "server/core/http_parser.hh"
#include "server/core/ranges.hh"
#include "server/core/reply.hh"

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
  // What is sent for a file: the file itself or a precompressed sibling.
  struct representation {
    file_ref file;
    std::string_view mime;           // the original's: a sibling is the same content, encoded
    std::string_view cache_control;  // the original's too: "Cache-Control: ...\r\n" or ""
    std::string_view encoding;       // Content-Encoding, or "" for the file itself
    bool vary = false;               // the file has siblings: the choice depends on Accept-Encoding
  };

  void start_head(reply& out, int status);
  void end_head(reply& out, bool keep_alive_token);
  void file_fields(reply& out, const cached_file& f);
  void serve_file(const http::request& req, const representation& rep, reply& out);
  void coding_fields(reply& out, const representation& rep);
  void range_not_satisfiable(const representation& rep, reply& out, bool head_only, bool ka_token);
  void serve_multipart(const representation& rep, std::size_t count, reply& out, bool head_only,
                       bool ka_token);
  // server/core/precompressed.cc
  representation choose_representation(const http::request& req, file_ref file,
                                       std::string_view rel);
  // server/core/error_pages.cc: an error to a request understood, with the
  // configured page as its body if there is one.
  void reject(int status, reply& out, bool head_only);
  // server/core/autoindex.cc
  void serve_listing(const http::request& req, const cached_file& dir, std::string_view rel,
                     reply& out);
  void redirect_to_directory(const http::request& req, std::string_view rel, reply& out);

  const config& cfg_;
  file_cache& cache_;
  std::string server_field_;
  std::string scratch_;            // for "<dir>/index.html" and listed links' lookups
  std::vector<byte_span> ranges_;  // a Range field's ranges: server.max_ranges of them
  // Issue 11: precompressed siblings, error pages.
  std::vector<content_coding> precompressed_;  // server.precompressed, in its order
  std::int64_t now_ms_ = 0;                    // of the request being handled
};

}  // namespace zc
