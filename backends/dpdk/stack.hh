#pragma once

// The dpdk engine's TCP/IP stack: lwIP (raw API, NO_SYS) over the device,
// driven by the one thread that polls. This header names no lwIP type (see
// device.hh for why); the lwIP side is stack.cc.

#include <cstdint>
#include <memory>

#include "backends/dpdk/device.hh"

namespace zc::dpdk {

// IPv4 addresses in host order: 198.18.0.1 is 0xC6120001.
struct ipv4_config {
  std::uint32_t addr = 0;
  std::uint32_t netmask = 0;
  std::uint32_t gateway = 0;  // 0: none (peers on the link only)
};

// What a wrapper of a received frame needs beside it (device_options).
std::uint16_t stack_priv_bytes() noexcept;

class stack {
 public:
  // One per process: lwIP keeps its state in globals. Throws
  // std::runtime_error if a stack exists already.
  stack(device& dev, const ipv4_config& ip);
  ~stack();
  stack(const stack&) = delete;
  stack& operator=(const stack&) = delete;

  // One turn of the poll loop: a burst of received frames into lwIP (which
  // calls the TCP callbacks), then the timers that are due. Returns the
  // frames received. What lwIP sent waits in the device's queue: the
  // caller flushes it when it chooses (at once, or batched).
  std::size_t poll();

  device& dev() noexcept { return dev_; }

 private:
  device& dev_;
  struct impl;
  std::unique_ptr<impl> p_;
};

}  // namespace zc::dpdk
