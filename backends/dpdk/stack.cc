// lwIP's side of the dpdk engine: the network interface over the device,
// received frames wrapped without a copy, and the poll loop's turn. No
// DPDK header may be included here (see device.hh).

#include "backends/dpdk/stack.hh"

#include <time.h>

#include <array>
#include <atomic>
#include <cstring>
#include <span>
#include <stdexcept>

extern "C" {
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"
}

#include "server/sys/counted.hh"

// lwIP's clock (NO_SYS): milliseconds, wrapping, from the vDSO.
extern "C" u32_t sys_now(void) {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<u32_t>(ts.tv_sec * 1000 + ts.tv_nsec / 1'000'000);
}

namespace zc::dpdk {

namespace {

constexpr std::size_t rx_burst = 32;
constexpr std::size_t max_parts = 32;  // pbufs in one outgoing frame

std::atomic<bool> g_stack_exists{false};

// A received frame as lwIP sees it: a custom pbuf over the device's buffer,
// which goes back to the device when lwIP frees the pbuf (at once for most
// frames; after the application consumed it for TCP payload).
struct rx_pbuf {
  pbuf_custom pc;
  device* dev;
  void* handle;
};

void free_rx_pbuf(pbuf* p) {
  auto* r = reinterpret_cast<rx_pbuf*>(p);
  r->dev->release(r->handle);
}

err_t link_output(netif* nif, pbuf* p) {
  auto* dev = static_cast<device*>(nif->state);
  std::array<std::span<const std::uint8_t>, max_parts> parts;
  std::size_t n = 0, bytes = 0, referenced = 0;
  for (pbuf* q = p; q != nullptr; q = q->next) {
    if (q->len == 0) continue;
    if (n == max_parts) return ERR_MEM;  // never with the stack's segment shapes
    parts[n++] = {static_cast<const std::uint8_t*>(q->payload), q->len};
    bytes += q->len;
    // tcp_write without a copy makes ROM pbufs, and the engine writes so
    // only the file bytes it references (the mmap sender): body.
    if (q->type_internal == PBUF_ROM) referenced += q->len;
  }
  if (!dev->queue(std::span(parts.data(), n))) return ERR_MEM;
  // The frame was copied into a transmit buffer: where a kernel stack
  // would have copied it out of user memory in send().
  sys::thread_counters& c = sys::counters();
  c.copied_in_user.add(bytes);
  c.body_copied.add(referenced);
  return ERR_OK;
}

err_t netif_setup(netif* nif) {
  auto* dev = static_cast<device*>(nif->state);
  nif->name[0] = 'd';
  nif->name[1] = 'k';
  nif->output = etharp_output;
  nif->linkoutput = link_output;
  nif->mtu = dev->mtu();
  nif->hwaddr_len = ETH_HWADDR_LEN;
  const auto mac = dev->mac();
  std::memcpy(nif->hwaddr, mac.data(), mac.size());
  nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
  return ERR_OK;
}

ip4_addr_t to_lwip(std::uint32_t host_order) {
  ip4_addr_t a;
  ip4_addr_set_u32(&a, lwip_htonl(host_order));
  return a;
}

}  // namespace

std::uint16_t stack_priv_bytes() noexcept {
  return sizeof(rx_pbuf);
}

struct stack::impl {
  netif nif{};
};

stack::stack(device& dev, const ipv4_config& ip) : dev_(dev), p_(std::make_unique<impl>()) {
  if (g_stack_exists.exchange(true))
    throw std::runtime_error("dpdk: lwIP keeps one stack per process, and one exists");
  static bool initialised = false;
  if (!initialised) {
    lwip_init();
    initialised = true;
  }
  const ip4_addr_t addr = to_lwip(ip.addr), mask = to_lwip(ip.netmask), gw = to_lwip(ip.gateway);
  if (netif_add(&p_->nif, &addr, &mask, &gw, &dev_, netif_setup, ethernet_input) == nullptr) {
    g_stack_exists = false;
    throw std::runtime_error("dpdk: lwIP refused the network interface");
  }
  netif_set_default(&p_->nif);
  netif_set_up(&p_->nif);
  // Tell the link who we are now, so the peer's first packet needs no ARP
  // round trip of its own.
  etharp_gratuitous(&p_->nif);
  dev_.flush();
}

stack::~stack() {
  netif_set_down(&p_->nif);
  netif_remove(&p_->nif);
  dev_.flush();
  g_stack_exists = false;
}

std::size_t stack::poll() {
  std::array<frame, rx_burst> got;
  const std::size_t n = dev_.receive(got);
  for (std::size_t i = 0; i < n; ++i) {
    frame& f = got[i];
    auto* r = static_cast<rx_pbuf*>(f.priv);
    r->dev = &dev_;
    r->handle = f.handle;
    r->pc.custom_free_function = free_rx_pbuf;
    pbuf* p = pbuf_alloced_custom(PBUF_RAW, f.len, PBUF_REF, &r->pc, f.data, f.len);
    if (p == nullptr || p_->nif.input(p, &p_->nif) != ERR_OK) {
      if (p != nullptr)
        pbuf_free(p);  // gives the frame back through free_rx_pbuf
      else
        dev_.release(f.handle);
    }
  }
  sys_check_timeouts();
  return n;
}

}  // namespace zc::dpdk
