#pragma once

// The configuration's keys: one entry per key, the single source of truth
// for parsing, validation, error messages and the --help listing; and the
// open sections whose keys the user names ([mime.types],
// [cache_control.extensions], [cache_control.paths]). Every check returns
// "" or the reason, starting "must be ...", so that every message states
// what is allowed.

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "server/core/config.hh"

namespace zc::config_keys {

using applier = std::function<std::string(config&, const toml::node&)>;
using shower = std::function<std::string(const config&)>;

struct key_spec {
  std::string_view section;
  std::string_view name;
  std::string allowed;  // what the value may be, as "must be <allowed>" reads
  applier apply;
  shower show;                 // the current value, in TOML syntax
  std::string_view note = {};  // meaning, for --help only
};

// A section whose keys the user names: extensions in [mime.types], paths in
// [cache_control.paths]. Each key and value is checked, the key made
// canonical, and the pair replaces an earlier one with the same key (a
// --set after the file wins).
using entry_list = std::vector<std::pair<std::string, std::string>>;

struct open_section {
  std::string_view section;
  std::string key_allowed;    // what a key may be, as "must be <key_allowed>" reads
  std::string value_allowed;  // the same for a value
  std::string_view note;      // meaning, for --help
  std::string_view example;   // one commented entry, for --help
  std::function<std::optional<std::string>(std::string_view)> canonical_key;  // nullopt: refused
  std::function<bool(std::string_view)> value_ok;
  std::function<entry_list&(config&)> entries;
};

// "must be <allowed>", with ", not <type>" when the value's type is wrong.
std::string wrong(std::string_view allowed, const toml::node& n, bool type_mismatch);
// The node's string, or nullopt when it is not one.
std::optional<std::string> string_of(const toml::node& n);

// Every fixed key, in --help order.
const std::vector<key_spec>& key_table();
const key_spec* find_key(std::string_view section, std::string_view name);
// The nearest known key of the section, if near enough to be a typo.
const key_spec* suggest_key(std::string_view section, std::string_view name);

const std::vector<open_section>& open_sections();
const open_section* find_open_section(std::string_view section);

// Every section, fixed and open, in --help order.
std::span<const std::string_view> known_sections();
bool is_section(std::string_view s);
// "[server], [io], ...", for "unknown section" messages.
std::string sections_list();
// The keys of a section, and the open tables beneath it.
std::string keys_list(std::string_view section);

}  // namespace zc::config_keys
