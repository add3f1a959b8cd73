#include "backends/dpdk/page_guard.hh"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace zc::dpdk::page_guard {

namespace {

struct range {
  std::atomic<std::uintptr_t> base{0};  // 0: a free slot
  std::atomic<std::uintptr_t> end{0};
  std::atomic<bool> faulted{false};
  std::uint32_t refs = 0;  // the engine thread's alone
};

// Distinct files referenced at once: a connection references one or two
// (pipelined replies), and a full table only makes the sender copy.
constexpr std::size_t capacity = 16384;
range g_table[capacity];
std::atomic<std::size_t> g_used{0};  // slots [0, g_used) may be taken
std::atomic<bool> g_pending{false};
struct sigaction g_old {};
bool g_installed = false;

// The engine thread's index of the table (the handler scans instead: it
// may not touch a hash map another call is changing).
std::unordered_map<std::uintptr_t, std::size_t>& index() {
  static std::unordered_map<std::uintptr_t, std::size_t> m;
  return m;
}
std::vector<std::size_t>& free_slots() {
  static std::vector<std::size_t> v;
  return v;
}

range* find(std::uintptr_t base) noexcept {
  const auto& m = index();
  const auto it = m.find(base);
  return it == m.end() ? nullptr : &g_table[it->second];
}

void on_sigbus(int sig, siginfo_t* si, void*) {
  const auto a = reinterpret_cast<std::uintptr_t>(si->si_addr);
  const std::size_t used = g_used.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < used; ++i) {
    range& r = g_table[i];
    const std::uintptr_t b = r.base.load(std::memory_order_relaxed);
    if (b == 0 || a < b || a >= r.end.load(std::memory_order_relaxed)) continue;
    const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
    void* at = reinterpret_cast<void*>(a & ~(page - 1));
    // mmap is a plain system call: safe in a handler.
    if (mmap(at, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
      break;
    r.faulted.store(true, std::memory_order_relaxed);
    g_pending.store(true, std::memory_order_relaxed);
    return;  // the read runs again, and reads zeros
  }
  signal(sig, SIG_DFL);  // not ours: returning runs the access again, to the default action
}

}  // namespace

void install() {
  if (g_installed) return;
  free_slots().reserve(capacity);  // so that remove() never allocates
  struct sigaction sa {};
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, &g_old);
  g_installed = true;
}

void uninstall() {
  if (!g_installed) return;
  sigaction(SIGBUS, &g_old, nullptr);
  g_installed = false;
}

bool add(const void* base, std::size_t len) noexcept {
  const auto b = reinterpret_cast<std::uintptr_t>(base);
  if (range* r = find(b)) {
    ++r->refs;
    return true;
  }
  std::size_t i;
  if (!free_slots().empty()) {
    i = free_slots().back();
    free_slots().pop_back();
  } else {
    i = g_used.load(std::memory_order_relaxed);
    if (i == capacity) return false;
    g_used.store(i + 1, std::memory_order_relaxed);
  }
  try {
    index().emplace(b, i);
  } catch (...) {  // no memory for the index: copy instead
    free_slots().push_back(i);
    return false;
  }
  range& r = g_table[i];
  r.refs = 1;
  r.faulted.store(false, std::memory_order_relaxed);
  r.end.store(b + len, std::memory_order_relaxed);
  r.base.store(b, std::memory_order_relaxed);
  return true;
}

void remove(const void* base) noexcept {
  const auto b = reinterpret_cast<std::uintptr_t>(base);
  auto& m = index();
  const auto it = m.find(b);
  if (it == m.end()) return;
  range& r = g_table[it->second];
  if (--r.refs > 0) return;
  r.base.store(0, std::memory_order_relaxed);
  r.end.store(0, std::memory_order_relaxed);
  free_slots().push_back(it->second);  // reserved by install(): cannot throw
  m.erase(it);
}

bool pending() noexcept {
  return g_pending.load(std::memory_order_relaxed);
}

bool take_fault() noexcept {
  return g_pending.exchange(false, std::memory_order_relaxed);
}

bool faulted(const void* base) noexcept {
  const range* r = find(reinterpret_cast<std::uintptr_t>(base));
  return r != nullptr && r->faulted.load(std::memory_order_relaxed);
}

}  // namespace zc::dpdk::page_guard
