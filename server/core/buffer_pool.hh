#pragma once

// Buffers that idle connections give back, kept per thread for the next
// connection that needs one. An idle keep-alive connection holds no input
// or staging buffer (nginx frees its header buffer the same way), yet a
// busy one must not pay an allocation per request: with glibc that is
// cheap, but an allocator that maps large or quarantined blocks (256 KiB
// staging buffers, AddressSanitizer's) would add mmap and munmap calls to
// every request, calls the instrument does not make itself. Capacities are
// powers of two from 4 KiB; a thread keeps at most max_bytes of them, so a
// burst's buffers go back to the allocator once it is over.

#include <cstddef>
#include <memory>

namespace zc::buffer_pool {

inline constexpr std::size_t min_bytes = 4096;
inline constexpr std::size_t max_bytes = 2u << 20;  // kept per thread, all sizes together

// The capacity a buffer of at least `want` bytes gets: the next power of
// two, at least min_bytes.
std::size_t capacity_for(std::size_t want) noexcept;

// A buffer of exactly `cap` bytes (a capacity_for() value), from the pool
// when it has one.
std::unique_ptr<char[]> take(std::size_t cap);

// Gives `buf`, of `cap` bytes, back: kept if `cap` is a pool capacity and
// the thread's pool has room, else freed.
void give(std::unique_ptr<char[]> buf, std::size_t cap) noexcept;

}  // namespace zc::buffer_pool
