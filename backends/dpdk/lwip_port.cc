// lwIP's platform hooks (backends/dpdk/lwip/arch/cc.h): its diagnostics in
// zcserve's log, its assertion failures fatal with the place, and its
// random numbers (TCP initial sequence numbers, ephemeral ports) from
// glibc's arc4random, which the kernel's generator seeds: predictable ISNs
// would let an off-path attacker guess a connection's sequence space.

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "backends/dpdk/lwip/arch/cc.h"

extern "C" void zc_lwip_diag(const char* fmt, ...) {
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  spdlog::debug("lwip: {}", line);
}

extern "C" void zc_lwip_assert(const char* what, const char* file, int line) {
  spdlog::critical("lwip: assertion failed at {}:{}: {}", file, line, what);
  spdlog::shutdown();
  std::abort();
}

extern "C" uint32_t zc_lwip_random(void) {
  return arc4random();
}
