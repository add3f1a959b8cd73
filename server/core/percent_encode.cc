#include "server/core/percent_encode.hh"

namespace zc {

void append_percent_encoded(std::string& out, std::string_view bytes, std::string_view marks) {
  static constexpr char hex[] = "0123456789ABCDEF";
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       marks.find(ch) != std::string_view::npos;
    if (plain) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
}

}  // namespace zc
