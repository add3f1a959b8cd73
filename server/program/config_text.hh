#pragma once

// How configuration keys and values are shown back to the user: every
// message about a bad setting is one line that names the key and the value
// as TOML would write them, with control characters escaped and long
// values cut.

#include <cstddef>
#include <string>
#include <string_view>

#include <toml++/toml.h>

namespace zc::config_text {

// `s` as the inside of a TOML basic string.
void append_escaped(std::string& out, std::string_view s);
// `s` as a TOML basic string, quotes included.
std::string quoted(std::string_view s);
// A key as TOML would accept it back: bare when possible, else quoted.
std::string key_text(std::string_view s);
// A value in TOML syntax, cut after a few dozen characters.
std::string shown(const toml::node& n);
// "a string", "an integer", ...: what a value is, for "must be X, not Y".
std::string_view type_name(const toml::node& n);
// toml++ parse errors may span lines; the caller promises one line.
std::string one_line(std::string_view s);
// Without leading and trailing spaces and tabs.
std::string_view trim(std::string_view s);
// Levenshtein distance, for "did you mean ...?".
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace zc::config_text
