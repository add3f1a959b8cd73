#include "server/config_load.hh"

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

#include "server/cache_control.hh"
#include "server/encoding.hh"
#include "server/mime.hh"

namespace zc {
namespace {

using namespace std::string_view_literals;

// ---------------------------------------------------------------------------
// Rendering values and names back to the user. Everything goes into a single
// error line, so control characters are escaped and long values are cut.

constexpr std::size_t max_shown_value = 120;

void append_escaped(std::string& out, std::string_view s) {
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += fmt::format("\\u{:04X}", u);
        } else {
          out += ch;
        }
    }
  }
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  append_escaped(out, s);
  out += '"';
  return out;
}

bool is_bare_key(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-';
  });
}

// A key as TOML would accept it back: bare when possible, else quoted.
std::string key_text(std::string_view s) {
  return is_bare_key(s) ? std::string(s) : quoted(s);
}

template <class T>
std::string streamed(const T& v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

void render(const toml::node& n, std::string& out) {
  if (out.size() > max_shown_value) return;
  switch (n.type()) {
    case toml::node_type::string:
      out += quoted(n.as_string()->get());
      break;
    case toml::node_type::integer:
      out += fmt::format("{}", n.as_integer()->get());
      break;
    case toml::node_type::floating_point:
      out += fmt::format("{}", n.as_floating_point()->get());
      break;
    case toml::node_type::boolean:
      out += n.as_boolean()->get() ? "true" : "false";
      break;
    case toml::node_type::date:
      out += streamed(n.as_date()->get());
      break;
    case toml::node_type::time:
      out += streamed(n.as_time()->get());
      break;
    case toml::node_type::date_time:
      out += streamed(n.as_date_time()->get());
      break;
    case toml::node_type::array: {
      out += '[';
      bool first = true;
      for (const toml::node& e : *n.as_array()) {
        if (!first) out += ", ";
        first = false;
        render(e, out);
      }
      out += ']';
      break;
    }
    case toml::node_type::table: {
      out += '{';
      bool first = true;
      for (auto&& [k, v] : *n.as_table()) {
        out += first ? " " : ", ";
        first = false;
        out += key_text(k.str());
        out += " = ";
        render(v, out);
      }
      out += first ? "}" : " }";
      break;
    }
    case toml::node_type::none:
      break;
  }
}

std::string shown(const toml::node& n) {
  std::string out;
  render(n, out);
  if (out.size() > max_shown_value) {
    out.resize(max_shown_value);
    out += "...";
  }
  return out;
}

std::string_view type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// toml++ parse errors may span lines; the caller promises one line.
std::string one_line(std::string_view s) {
  std::string out(s);
  std::replace_if(
      out.begin(), out.end(), [](char ch) { return ch == '\n' || ch == '\r'; }, ' ');
  return out;
}

std::string_view trim(std::string_view s) {
  constexpr auto ws = " \t"sv;
  const auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// ---------------------------------------------------------------------------
// Value checkers. Each returns "" or the reason, starting "must be ...", so
// that every message states what is allowed.

std::string wrong(std::string_view allowed, const toml::node& n, bool type_mismatch) {
  if (type_mismatch) return fmt::format("must be {}, not {}", allowed, type_name(n));
  return fmt::format("must be {}", allowed);
}

std::optional<std::string> string_of(const toml::node& n) {
  if (const auto* s = n.as_string()) return s->get();
  return std::nullopt;
}

// Durations are kept well below the range of milliseconds so that callers
// can add them to a clock reading without overflow checks.
constexpr std::int64_t max_duration_ms = 24LL * 60 * 60 * 1000;

// "500ms", "10s", "2m": digits then a unit, nothing else.
std::optional<std::int64_t> parse_duration_text(std::string_view s) {
  std::size_t i = 0;
  std::int64_t n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    n = n * 10 + (s[i] - '0');
    if (n > max_duration_ms) return std::nullopt;
    ++i;
  }
  if (i == 0) return std::nullopt;
  const std::string_view unit = s.substr(i);
  std::int64_t scale = 0;
  if (unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1000;
  } else if (unit == "m") {
    scale = 60 * 1000;
  } else {
    return std::nullopt;
  }
  if (n > max_duration_ms / scale) return std::nullopt;  // reported as out of range below
  return n * scale;
}

std::string duration_text(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms != 0 && ms % 60'000 == 0) return fmt::format("\"{}m\"", ms / 60'000);
  if (ms != 0 && ms % 1000 == 0) return fmt::format("\"{}s\"", ms / 1000);
  return fmt::format("\"{}ms\"", ms);
}

struct listen_addr {
  std::string host;
  std::uint16_t port = 0;
};

bool is_ipv4_literal(const std::string& s) {
  in_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6_literal(const std::string& s) {
  in6_addr a{};
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

// A DNS name (RFC 1123 letters, digits, '-' and '.'); an all-numeric one
// would be a mistyped IPv4 address, which inet_pton already refused.
bool is_host_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  bool has_letter = false;
  for (char ch : s) {
    const bool letter = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
    const bool ok = letter || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.';
    if (!ok) return false;
    has_letter = has_letter || letter;
  }
  return has_letter && s.front() != '.' && s.front() != '-';
}

std::optional<listen_addr> parse_listen(std::string_view s) {
  listen_addr out;
  std::string_view port_text;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return std::nullopt;
    }
    out.host = std::string(s.substr(1, close - 1));
    if (!is_ipv6_literal(out.host)) return std::nullopt;
    port_text = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    out.host = std::string(s.substr(0, colon));
    // An unbracketed IPv6 address would make the port ambiguous.
    if (out.host.find(':') != std::string::npos) return std::nullopt;
    if (!is_ipv4_literal(out.host) && !is_host_name(out.host)) return std::nullopt;
    port_text = s.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5) return std::nullopt;
  unsigned port = 0;
  for (char ch : port_text) {
    if (ch < '0' || ch > '9') return std::nullopt;
    port = port * 10 + static_cast<unsigned>(ch - '0');
  }
  if (port > 65535) return std::nullopt;
  out.port = static_cast<std::uint16_t>(port);
  return out;
}

std::string listen_text(const std::string& host, std::uint16_t port) {
  if (host.find(':') != std::string::npos) return fmt::format("\"[{}]:{}\"", host, port);
  return fmt::format("\"{}:{}\"", host, port);
}

// ---------------------------------------------------------------------------
// The key table: one entry per config key, the single source of truth for
// parsing, validation, error messages and the --help listing.

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

key_spec with_note(key_spec k, std::string_view note) {
  k.note = note;
  return k;
}

// Field accessors are generic lambdas `[](auto& c) -> auto& {...}` so the
// same one serves the writer (config&) and the --help default (const&).

template <class Field>
key_spec integer_key(std::string_view section, std::string_view name, std::int64_t lo,
                     std::int64_t hi, Field field) {
  std::string allowed = fmt::format("an integer from {} to {}", lo, hi);
  applier apply = [=](config& c, const toml::node& n) -> std::string {
    const auto* v = n.as_integer();
    if (v == nullptr) return wrong(allowed, n, true);
    if (v->get() < lo || v->get() > hi) return wrong(allowed, n, false);
    using T = std::remove_reference_t<decltype(field(c))>;
    field(c) = static_cast<T>(v->get());
    return "";
  };
  shower show = [=](const config& c) { return fmt::format("{}", field(c)); };
  return {section, name, std::move(allowed), std::move(apply), std::move(show)};
}

template <class Field>
key_spec duration_key(std::string_view section, std::string_view name, std::int64_t min_ms,
                      Field field, std::int64_t max_ms = max_duration_ms) {
  std::string allowed = fmt::format(
      "a duration from {}ms to {}: integer milliseconds, or a string such as "
      "\"500ms\", \"10s\", \"2m\"",
      min_ms, max_ms == max_duration_ms ? "1 day" : fmt::format("{}ms", max_ms));
  applier apply = [=](config& c, const toml::node& n) -> std::string {
    std::optional<std::int64_t> ms;
    if (const auto* i = n.as_integer()) {
      ms = i->get();
    } else if (const auto* s = n.as_string()) {
      ms = parse_duration_text(s->get());
    } else {
      return wrong(allowed, n, true);
    }
    if (!ms || *ms < min_ms || *ms > max_ms) return wrong(allowed, n, false);
    field(c) = std::chrono::milliseconds(*ms);
    return "";
  };
  shower show = [=](const config& c) { return duration_text(field(c)); };
  return {section, name, std::move(allowed), std::move(apply), std::move(show)};
}

// A string accepted when `ok` says so; NUL is refused everywhere because
// every string here ends up in a C API (paths, names).
template <class Field, class Check>
key_spec string_key(std::string_view section, std::string_view name, std::string allowed, Check ok,
                    Field field) {
  applier apply = [=](config& c, const toml::node& n) -> std::string {
    const auto s = string_of(n);
    if (!s) return wrong(allowed, n, true);
    if (s->find('\0') != std::string::npos || !ok(*s)) return wrong(allowed, n, false);
    field(c) = *s;
    return "";
  };
  shower show = [=](const config& c) { return quoted(field(c)); };
  return {section, name, std::move(allowed), std::move(apply), std::move(show)};
}

bool non_empty(const std::string& s) {
  return !s.empty();
}

key_spec listen_key() {
  std::string allowed =
      "HOST:PORT with an IPv4 address or host name, or [IPv6]:PORT, and a port from 0 to 65535 "
      "(0 picks a free port)";
  applier apply = [=](config& c, const toml::node& n) -> std::string {
    const auto s = string_of(n);
    if (!s) return wrong(allowed, n, true);
    const auto addr = parse_listen(*s);
    if (!addr) return wrong(allowed, n, false);
    c.server.listen_host = addr->host;
    c.server.listen_port = addr->port;
    return "";
  };
  shower show = [](const config& c) {
    return listen_text(c.server.listen_host, c.server.listen_port);
  };
  return {"server", "listen", std::move(allowed), std::move(apply), std::move(show)};
}

key_spec cpu_affinity_key() {
  constexpr int max_cpu = CPU_SETSIZE - 1;  // what a cpu_set_t can name
  std::string allowed = fmt::format(
      "an array of CPU numbers from 0 to {}, or \"none\" (or []) for no pinning", max_cpu);
  applier apply = [=](config& c, const toml::node& n) -> std::string {
    if (const auto s = string_of(n)) {
      if (*s != "none") return wrong(allowed, n, false);
      c.server.cpu_affinity.clear();
      return "";
    }
    const auto* arr = n.as_array();
    if (arr == nullptr) return wrong(allowed, n, true);
    std::vector<int> cpus;
    for (const toml::node& e : *arr) {
      const auto* i = e.as_integer();
      if (i == nullptr)
        return fmt::format("must be {}, not an array holding {}", allowed, type_name(e));
      if (i->get() < 0 || i->get() > max_cpu) return wrong(allowed, n, false);
      cpus.push_back(static_cast<int>(i->get()));
    }
    c.server.cpu_affinity = std::move(cpus);
    return "";
  };
  shower show = [](const config& c) {
    if (c.server.cpu_affinity.empty()) return std::string("\"none\"");
    return fmt::format("[{}]", fmt::join(c.server.cpu_affinity, ", "));
  };
  return {"server", "cpu_affinity", std::move(allowed), std::move(apply), std::move(show)};
}

key_spec admin_listen_key() {
  std::string allowed =
      "\"off\", or HOST:PORT with an IPv4 address or host name, or [IPv6]:PORT, and a port from "
      "0 to 65535 (0 picks a free port)";
  applier apply = [=](config& c, const toml::node& n) -> std::string {
    const auto s = string_of(n);
    if (!s) return wrong(allowed, n, true);
    if (*s == "off") {
      c.admin.enabled = false;
      return "";
    }
    const auto addr = parse_listen(*s);
    if (!addr) return wrong(allowed, n, false);
    c.admin.enabled = true;
    c.admin.listen_host = addr->host;
    c.admin.listen_port = addr->port;
    return "";
  };
  shower show = [](const config& c) {
    if (!c.admin.enabled) return std::string("\"off\"");
    return listen_text(c.admin.listen_host, c.admin.listen_port);
  };
  return {"admin", "listen", std::move(allowed), std::move(apply), std::move(show)};
}

template <class Field>
key_spec bool_key(std::string_view section, std::string_view name, Field field) {
  std::string allowed = "true or false";
  applier apply = [=](config& c, const toml::node& n) -> std::string {
    const auto* v = n.as_boolean();
    if (v == nullptr) return wrong(allowed, n, true);
    field(c) = v->get();
    return "";
  };
  shower show = [=](const config& c) { return std::string(field(c) ? "true" : "false"); };
  return {section, name, std::move(allowed), std::move(apply), std::move(show)};
}

key_spec precompressed_key() {
  std::string allowed =
      "an array of distinct codings from \"br\", \"zstd\", \"gzip\", in order of "
      "preference ([] turns it off)";
  applier apply = [=](config& c, const toml::node& n) -> std::string {
    const auto* arr = n.as_array();
    if (arr == nullptr) return wrong(allowed, n, true);
    std::vector<std::string> codings;
    for (const toml::node& e : *arr) {
      const auto s = string_of(e);
      if (!s) return fmt::format("must be {}, not an array holding {}", allowed, type_name(e));
      if (!coding_named(*s) || std::find(codings.begin(), codings.end(), *s) != codings.end())
        return wrong(allowed, n, false);
      codings.push_back(*s);
    }
    c.server.precompressed = std::move(codings);
    return "";
  };
  shower show = [](const config& c) {
    std::string out = "[";
    for (const std::string& s : c.server.precompressed) {
      if (out.size() > 1) out += ", ";
      out += quoted(s);
    }
    return out + "]";
  };
  return {"server", "precompressed", std::move(allowed), std::move(apply), std::move(show)};
}

// "/errors/404.html": beneath the root, already in the normalised form the
// file cache is keyed by, so that it names one file however it is read.
bool is_error_page_path(const std::string& s) {
  if (s.empty()) return true;  // unset: the built-in body
  if (s.front() != '/' || s.back() == '/') return false;
  std::string_view rest(s);
  rest.remove_prefix(1);
  while (true) {
    const std::size_t slash = rest.find('/');
    const std::string_view seg = rest.substr(0, slash);
    if (seg.empty() || seg == "." || seg == "..") return false;
    if (slash == std::string_view::npos) return true;
    rest.remove_prefix(slash + 1);
  }
}

key_spec error_page_key(std::size_t i) {
  // The key table keeps views of its names: these outlive it.
  static const std::array<std::string, config::error_pages_section::statuses.size()> names = [] {
    std::array<std::string, config::error_pages_section::statuses.size()> out;
    for (std::size_t j = 0; j < out.size(); ++j)
      out[j] = std::to_string(config::error_pages_section::statuses[j]);
    return out;
  }();
  return with_note(
      string_key(
          "error_pages", names[i],
          "\"\" (the built-in body) or a file's path beneath the root, such as "
          "\"/errors/404.html\" (no empty, \".\" or \"..\" segment, no trailing '/')",
          is_error_page_path, [i](auto& c) -> auto& { return c.error_pages.path[i]; }),
      "sent as the body of this status, which it keeps; when the file is missing, the built-in "
      "body");
}

constexpr std::string_view log_levels[] = {"trace", "debug", "info", "warn", "error", "off"};

key_spec dotfiles_key() {
  std::string allowed = "\"deny\" or \"allow\"";
  applier apply = [=](config& c, const toml::node& n) -> std::string {
    const auto s = string_of(n);
    if (!s) return wrong(allowed, n, true);
    if (*s == "deny") {
      c.dotfiles = config::dotfiles_mode::deny;
    } else if (*s == "allow") {
      c.dotfiles = config::dotfiles_mode::allow;
    } else {
      return wrong(allowed, n, false);
    }
    return "";
  };
  shower show = [](const config& c) {
    return std::string(c.dotfiles == config::dotfiles_mode::deny ? "\"deny\"" : "\"allow\"");
  };
  return {"server", "dotfiles", std::move(allowed), std::move(apply), std::move(show)};
}

// A charset name as a media type parameter holds it (an RFC 9110 token,
// narrowed to what charset names use), or "" for none.
bool is_charset(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_' || ch == '.' || ch == ':' || ch == '+';
  });
}

constexpr std::string_view media_type_allowed =
    "a media type such as \"text/plain\" (type/subtype, optionally followed by \"; "
    "parameters\", printable ASCII)";
constexpr std::string_view cache_control_allowed =
    "a Cache-Control value such as \"max-age=3600\" or \"no-cache\" (printable ASCII, no "
    "leading or trailing space), or \"\" for no Cache-Control field";

const std::vector<key_spec>& key_table() {
  static const std::vector<key_spec> table = [] {
    std::vector<key_spec> t;
    t.push_back(listen_key());
    t.push_back(with_note(string_key(
                              "server", "root", "a non-empty directory path", non_empty,
                              [](auto& c) -> auto& { return c.server.root; }),
                          "files are served from beneath it only"));
    t.push_back(with_note(
        integer_key(
            "server", "workers", 1, 256, [](auto& c) -> auto& { return c.server.workers; }),
        "share-nothing workers, each with its own engine and listening socket"));
    t.push_back(cpu_affinity_key());
    t.push_back(with_note(integer_key(
                              "server", "max_connections", 1, 1'000'000,
                              [](auto& c) -> auto& { return c.server.max_connections; }),
                          "per worker"));
    t.push_back(with_note(integer_key(
                              "server", "max_request_line", 64, 1 << 20,
                              [](auto& c) -> auto& { return c.server.max_request_line; }),
                          "bytes; a longer request line gets 414"));
    t.push_back(with_note(integer_key(
                              "server", "max_header_bytes", 256, 1 << 20,
                              [](auto& c) -> auto& { return c.server.max_header_bytes; }),
                          "bytes of the whole head; over it: 431"));
    t.push_back(with_note(
        integer_key(
            "server", "max_headers", 1, 128, [](auto& c) -> auto& { return c.server.max_headers; }),
        "header fields; over it: 431"));
    t.push_back(with_note(integer_key(
                              "server", "max_body", 0, std::int64_t{1} << 40,
                              [](auto& c) -> auto& { return c.server.max_body; }),
                          "bytes; a GET/HEAD body is read and dropped; over it: 413"));
    t.push_back(with_note(duration_key(
                              "server", "header_timeout", 1,
                              [](auto& c) -> auto& { return c.server.header_timeout; }),
                          "first byte to end of head"));
    t.push_back(with_note(
        duration_key(
            "server", "idle_timeout", 1, [](auto& c) -> auto& { return c.server.idle_timeout; }),
        "keep-alive wait for the next request"));
    t.push_back(with_note(
        duration_key(
            "server", "send_timeout", 1, [](auto& c) -> auto& { return c.server.send_timeout; }),
        "no progress writing a reply"));
    t.push_back(with_note(duration_key(
                              "server", "shutdown_timeout", 1,
                              [](auto& c) -> auto& { return c.server.shutdown_timeout; }),
                          "graceful drain limit"));
    t.push_back(with_note(duration_key(
                              "server", "cache_revalidate", 0,
                              [](auto& c) -> auto& { return c.server.cache_revalidate; }),
                          "file cache entry lifetime before a re-stat; 0: every request"));
    t.push_back(with_note(integer_key(
                              "server", "cache_entries", 0, 10'000'000,
                              [](auto& c) -> auto& { return c.server.cache_entries; }),
                          "per worker; 0 disables the cache"));
    t.push_back(with_note(
        string_key(
            "server", "index", "a non-empty file name without '/' (not \".\" or \"..\")",
            [](const std::string& s) {
              return !s.empty() && s.find('/') == std::string::npos && s != "." && s != "..";
            },
            [](auto& c) -> auto& { return c.server.index; }),
        "served for a directory"));
    // Byte ranges.
    t.push_back(with_note(
        integer_key(
            "server", "max_ranges", 1, 256, [](auto& c) -> auto& { return c.server.max_ranges; }),
        "range-specs one Range field may list; more, or ranges adding up to "
        "more than the file, get the whole file (200); 1 serves single ranges "
        "only"));
    // Precompressed files and directory listings (issue 11).
    t.push_back(with_note(precompressed_key(),
                          "with Accept-Encoding allowing it, \"x.br\" (or .zst, .gz) beside \"x\" "
                          "is sent in its place, with Content-Encoding"));
    t.push_back(
        with_note(bool_key(
                      "server", "autoindex", [](auto& c) -> auto& { return c.server.autoindex; }),
                  "an HTML listing of a directory that has no index file (else 403)"));
    t.push_back(with_note(dotfiles_key(),
                          "\"deny\": a path with a segment starting with '.' (/.env, "
                          "/.git/config) is 404, except /.well-known/ and what is beneath it"));
    // Whether an engine or sender exists is the registry's call, made after
    // loading, so that its message can list what this build offers.
    t.push_back(string_key(
        "io", "engine", "a non-empty engine name (see --list-backends)", non_empty,
        [](auto& c) -> auto& { return c.io.engine; }));
    t.push_back(string_key(
        "io", "sender",
        "a non-empty sender name (see --list-backends); unset, the engine's default", non_empty,
        [](auto& c) -> auto& { return c.io.sender; }));
    t.push_back(with_note(
        integer_key(
            "io", "chunk_bytes", 4096, 64 << 20, [](auto& c) -> auto& { return c.io.chunk_bytes; }),
        "largest single write/sendfile/splice step"));
    t.push_back(with_note(
        integer_key(
            "io.uring", "entries", 8, 32768, [](auto& c) -> auto& { return c.io.uring.entries; }),
        "submission queue slots; the completion queue gets 4x"));
    t.push_back(with_note(
        integer_key(
            "io.uring", "buffers", 16, 32768, [](auto& c) -> auto& { return c.io.uring.buffers; }),
        "provided receive buffers per worker (rounded up to a power of two)"));
    t.push_back(with_note(integer_key(
                              "io.uring", "buffer_size", 512, 1 << 20,
                              [](auto& c) -> auto& { return c.io.uring.buffer_size; }),
                          "bytes per provided receive buffer"));
    t.push_back(with_note(
        bool_key(
            "io.uring", "sqpoll", [](auto& c) -> auto& { return c.io.uring.sqpoll; }),
        "a kernel thread polls the submission queue: no system call to submit, but it burns a "
        "CPU while busy (its time is in zcserve's process CPU figures)"));
    t.push_back(with_note(duration_key(
                              "io.uring", "sq_thread_idle", 1,
                              [](auto& c) -> auto& { return c.io.uring.sq_thread_idle; }),
                          "how long the polling thread spins with nothing to do before sleeping"));
    t.push_back(with_note(integer_key(
                              "io.uring", "sq_thread_cpu", -1, CPU_SETSIZE - 1,
                              [](auto& c) -> auto& { return c.io.uring.sq_thread_cpu; }),
                          "CPU to pin the polling thread to; -1 lets the scheduler choose"));
    t.push_back(with_note(
        duration_key(
            "io.uring", "sqpoll_spin", 0, [](auto& c) -> auto& { return c.io.uring.sqpoll_spin; }),
        "with sqpoll, how long a worker polls for completions before it sleeps "
        "in io_uring_enter; it burns that CPU time to save the call"));
    t.push_back(with_note(integer_key(
                              "io.uring", "zc_min_bytes", 0, std::int64_t{1} << 30,
                              [](auto& c) -> auto& { return c.io.uring.zc_min_bytes; }),
                          "send_zc sends bodies at least this big without a copy; smaller ones "
                          "are copied, which costs less than pinning pages"));
    t.push_back(with_note(
        bool_key(
            "io.uring", "fixed_files", [](auto& c) -> auto& { return c.io.uring.fixed_files; }),
        "registered (direct) descriptors: connections are accepted into the ring's file table "
        "and never get a process descriptor, served files are registered there once; "
        "operations skip the descriptor table lookup"));
    t.push_back(with_note(admin_listen_key(),
                          "serves /metrics (Prometheus) and /stats (JSON) on its own thread"));
    t.push_back(
        with_note(duration_key(
                      "admin", "window", 1000, [](auto& c) -> auto& { return c.admin.window; }),
                  "per-request figures are also given over this last stretch of time"));
    t.push_back(string_key(
        "log", "level", fmt::format("one of {}", fmt::join(log_levels, ", ")),
        [](const std::string& s) {
          return std::find(std::begin(log_levels), std::end(log_levels), s) != std::end(log_levels);
        },
        [](auto& c) -> auto& { return c.log.level; }));
    t.push_back(string_key(
        "log", "access_log", "off, stderr, stdout, or a file path", non_empty,
        [](auto& c) -> auto& { return c.log.access_log; }));
    // The access log's format and batching (server/access_log.hh).
    t.push_back(
        with_note(string_key(
                      "log", "access_format", "combined or common",
                      [](const std::string& s) { return s == "combined" || s == "common"; },
                      [](auto& c) -> auto& { return c.log.access_format; }),
                  "combined: the Common Log Format plus \"Referer\" \"User-Agent\", as nginx and "
                  "Apache write it and goaccess --log-format=COMBINED reads it"));
    t.push_back(with_note(
        duration_key(
            "log", "flush_interval", 1, [](auto& c) -> auto& { return c.log.flush_interval; },
            1000),
        "the longest an access log line waits in its worker's buffer before it is written; "
        "a full buffer (64 KiB) is written at once"));
    // [error_pages] (issue 11): one key per status that may have a page.
    for (std::size_t i = 0; i < config::error_pages_section::statuses.size(); ++i)
      t.push_back(error_page_key(i));
    t.push_back(with_note(
        string_key(
            "mime", "types_file", "a file path, or \"\" for the built-in types only",
            [](const std::string&) { return true; },
            [](auto& c) -> auto& { return c.mime.types_file; }),
        "a mime.types file (\"type ext ext...\" lines) read at start; the built-in types and "
        "[mime.types] win over it"));
    t.push_back(with_note(string_key(
                              "mime", "default_type", std::string(media_type_allowed),
                              [](const std::string& v) { return is_media_type(v); },
                              [](auto& c) -> auto& { return c.mime.default_type; }),
                          "for a file whose extension no table knows"));
    t.push_back(with_note(
        string_key(
            "mime", "charset",
            "a charset name such as \"utf-8\" (letters, digits, '-', '_', '.', ':', '+'), or "
            "\"\" for none",
            is_charset, [](auto& c) -> auto& { return c.mime.charset; }),
        "appended as \"; charset=...\" to text/*, javascript, json, xml, yaml and +xml/+json "
        "types that name none"));
    t.push_back(with_note(string_key(
                              "cache_control", "default", std::string(cache_control_allowed),
                              [](const std::string& v) { return is_cache_control_value(v); },
                              [](auto& c) -> auto& { return c.cache_control.default_value; }),
                          "for files no path or extension rule covers"));
    return t;
  }();
  return table;
}

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

std::optional<std::string> extension_key(std::string_view k) {
  if (!is_extension(k)) return std::nullopt;
  std::string out(k);
  for (char& ch : out) ch = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
  return out;
}

const std::string extension_allowed = fmt::format(
    "an extension without its dot: 1 to {} letters, digits, '-', '_' or '+'", max_extension);

const std::vector<open_section>& open_sections() {
  static const std::vector<open_section> table = [] {
    std::vector<open_section> t;
    t.push_back({"mime.types", extension_allowed, std::string(media_type_allowed),
                 "extension = media type, over the built-in types and mime.types_file; the "
                 "charset is added as for the others",
                 "m3u8 = \"application/vnd.apple.mpegurl\"", extension_key,
                 [](std::string_view v) { return is_media_type(v); },
                 [](config& c) -> entry_list& { return c.mime.types; }});
    t.push_back({"cache_control.extensions", extension_allowed, std::string(cache_control_allowed),
                 "extension = Cache-Control value; a path rule wins over it", "html = \"no-cache\"",
                 extension_key, [](std::string_view v) { return is_cache_control_value(v); },
                 [](config& c) -> entry_list& { return c.cache_control.extensions; }});
    t.push_back({"cache_control.paths",
                 "a path starting with '/', without empty, \".\" or \"..\" segments (\"/\" is "
                 "every file)",
                 std::string(cache_control_allowed),
                 "path = Cache-Control value, for that path and everything beneath it; the "
                 "longest matching path wins, over any extension rule",
                 "\"/assets/\" = \"max-age=31536000, immutable\"",
                 [](std::string_view k) -> std::optional<std::string> {
                   if (!is_cache_control_path(k)) return std::nullopt;
                   return canonical_cache_control_path(k);
                 },
                 [](std::string_view v) { return is_cache_control_value(v); },
                 [](config& c) -> entry_list& { return c.cache_control.paths; }});
    return t;
  }();
  return table;
}

const open_section* find_open_section(std::string_view s) {
  for (const open_section& o : open_sections())
    if (o.section == s) return &o;
  return nullptr;
}

constexpr std::string_view sections[] = {"server",
                                         "io",
                                         "io.uring",
                                         "admin",
                                         "log",
                                         "error_pages",
                                         "mime",
                                         "mime.types",
                                         "cache_control",
                                         "cache_control.extensions",
                                         "cache_control.paths"};

bool is_section(std::string_view s) {
  return std::find(std::begin(sections), std::end(sections), s) != std::end(sections);
}

const key_spec* find_key(std::string_view section, std::string_view name) {
  for (const key_spec& k : key_table()) {
    if (k.section == section && k.name == name) return &k;
  }
  return nullptr;
}

std::string sections_list() {
  std::string out;
  for (std::string_view s : sections) {
    if (!out.empty()) out += ", ";
    out += fmt::format("[{}]", s);
  }
  return out;
}

std::string keys_list(std::string_view section) {
  std::string out;
  for (const key_spec& k : key_table()) {
    if (k.section != section) continue;
    if (!out.empty()) out += ", ";
    out += k.name;
  }
  // "[mime]: types_file, ..., and the table [mime.types]": where an
  // extension written straight into [mime] belongs.
  for (const open_section& o : open_sections()) {
    if (!o.section.starts_with(section) || o.section.size() <= section.size() ||
        o.section[section.size()] != '.')
      continue;
    out += fmt::format("{}the table [{}]", out.empty() ? "" : ", ", o.section);
  }
  return out;
}

// The nearest known key of the section, if near enough to be a typo.
const key_spec* suggest_key(std::string_view section, std::string_view name) {
  const key_spec* best = nullptr;
  std::size_t best_d = 3;
  for (const key_spec& k : key_table()) {
    if (k.section != section) continue;
    const std::size_t d = edit_distance(name, k.name);
    if (d < best_d) {
      best = &k;
      best_d = d;
    }
  }
  return best;
}

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
        for (std::string_view s : sections) {
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
