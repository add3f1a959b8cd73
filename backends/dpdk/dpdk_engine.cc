#include "backends/dpdk/dpdk_engine.hh"

#include <arpa/inet.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "backends/dpdk/page_guard.hh"
#include "backends/senders/staging.hh"
#include "server/core/http_date.hh"
#include "server/sys/counted.hh"

namespace zc {

namespace {

std::unique_ptr<engine> make(worker_context ctx, sender_kind sender) {
  return std::make_unique<dpdk_engine>(std::move(ctx), sender);
}

// A.B.C.D/N into host-order address and mask; the config checked the form.
dpdk::ipv4_config parse_address(const dpdk_settings& d) {
  dpdk::ipv4_config ip;
  const std::size_t slash = d.address.find('/');
  in_addr a{};
  if (slash == std::string::npos || inet_pton(AF_INET, d.address.substr(0, slash).c_str(), &a) != 1)
    throw std::runtime_error("io.dpdk.address = \"" + d.address +
                             "\": must be an IPv4 address with a prefix, A.B.C.D/N");
  ip.addr = ntohl(a.s_addr);
  const int bits = std::stoi(d.address.substr(slash + 1));
  ip.netmask = bits == 0 ? 0 : ~0u << (32 - bits);
  if (!d.gateway.empty()) {
    in_addr g{};
    inet_pton(AF_INET, d.gateway.c_str(), &g);
    ip.gateway = ntohl(g.s_addr);
  }
  return ip;
}

// Where the engine listens: its stack's own address, without the prefix.
std::string stack_address(const config& cfg) {
  const std::string& a = cfg.io.sections.get<dpdk_settings>().address;
  return a.substr(0, a.find('/'));
}

std::vector<std::string> split_spaces(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// The senders this engine has not, and why (--list-backends says so).
std::string one_buffer_at_a_time() {
  return "the stack takes one buffer per write, so a vector saves nothing here: read_write "
         "makes the same copies";
}
std::string no_kernel_socket() {
  return "moves file pages into a kernel socket, and the dpdk engine's sockets are its own "
         "stack's, in the process: mmap hands the stack the file's pages instead";
}

}  // namespace

engine_info dpdk_engine::descriptor() {
  static constexpr sender_entry senders[] = {
      {sender_kind::read_write, &always_usable}, {sender_kind::readv_writev, &one_buffer_at_a_time},
      {sender_kind::mmap, &always_usable},       {sender_kind::sendfile, &no_kernel_socket},
      {sender_kind::splice, &no_kernel_socket},  {sender_kind::send_zc, &no_kernel_socket},
  };
  return {.name = "dpdk",
          .make = &make,
          .senders = senders,
          .unusable = &always_usable,
          .preferred = sender_kind::read_write,
          .own_address = &stack_address,
          .section = &dpdk_section};
}

struct dpdk_engine::conn : driver_conn {
  using driver_conn::driver_conn;
  dpdk::conn_id id = 0;
  bool blocked = false;  // the stack's send buffer was full: wait for `writable`
  bool gone = false;     // the stack dropped the connection (reset, timeout)
};

dpdk_engine::dpdk_engine(worker_context ctx, sender_kind sender)
    : ctx_(std::move(ctx)),
      cfg_(*ctx_.cfg),
      own_(cfg_.io.sections.get<dpdk_settings>()),
      files_(ctx_),
      sender_(*this, make_sender(sender, cfg_, engine_family::userspace)),
      driver_(ctx_.id, cfg_, files_.http, sender_, *this) {
  if (!has(traits(sender).families, engine_family::userspace))
    throw std::runtime_error(std::string("io.sender = \"") + std::string(sender_name(sender)) +
                             "\": the dpdk engine has read_write and mmap");
  const dpdk_settings& d = own_;
  dpdk::device_options o;
  o.eal_extra = split_spaces(d.eal_args);
  // The device's own test, argument by argument, so that what passes here
  // is what the device opens: a "-a" within another argument
  // (--file-prefix=x-a) allows no PCI device.
  if (d.vdev.empty() && !dpdk::allows_pci(o.eal_extra))
    throw std::runtime_error(
        "io.dpdk.vdev is not set: the dpdk engine needs a device (a virtual one, e.g. "
        "net_af_xdp0,iface=veth0,busy_budget=0, or a PCI NIC bound to vfio-pci, named in "
        "io.dpdk.eal_args as \"-a 0000:03:00.0\")");
  if (d.address.empty())
    throw std::runtime_error("io.dpdk.address is not set: the stack needs its own A.B.C.D/N");
  const dpdk::ipv4_config ip = parse_address(d);
  o.vdev = d.vdev;
  o.huge_pages = d.huge_pages;
  o.memory_mb = d.memory_mb;
  if (unsigned char mac[6]; !d.mac.empty() && parse_mac(d.mac, mac))  // checked at load
    o.mac.emplace(std::to_array(mac));
  o.priv_bytes = dpdk::stack_priv_bytes();
  dev_ = std::make_unique<dpdk::device>(o);
  stack_ = std::make_unique<dpdk::stack>(*dev_, ip);
  tcp_ = std::make_unique<dpdk::tcp>(*stack_, cfg_.server.listen_port, 255);
  if (sender == sender_kind::mmap) dpdk::page_guard::install();
}

dpdk_engine::~dpdk_engine() {
  driver_.close_all();
  tcp_.reset();   // aborts what lwIP still has, and its references with it
  held_.clear();  // only then may the mappings go
  dpdk::page_guard::uninstall();
  stack_.reset();
  dev_.reset();
}

void dpdk_engine::stop() noexcept {
  stop_requested_ = true;  // the loop polls: it sees this within a turn
}

void dpdk_engine::run() {
  // The device was set up on the thread that made the engine; this one
  // polls it, and DPDK wants a polling thread it knows (an lcore id of its
  // own, for the buffer pool's per-thread cache): without one, receiving
  // stopped after some 1,400 frames.
  dev_->adopt_this_thread();
  for (;;) {
    stack_->poll();  // frames in, lwIP's timers, frames out
    const std::int64_t now = monotonic_ms();
    tcp_->take_events(events_);
    for (const dpdk::tcp_event_entry& e : events_) on_event(e, now);
    // A page the stack referenced was lost this turn (the poll's
    // retransmissions, the events' sends): nothing has left since.
    if (dpdk::page_guard::take_fault()) recover_from_lost_pages();
    if (stop_requested_.load(std::memory_order_relaxed) && !driver_.draining()) {
      driver_.begin_drain(now);
      tcp_->stop_listening();  // a new connection is refused, as on a kernel's stack
    }
    driver_.expire(now);
    flush_when_due();
    // Replies the driver finished may still be in the stack's buffers,
    // which exit would lose: unlike a kernel's, they end with the process.
    // So the drain also waits for the peers' acknowledgements (closed
    // connections the stack keeps), within the same limit.
    if (driver_.drained(now) && (tcp_->live() == 0 || now >= driver_.drain_deadline())) break;
  }
  driver_.close_all();
  // What the limit left undelivered is reset: no peer is left waiting on a
  // connection gone silent.
  tcp_->abort_all();
  stack_->poll();
  dev_->flush();
  const auto& f = dev_->figures();
  spdlog::info("dpdk: frames received {}, given back {}, sent {}, dropped {}, bursts {}",
               f.rx_frames, f.released, f.tx_frames, f.tx_dropped, f.bursts);
}

void dpdk_engine::flush_when_due() {
  // What lwIP and the events queued leaves at the end of the turn, or,
  // with io.dpdk.tx_delay_us, once the oldest queued frame has waited that
  // long (a full burst leaves at once, device::queue): fewer, larger
  // bursts, so fewer transmit kicks, for up to that much latency.
  if (dev_->queued() == 0) {  // nothing, or a full burst left from device::queue
    queued_since_us_ = -1;
    return;
  }
  const unsigned delay_us = own_.tx_delay_us;
  if (delay_us == 0) {
    dev_->flush();
    return;
  }
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // the vDSO: no system call
  const std::int64_t now_us = std::int64_t{ts.tv_sec} * 1'000'000 + ts.tv_nsec / 1000;
  if (queued_since_us_ < 0) queued_since_us_ = now_us;
  if (now_us - queued_since_us_ < delay_us) return;
  dev_->flush();
  queued_since_us_ = -1;
}

void dpdk_engine::on_event(const dpdk::tcp_event_entry& e, std::int64_t now) {
  conn* c = e.id < by_id_.size() ? by_id_[e.id] : nullptr;
  switch (e.what) {
    case dpdk::tcp_event::accepted: {
      if (driver_.draining()) return tcp_->abort(e.id);
      sockaddr_storage peer{};
      const sockaddr_in in = tcp_->peer(e.id);
      std::memcpy(&peer, &in, sizeof in);
      c = driver_.open(peer, now);
      if (c == nullptr) return refuse(e.id);
      c->id = e.id;
      c->blocked = c->gone = false;
      if (by_id_.size() <= e.id) {
        by_id_.resize(e.id + 1, nullptr);
        held_.resize(e.id + 1);
      }
      by_id_[e.id] = c;
      return driver_.drive(*c, now);
    }
    case dpdk::tcp_event::readable:
      if (c == nullptr || !c->in_use) return;
      if (c->lingering) return linger_read(*c);
      return driver_.drive(*c, now);
    case dpdk::tcp_event::writable:
      let_go(e.id);
      if (c == nullptr) {
        // Closed, and kept until the peer acknowledged every byte.
        if (tcp_->acked(e.id) >= tcp_->written(e.id)) {
          if (e.id < held_.size()) held_[e.id].clear();
          tcp_->release(e.id);
        }
        return;
      }
      if (!c->in_use || !c->blocked) return;
      c->blocked = false;
      return driver_.drive(*c, now);
    case dpdk::tcp_event::gone:
      if (e.id < held_.size()) held_[e.id].clear();  // lwIP let go of the segments
      if (c == nullptr || !c->in_use) return tcp_->release(e.id);
      c->gone = true;
      return driver_.close(*c);
  }
}

void dpdk_engine::refuse(dpdk::conn_id id) {
  // Over server.max_connections: the short 503 if the stack takes it, then
  // a close; the connections already served are not disturbed.
  tcp_->write(id, {busy_reply.data(), busy_reply.size()}, true, false);
  tcp_->close(id);
}

read_status dpdk_engine::receive(conn& c) {
  // The input buffer is taken only when bytes are there: an idle
  // keep-alive connection holds none.
  if (!tcp_->has_input(c.id)) return c.gone ? read_status::error : read_status::again;
  std::size_t n = 0;
  const std::span<char> space = c.proto.read_space();
  switch (tcp_->read(c.id, space, &n)) {
    case dpdk::tcp_read::data:
      c.proto.commit(n);
      return read_status::data;
    case dpdk::tcp_read::again:
      return read_status::again;
    case dpdk::tcp_read::eof:
      return read_status::eof;
  }
  return read_status::error;
}

bool dpdk_engine::write_blocked(const conn& c) const noexcept {
  return c.blocked;
}

void dpdk_engine::wait_writable(conn& c) noexcept {
  c.blocked = true;
}

void dpdk_engine::linger_read(conn& c) {
  // A lingering close: what the peer still sends is read and dropped until
  // its FIN; the driver's linger deadline ends it otherwise.
  char discard[4096];
  for (;;) {
    std::size_t n = 0;
    const dpdk::tcp_read r = tcp_->read(c.id, discard, &n);
    if (r == dpdk::tcp_read::data) continue;
    if (r == dpdk::tcp_read::eof) driver_.close(c);
    return;
  }
}

void dpdk_engine::release(conn& c) {
  // The stack finishes a graceful close alone; bytes it references stay
  // held until acknowledged (on_event, writable and gone).
  std::vector<held>& h = held_[c.id];
  if (c.gone) {
    tcp_->release(c.id);
    h.clear();
  } else {
    let_go(c.id);
    if (!tcp_->close(c.id)) h.clear();
  }
  by_id_[c.id] = nullptr;
  driver_.finished(c);
}

dpdk_engine::held& dpdk_engine::held::operator=(held&& o) noexcept {
  if (this != &o) {
    if (file_) dpdk::page_guard::remove(file_->mapping());
    file_ = std::move(o.file_);
    end_ = o.end_;
  }
  return *this;
}

dpdk_engine::held::~held() {
  if (file_) dpdk::page_guard::remove(file_->mapping());
}

bool dpdk_engine::held::guard() noexcept {
  if (dpdk::page_guard::add(file_->mapping(), file_->size)) return true;
  file_.reset();  // not registered: nothing to remove
  return false;
}

bool dpdk_engine::hold(dpdk::conn_id id, const file_ref& f) {
  std::vector<held>& h = held_[id];
  const std::uint64_t end = tcp_->written(id);
  if (!h.empty() && h.back().file().get() == f.get()) {
    h.back().extend(end);
    return true;
  }
  h.emplace_back(f, end);
  if (h.back().guard()) return true;
  h.pop_back();
  return false;
}

void dpdk_engine::let_go(dpdk::conn_id id) {
  if (id >= held_.size() || held_[id].empty()) return;
  std::vector<held>& h = held_[id];
  const std::uint64_t acked = tcp_->acked(id);
  const auto kept =
      std::find_if(h.begin(), h.end(), [&](const held& x) { return x.end() > acked; });
  h.erase(h.begin(), kept);
}

void dpdk_engine::recover_from_lost_pages() {
  const std::size_t dropped = dev_->discard_queued();
  std::size_t reset = 0;
  for (dpdk::conn_id id = 0; id < held_.size(); ++id) {
    bool hit = false;
    for (const held& x : held_[id]) {
      if (!dpdk::page_guard::faulted(x.file()->mapping())) continue;
      x.file()->damaged = true;
      hit = true;
    }
    if (hit) {
      abort_conn(id);
      ++reset;
    }
  }
  spdlog::warn(
      "dpdk: a file shrank while its pages were being sent: {} connection(s) sending it reset, "
      "{} queued frame(s) dropped (other connections' are sent again)",
      reset, dropped);
}

void dpdk_engine::abort_conn(dpdk::conn_id id) {
  tcp_->abort(id);
  held_[id].clear();
  if (conn* c = by_id_[id]; c != nullptr && c->in_use) {
    c->gone = true;
    driver_.close(*c);
  }
}

int dpdk_engine::sock(const conn& c) const noexcept {
  return static_cast<int>(c.id);
}

bool dpdk_engine::shutdown_write(conn& c) {
  if (c.gone) return false;
  tcp_->shutdown_write(c.id);
  tcp_->output(c.id);
  return true;
}

send_result dpdk_engine::body_sender::send(conn& c, reply& r) {
  if (c.gone) return {send_status::failed, ECONNRESET, "tcp_write"};
  send_result res;
  for (;;) {
    // The sender's steps until the part is out or the stack's send buffer
    // is full.
    res = carry_out_plans(*sender_, r, c.sending,
                          [&](step st, std::size_t chunk) { return carry_out(st, c, r, chunk); });
    if (res.status != send_status::done || !r.next_part()) break;
  }
  e_.tcp_->output(c.id);  // push what was queued now, not at the next ACK
  return res;
}

step_outcome dpdk_engine::body_sender::head(conn& c, reply& r, bool more) {
  const std::size_t n =
      e_.tcp_->write(c.id, {r.head.data() + r.head_sent, r.head.size() - r.head_sent}, true, more);
  if (n == 0) return {step_outcome::stop, {send_status::again, 0, {}}};
  r.head_sent += n;
  return {r.head_done() ? step_outcome::whole : step_outcome::cut};
}

step_outcome dpdk_engine::body_sender::carry_out(step st, conn& c, reply& r, std::size_t chunk) {
  dpdk::tcp& t = *e_.tcp_;
  send_scratch& s = r.scratch;
  const bool has_body = r.length > 0 && r.body != body_kind::none;
  // No default: a step added to the vocabulary is decided here (-Wswitch).
  switch (st) {
    case step::stage:
      switch (senders::stage_file(r, chunk)) {
        case senders::stage_status::failed:
          return {step_outcome::stop, {send_status::failed, errno, "pread"}};
        case senders::stage_status::file_ended:
          return {step_outcome::stop, {send_status::failed, 0, "pread"}};
        case senders::stage_status::staged:
        case senders::stage_status::nothing_left:
          break;
      }
      return {step_outcome::whole};
    case step::head:
      return head(c, r, has_body);
    case step::head_more:
      return head(c, r, true);
    case step::head_memory:
      // The stack takes one buffer per write: gathering saves nothing.
      if (!r.head_done()) {
        if (const step_outcome o = head(c, r, has_body); o.went != step_outcome::whole) return o;
      }
      if (r.body != body_kind::memory) return {step_outcome::whole};
      [[fallthrough]];
    case step::memory: {
      if (r.body_sent == r.length) return {step_outcome::whole};
      const std::size_t n =
          t.write(c.id, {r.memory.data() + r.body_sent, r.length - r.body_sent}, true, false);
      if (n == 0) return {step_outcome::stop, {send_status::again, 0, {}}};
      r.body_sent += n;
      return {r.body_sent == r.length ? step_outcome::whole : step_outcome::cut};
    }
    case step::head_staged:
      if (!r.head_done()) {
        if (const step_outcome o = head(c, r, has_body); o.went != step_outcome::whole) return o;
      }
      [[fallthrough]];
    case step::staged: {
      const std::size_t n = t.write(c.id, {s.buf.get() + s.buf_off, s.buf_len - s.buf_off}, true,
                                    r.body_sent + (s.buf_len - s.buf_off) < r.length);
      if (n == 0) return {step_outcome::stop, {send_status::again, 0, {}}};
      senders::note_body_copied(n);  // into lwIP's segments
      s.buf_off += n;
      r.body_sent += n;
      return {s.buf_off == s.buf_len ? step_outcome::whole : step_outcome::cut};
    }
    case step::head_mapped:
      return by_reference(c, r, chunk);
    case step::mapped_zc:
    case step::sendfile:
    case step::fill_pipe:
    case step::drain_pipe:
      // They move pages into a kernel socket; kinds.def gives them no
      // userspace engine.
      break;
  }
  return {step_outcome::stop, {send_status::failed, EOPNOTSUPP, step_name(st)}};
}

// The head, then the body by reference into the file cache's mapping.
// The cache's entry was checked against the file when it was (re)opened;
// if the file shrinks afterwards, the copy into a transmit buffer finds
// the page gone and the connection is reset (recover_from_lost_pages), so
// no byte that is not the file's is ever sent.
step_outcome dpdk_engine::body_sender::by_reference(conn& c, reply& r, std::size_t chunk) {
  dpdk::tcp& t = *e_.tcp_;
  const char* base = r.file->mapping();
  if (base == nullptr) return {step_outcome::stop, {send_status::failed, errno, "mmap"}};
  while (!r.head_done()) {
    if (const step_outcome o = head(c, r, true); o.went == step_outcome::stop) return o;
  }
  // Held (and guarded) before the stack has a reference; a full guard
  // table makes this reply a copying one.
  if (!e_.hold(c.id, r.file)) return copy_range(c, r, chunk);
  while (r.body_sent < r.length) {
    const std::uint64_t left = r.length - r.body_sent;
    const std::size_t n = t.write(
        c.id, {base + r.offset + r.body_sent, static_cast<std::size_t>(left)}, false, false);
    if (n == 0) return {step_outcome::stop, {send_status::again, 0, {}}};
    r.body_sent += n;
    e_.hold(c.id, r.file);  // the same entry: extends it
  }
  return {step_outcome::whole};
}

// The rest of the range through the staging buffer: read_write's steps.
step_outcome dpdk_engine::body_sender::copy_range(conn& c, reply& r, std::size_t chunk) {
  while (r.body_sent < r.length) {
    if (const step_outcome o = carry_out(step::stage, c, r, chunk); o.went == step_outcome::stop)
      return o;
    if (const step_outcome o = carry_out(step::staged, c, r, chunk); o.went == step_outcome::stop)
      return o;
  }
  return {step_outcome::whole};
}

}  // namespace zc
