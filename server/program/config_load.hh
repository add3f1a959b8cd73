#pragma once

// Turns a command line (and the TOML file it names) into a validated config.
// Every key of the file can also be set as --set section.key=value; short
// flags are sugar for the common ones. A bad key or value is reported with
// the key, the value and what is allowed.

#include <string>
#include <vector>

#include "server/core/config.hh"

namespace zc {

struct cli_result {
  enum class action { run, help, version, list_backends, error };
  action what = action::run;
  config cfg;
  std::string error;        // for action::error: one line, names key, value and what is allowed
  std::string config_path;  // the file read, if any
};

// argv[0] is skipped. Does not print and does not exit: the caller does.
cli_result parse_command_line(int argc, const char* const argv[]);

// Applies one TOML document (text) over `cfg`. Returns "" or an error message.
std::string apply_toml(config& cfg, const std::string& toml_text, const std::string& origin);

// Applies one "section.key=value" override. Returns "" or an error message.
std::string apply_override(config& cfg, const std::string& assignment);

// The --help text.
std::string usage_text();

}  // namespace zc
