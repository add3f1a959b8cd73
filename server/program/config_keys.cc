#include "server/program/config_keys.hh"

#include <arpa/inet.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <type_traits>
#include <variant>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "backends/registry.hh"
#include "server/core/cache_control.hh"
#include "server/core/encoding.hh"
#include "server/core/mime.hh"
#include "server/program/config_text.hh"

namespace zc::config_keys {

using namespace config_text;

std::string wrong(std::string_view allowed, const toml::node& n, bool type_mismatch) {
  if (type_mismatch) return fmt::format("must be {}, not {}", allowed, type_name(n));
  return fmt::format("must be {}", allowed);
}

std::optional<std::string> string_of(const toml::node& n) {
  if (const auto* s = n.as_string()) return s->get();
  return std::nullopt;
}

namespace {

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

key_spec with_note(key_spec k, std::string_view note) {
  k.note = note;
  return k;
}

// Field accessors are generic lambdas `[](auto& c) -> auto& {...}` so the
// same one serves the writer (config&) and the --help default (const&).
// The key builders below reach a field through an access: get(const
// config&) and set(config&, value); field_access makes one of an accessor,
// setting_access of an engine's key (backends/engine_keys.hh).

template <class Field>
struct field_access {
  Field field;
  auto get(const config& c) const { return field(c); }
  template <class V>
  void set(config& c, V v) const {
    using T = std::remove_reference_t<decltype(field(c))>;
    field(c) = static_cast<T>(std::move(v));
  }
};

template <class V>
struct setting_access {
  const setting_key* key;
  V get(const config& c) const { return std::get<V>(key->read(c)); }
  void set(config& c, V v) const {
    key->write(c, setting_value(std::in_place_type<V>, std::move(v)));
  }
};

template <class Access>
key_spec integer_key_by(std::string_view section, std::string_view name, std::int64_t lo,
                        std::int64_t hi, Access field) {
  std::string allowed = fmt::format("an integer from {} to {}", lo, hi);
  applier apply = [=](config& c, const toml::node& n) -> std::string {
    const auto* v = n.as_integer();
    if (v == nullptr) return wrong(allowed, n, true);
    if (v->get() < lo || v->get() > hi) return wrong(allowed, n, false);
    field.set(c, v->get());
    return "";
  };
  shower show = [=](const config& c) { return fmt::format("{}", field.get(c)); };
  return {section, name, std::move(allowed), std::move(apply), std::move(show)};
}

template <class Field>
key_spec integer_key(std::string_view section, std::string_view name, std::int64_t lo,
                     std::int64_t hi, Field field) {
  return integer_key_by(section, name, lo, hi, field_access<Field>{field});
}

template <class Access>
key_spec duration_key_by(std::string_view section, std::string_view name, std::int64_t min_ms,
                         std::int64_t max_ms, Access field) {
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
    field.set(c, std::chrono::milliseconds(*ms));
    return "";
  };
  shower show = [=](const config& c) { return duration_text(field.get(c)); };
  return {section, name, std::move(allowed), std::move(apply), std::move(show)};
}

template <class Field>
key_spec duration_key(std::string_view section, std::string_view name, std::int64_t min_ms,
                      Field field, std::int64_t max_ms = max_duration_ms) {
  return duration_key_by(section, name, min_ms, max_ms, field_access<Field>{field});
}

// A string accepted when `ok` says so; NUL is refused everywhere because
// every string here ends up in a C API (paths, names).
template <class Access, class Check>
key_spec string_key_by(std::string_view section, std::string_view name, std::string allowed,
                       Check ok, Access field) {
  applier apply = [=](config& c, const toml::node& n) -> std::string {
    const auto s = string_of(n);
    if (!s) return wrong(allowed, n, true);
    if (s->find('\0') != std::string::npos || !ok(*s)) return wrong(allowed, n, false);
    field.set(c, *s);
    return "";
  };
  shower show = [=](const config& c) { return quoted(field.get(c)); };
  return {section, name, std::move(allowed), std::move(apply), std::move(show)};
}

template <class Field, class Check>
key_spec string_key(std::string_view section, std::string_view name, std::string allowed, Check ok,
                    Field field) {
  return string_key_by(section, name, std::move(allowed), ok, field_access<Field>{field});
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

template <class Access>
key_spec bool_key_by(std::string_view section, std::string_view name, Access field) {
  std::string allowed = "true or false";
  applier apply = [=](config& c, const toml::node& n) -> std::string {
    const auto* v = n.as_boolean();
    if (v == nullptr) return wrong(allowed, n, true);
    field.set(c, v->get());
    return "";
  };
  shower show = [=](const config& c) { return std::string(field.get(c) ? "true" : "false"); };
  return {section, name, std::move(allowed), std::move(apply), std::move(show)};
}

template <class Field>
key_spec bool_key(std::string_view section, std::string_view name, Field field) {
  return bool_key_by(section, name, field_access<Field>{field});
}

// An engine's key, read, checked and shown as the others are.
key_spec engine_key(std::string_view section, const setting_key& k) {
  switch (k.type) {
    case setting_type::integer:
      return with_note(
          integer_key_by(section, k.name, k.lo, k.hi, setting_access<std::int64_t>{&k}), k.note);
    case setting_type::boolean:
      return with_note(bool_key_by(section, k.name, setting_access<bool>{&k}), k.note);
    case setting_type::duration:
      return with_note(duration_key_by(section, k.name, k.lo, k.hi,
                                       setting_access<std::chrono::milliseconds>{&k}),
                       k.note);
    case setting_type::text:
      return with_note(string_key_by(
                           section, k.name, std::string(k.allowed),
                           [accepts = k.accepts](const std::string& v) { return accepts(v); },
                           setting_access<std::string>{&k}),
                       k.note);
  }
  throw std::logic_error("setting_key: unknown type");
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

}  // namespace

const std::vector<key_spec>& key_table() {
  static const std::vector<key_spec> table = [] {
    std::vector<key_spec> t;
    t.push_back(listen_key());
    t.push_back(with_note(string_key(
                              "server", "root", "a non-empty directory path", non_empty,
                              [](auto& c) -> auto& { return c.server.root; }),
                          "files are served from beneath it only"));
    t.push_back(with_note(
        string_key(
            "server", "pid_file", "a file path, or \"\" for none",
            [](const std::string&) { return true; },
            [](auto& c) -> auto& { return c.server.pid_file; }),
        "the process id is written there once the server listens, and the file removed at "
        "exit (for logrotate's kill -HUP and init scripts)"));
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
        "largest single write or splice step, and the size of a staging buffer or pipe"));
    t.push_back(with_note(
        integer_key(
            "io", "sendfile_chunk_bytes", 4096, std::int64_t{1} << 30,
            [](auto& c) -> auto& { return c.io.sendfile_chunk_bytes; }),
        "largest single sendfile call; it needs no buffer, so it may be larger than "
        "chunk_bytes: each call ends with a push of a partial segment, and a larger one holds "
        "the worker longer on one connection"));
    // Each engine's own section ([io.uring], ...), declared in its folder,
    // in the registry's order; listed whether or not the engine is built.
    for (const engine_info& e : engines())
      if (e.section != nullptr)
        for (const setting_key& k : e.section->keys) t.push_back(engine_key(e.section->name, k));
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
    // The access log's format and batching (server/core/access_log.hh).
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

namespace {

std::optional<std::string> extension_key(std::string_view k) {
  if (!is_extension(k)) return std::nullopt;
  std::string out(k);
  for (char& ch : out) ch = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
  return out;
}

const std::string extension_allowed = fmt::format(
    "an extension without its dot: 1 to {} letters, digits, '-', '_' or '+'", max_extension);

}  // namespace

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

namespace {

// Every section in --help order: the engines' own ones (from the registry)
// after [io].
const std::vector<std::string_view>& section_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out{"server", "io"};
    for (const engine_info& e : engines())
      if (e.section != nullptr) out.push_back(e.section->name);
    for (std::string_view s : {"admin", "log", "error_pages", "mime", "mime.types", "cache_control",
                               "cache_control.extensions", "cache_control.paths"})
      out.push_back(s);
    return out;
  }();
  return names;
}

}  // namespace

std::span<const std::string_view> known_sections() {
  return section_names();
}

bool is_section(std::string_view s) {
  const auto& names = section_names();
  return std::find(names.begin(), names.end(), s) != names.end();
}

const key_spec* find_key(std::string_view section, std::string_view name) {
  for (const key_spec& k : key_table()) {
    if (k.section == section && k.name == name) return &k;
  }
  return nullptr;
}

std::string sections_list() {
  std::string out;
  for (std::string_view s : section_names()) {
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

}  // namespace zc::config_keys
