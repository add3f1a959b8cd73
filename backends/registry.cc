#include "backends/registry.hh"

#include <array>

#include "server/core/config.hh"

// Each engine that is compiled in contributes its descriptor through one of
// these headers; the others are listed as "not compiled in". An engine's
// settings and keys need none of its libraries, so they are there either way.
#include "backends/dpdk/dpdk_settings.hh"
#include "backends/io_uring/io_uring_settings.hh"
#ifdef ZC_HAVE_EPOLL
#include "backends/epoll/epoll_engine.hh"
#endif
#ifdef ZC_HAVE_BLOCKING
#include "backends/blocking/blocking_engine.hh"
#endif
#ifdef ZC_HAVE_IO_URING
#include "backends/io_uring/io_uring_engine.hh"
#endif
#ifdef ZC_HAVE_ASIO
#include "backends/asio/asio_engine.hh"
#endif
#ifdef ZC_HAVE_DPDK
#include "backends/dpdk/dpdk_engine.hh"
#endif

namespace zc {

std::string always_usable() {
  return "";
}

namespace {

// kinds.def's readiness senders, in its order, each with always_usable.
constexpr std::size_t readiness_count = [] {
  std::size_t n = 0;
  for (const sender_traits& t : all_senders()) n += has(t.families, engine_family::readiness);
  return n;
}();

constexpr auto readiness_entries = [] {
  std::array<sender_entry, readiness_count> out{};
  std::size_t i = 0;
  for (const sender_traits& t : all_senders())
    if (has(t.families, engine_family::readiness)) out[i++] = {t.kind, &always_usable};
  return out;
}();

}  // namespace

std::span<const sender_entry> readiness_senders() noexcept {
  return readiness_entries;
}

namespace {

const engine_info all_engines[] = {
#ifdef ZC_HAVE_BLOCKING
    blocking_engine::descriptor(),
#else
    {"blocking", nullptr, {}, &always_usable},
#endif
#ifdef ZC_HAVE_EPOLL
    epoll_engine::descriptor(),
#else
    {"epoll", nullptr, {}, &always_usable},
#endif
#ifdef ZC_HAVE_IO_URING
    io_uring_engine::descriptor(),
#else
    {.name = "io_uring",
     .make = nullptr,
     .senders = {},
     .unusable = &always_usable,
     .section = &uring_section},
#endif
#ifdef ZC_HAVE_ASIO
    asio_engine::descriptor(),
#else
    {"asio", nullptr, {}, &always_usable},
#endif
#ifdef ZC_HAVE_DPDK
    dpdk_engine::descriptor(),
#else
    {.name = "dpdk",
     .make = nullptr,
     .senders = {},
     .unusable = &always_usable,
     .section = &dpdk_section},
#endif
};

std::string usable_names(const engine_info& e) {
  std::string out;
  for (const auto& s : e.senders) {
    if (!s.unusable().empty()) continue;
    if (!out.empty()) out += ", ";
    out += sender_name(s.kind);
  }
  return out;
}

}  // namespace

std::span<const engine_info> engines() noexcept {
  return all_engines;
}

const engine_info* find_engine(std::string_view name) noexcept {
  for (const auto& e : all_engines)
    if (e.name == name) return &e;
  return nullptr;
}

const sender_entry* find_sender(const engine_info& e, std::string_view name) noexcept {
  for (const auto& s : e.senders)
    if (sender_name(s.kind) == name) return &s;
  return nullptr;
}

const sender_entry* default_sender(const engine_info& e) noexcept {
  const sender_entry* first_usable = nullptr;
  for (const auto& s : e.senders) {
    if (!s.unusable().empty()) continue;
    if (s.kind == e.preferred) return &s;
    if (first_usable == nullptr) first_usable = &s;
  }
  return first_usable;
}

std::string validate_backends(config& cfg) {
  const engine_info* e = find_engine(cfg.io.engine);
  if (e == nullptr) {
    std::string built;
    for (const auto& i : all_engines) {
      if (i.make == nullptr) continue;
      if (!built.empty()) built += ", ";
      built += i.name;
    }
    return "io.engine = \"" + cfg.io.engine + "\": unknown engine (allowed: " + built + ")";
  }
  if (e->make == nullptr)
    return "io.engine = \"" + cfg.io.engine + "\": not compiled in (see --list-backends)";
  if (std::string why = e->unusable(); !why.empty())
    return "io.engine = \"" + cfg.io.engine + "\": not usable here: " + why;
  if (cfg.io.sender.empty()) {
    const sender_entry* d = default_sender(*e);
    if (d == nullptr)
      return "io.engine = \"" + cfg.io.engine +
             "\": no sender of it is usable here (see --list-backends)";
    cfg.io.sender = sender_name(d->kind);
  }
  const sender_entry* s = find_sender(*e, cfg.io.sender);
  if (s == nullptr)
    return "io.sender = \"" + cfg.io.sender + "\": not a sender of engine " + cfg.io.engine +
           " (allowed: " + usable_names(*e) + ")";
  if (std::string why = s->unusable(); !why.empty())
    return "io.sender = \"" + cfg.io.sender + "\": not usable with engine " + cfg.io.engine + ": " +
           why + " (allowed: " + usable_names(*e) + ")";
  return "";
}

std::string list_backends() {
  std::string out;
  for (const auto& e : all_engines) {
    const std::string engine(e.name);
    if (e.make == nullptr) {
      out += "- engine=" + engine + " sender=* (not compiled in)\n";
      continue;
    }
    const std::string why = e.unusable();
    const sender_entry* fallback = why.empty() ? default_sender(e) : nullptr;
    for (const auto& s : e.senders) {
      const std::string sender(sender_name(s.kind));
      std::string reason = why.empty() ? s.unusable() : why;
      if (reason.empty())
        out += "+ engine=" + engine + " sender=" + sender + (&s == fallback ? " (default)" : "") +
               "\n";
      else
        out += "- engine=" + engine + " sender=" + sender + " (" + reason + ")\n";
    }
  }
  return out;
}

}  // namespace zc
