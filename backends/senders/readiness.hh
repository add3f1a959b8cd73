#pragma once

// The five readiness senders, by config name, for the engines that learn
// readiness (blocking, epoll, asio).

#include <memory>
#include <span>
#include <string_view>

#include "backends/sender.hh"

namespace zc {

struct config;

// nullptr for a name that is not a readiness sender.
std::unique_ptr<sender> make_readiness_sender(std::string_view name, const config& cfg);

}  // namespace zc
