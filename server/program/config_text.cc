#include "server/program/config_text.hh"

#include <algorithm>
#include <sstream>
#include <vector>

#include <fmt/format.h>

namespace zc::config_text {

using namespace std::string_view_literals;

namespace {

constexpr std::size_t max_shown_value = 120;

}  // namespace

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

namespace {

bool is_bare_key(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-';
  });
}

}  // namespace

std::string key_text(std::string_view s) {
  return is_bare_key(s) ? std::string(s) : quoted(s);
}

namespace {

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

}  // namespace

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

}  // namespace zc::config_text
