#pragma once

#include <utility>
#include <vector>

#include "backends/sender.hh"
#include "server/config.hh"

namespace zc {

// File to pipe to socket: splice moves page references, not bytes, so the
// body never enters user space. A connection borrows a pipe from the
// worker's pool for the length of one reply and gives it back empty; a pipe
// still holding bytes when its connection dies is closed, never reused.
class splice_sender final : public sender {
 public:
  explicit splice_sender(const config& cfg);
  ~splice_sender() override;
  std::string_view name() const noexcept override { return "splice"; }
  send_result send(int sock, reply& r) override;
  void release(send_scratch& s) noexcept override;

 private:
  bool acquire(send_scratch& s) noexcept;

  std::size_t chunk_;
  std::size_t pipe_size_ = 65536;          // what the pipe holds; raised at creation if allowed
  std::vector<std::pair<int, int>> pool_;  // idle, empty pipes (read end, write end)
};

}  // namespace zc
