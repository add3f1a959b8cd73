#pragma once

// The readiness senders, by kind, for the engines that learn readiness
// (blocking, epoll, asio).

#include <memory>
#include <string_view>

#include "backends/sender.hh"

namespace zc {

struct config;

// nullptr for a kind that is not a readiness sender. `shared_by_threads`:
// the sender will be used by several threads at once (a blocking worker's
// connection threads); every sender is stateless between calls but for
// splice's pipe pool, which then takes a lock.
std::unique_ptr<sender> make_readiness_sender(sender_kind kind, const config& cfg,
                                              bool shared_by_threads = false);

}  // namespace zc
