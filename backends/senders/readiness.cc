#include "backends/senders/readiness.hh"

#include "backends/senders/mmap.hh"
#include "backends/senders/read_write.hh"
#include "backends/senders/readv_writev.hh"
#include "backends/senders/sendfile.hh"
#include "backends/senders/splice.hh"

namespace zc {

namespace {
constexpr std::string_view names[] = {"read_write", "readv_writev", "mmap", "sendfile", "splice"};
}

std::span<const std::string_view> readiness_sender_names() noexcept {
  return names;
}

std::unique_ptr<sender> make_readiness_sender(std::string_view name, const config& cfg) {
  if (name == "read_write") return std::make_unique<read_write_sender>(cfg);
  if (name == "readv_writev") return std::make_unique<readv_writev_sender>(cfg);
  if (name == "mmap") return std::make_unique<mmap_sender>(cfg);
  if (name == "sendfile") return std::make_unique<sendfile_sender>(cfg);
  if (name == "splice") return std::make_unique<splice_sender>(cfg);
  return nullptr;
}

}  // namespace zc
