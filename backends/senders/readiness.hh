#pragma once

// The senders for the engines that learn readiness (blocking, epoll,
// asio), which carry them out with sender::send().

#include <memory>

#include "backends/sender.hh"

namespace zc {

struct config;

// nullptr for a kind that is not a readiness sender. `shared_by_threads`:
// see make_sender().
inline std::unique_ptr<sender> make_readiness_sender(sender_kind kind, const config& cfg,
                                                     bool shared_by_threads = false) {
  return make_sender(kind, cfg, engine_family::readiness, shared_by_threads);
}

}  // namespace zc
