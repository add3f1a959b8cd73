#pragma once

// The two axes by name. Each engine has one descriptor: its config name, a
// factory (absent when the engine was built out), the senders it can drive,
// and probes of the running kernel. Call sites look backends up here and
// never name a class.

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "backends/engine.hh"
#include "backends/engine_keys.hh"
#include "backends/senders/kinds.hh"
#include "backends/worker.hh"

namespace zc {

struct sender_entry {
  sender_kind kind;
  // "" if this engine can drive this sender here, else why not.
  std::string (*unusable)();
};

struct engine_info {
  std::string_view name;
  // nullptr when the engine was not compiled in. Throws std::runtime_error
  // when the engine cannot start (the message names the cause).
  std::unique_ptr<engine> (*make)(worker_context ctx, sender_kind sender);
  // Every sender this engine knows of, usable or not.
  std::span<const sender_entry> senders;
  // "" if usable on this machine, else why not.
  std::string (*unusable)();
  // The sender used when io.sender is not set, if usable here (else the
  // first usable one in `senders`): what nginx users would expect of the
  // engine, zero-copy where the engine can do it.
  std::optional<sender_kind> preferred = {};
  // Set when the engine brings its own network stack (dpdk): no kernel
  // listener is made for it, and it listens on server.listen's port at the
  // address this returns (from the engine's own settings).
  std::string (*own_address)(const config&) = nullptr;
  // The engine's own settings section ([io.uring]) and its keys, declared
  // in its folder; nullptr when it has none. Set whether or not the engine
  // is built, so that a config file reads the same on every build: its keys
  // are checked and listed as usual, and only io.engine = its name fails.
  const engine_section* section = nullptr;
};

// Every engine zcserve knows of, built or not, in the order --list-backends
// prints them.
std::span<const engine_info> engines() noexcept;

const engine_info* find_engine(std::string_view name) noexcept;
const sender_entry* find_sender(const engine_info& e, std::string_view name) noexcept;

// The sender an engine drives when io.sender is not set: its preferred one
// if usable here, else its first usable one; nullptr if none is.
const sender_entry* default_sender(const engine_info& e) noexcept;

// Checks io.engine and io.sender, filling in the engine's default sender
// when io.sender is not set: "" or a message naming the key, the value and
// what is allowed.
std::string validate_backends(config& cfg);

// One line per engine and sender pair: "+ engine=E sender=S" when built and
// usable here (with " (default)" for the one used when io.sender is not
// set), "- engine=E sender=S (reason)" otherwise.
std::string list_backends();

// Shared by engine descriptors.
std::string always_usable();

// The readiness senders (backends/senders/: those kinds.def gives the
// readiness family), each usable wherever the engine that drives it is:
// the sender list of blocking, epoll and asio.
std::span<const sender_entry> readiness_senders() noexcept;

}  // namespace zc
