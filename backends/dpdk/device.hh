#pragma once

// The dpdk engine's network device: DPDK's environment (EAL), one port
// (a virtual device such as net_af_xdp on a veth, or a real NIC's PMD),
// one receive and one transmit queue, polled by the calling thread. This
// header names no DPDK type: DPDK's headers and lwIP's cannot share a
// translation unit (both define struct ip6_hdr, IP_DF, ...), so the stack
// (stack.cc, lwIP's side) sees frames only as bytes and opaque handles.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace zc::dpdk {

struct device_options {
  std::string vdev;                    // e.g. net_af_xdp0,iface=veth0
  std::vector<std::string> eal_extra;  // more EAL arguments, as given
  bool huge_pages = false;             // false: --no-huge with memory_mb of plain memory
  unsigned memory_mb = 256;
  unsigned mbufs = 8191;  // receive and transmit buffers in the pool
  // The port's MAC address, set on the device at start; empty: the
  // device's own.
  std::optional<std::array<std::uint8_t, 6>> mac;
  // Bytes the stack keeps beside each received frame (its wrapper of the
  // frame, frame::priv), in the buffer's private area: no allocation per
  // frame.
  std::uint16_t priv_bytes = 0;
};

// Whether EAL arguments allow a PCI device (-a/--allow 0000:03:00.0, a
// NIC bound to vfio-pci), by each argument: then the device is that NIC,
// and EAL probes PCI for it; otherwise EAL is told --no-pci, since it
// would probe every PCI device it may take, and the device must be a vdev.
bool allows_pci(std::span<const std::string> eal_extra) noexcept;

// A received frame: its bytes and the buffer that holds them, given back
// with device::release once the stack is done with them (the stack wraps
// the bytes without copying; the handle is an rte_mbuf).
struct frame {
  void* handle;
  std::uint8_t* data;
  std::uint16_t len;
  void* priv;  // device_options::priv_bytes of the stack's own
};

// Calls to the kernel the device made on the calling thread, by the PMD's
// own account where it has one: on af_xdp and af_packet a transmit is a
// sendto() "kick" per burst; such calls are library calls to zcserve's
// counters, and the kernel's count sees them.
class device {
 public:
  // Initialises EAL and starts the port; throws std::runtime_error naming
  // the step that failed and DPDK's reason.
  explicit device(const device_options& o);
  ~device();
  device(const device&) = delete;
  device& operator=(const device&) = delete;

  // Makes the calling thread one DPDK knows (an lcore id of its own), to
  // poll the device from; the thread that made the device is one already.
  // Throws std::runtime_error if DPDK has no lcore id left.
  void adopt_this_thread();

  std::array<std::uint8_t, 6> mac() const noexcept;
  std::uint16_t mtu() const noexcept;

  // Up to out.size() received frames; 0 when none are waiting.
  std::size_t receive(std::span<frame> out) noexcept;
  void release(void* handle) noexcept;

  // Queues one frame made of `parts`, copied into a transmit buffer; false
  // when no buffer is free (the stack retransmits later). Frames leave in
  // bursts: flush() hands the queued ones to the PMD, unless a referenced
  // page was lost (page_guard.hh): then they wait for the engine, which
  // discards them.
  bool queue(std::span<const std::span<const std::uint8_t>> parts) noexcept;
  // Transmits what is queued; returns how many frames left.
  std::size_t flush() noexcept;
  std::size_t queued() const noexcept;
  // Drops the queued frames; returns how many.
  std::size_t discard_queued() noexcept;

  struct counts {
    std::uint64_t rx_frames = 0, tx_frames = 0, tx_dropped = 0, bursts = 0;
    std::uint64_t copied_to_tx = 0;  // bytes copied into transmit buffers
    std::uint64_t released = 0;      // received frames given back
  };
  const counts& figures() const noexcept;

 private:
  void open(const device_options& o);
  struct impl;
  std::unique_ptr<impl> p_;
};

}  // namespace zc::dpdk
