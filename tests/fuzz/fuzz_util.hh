#pragma once

// Small pieces the fuzz targets share.

#include <cstdint>
#include <string_view>

namespace zc::fuzz {

// FNV-1a: a cheap, stable function of the whole input, so that a saved
// reproducer replays with the same split points and limits.
inline std::uint64_t hash_of(std::string_view in) {
  std::uint64_t h = 14695981039346656037ull;
  for (const unsigned char c : in) h = (h ^ c) * 1099511628211ull;
  return h;
}

// xorshift64, seeded from hash_of(): read sizes and split points. The seed
// must not be 0 (xorshift would stay at 0).
struct rng {
  std::uint64_t s;
  std::uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
};

}  // namespace zc::fuzz
