#include "server/core/encoding.hh"

namespace zc {

namespace {

bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

bool is_tchar(char ch) noexcept {
  const auto c = static_cast<unsigned char>(ch);
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(ch) != std::string_view::npos;
}

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

// ASCII case-insensitive equality against a lower-case literal.
bool ieq(std::string_view s, std::string_view lower) noexcept {
  if (s.size() != lower.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in
// thousandths; -1 when `s` is not one.
int parse_qvalue(std::string_view s) noexcept {
  if (s.empty() || (s[0] != '0' && s[0] != '1')) return -1;
  const bool one = s[0] == '1';
  if (s.size() == 1) return one ? 1000 : 0;
  if (s[1] != '.' || s.size() > 5) return -1;
  int q = 0, scale = 100;
  for (char c : s.substr(2)) {
    if (c < '0' || c > '9' || (one && c != '0')) return -1;
    q += (c - '0') * scale;
    scale /= 10;
  }
  return one ? 1000 : q;
}

// One list element: a coding and an optional weight. False when it does
// not follow the grammar.
bool parse_element(std::string_view element, std::string_view& name, int& q) noexcept {
  const std::size_t semi = element.find(';');
  name = trim_ows(element.substr(0, semi));
  q = 1000;
  if (!is_token(name)) return false;
  if (semi == std::string_view::npos) return true;
  // Only the weight may follow, once: `OWS ";" OWS "q=" qvalue`.
  const std::string_view param = trim_ows(element.substr(semi + 1));
  if (param.size() < 2 || (param[0] != 'q' && param[0] != 'Q') || param[1] != '=') return false;
  q = parse_qvalue(param.substr(2));
  return q >= 0;
}

}  // namespace

const content_coding_info& info(content_coding c) noexcept {
  return content_codings[static_cast<std::size_t>(c)];
}

std::optional<content_coding> coding_named(std::string_view name) noexcept {
  for (const content_coding_info& i : content_codings)
    if (i.name == name) return i.coding;
  return std::nullopt;
}

int accepted_codings::weight(content_coding c) const noexcept {
  const int own = listed[static_cast<std::size_t>(c)];
  if (own != not_listed) return own;
  return star != not_listed ? star : 0;
}

int accepted_codings::identity_weight() const noexcept {
  if (identity != not_listed) return identity;
  return star != not_listed ? star : implicit_identity;
}

void parse_accept_encoding(std::string_view value, accepted_codings& into) noexcept {
  while (true) {
    const std::size_t comma = value.find(',');
    const std::string_view element = trim_ows(value.substr(0, comma));
    std::string_view name;
    int q = 0;
    // Empty elements are allowed and mean nothing (RFC 9110 §5.6.1).
    if (!element.empty() && parse_element(element, name, q)) {
      if (ieq(name, "identity")) {
        into.note(into.identity, q);
      } else if (name == "*") {
        into.note(into.star, q);
      } else if (ieq(name, "x-gzip")) {
        into.note(into.listed[static_cast<std::size_t>(content_coding::gzip)], q);
      } else {
        for (const content_coding_info& i : content_codings)
          if (ieq(name, i.name)) into.note(into.listed[static_cast<std::size_t>(i.coding)], q);
      }
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

std::optional<content_coding> choose_coding(const accepted_codings& accepted,
                                            std::span<const content_coding> offered) noexcept {
  std::optional<content_coding> best;
  int best_q = 0;
  for (const content_coding c : offered) {
    const int q = accepted.weight(c);
    if (q > best_q) {  // strictly: the earlier of equals stays
      best = c;
      best_q = q;
    }
  }
  if (best && best_q < accepted.identity_weight()) return std::nullopt;
  return best;
}

}  // namespace zc
