#pragma once

#include <string_view>

namespace zc {

// MIME type for a file name, by extension, case-insensitive. Text types carry
// "; charset=utf-8". Unknown or missing extension: application/octet-stream.
std::string_view mime_type(std::string_view file_name) noexcept;

}  // namespace zc
