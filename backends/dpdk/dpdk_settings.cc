#include "backends/dpdk/dpdk_settings.hh"

namespace zc {

namespace {

// A.B.C.D, each part a decimal number of at most 255 without a leading 0.
bool ipv4_plain(std::string_view v) {
  int parts = 0;
  while (true) {
    std::size_t n = 0;
    unsigned value = 0;
    while (n < v.size() && v[n] >= '0' && v[n] <= '9' && n < 3) value = value * 10 + (v[n++] - '0');
    if (n == 0 || value > 255 || (n > 1 && v[0] == '0')) return false;
    v.remove_prefix(n);
    if (++parts == 4) return v.empty();
    if (v.empty() || v.front() != '.') return false;
    v.remove_prefix(1);
  }
}

// A.B.C.D/N with N from 0 to 32.
bool ipv4_prefix(std::string_view v) {
  const std::size_t slash = v.find('/');
  if (slash == std::string_view::npos || !ipv4_plain(v.substr(0, slash))) return false;
  const std::string_view bits = v.substr(slash + 1);
  if (bits.empty() || bits.size() > 2 || (bits.size() == 2 && bits[0] == '0')) return false;
  unsigned b = 0;
  for (char ch : bits) {
    if (ch < '0' || ch > '9') return false;
    b = b * 10 + static_cast<unsigned>(ch - '0');
  }
  return b <= 32;
}

bool is_mac(std::string_view v) {
  unsigned char b[6];
  return parse_mac(v, b);
}

using d = dpdk_settings;

constexpr setting_key keys[] = {
    text_setting<&d::vdev>(
        "vdev", "a DPDK virtual device, e.g. net_af_xdp0,iface=veth0,busy_budget=0",
        [](std::string_view v) { return v.empty() || v.find(' ') == std::string_view::npos; },
        "the device the engine drives (DPDK's --vdev); required with io.engine = \"dpdk\""),
    text_setting<&d::address>(
        "address", "an IPv4 address with a prefix, A.B.C.D/N",
        [](std::string_view v) { return v.empty() || ipv4_prefix(v); },
        "the stack's own address: it answers ARP for it and listens on it"),
    text_setting<&d::gateway>(
        "gateway", "an IPv4 address, A.B.C.D, or \"\"",
        [](std::string_view v) { return v.empty() || ipv4_plain(v); },
        "where packets for other networks go; \"\": peers on the link only"),
    text_setting<&d::mac>(
        "mac", "a MAC address, aa:bb:cc:dd:ee:ff, or \"\"",
        [](std::string_view v) { return v.empty() || is_mac(v); },
        "the stack's link address, set on the device at start; \"\": the device's own"),
    bool_setting<&d::huge_pages>(
        "huge_pages",
        "EAL's memory from huge pages (--in-memory) instead of plain memory (--no-huge)"),
    integer_setting<&d::memory_mb>("memory_mb", 64, 65536,
                                   "with plain memory: megabytes EAL takes for its buffers"),
    text_setting<&d::eal_args>(
        "eal_args", "EAL arguments separated by spaces", [](std::string_view) { return true; },
        "passed to EAL after the engine's own (e.g. \"--lcores=0@1\")"),
    integer_setting<&d::tx_delay_us>(
        "tx_delay_us", 0, 10000,
        "microseconds a frame may wait for others to leave with it in one burst (one transmit "
        "kick per burst on af_xdp and af_packet); 0 sends at the end of each turn of the poll "
        "loop"),
};

}  // namespace

bool parse_mac(std::string_view v, unsigned char (&out)[6]) noexcept {
  if (v.size() != 17) return false;
  for (std::size_t i = 0; i < 6; ++i) {
    unsigned byte = 0;
    for (std::size_t j = 0; j < 2; ++j) {
      const char ch = v[i * 3 + j];
      unsigned digit;
      if (ch >= '0' && ch <= '9')
        digit = static_cast<unsigned>(ch - '0');
      else if (ch >= 'a' && ch <= 'f')
        digit = static_cast<unsigned>(ch - 'a' + 10);
      else if (ch >= 'A' && ch <= 'F')
        digit = static_cast<unsigned>(ch - 'A' + 10);
      else
        return false;
      byte = byte * 16 + digit;
    }
    if (i < 5 && v[i * 3 + 2] != ':') return false;
    out[i] = static_cast<unsigned char>(byte);
  }
  return true;
}

constinit const engine_section dpdk_section{dpdk_settings::section, keys};

}  // namespace zc
