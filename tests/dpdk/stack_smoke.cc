// The dpdk engine's device and stack, without the engine: brings up the
// vdev and lwIP with an address, answers ARP and ping (lwIP itself), and
// on a TCP port answers every connection's first bytes with a fixed HTTP
// reply, then closes. tests/dpdk/test_stack.py runs it in a network
// namespace and talks to it from another through a veth pair.
//
//   stack_smoke --vdev net_af_xdp0,iface=zc0 --ip 198.18.0.1/24 --port 80 --seconds 20

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <arpa/inet.h>

#include "backends/dpdk/device.hh"
#include "backends/dpdk/stack.hh"

extern "C" {
#include "lwip/tcp.h"
}

namespace {

volatile sig_atomic_t g_stop = 0;
constexpr std::string_view reply =
    "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nstack\n";

err_t on_recv(void*, tcp_pcb* pcb, pbuf* p, err_t) {
  if (p == nullptr) {  // the peer closed
    tcp_close(pcb);
    return ERR_OK;
  }
  tcp_recved(pcb, p->tot_len);
  pbuf_free(p);
  if (tcp_write(pcb, reply.data(), static_cast<u16_t>(reply.size()), TCP_WRITE_FLAG_COPY) == ERR_OK)
    tcp_output(pcb);
  tcp_recv(pcb, nullptr);
  tcp_close(pcb);
  return ERR_OK;
}

err_t on_accept(void*, tcp_pcb* pcb, err_t err) {
  if (err != ERR_OK || pcb == nullptr) return ERR_VAL;
  tcp_recv(pcb, on_recv);
  return ERR_OK;
}

}  // namespace

int main(int argc, char** argv) {
  std::string vdev, ip = "198.18.0.1/24";
  unsigned port = 80, seconds = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view k = argv[i];
    if (k == "--vdev")
      vdev = argv[i + 1];
    else if (k == "--ip")
      ip = argv[i + 1];
    else if (k == "--port")
      port = static_cast<unsigned>(std::atoi(argv[i + 1]));
    else if (k == "--seconds")
      seconds = static_cast<unsigned>(std::atoi(argv[i + 1]));
  }
  const auto slash = ip.find('/');
  in_addr a{};
  if (vdev.empty() || slash == std::string::npos ||
      inet_pton(AF_INET, ip.substr(0, slash).c_str(), &a) != 1) {
    std::fprintf(stderr,
                 "usage: stack_smoke --vdev VDEV --ip A.B.C.D/N [--port P] [--seconds S]\n");
    return 2;
  }
  const int bits = std::atoi(ip.c_str() + slash + 1);
  zc::dpdk::ipv4_config cfg;
  cfg.addr = ntohl(a.s_addr);
  cfg.netmask = bits == 0 ? 0 : ~0u << (32 - bits);
  signal(SIGTERM, [](int) { g_stop = 1; });
  signal(SIGINT, [](int) { g_stop = 1; });
  try {
    zc::dpdk::device_options o;
    o.vdev = vdev;
    o.priv_bytes = zc::dpdk::stack_priv_bytes();
    zc::dpdk::device dev(o);
    zc::dpdk::stack st(dev, cfg);
    tcp_pcb* l = tcp_new();
    if (l == nullptr || tcp_bind(l, IP_ADDR_ANY, static_cast<u16_t>(port)) != ERR_OK) {
      std::fprintf(stderr, "stack_smoke: cannot bind port %u\n", port);
      return 1;
    }
    l = tcp_listen(l);
    tcp_accept(l, on_accept);
    std::printf("stack_smoke-ready\n");
    std::fflush(stdout);
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (!g_stop && std::chrono::steady_clock::now() < end) st.poll();
    tcp_close(l);
    const auto& f = dev.figures();
    std::printf(
        "rx_frames=%llu tx_frames=%llu tx_dropped=%llu bursts=%llu\n",
        static_cast<unsigned long long>(f.rx_frames), static_cast<unsigned long long>(f.tx_frames),
        static_cast<unsigned long long>(f.tx_dropped), static_cast<unsigned long long>(f.bursts));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stack_smoke: %s\n", e.what());
    return 1;
  }
  return 0;
}
