#pragma once

// The two axes by name. Each engine and sender has one descriptor: its
// config name, whether it was compiled in, a probe of the running kernel,
// and a factory. Call sites look backends up here and never name a class.

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "backends/engine.hh"
#include "backends/sender.hh"
#include "backends/worker.hh"

namespace zc {

struct sender_info {
  std::string_view name;
  std::unique_ptr<sender> (*make)(const config& cfg);
};

struct engine_info {
  std::string_view name;
  // nullptr when the engine was not compiled in.
  std::unique_ptr<engine> (*make)(worker_context ctx, std::unique_ptr<sender> s);
  // The senders this engine can drive, in order of preference.
  std::span<const sender_info> senders;
  // "" if usable on this machine, else why not (probed once, at call time).
  std::string (*probe)();
};

// Every engine zcserve knows of, built or not, in the order --list-backends
// prints them.
std::span<const engine_info> engines() noexcept;

const engine_info* find_engine(std::string_view name) noexcept;
const sender_info* find_sender(const engine_info& e, std::string_view name) noexcept;

// Checks io.engine and io.sender: "" or a message naming the key, the value
// and what is allowed.
std::string validate_backends(const config& cfg);

// One line per engine and sender pair: "+ engine=E sender=S" when built and
// usable here, "- engine=E sender=S (reason)" otherwise.
std::string list_backends();

}  // namespace zc
