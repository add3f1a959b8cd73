// lwIP's side of the dpdk engine's TCP connections (tcp.hh). No DPDK header
// may be included here (see device.hh).

#include "backends/dpdk/tcp.hh"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

extern "C" {
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
}

#include "server/sys/counted.hh"

namespace zc::dpdk {

namespace {

enum : std::uint8_t { ev_accepted = 1, ev_readable = 2, ev_writable = 4, ev_gone = 8 };

constexpr std::uint8_t bit_of(tcp_event e) noexcept {
  switch (e) {
    case tcp_event::accepted:
      return ev_accepted;
    case tcp_event::readable:
      return ev_readable;
    case tcp_event::writable:
      return ev_writable;
    case tcp_event::gone:
      return ev_gone;
  }
  return 0;
}

// lwIP takes one pointer of context per connection: the id, offset by one
// so that 0 (nullptr) stays "detached".
void* tag(conn_id id) noexcept {
  return reinterpret_cast<void*>(static_cast<std::uintptr_t>(id) + 1);
}
conn_id untag(void* arg) noexcept {
  return static_cast<conn_id>(reinterpret_cast<std::uintptr_t>(arg) - 1);
}

constexpr std::size_t u16_max = std::numeric_limits<std::uint16_t>::max();

}  // namespace

struct tcp::impl {
  struct slot {
    tcp_pcb* pcb = nullptr;
    pbuf* in = nullptr;  // received, not yet read: at most the window, 64 KiB
    bool in_use = false;
    bool eof = false;
    std::uint8_t posted = 0;  // events queued and not yet taken
    std::uint64_t written = 0;
    std::uint64_t acked = 0;
    sockaddr_in peer{};
  };

  explicit impl(stack& s) : st(s) {}

  stack& st;
  tcp_pcb* listener = nullptr;
  std::vector<slot> slots;  // index: conn_id
  std::vector<conn_id> free_ids;
  std::vector<tcp_event_entry> events;
  std::size_t live = 0;

  // lwIP keeps one stack per process, so one listener's state is global.
  static impl* current;

  conn_id allocate() {
    conn_id id;
    if (!free_ids.empty()) {
      id = free_ids.back();
      free_ids.pop_back();
    } else {
      id = static_cast<conn_id>(slots.size());
      slots.emplace_back();
    }
    slots[id] = slot{};
    slots[id].in_use = true;
    ++live;
    return id;
  }

  void free_slot(conn_id id) {
    slot& s = slots[id];
    if (!s.in_use) return;
    if (s.in != nullptr) pbuf_free(s.in);
    s = slot{};
    free_ids.push_back(id);
    --live;
  }

  void post(conn_id id, tcp_event e) {
    slot& s = slots[id];
    const std::uint8_t b = bit_of(e);
    if (s.posted & b) return;
    s.posted |= b;
    events.push_back({id, e});
  }

  // No callback of lwIP's reaches a connection the engine has let go.
  static void detach(tcp_pcb* pcb) noexcept {
    tcp_arg(pcb, nullptr);
    tcp_recv(pcb, nullptr);
    tcp_sent(pcb, nullptr);
    tcp_err(pcb, nullptr);
  }

  static err_t on_accept(void* /*arg*/, tcp_pcb* pcb, err_t err) {
    if (err != ERR_OK || pcb == nullptr || current == nullptr) return ERR_VAL;
    const conn_id id = current->allocate();
    slot& s = current->slots[id];
    s.pcb = pcb;
    s.peer.sin_family = AF_INET;
    s.peer.sin_port = lwip_htons(pcb->remote_port);
    s.peer.sin_addr.s_addr = ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip));
    tcp_arg(pcb, tag(id));
    tcp_recv(pcb, on_recv);
    tcp_sent(pcb, on_sent);
    tcp_err(pcb, on_err);
    // Replies are written whole and pushed at once: Nagle would hold a
    // body's last short segment for the peer's delayed ACK.
    tcp_nagle_disable(pcb);
    current->post(id, tcp_event::accepted);
    return ERR_OK;
  }

  static err_t on_recv(void* arg, tcp_pcb* /*pcb*/, pbuf* p, err_t /*err*/) {
    if (arg == nullptr || current == nullptr) {
      if (p != nullptr) pbuf_free(p);
      return ERR_OK;
    }
    const conn_id id = untag(arg);
    slot& s = current->slots[id];
    if (p == nullptr) {
      s.eof = true;
    } else if (s.in == nullptr) {
      s.in = p;
    } else {
      pbuf_cat(s.in, p);
    }
    current->post(id, tcp_event::readable);
    return ERR_OK;
  }

  static err_t on_sent(void* arg, tcp_pcb* /*pcb*/, u16_t len) {
    if (arg == nullptr || current == nullptr) return ERR_OK;
    const conn_id id = untag(arg);
    current->slots[id].acked += len;
    current->post(id, tcp_event::writable);
    return ERR_OK;
  }

  // lwIP has freed the pcb (a reset, a retransmission timeout): only the
  // id is left.
  static void on_err(void* arg, err_t /*err*/) {
    if (arg == nullptr || current == nullptr) return;
    const conn_id id = untag(arg);
    slot& s = current->slots[id];
    s.pcb = nullptr;
    if (s.in != nullptr) {
      pbuf_free(s.in);
      s.in = nullptr;
    }
    current->post(id, tcp_event::gone);
  }
};

tcp::impl* tcp::impl::current = nullptr;

tcp::tcp(stack& st, std::uint16_t port, unsigned backlog) : p_(std::make_unique<impl>(st)) {
  if (impl::current != nullptr) throw std::runtime_error("dpdk: one TCP listener per stack");
  tcp_pcb* pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
  if (pcb == nullptr) throw std::runtime_error("dpdk: lwIP could not make a TCP pcb");
  if (err_t e = tcp_bind(pcb, IP4_ADDR_ANY, port); e != ERR_OK) {
    tcp_abort(pcb);
    throw std::runtime_error("dpdk: cannot listen on port " + std::to_string(port) + ": " +
                             lwip_strerr(e));
  }
  err_t e = ERR_OK;
  p_->listener =
      tcp_listen_with_backlog_and_err(pcb, static_cast<u8_t>(std::min<unsigned>(backlog, 255)), &e);
  if (p_->listener == nullptr) {
    tcp_abort(pcb);
    throw std::runtime_error(std::string("dpdk: listen: ") + lwip_strerr(e));
  }
  impl::current = p_.get();
  tcp_accept(p_->listener, impl::on_accept);
}

tcp::~tcp() {
  abort_all();
  stop_listening();
  impl::current = nullptr;
}

void tcp::take_events(std::vector<tcp_event_entry>& out) {
  out.clear();
  out.swap(p_->events);
  for (const tcp_event_entry& e : out)
    if (e.id < p_->slots.size()) p_->slots[e.id].posted = 0;
}

sockaddr_in tcp::peer(conn_id id) const noexcept {
  return p_->slots[id].peer;
}

bool tcp::has_input(conn_id id) const noexcept {
  const impl::slot& s = p_->slots[id];
  return s.in != nullptr || s.eof;
}

tcp_read tcp::read(conn_id id, std::span<char> into, std::size_t* n) {
  impl::slot& s = p_->slots[id];
  *n = 0;
  if (s.in == nullptr) return s.eof ? tcp_read::eof : tcp_read::again;
  const auto take =
      static_cast<u16_t>(std::min<std::size_t>({into.size(), s.in->tot_len, u16_max}));
  if (take == 0) return tcp_read::again;
  pbuf_copy_partial(s.in, into.data(), take, 0);
  sys::counters().copied_in_user.add(take);  // out of the received frames
  s.in = pbuf_free_header(s.in, take);
  // The window opens by what was read: a peer sending faster than the
  // engine reads is held back by TCP, not by dropped segments.
  if (s.pcb != nullptr) tcp_recved(s.pcb, take);
  *n = take;
  return tcp_read::data;
}

std::size_t tcp::send_space(conn_id id) const noexcept {
  const impl::slot& s = p_->slots[id];
  return s.pcb == nullptr ? 0 : tcp_sndbuf(s.pcb);
}

std::size_t tcp::write(conn_id id, std::span<const char> bytes, bool copy, bool more) {
  impl::slot& s = p_->slots[id];
  if (s.pcb == nullptr) return 0;
  std::size_t done = 0;
  while (done < bytes.size()) {
    const std::size_t space = tcp_sndbuf(s.pcb);
    if (space == 0) break;
    const auto len = static_cast<u16_t>(std::min({space, bytes.size() - done, u16_max}));
    u8_t flags = copy ? TCP_WRITE_FLAG_COPY : 0;
    if (more || done + len < bytes.size()) flags |= TCP_WRITE_FLAG_MORE;
    if (tcp_write(s.pcb, bytes.data() + done, len, flags) != ERR_OK) break;  // queue full
    done += len;
  }
  s.written += done;
  if (copy) sys::counters().copied_in_user.add(done);  // into lwIP's segments
  return done;
}

void tcp::output(conn_id id) {
  if (tcp_pcb* pcb = p_->slots[id].pcb) tcp_output(pcb);
}

std::uint64_t tcp::written(conn_id id) const noexcept {
  return p_->slots[id].written;
}

std::uint64_t tcp::acked(conn_id id) const noexcept {
  return p_->slots[id].acked;
}

void tcp::shutdown_write(conn_id id) {
  if (tcp_pcb* pcb = p_->slots[id].pcb) tcp_shutdown(pcb, 0, 1);
}

bool tcp::close(conn_id id) {
  impl::slot& s = p_->slots[id];
  tcp_pcb* pcb = s.pcb;
  if (pcb == nullptr) {
    p_->free_slot(id);
    return false;
  }
  // Closing with input unread sends RST, as the kernel does (the engine
  // lingers first when that would cut a reply short); lwIP would free the
  // pcb inside tcp_close then, so it is aborted here, knowingly.
  bool keep = s.in == nullptr && s.acked < s.written;
  if (keep) {
    // Only acknowledgements and the end matter now: late input is dropped
    // by lwIP's own null receiver.
    tcp_recv(pcb, nullptr);
  } else {
    impl::detach(pcb);
  }
  if (s.in != nullptr || tcp_close(pcb) != ERR_OK) {  // or no memory for the FIN
    impl::detach(pcb);
    tcp_abort(pcb);
    keep = false;
  }
  if (!keep) p_->free_slot(id);
  return keep;
}

void tcp::abort(conn_id id) {
  impl::slot& s = p_->slots[id];
  if (tcp_pcb* pcb = s.pcb) {
    impl::detach(pcb);
    // lwIP's RST carries snd_nxt. A peer whose window is full and which
    // dropped what came past it accepts a RST only at the edge of its
    // window: past it, the RST is dropped and the peer waits on silence
    // (test_sigterm_with_sent_replies_unread_exits_at_once). So, as Linux
    // does (tcp_acceptable_seq), no further than the window's end.
    const u32_t window_end = pcb->lastack + pcb->snd_wnd;
    if (static_cast<std::int32_t>(pcb->snd_nxt - window_end) > 0) pcb->snd_nxt = window_end;
    tcp_abort(pcb);
  }
  p_->free_slot(id);
}

void tcp::release(conn_id id) {
  if (tcp_pcb* pcb = p_->slots[id].pcb) impl::detach(pcb);  // kept after close(): lwIP ends it
  p_->free_slot(id);
}

void tcp::stop_listening() {
  if (p_->listener == nullptr) return;
  tcp_close(p_->listener);
  p_->listener = nullptr;
}

void tcp::abort_all() {
  for (conn_id id = 0; id < p_->slots.size(); ++id)
    if (p_->slots[id].in_use) abort(id);
}

std::size_t tcp::live() const noexcept {
  return p_->live;
}

}  // namespace zc::dpdk
