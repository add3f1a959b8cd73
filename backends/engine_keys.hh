#pragma once

// How an engine declares the keys of its own settings section ([io.uring]):
// each key's name, type, range or allowed values, meaning, and the field of
// the engine's settings struct it sets. No file format here: the program
// layer reads values for these keys from TOML and --set, checks them
// against this, and lists them in --help (server/program/config_keys.cc).
//
//   constexpr setting_key keys[] = {
//       integer_setting<&x_settings::entries>("entries", 8, 32768, "queue slots"),
//   };

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "server/core/config.hh"

namespace zc {

enum class setting_type : std::uint8_t {
  integer,   // an integer from lo to hi
  boolean,   // true or false
  duration,  // milliseconds from lo to hi
  text,      // a string `accepts` takes, described by `allowed`
};

// A value as a key reads and writes it: std::int64_t for integer, bool for
// boolean, milliseconds for duration, std::string for text.
using setting_value = std::variant<std::int64_t, bool, std::chrono::milliseconds, std::string>;

struct setting_key {
  std::string_view name;
  setting_type type;
  std::int64_t lo = 0;            // integer, duration (in milliseconds): the least value
  std::int64_t hi = 0;            // and the greatest
  std::string_view allowed = {};  // text: as "must be <allowed>" reads
  bool (*accepts)(std::string_view) = nullptr;  // text: whether a value is allowed
  std::string_view note = {};                   // meaning, for --help
  // The field of the engine's settings, held in config::io_section::sections.
  setting_value (*read)(const config&) = nullptr;
  void (*write)(config&, const setting_value&) = nullptr;
};

// An engine's section and its keys, in --help order.
struct engine_section {
  std::string_view name;  // "io.uring": the settings struct's `section`
  std::span<const setting_key> keys;
};

namespace setting_detail {

template <class Member>
struct member_of;
template <class Settings, class Field>
struct member_of<Field Settings::*> {
  using settings = Settings;
  using field = Field;
};

// read and write for `Member`, a pointer to a field of a settings struct,
// converting between the field's type and `Value`.
template <auto Member, class Value>
constexpr setting_key bind(setting_key k) {
  using settings = typename member_of<decltype(Member)>::settings;
  using field = typename member_of<decltype(Member)>::field;
  k.read = [](const config& c) -> setting_value {
    return static_cast<Value>(c.io.sections.get<settings>().*Member);
  };
  k.write = [](config& c, const setting_value& v) {
    c.io.sections.edit<settings>().*Member = static_cast<field>(std::get<Value>(v));
  };
  return k;
}

}  // namespace setting_detail

template <auto Member>
constexpr setting_key integer_setting(std::string_view name, std::int64_t lo, std::int64_t hi,
                                      std::string_view note) {
  return setting_detail::bind<Member, std::int64_t>(
      {.name = name, .type = setting_type::integer, .lo = lo, .hi = hi, .note = note});
}

template <auto Member>
constexpr setting_key bool_setting(std::string_view name, std::string_view note) {
  return setting_detail::bind<Member, bool>(
      {.name = name, .type = setting_type::boolean, .note = note});
}

template <auto Member>
constexpr setting_key duration_setting(std::string_view name, std::int64_t min_ms,
                                       std::string_view note,
                                       std::int64_t max_ms = max_duration_ms) {
  return setting_detail::bind<Member, std::chrono::milliseconds>(
      {.name = name, .type = setting_type::duration, .lo = min_ms, .hi = max_ms, .note = note});
}

template <auto Member>
constexpr setting_key text_setting(std::string_view name, std::string_view allowed,
                                   bool (*accepts)(std::string_view), std::string_view note) {
  return setting_detail::bind<Member, std::string>({.name = name,
                                                    .type = setting_type::text,
                                                    .allowed = allowed,
                                                    .accepts = accepts,
                                                    .note = note});
}

}  // namespace zc
