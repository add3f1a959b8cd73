#include "server/report.hh"

#include <fmt/format.h>

#include <array>

#include "backends/sys/counted.hh"

namespace zc {

std::string syscall_table() {
  std::array<std::uint64_t, sys::call_count> calls{};
  std::uint64_t requests = 0, sent = 0, to_user = 0, from_user = 0, total = 0;
  for (const sys::thread_counters* t : sys::all_counters()) {
    for (std::size_t i = 0; i < sys::call_count; ++i) calls[i] += t->calls[i].get();
    requests += t->requests.get();
    sent += t->bytes_sent.get();
    to_user += t->copied_to_user.get();
    from_user += t->copied_from_user.get();
  }
  for (auto c : calls) total += c;
  const double per = requests > 0 ? 1.0 / static_cast<double>(requests) : 0.0;
  std::string out;
  auto it = std::back_inserter(out);
  fmt::format_to(it, "zcserve: {} requests, {} bytes sent, {} system calls counted\n", requests,
                 sent, total);
  fmt::format_to(it, "  {:<14} {:>14} {:>12}\n", "syscall", "calls", "per request");
  for (std::size_t i = 0; i < sys::call_count; ++i) {
    if (calls[i] == 0) continue;
    fmt::format_to(it, "  {:<14} {:>14} {:>12.3f}\n", sys::call_name(static_cast<sys::call>(i)),
                   calls[i], static_cast<double>(calls[i]) * per);
  }
  fmt::format_to(it, "  {:<14} {:>14} {:>12.3f}\n", "total", total,
                 static_cast<double>(total) * per);
  fmt::format_to(it,
                 "  copied kernel->user {} bytes ({:.1f} per request), user->kernel {} bytes "
                 "({:.1f} per request)\n",
                 to_user, static_cast<double>(to_user) * per, from_user,
                 static_cast<double>(from_user) * per);
  return out;
}

}  // namespace zc
