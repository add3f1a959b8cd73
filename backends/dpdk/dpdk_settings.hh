#pragma once

// [io.dpdk]: the dpdk engine's own settings (docs/backends/dpdk.md), and its
// keys. Compiled whether or not the engine is (it needs neither DPDK nor
// lwIP): a config file reads the same on every build
// (docs/architecture.md, "Adding an engine").

#include <string>
#include <string_view>

#include "backends/engine_keys.hh"

namespace zc {

struct dpdk_settings {
  static constexpr std::string_view section = "io.dpdk";

  std::string vdev;          // DPDK's --vdev, e.g. net_af_xdp0,iface=veth0,busy_budget=0
  std::string address;       // the stack's own IPv4 address, A.B.C.D/N
  std::string gateway;       // A.B.C.D, or "" for peers on the link only
  std::string mac;           // aa:bb:cc:dd:ee:ff set on the device, or "" for its own
  bool huge_pages = false;   // false: EAL on plain memory (--no-huge)
  unsigned memory_mb = 256;  // with plain memory: how much EAL takes
  std::string eal_args;      // more EAL arguments, separated by spaces
  unsigned tx_delay_us = 0;  // frames wait up to this long to leave together; 0: at once
};

// "aa:bb:cc:dd:ee:ff" (hex, either case) into its six bytes; false when the
// text is not one.
bool parse_mac(std::string_view v, unsigned char (&out)[6]) noexcept;

// [io.dpdk] and its keys, in --help order.
extern const engine_section dpdk_section;

}  // namespace zc
