// The one factory of senders, for every engine family, and the names of
// the steps they speak in.

#include "backends/senders/mmap.hh"
#include "backends/senders/read_write.hh"
#include "backends/senders/readv_writev.hh"
#include "backends/senders/send_zc.hh"
#include "backends/senders/sendfile.hh"
#include "backends/senders/splice.hh"
#include "server/core/config.hh"

namespace zc {

std::unique_ptr<sender> make_sender(sender_kind kind, const config& cfg, engine_family family,
                                    bool shared_by_threads) {
  if (!has(traits(kind).families, family)) return nullptr;
  const std::size_t chunk = cfg.io.chunk_bytes;
  // No default: a kind added to kinds.def must be decided here (-Wswitch).
  switch (kind) {
    case sender_kind::read_write:
      return std::make_unique<read_write_sender>(chunk);
    case sender_kind::readv_writev:
      return std::make_unique<readv_writev_sender>(chunk);
    case sender_kind::mmap:
      return std::make_unique<mmap_sender>(chunk);
    case sender_kind::sendfile:
      return std::make_unique<sendfile_sender>(cfg.io.sendfile_chunk_bytes);
    case sender_kind::splice:
      return std::make_unique<splice_sender>(cfg, family, shared_by_threads);
    case sender_kind::send_zc:
      return std::make_unique<send_zc_sender>(chunk);
  }
  return nullptr;
}

std::string_view step_name(step s) noexcept {
  // No default: a step added to the vocabulary is named here (-Wswitch).
  switch (s) {
    case step::stage:
      return "stage";
    case step::head:
      return "head";
    case step::head_more:
      return "head_more";
    case step::memory:
      return "memory";
    case step::head_memory:
      return "head_memory";
    case step::staged:
      return "staged";
    case step::head_staged:
      return "head_staged";
    case step::head_mapped:
      return "head_mapped";
    case step::mapped_zc:
      return "mapped_zc";
    case step::sendfile:
      return "sendfile";
    case step::fill_pipe:
      return "fill_pipe";
    case step::drain_pipe:
      return "drain_pipe";
  }
  return "";
}

}  // namespace zc
