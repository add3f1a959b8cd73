#include "server/core/buffer_pool.hh"

#include <array>
#include <bit>
#include <vector>

namespace zc::buffer_pool {

namespace {

constexpr unsigned min_shift = 12;  // 4 KiB
constexpr unsigned classes = 20;    // up to 2 GiB: every capacity a config allows

struct pool {
  std::array<std::vector<std::unique_ptr<char[]>>, classes> free;
  std::size_t bytes = 0;
};

pool& mine() noexcept {
  static thread_local pool p;
  return p;
}

// The class of a pool capacity, or `classes` for any other size.
unsigned class_of(std::size_t cap) noexcept {
  if (cap < min_bytes || !std::has_single_bit(cap)) return classes;
  const unsigned c = static_cast<unsigned>(std::countr_zero(cap)) - min_shift;
  return c < classes ? c : classes;
}

}  // namespace

std::size_t capacity_for(std::size_t want) noexcept {
  return std::bit_ceil(want < min_bytes ? min_bytes : want);
}

std::unique_ptr<char[]> take(std::size_t cap) {
  const unsigned c = class_of(cap);
  if (c < classes) {
    pool& p = mine();
    if (auto& list = p.free[c]; !list.empty()) {
      std::unique_ptr<char[]> buf = std::move(list.back());
      list.pop_back();
      p.bytes -= cap;
      return buf;
    }
  }
  return std::make_unique_for_overwrite<char[]>(cap);
}

void give(std::unique_ptr<char[]> buf, std::size_t cap) noexcept {
  const unsigned c = class_of(cap);
  if (!buf || c == classes) return;
  pool& p = mine();
  if (p.bytes + cap > max_bytes) return;
  try {
    p.free[c].push_back(std::move(buf));
    p.bytes += cap;
  } catch (...) {
    // Out of memory for the list itself: the buffer is simply freed.
  }
}

}  // namespace zc::buffer_pool
