#pragma once

// The engines' own settings sections, carried by the config without the
// core knowing what they hold or whose they are: each engine declares its
// settings struct in its own folder, with the section's name, and its keys
// beside it (backends/registry.hh: engine_info::section). The core only
// stores them, by that name.

#include <any>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zc {

// Settings of type T, where T is default-constructible (its defaults are
// what a user gets with no file and no flags) and names its section:
//   struct x_settings { static constexpr std::string_view section = "io.x"; ... };
class engine_sections {
 public:
  // What was configured for T's section, else T's defaults. Read once when
  // an engine starts, not per request: it is a search by name.
  template <class T>
  const T& get() const {
    if (const std::any* a = find(T::section)) return std::any_cast<const T&>(*a);
    static const T defaults{};
    return defaults;
  }

  // T's section to change, made from T's defaults on first use.
  template <class T>
  T& edit() {
    std::any* a = find(T::section);
    if (a == nullptr) a = &held_.emplace_back(std::string(T::section), T{}).second;
    return std::any_cast<T&>(*a);
  }

 private:
  const std::any* find(std::string_view section) const noexcept {
    for (const auto& [name, value] : held_)
      if (name == section) return &value;
    return nullptr;
  }
  std::any* find(std::string_view section) noexcept {
    for (auto& [name, value] : held_)
      if (name == section) return &value;
    return nullptr;
  }

  std::vector<std::pair<std::string, std::any>> held_;  // a few sections at most
};

}  // namespace zc
