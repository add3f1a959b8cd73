#include "server/program/config_load.hh"

#include <arpa/inet.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>
#include <string_view>
#include <type_traits>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "server/program/config_keys.hh"
#include "server/program/config_text.hh"

namespace zc {
namespace {

using namespace config_keys;
using namespace config_text;

// "path:line:col: " for a node read from a file; nothing for an override,
// whose value was not read from a document the user can open.
std::string where(std::string_view origin, const toml::source_region& src) {
  if (origin.empty() || src.begin.line == 0) return {};
  return fmt::format("{}:{}:{}: ", origin, src.begin.line, src.begin.column);
}

std::string unknown_key_message(std::string_view loc, std::string_view section,
                                std::string_view name, const toml::node& value) {
  std::string hint;
  if (const key_spec* near = suggest_key(section, name)) {
    hint = fmt::format(", did you mean {}.{}?", near->section, near->name);
  }
  return fmt::format("config: {}{}.{} = {}: unknown key{} (allowed in [{}]: {})", loc, section,
                     key_text(name), shown(value), hint, section, keys_list(section));
}

std::string apply_key(config& cfg, const key_spec& spec, const toml::node& value,
                      std::string_view loc) {
  std::string reason = spec.apply(cfg, value);
  if (reason.empty()) return {};
  return fmt::format("config: {}{}.{} = {}: {}", loc, spec.section, spec.name, shown(value),
                     reason);
}

std::string apply_open(config& cfg, const open_section& o, std::string_view key,
                       const toml::node& value, std::string_view loc) {
  const std::string head =
      fmt::format("config: {}{}.{} = {}: ", loc, o.section, key_text(key), shown(value));
  const auto canonical = o.canonical_key(key);
  if (!canonical) return fmt::format("{}the key must be {}", head, o.key_allowed);
  const auto v = string_of(value);
  if (!v) return head + wrong(o.value_allowed, value, true);
  if (v->find('\0') != std::string::npos || !o.value_ok(*v))
    return head + wrong(o.value_allowed, value, false);
  entry_list& list = o.entries(cfg);
  const auto same =
      std::find_if(list.begin(), list.end(), [&](const auto& e) { return e.first == *canonical; });
  if (same != list.end())
    same->second = *v;
  else
    list.emplace_back(*canonical, *v);
  return {};
}

struct located_error {
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  std::string message;
};

// Errors in a file are gathered and the first by position is reported, so
// the user fixes the file top to bottom (toml++ tables iterate by key).
void note_error(std::optional<located_error>& first, const toml::source_region& src,
                std::string message) {
  if (message.empty()) return;
  const auto pos = std::pair(src.begin.line, src.begin.column);
  if (first && std::pair(first->line, first->column) <= pos) return;
  first = located_error{src.begin.line, src.begin.column, std::move(message)};
}

std::string read_whole_file(const std::string& path, std::string& out) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return fmt::format("config: {}: cannot read: {}", path, std::strerror(errno));
  }
  char buf[65536];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const int err = std::ferror(f) != 0 ? errno : 0;
  std::fclose(f);
  if (err != 0) return fmt::format("config: {}: cannot read: {}", path, std::strerror(err));
  return {};
}

}  // namespace

std::string apply_toml(config& cfg, const std::string& toml_text, const std::string& origin) {
  toml::table doc;
  try {
    doc = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    const std::string loc = origin.empty() ? fmt::format("line {}, column {}", b.line, b.column)
                                           : fmt::format("{}:{}:{}", origin, b.line, b.column);
    return fmt::format("config: {}: {}", loc, one_line(e.description()));
  }

  // Applied to a copy so that a failed file leaves `cfg` as it was.
  config next = cfg;
  std::optional<located_error> first;
  for (auto&& [skey, snode] : doc) {
    const std::string_view sname = skey.str();
    const std::string sloc = where(origin, skey.source());
    if (!is_section(sname)) {
      std::string msg;
      bool placed = false;
      if (!snode.is_table()) {
        // A key written above every section header: point at its home.
        for (std::string_view s : known_sections()) {
          if (find_key(s, sname) != nullptr) {
            msg = fmt::format("config: {}{} = {}: keys belong in a section; did you mean {}.{}?",
                              sloc, key_text(sname), shown(snode), s, sname);
            placed = true;
            break;
          }
        }
      }
      if (!placed) {
        msg = fmt::format("config: {}[{}]: unknown section (allowed: {})", sloc, key_text(sname),
                          sections_list());
      }
      note_error(first, skey.source(), std::move(msg));
      continue;
    }
    const toml::table* section = snode.as_table();
    if (section == nullptr) {
      note_error(first, skey.source(),
                 fmt::format("config: {}{} = {}: must be a table (the [{}] section), not {}", sloc,
                             sname, shown(snode), sname, type_name(snode)));
      continue;
    }
    for (auto&& [k, v] : *section) {
      const key_spec* spec = find_key(sname, k.str());
      // A sub-table such as [io.uring] is a section of its own.
      if (const toml::table* sub = v.as_table();
          spec == nullptr && sub != nullptr &&
          is_section(std::string(sname) + "." + std::string(k.str()))) {
        const std::string subname = std::string(sname) + "." + std::string(k.str());
        for (auto&& [k2, v2] : *sub) {
          if (const open_section* o = find_open_section(subname)) {
            note_error(first, v2.source(),
                       apply_open(next, *o, k2.str(), v2, where(origin, v2.source())));
            continue;
          }
          const key_spec* spec2 = find_key(subname, k2.str());
          if (spec2 == nullptr) {
            note_error(first, k2.source(),
                       unknown_key_message(where(origin, k2.source()), subname, k2.str(), v2));
            continue;
          }
          note_error(first, v2.source(), apply_key(next, *spec2, v2, where(origin, v2.source())));
        }
        continue;
      }
      if (spec == nullptr) {
        note_error(first, k.source(),
                   unknown_key_message(where(origin, k.source()), sname, k.str(), v));
        continue;
      }
      note_error(first, v.source(), apply_key(next, *spec, v, where(origin, v.source())));
    }
  }
  if (first) return first->message;
  cfg = std::move(next);
  return {};
}

namespace {

std::string apply_override_node(config& cfg, std::string_view section, std::string_view name,
                                const toml::node& value) {
  if (!is_section(section)) {
    return fmt::format("config: {}.{} = {}: unknown section [{}] (allowed: {})", key_text(section),
                       key_text(name), shown(value), key_text(section), sections_list());
  }
  if (const open_section* o = find_open_section(section))
    return apply_open(cfg, *o, name, value, "");
  const key_spec* spec = find_key(section, name);
  if (spec == nullptr) return unknown_key_message("", section, name, value);
  return apply_key(cfg, *spec, value, "");
}

struct split_assignment {
  std::string_view section, name, value;
};

std::optional<split_assignment> split(std::string_view assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string_view::npos) return std::nullopt;
  const std::string_view lhs = trim(assignment.substr(0, eq));
  // A key of an open section may hold dots itself:
  // "cache_control.paths./v1.2" is key "/v1.2" of [cache_control.paths].
  for (const open_section& o : open_sections()) {
    if (lhs.size() > o.section.size() + 1 && lhs.starts_with(o.section) &&
        lhs[o.section.size()] == '.')
      return split_assignment{o.section, lhs.substr(o.section.size() + 1),
                              trim(assignment.substr(eq + 1))};
  }
  // The last dot: "io.uring.sqpoll" is key sqpoll of section io.uring.
  const auto dot = lhs.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  split_assignment out{trim(lhs.substr(0, dot)), trim(lhs.substr(dot + 1)),
                       trim(assignment.substr(eq + 1))};
  if (out.section.empty() || out.name.empty()) return std::nullopt;
  return out;
}

}  // namespace

std::string apply_override(config& cfg, const std::string& assignment) {
  const auto parts = split(assignment);
  if (!parts) {
    return fmt::format("config: {}: an override must be section.key=value, e.g. server.workers=4",
                       quoted(assignment));
  }
  // The value is TOML when it reads as exactly one TOML value, so that
  // numbers, arrays and quoted strings keep their type; anything else is
  // the bare string the shell passed, which is what `server.root=/tmp/x`
  // means. Text that smuggles in a second key ("1\nx = 2") is no single
  // value, hence the size check.
  try {
    const toml::table t = toml::parse(fmt::format("v = {}", parts->value));
    if (const toml::node* v = t.get("v"); v != nullptr && t.size() == 1) {
      return apply_override_node(cfg, parts->section, parts->name, *v);
    }
  } catch (const toml::parse_error&) {
  }
  return apply_override_node(cfg, parts->section, parts->name,
                             toml::value<std::string>(std::string(parts->value)));
}

namespace {

// A short flag that stands for one config key. String-valued keys take the
// argument as it is, so that `--root 2024` is the directory "2024" and not
// an integer refused by server.root.
struct key_flag {
  std::string_view flag;
  std::string_view section;
  std::string_view name;
  bool raw_string;
};

constexpr key_flag key_flags[] = {
    {"--root", "server", "root", true},        {"--listen", "server", "listen", true},
    {"--engine", "io", "engine", true},        {"--sender", "io", "sender", true},
    {"--workers", "server", "workers", false}, {"--admin", "admin", "listen", true},
};

struct pending_flag {
  const key_flag* key = nullptr;  // null: a --set assignment
  std::string value;
};

}  // namespace

cli_result parse_command_line(int argc, const char* const argv[]) {
  cli_result r;
  std::vector<pending_flag> flags;
  std::string first_error;
  bool help = false, version = false, list = false, have_config = false;

  auto fail = [&](std::string msg) {
    if (first_error.empty()) first_error = std::move(msg);
  };

  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    std::string_view name = arg;
    std::optional<std::string_view> inline_value;
    if (arg.starts_with("--")) {
      if (const auto eq = arg.find('='); eq != std::string_view::npos) {
        name = arg.substr(0, eq);
        inline_value = arg.substr(eq + 1);
      }
    }

    auto no_value = [&]() {
      if (inline_value) fail(fmt::format("command line: {}: takes no value", name));
    };
    // The flag's argument: after '=' or the next word.
    auto take_value = [&]() -> std::optional<std::string> {
      if (inline_value) return std::string(*inline_value);
      if (i + 1 < argc) return std::string(argv[++i]);
      return std::nullopt;
    };

    if (name == "--help" || name == "-h") {
      no_value();
      help = true;
    } else if (name == "--version" || name == "-V") {
      no_value();
      version = true;
    } else if (name == "--list-backends") {
      no_value();
      list = true;
    } else if (name == "--config" || name == "-c") {
      const auto v = take_value();
      if (!v || v->empty()) {
        fail(fmt::format("command line: {}: needs a FILE argument", name));
      } else if (have_config) {
        fail(fmt::format("command line: {} {}: only one config file may be given", name,
                         quoted(*v)));
      } else {
        have_config = true;
        r.config_path = *v;
      }
    } else if (name == "--set") {
      const auto v = take_value();
      if (!v) {
        fail("command line: --set: needs a section.key=value argument");
      } else {
        flags.push_back({nullptr, *v});
      }
    } else {
      const auto* kf = std::find_if(std::begin(key_flags), std::end(key_flags),
                                    [&](const key_flag& f) { return f.flag == name; });
      if (kf != std::end(key_flags)) {
        const auto v = take_value();
        if (!v) {
          fail(fmt::format("command line: {}: needs a value for {}.{}", name, kf->section,
                           kf->name));
        } else {
          flags.push_back({kf, *v});
        }
      } else if (arg.starts_with("-")) {
        fail(fmt::format("command line: {}: unknown flag (see --help)", quoted(arg)));
      } else {
        fail(
            fmt::format("command line: {}: unexpected argument; zcserve takes only flags "
                        "(see --help)",
                        quoted(arg)));
      }
    }
  }

  // A request for help or the version is honoured even beside a mistake:
  // it is how a user finds out what the mistake was.
  if (help) {
    r.what = cli_result::action::help;
    return r;
  }
  if (version) {
    r.what = cli_result::action::version;
    return r;
  }
  auto error = [&r](std::string msg) {
    r.what = cli_result::action::error;
    r.error = std::move(msg);
    return r;
  };
  if (!first_error.empty()) return error(std::move(first_error));

  if (have_config) {
    std::string text;
    if (auto e = read_whole_file(r.config_path, text); !e.empty()) return error(std::move(e));
    if (auto e = apply_toml(r.cfg, text, r.config_path); !e.empty()) return error(std::move(e));
  }
  for (const pending_flag& f : flags) {
    std::string e;
    if (f.key == nullptr) {
      e = apply_override(r.cfg, f.value);
    } else if (f.key->raw_string) {
      e = apply_override_node(r.cfg, f.key->section, f.key->name,
                              toml::value<std::string>(f.value));
    } else {
      e = apply_override(r.cfg, fmt::format("{}.{}={}", f.key->section, f.key->name, f.value));
    }
    if (!e.empty()) return error(std::move(e));
  }
  r.what = list ? cli_result::action::list_backends : cli_result::action::run;
  return r;
}

namespace {

// Word-wraps `text` into lines of at most `width` columns, each starting
// with `prefix`, so that --help reads in an 80-column terminal.
void append_wrapped(std::string& out, std::string_view text, std::string_view prefix,
                    std::size_t width) {
  std::string line(prefix);
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = std::min(text.find(' ', pos), text.size());
    const std::string_view word = text.substr(pos, end - pos);
    if (line.size() > prefix.size() && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line = prefix;
    }
    if (line.size() > prefix.size()) line += ' ';
    line += word;
    pos = end + 1;
  }
  out += line + "\n";
}

}  // namespace

std::string usage_text() {
  std::string out = R"(Usage: zcserve [OPTIONS]

An HTTP/1.1 static-file server whose I/O engine and sender are chosen by
configuration.

Options:
  -c, --config FILE         read settings from a TOML file; it is applied
                            first, then every other flag in order, so flags
                            win over the file wherever they are written
      --set SECTION.KEY=VALUE
                            set any key below (repeatable); VALUE is read as
                            TOML when it is one (4, [0, 1], "text"), else as
                            a bare string (--set server.root=/srv/www)
      --root DIR            same as --set server.root=DIR
      --listen HOST:PORT    same as --set server.listen=HOST:PORT
                            (IPv6 as [::1]:8080; port 0 picks a free one)
      --engine NAME         same as --set io.engine=NAME
      --sender NAME         same as --set io.sender=NAME
      --workers N           same as --set server.workers=N
      --admin HOST:PORT     same as --set admin.listen=HOST:PORT ("off" to
                            disable /metrics and /stats)
      --list-backends       list every engine and sender: '+' usable here,
                            '-' not, with the reason
  -h, --help                print this help and exit
  -V, --version             print the version and exit

Every option that takes a value also accepts --option=VALUE.
A bad flag, key or value is reported on stderr and zcserve exits with status 2.

Config keys with their defaults, as a TOML file would hold them (every key
is optional; durations are integer milliseconds or "500ms", "10s", "2m"):
)";
  const config defaults;
  std::string_view current;
  for (const key_spec& k : key_table()) {
    if (k.section != current) {
      current = k.section;
      out += fmt::format("\n  [{}]\n", current);
    }
    // A key whose default is "unset" (io.sender: the engine's own) is shown
    // commented out, so that the listing still reads back as the defaults.
    const std::string shown_default = k.show(defaults);
    out += fmt::format("  {}{} = {}\n", shown_default == "\"\"" ? "# " : "", k.name, shown_default);
    append_wrapped(out, k.note.empty() ? k.allowed : fmt::format("{}; {}", k.note, k.allowed),
                   "      # ", 79);
  }
  for (const open_section& o : open_sections()) {
    out += fmt::format("\n  [{}]\n  # {}\n", o.section, o.example);
    append_wrapped(out,
                   fmt::format("{}; none by default. A key is {}. A value is {}.", o.note,
                               o.key_allowed, o.value_allowed),
                   "      # ", 79);
  }
  return out;
}

}  // namespace zc
