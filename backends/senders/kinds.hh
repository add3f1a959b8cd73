#pragma once

// The senders, by kind, from the one table of them (kinds.def): a sender's
// name, the engines that drive it and what it needs are looked up here, so
// that no other file spells a sender's name.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace zc {

enum class sender_kind : std::uint8_t {
#define ZC_SENDER(name, ...) name,
#define ZC_ENGINE_FAMILY(...)
#include "backends/senders/kinds.def"
#undef ZC_ENGINE_FAMILY
#undef ZC_SENDER
};

// Bits: a sender may be driven by engines of both families.
enum class engine_family : std::uint8_t { readiness = 1, completion = 2, userspace = 4 };

constexpr engine_family operator|(engine_family a, engine_family b) noexcept {
  return static_cast<engine_family>(static_cast<std::uint8_t>(a) | static_cast<std::uint8_t>(b));
}
constexpr bool has(engine_family set, engine_family one) noexcept {
  return (static_cast<std::uint8_t>(set) & static_cast<std::uint8_t>(one)) != 0;
}

enum class sender_needs : std::uint8_t { nothing, pipes, locked_memory };

struct sender_traits {
  sender_kind kind;
  std::string_view name;
  engine_family families;
  unsigned copies;  // times each body byte crosses user space
  sender_needs needs;
  std::string_view body;  // what a reply's body needs, in a line
};

namespace detail {
// So that the table's families read as words: readiness | completion.
using enum engine_family;
inline constexpr sender_traits sender_table[] = {
#define ZC_SENDER(name, families, copies, needs, body) \
  {sender_kind::name, #name, families, copies, sender_needs::needs, body},
#define ZC_ENGINE_FAMILY(...)
#include "backends/senders/kinds.def"
#undef ZC_ENGINE_FAMILY
#undef ZC_SENDER
};

struct engine_family_entry {
  engine_family family;
  std::string_view name;
  std::string_view engines;  // space-separated engine names
};
inline constexpr engine_family_entry engine_family_table[] = {
#define ZC_SENDER(...)
#define ZC_ENGINE_FAMILY(family, ...) {family, #family, #__VA_ARGS__},
#include "backends/senders/kinds.def"
#undef ZC_ENGINE_FAMILY
#undef ZC_SENDER
};
}  // namespace detail

// Every sender, in the table's order.
constexpr std::span<const sender_traits> all_senders() noexcept {
  return detail::sender_table;
}

constexpr const sender_traits& traits(sender_kind k) noexcept {
  return detail::sender_table[static_cast<std::size_t>(k)];
}

constexpr std::string_view sender_name(sender_kind k) noexcept {
  return traits(k).name;
}

// The kind an io.sender value names; nullopt for a name that is no sender.
constexpr std::optional<sender_kind> find_sender_kind(std::string_view name) noexcept {
  for (const sender_traits& t : detail::sender_table)
    if (t.name == name) return t.kind;
  return std::nullopt;
}

// The family of the engine named `engine`; nullopt for an engine in none
// (one designed but not yet built, dpdk).
std::optional<engine_family> family_of_engine(std::string_view engine) noexcept;

std::string_view family_name(engine_family f) noexcept;

// The senders table of docs/architecture.md, in Markdown: what the test
// that keeps the docs in step with kinds.def compares against.
std::string senders_markdown();

}  // namespace zc
