#include "backends/senders/kinds.hh"

#include <iterator>

namespace zc {

// The enum is made from the same table in the same order, so a kind is
// its row's index; traits() relies on it.
static_assert([] {
  for (std::size_t i = 0; i < std::size(detail::sender_table); ++i)
    if (static_cast<std::size_t>(detail::sender_table[i].kind) != i) return false;
  return true;
}());

std::optional<engine_family> family_of_engine(std::string_view engine) noexcept {
  for (const auto& f : detail::engine_family_table) {
    std::string_view rest = f.engines;
    while (!rest.empty()) {
      const std::size_t space = rest.find(' ');
      if (rest.substr(0, space) == engine) return f.family;
      rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    }
  }
  return std::nullopt;
}

std::string_view family_name(engine_family f) noexcept {
  for (const auto& e : detail::engine_family_table)
    if (e.family == f) return e.name;
  return "";
}

std::string senders_markdown() {
  std::string out =
      "| sender | engines | body copies | needs | what a reply's body needs |\n"
      "| --- | --- | ---: | --- | --- |\n";
  for (const sender_traits& s : all_senders()) {
    std::string engines;
    for (const auto& f : detail::engine_family_table) {
      if (!has(s.families, f.family)) continue;
      if (!engines.empty()) engines += "; ";
      engines += std::string(f.name) + ": ";
      for (char c : f.engines) engines += c == ' ' ? std::string(", ") : std::string(1, c);
    }
    const char* needs = s.needs == sender_needs::pipes           ? "pipes"
                        : s.needs == sender_needs::locked_memory ? "locked memory"
                                                                 : "nothing";
    out += "| `" + std::string(s.name) + "` | " + engines + " | " + std::to_string(s.copies) +
           " | " + needs + " | " + std::string(s.body) + " |\n";
  }
  return out;
}

}  // namespace zc
