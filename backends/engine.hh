#pragma once

// An engine owns one worker's sockets, buffers, timeouts and loop: how the
// worker learns that a socket is ready (or an operation complete). It feeds
// bytes to the protocol core and hands replies to its sender.

#include <string_view>

namespace zc {

class engine {
 public:
  virtual ~engine() = default;

  // The config value that selects this engine.
  virtual std::string_view name() const noexcept = 0;

  // Serves until stop() and the drain that follows are over. Runs on the
  // worker's own thread.
  virtual void run() = 0;

  // Asks run() to stop accepting, finish replies in flight and return.
  // Safe to call from any thread, more than once.
  virtual void stop() noexcept = 0;
};

}  // namespace zc
