// Precompressed files (like nginx's gzip_static and h2o's send-compressed):
// "x.br" or "x.gz" beside "x" is sent in its place when the client accepts
// that coding. The sibling is just another cached file, so every sender
// sends it as it sends any file range, and the zero-copy ones stay so.

#include <strings.h>

#include <array>

#include "server/core/handler.hh"

namespace zc {

handler::representation handler::choose_representation(const http::request& req, file_ref file,
                                                       std::string_view rel) {
  representation rep;
  rep.mime = file->mime;
  rep.cache_control = file->cache_control;
  if (precompressed_.empty() || file->is_dir) {
    rep.file = std::move(file);
    return rep;
  }
  // Every configured sibling is looked for, whatever this client accepts:
  // whether the reply carries Vary depends on the file, not on the request.
  // Lookups of siblings known to be missing cost nothing (file_cache::sibling).
  std::array<content_coding, content_coding_count> offered{};
  std::array<file_ref, content_coding_count> siblings;
  std::size_t n = 0;
  for (std::size_t i = 0; i < precompressed_.size(); ++i) {
    const content_coding c = precompressed_[i];
    file_ref s = cache_.sibling(*file, rel, info(c).suffix, static_cast<unsigned>(i), now_ms_);
    if (!s) continue;
    offered[n] = c;
    siblings[n] = std::move(s);
    ++n;
  }
  rep.vary = n > 0;
  if (n == 0) {
    rep.file = std::move(file);
    return rep;
  }

  accepted_codings accepted;
  if (!req.accept_encoding_repeated) {
    parse_accept_encoding(req.accept_encoding, accepted);
  } else {
    for (std::size_t i = 0; i < req.header_count; ++i) {
      const http::header& h = req.headers[i];
      if (h.name.size() == 15 && strncasecmp(h.name.data(), "accept-encoding", 15) == 0)
        parse_accept_encoding(h.value, accepted);
    }
  }
  const auto chosen = choose_coding(accepted, {offered.data(), n});
  if (!chosen) {
    rep.file = std::move(file);
    return rep;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (offered[i] == *chosen) {
      rep.file = std::move(siblings[i]);
      rep.encoding = info(*chosen).name;
    }
  }
  return rep;
}

}  // namespace zc
