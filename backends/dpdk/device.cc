// DPDK's side of the dpdk engine: EAL, the mbuf pool and one port. No lwIP
// header may be included here (see device.hh).

#include "backends/dpdk/device.hh"

#include "backends/dpdk/page_guard.hh"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace zc::dpdk {

namespace {

constexpr std::uint16_t ring_size = 1024;
constexpr unsigned tx_batch = 64;

[[noreturn]] void fail(const std::string& step, int err) {
  throw std::runtime_error("dpdk: " + step + ": " + rte_strerror(err < 0 ? -err : err));
}

}  // namespace

struct device::impl {
  std::uint16_t port = 0;
  rte_mempool* pool = nullptr;
  rte_ether_addr addr{};
  std::uint16_t mtu = 1500;
  rte_mbuf* tx[tx_batch] = {};
  unsigned ntx = 0;
  counts c;
  bool eal = false;
  bool configured = false;
  bool started = false;
  void close() noexcept;
};

device::device(const device_options& o) : p_(std::make_unique<impl>()) {
  // A step that fails after EAL or the port were set up undoes them: the
  // destructor does not run for an object whose constructor threw, and
  // the AF_XDP socket the receive queue made would be left behind (LSan
  // saw libxdp's socket leak when a MAC address was refused).
  try {
    open(o);
  } catch (...) {
    p_->close();
    throw;
  }
}

void device::impl::close() noexcept {
  if (ntx > 0) rte_pktmbuf_free_bulk(tx, ntx);
  ntx = 0;
  if (started) rte_eth_dev_stop(port);
  if (configured) rte_eth_dev_close(port);
  started = configured = false;
  if (pool != nullptr) rte_mempool_free(pool);
  pool = nullptr;
  if (eal) rte_eal_cleanup();
  eal = false;
}

bool allows_pci(std::span<const std::string> eal_extra) noexcept {
  return std::any_of(eal_extra.begin(), eal_extra.end(), [](const std::string& a) {
    return a.starts_with("-a") || a.starts_with("--allow");
  });
}

void device::open(const device_options& o) {
  // EAL parses argv in place and keeps pointers into it: the strings must
  // outlive the process's use of EAL, so they live in a static.
  static std::vector<std::string> args;
  // Nothing left behind in /var/run/dpdk or hugetlbfs when the process
  // ends: --in-memory with huge pages, --no-shconf without (plain memory is
  // EAL's legacy mode, which --in-memory refuses).
  const bool pci = allows_pci(o.eal_extra);
  args = {"zcserve", "--no-telemetry", "--log-level=5"};
  if (!pci) args.push_back("--no-pci");
  if (o.huge_pages) {
    args.push_back("--in-memory");
  } else {
    args.push_back("--no-shconf");
    args.push_back("--no-huge");
    args.push_back("-m");
    args.push_back(std::to_string(o.memory_mb));
  }
  if (!o.vdev.empty()) args.push_back("--vdev=" + o.vdev);
  args.insert(args.end(), o.eal_extra.begin(), o.eal_extra.end());
  // One lcore, the caller's: EAL would otherwise start a pinned thread of
  // its own on every other CPU. And EAL pins the caller to that lcore's
  // CPU, which every thread started after would inherit: the caller's own
  // placement is put back afterwards.
  if (std::none_of(args.begin(), args.end(), [](const std::string& a) {
        return a == "-l" || a.starts_with("--lcores") || a == "-c";
      }))
    args.insert(args.begin() + 1, {"-l", "0"});
  cpu_set_t placement;
  const bool placed = pthread_getaffinity_np(pthread_self(), sizeof placement, &placement) == 0;
  static std::vector<char*> argv;
  argv.clear();
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(argv.size() - 1), argv.data()) < 0)
    fail("EAL initialisation (" + (pci ? std::string("the allowed PCI device") : o.vdev) + ")",
         rte_errno);
  if (placed) pthread_setaffinity_np(pthread_self(), sizeof placement, &placement);
  p_->eal = true;

  if (rte_eth_dev_count_avail() == 0)
    throw std::runtime_error(
        pci ? "dpdk: no port: the PCI device allowed in io.dpdk.eal_args did not probe (is it "
              "bound to vfio-pci?)"
            : "dpdk: no port: the vdev '" + o.vdev + "' did not probe");
  // The one device: the vdev, or the allowed PCI NIC.
  p_->port = static_cast<std::uint16_t>(rte_eth_find_next(0));
  const auto priv = static_cast<std::uint16_t>(RTE_ALIGN(o.priv_bytes, RTE_MBUF_PRIV_ALIGN));
  p_->pool = rte_pktmbuf_pool_create("zc_mbufs", o.mbufs, 256, priv, RTE_MBUF_DEFAULT_BUF_SIZE,
                                     static_cast<int>(rte_socket_id()));
  if (p_->pool == nullptr) fail("mbuf pool", rte_errno);

  rte_eth_conf conf{};
  if (int r = rte_eth_dev_configure(p_->port, 1, 1, &conf); r != 0) fail("port configure", r);
  p_->configured = true;
  std::uint16_t rxd = ring_size, txd = ring_size;
  if (int r = rte_eth_dev_adjust_nb_rx_tx_desc(p_->port, &rxd, &txd); r != 0)
    fail("descriptor counts", r);
  const auto socket = static_cast<unsigned>(rte_eth_dev_socket_id(p_->port));
  if (int r = rte_eth_rx_queue_setup(p_->port, 0, rxd, socket, nullptr, p_->pool); r != 0)
    fail("receive queue", r);
  if (int r = rte_eth_tx_queue_setup(p_->port, 0, txd, socket, nullptr); r != 0)
    fail("transmit queue", r);
  if (int r = rte_eth_dev_start(p_->port); r != 0) fail("port start", r);
  p_->started = true;
  if (o.mac) {
    rte_ether_addr want{};
    std::memcpy(want.addr_bytes, o.mac->data(), o.mac->size());
    if (int r = rte_eth_dev_default_mac_addr_set(p_->port, &want); r != 0)
      throw std::runtime_error(
          std::string("dpdk: io.dpdk.mac: the device would not take the address: ") +
          rte_strerror(-r) +
          (r == -ENOTSUP ? " (a virtual device such as net_af_xdp uses its interface's: set it "
                           "there, ip link set dev IF address MAC)"
                         : ""));
  }
  if (int r = rte_eth_macaddr_get(p_->port, &p_->addr); r != 0) fail("MAC address", r);
  std::uint16_t mtu = 0;
  if (rte_eth_dev_get_mtu(p_->port, &mtu) == 0 && mtu >= 576) p_->mtu = mtu;
}

device::~device() {
  p_->close();
}

void device::adopt_this_thread() {
  if (rte_lcore_id() != LCORE_ID_ANY) return;
  cpu_set_t placement;
  const bool placed = pthread_getaffinity_np(pthread_self(), sizeof placement, &placement) == 0;
  if (rte_thread_register() != 0) fail("registering the polling thread with EAL", rte_errno);
  if (placed) pthread_setaffinity_np(pthread_self(), sizeof placement, &placement);
}

std::array<std::uint8_t, 6> device::mac() const noexcept {
  std::array<std::uint8_t, 6> m{};
  std::memcpy(m.data(), p_->addr.addr_bytes, m.size());
  return m;
}

std::uint16_t device::mtu() const noexcept {
  return p_->mtu;
}

std::size_t device::receive(std::span<frame> out) noexcept {
  rte_mbuf* got[tx_batch];
  const auto want = static_cast<std::uint16_t>(std::min<std::size_t>(out.size(), tx_batch));
  const std::uint16_t n = rte_eth_rx_burst(p_->port, 0, got, want);
  std::size_t kept = 0;
  for (std::uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = got[i];
    if (m->nb_segs != 1) {  // jumbo frames are not configured: never expected
      rte_pktmbuf_free(m);
      continue;
    }
    out[kept++] = {m, rte_pktmbuf_mtod(m, std::uint8_t*), rte_pktmbuf_data_len(m),
                   rte_mbuf_to_priv(m)};
  }
  p_->c.rx_frames += kept;
  return kept;
}

void device::release(void* handle) noexcept {
  ++p_->c.released;
  rte_pktmbuf_free(static_cast<rte_mbuf*>(handle));
}

bool device::queue(std::span<const std::span<const std::uint8_t>> parts) noexcept {
  std::size_t len = 0;
  for (auto part : parts) len += part.size();
  if (p_->ntx == tx_batch && flush() == 0 && p_->ntx == tx_batch) {
    ++p_->c.tx_dropped;  // held back (page_guard::pending): lwIP sends it again
    return false;
  }
  rte_mbuf* m = rte_pktmbuf_alloc(p_->pool);
  if (m == nullptr) {
    ++p_->c.tx_dropped;
    return false;
  }
  char* at = rte_pktmbuf_append(m, static_cast<std::uint16_t>(len));
  if (at == nullptr) {  // larger than a buffer: the MTU keeps frames below it
    rte_pktmbuf_free(m);
    ++p_->c.tx_dropped;
    return false;
  }
  for (auto part : parts) {
    std::memcpy(at, part.data(), part.size());
    at += part.size();
  }
  p_->c.copied_to_tx += len;
  p_->tx[p_->ntx++] = m;
  return true;
}

std::size_t device::flush() noexcept {
  // Frames may hold zeros where a referenced page was lost: the engine
  // decides what becomes of them first (discard_queued).
  if (p_->ntx == 0 || page_guard::pending()) return 0;
  const std::uint16_t sent =
      rte_eth_tx_burst(p_->port, 0, p_->tx, static_cast<std::uint16_t>(p_->ntx));
  ++p_->c.bursts;
  p_->c.tx_frames += sent;
  if (sent < p_->ntx) {
    // The ring is full: drop the rest, as a NIC would; TCP retransmits.
    rte_pktmbuf_free_bulk(p_->tx + sent, p_->ntx - sent);
    p_->c.tx_dropped += p_->ntx - sent;
  }
  p_->ntx = 0;
  return sent;
}

std::size_t device::queued() const noexcept {
  return p_->ntx;
}

std::size_t device::discard_queued() noexcept {
  const std::size_t n = p_->ntx;
  if (n > 0) rte_pktmbuf_free_bulk(p_->tx, static_cast<unsigned>(n));
  p_->ntx = 0;
  p_->c.tx_dropped += n;
  return n;
}

const device::counts& device::figures() const noexcept {
  return p_->c;
}

}  // namespace zc::dpdk
