/* lwIP's port to zcserve (lwIP's "arch" layer): diagnostics and assertion
 * failures go to zcserve's log, and the random numbers lwIP asks for (TCP
 * initial sequence numbers, local ports) come from the kernel's generator,
 * seeded once: a predictable ISN would let an off-path attacker inject
 * segments. Implemented in backends/dpdk/lwip_port.cc. */
#ifndef ZC_LWIP_ARCH_CC_H
#define ZC_LWIP_ARCH_CC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
void zc_lwip_diag(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void zc_lwip_assert(const char* what, const char* file, int line) __attribute__((noreturn));
uint32_t zc_lwip_random(void);
#ifdef __cplusplus
}
#endif

#define LWIP_PLATFORM_DIAG(x) \
  do {                        \
    zc_lwip_diag x;           \
  } while (0)
#define LWIP_PLATFORM_ASSERT(x) zc_lwip_assert((x), __FILE__, __LINE__)
#define LWIP_RAND() zc_lwip_random()

#endif /* ZC_LWIP_ARCH_CC_H */
