#pragma once

#include <ctime>
#include <optional>
#include <string_view>

namespace zc {

// Length of an IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
inline constexpr std::size_t http_date_len = 29;

// Writes `t` as an IMF-fixdate into out[0..29). No allocation, no locale.
void format_http_date(std::time_t t, char* out) noexcept;

// Parses IMF-fixdate, and the obsolete RFC 850 and asctime forms that
// RFC 9110 §5.6.7 says a recipient must accept.
std::optional<std::time_t> parse_http_date(std::string_view s) noexcept;

// The current time as an IMF-fixdate. The clock is read through the vDSO
// (CLOCK_REALTIME_COARSE: no system call) on every call; the text is
// reformatted only when the second changes. Per thread, so no lock.
std::string_view http_date_now() noexcept;

// Monotonic milliseconds, also through the vDSO (CLOCK_MONOTONIC_COARSE).
std::int64_t monotonic_ms() noexcept;

}  // namespace zc
