// The dpdk engine's device, stack and TCP connections, without the engine:
// brings up the vdev and lwIP with an address (lwIP answers ARP and ping)
// and serves a tiny HTTP/1.1 on a port, keep-alive and pipelining
// included: `GET /big` is BIG bytes of a pattern, written by reference
// (the stack sends them from our memory, which stays put until the peer
// acknowledges them), anything else a short reply copied into the stack.
// tests/dpdk/test_stack.py runs it in a network namespace and talks to it
// from another through a veth pair.
//
//   stack_smoke --vdev net_af_xdp0,iface=zc0 --ip 198.18.0.1/24 --port 80 --seconds 20

#include <arpa/inet.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "backends/dpdk/device.hh"
#include "backends/dpdk/stack.hh"
#include "backends/dpdk/tcp.hh"

namespace {

volatile sig_atomic_t g_stop = 0;
constexpr std::size_t big_size = 4 * 1024 * 1024 + 7;
constexpr std::string_view small_reply = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nstack\n";

// Per connection: the requests read and not yet answered, and what is left
// of the reply being written.
struct conn {
  bool open = false;
  bool closing = false;  // closed, its id kept until the peer acknowledged all
  std::string in;
  std::string head;  // the current reply's head, copied into the stack
  std::size_t head_left = 0;
  std::size_t body_at = 0;  // the current reply's body: big[body_at, body_end)
  std::size_t body_end = 0;
  bool peer_done = false;
};

struct server {
  zc::dpdk::tcp& tcp;
  const std::vector<char>& big;
  std::vector<conn> conns;

  conn& of(zc::dpdk::conn_id id) {
    if (id >= conns.size()) conns.resize(id + 1);
    return conns[id];
  }

  // Starts the next reply if a whole request head is buffered.
  bool next_reply(conn& c) {
    const std::size_t end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    const bool is_big = c.in.starts_with("GET /big ");
    c.in.erase(0, end + 4);
    if (is_big) {
      c.head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(big.size()) + "\r\n\r\n";
      c.body_at = 0;
      c.body_end = big.size();
    } else {
      c.head.assign(small_reply);
      c.body_at = c.body_end = 0;
    }
    c.head_left = c.head.size();
    return true;
  }

  void drive(zc::dpdk::conn_id id) {
    conn& c = of(id);
    for (;;) {
      if (c.head_left > 0 || c.body_at < c.body_end) {
        if (c.head_left > 0) {
          const std::size_t off = c.head.size() - c.head_left;
          c.head_left -=
              tcp.write(id, {c.head.data() + off, c.head_left}, true, c.body_at < c.body_end);
          if (c.head_left > 0) break;
        }
        if (c.body_at < c.body_end) {
          c.body_at +=
              tcp.write(id, {big.data() + c.body_at, c.body_end - c.body_at}, false, false);
          if (c.body_at < c.body_end) break;
        }
        continue;
      }
      if (next_reply(c)) continue;
      char buf[4096];
      std::size_t n = 0;
      const zc::dpdk::tcp_read r = tcp.read(id, buf, &n);
      if (r == zc::dpdk::tcp_read::data) {
        c.in.append(buf, n);
        continue;
      }
      if (r == zc::dpdk::tcp_read::eof) c.peer_done = true;
      break;
    }
    tcp.output(id);
    if (c.peer_done && c.head_left == 0 && c.body_at == c.body_end) {
      const bool kept = tcp.close(id);
      c = conn{};
      c.closing = kept;
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string vdev, ip = "198.18.0.1/24";
  unsigned port = 80, seconds = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view k = argv[i];
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
  std::vector<char> big(big_size);
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>((i * 7 + i / 4096) & 0xff);
  try {
    zc::dpdk::device_options o;
    o.vdev = vdev;
    o.priv_bytes = zc::dpdk::stack_priv_bytes();
    zc::dpdk::device dev(o);
    zc::dpdk::stack st(dev, cfg);
    zc::dpdk::tcp tcp(st, static_cast<std::uint16_t>(port), 128);
    server srv{tcp, big, {}};
    std::printf("stack_smoke-ready\n");
    std::fflush(stdout);
    std::vector<zc::dpdk::tcp_event_entry> events;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (!g_stop && std::chrono::steady_clock::now() < end) {
      st.poll();
      tcp.take_events(events);
      for (const auto& e : events) {
        conn& c = srv.of(e.id);
        switch (e.what) {
          case zc::dpdk::tcp_event::accepted:
            c = conn{};
            c.open = true;
            break;
          case zc::dpdk::tcp_event::gone:
            if (c.open || c.closing) tcp.release(e.id);
            c = conn{};
            continue;
          case zc::dpdk::tcp_event::writable:
            if (c.closing && tcp.acked(e.id) >= tcp.written(e.id)) {
              tcp.release(e.id);
              c = conn{};
              continue;
            }
            break;
          default:
            break;
        }
        if (c.open) srv.drive(e.id);
      }
      dev.flush();
    }
    const auto& f = dev.figures();
    std::printf("rx_frames=%llu tx_frames=%llu tx_dropped=%llu bursts=%llu live=%zu\n",
                static_cast<unsigned long long>(f.rx_frames),
                static_cast<unsigned long long>(f.tx_frames),
                static_cast<unsigned long long>(f.tx_dropped),
                static_cast<unsigned long long>(f.bursts), tcp.live());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stack_smoke: %s\n", e.what());
    return 1;
  }
  return 0;
}
