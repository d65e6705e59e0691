#include "core/murmur2.h"

namespace eragon {

// Unsigned arithmetic gives Java's wrapping int semantics; >> on uint32_t is Java's >>>.
int32_t Murmur2(std::string_view data) {
  const uint32_t length = static_cast<uint32_t>(data.size());
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  uint32_t h = 0x9747b28cu ^ length;
  const uint32_t length4 = length / 4;
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  for (uint32_t i = 0; i < length4; ++i) {
    const uint32_t i4 = i * 4;
    uint32_t k = p[i4] | (p[i4 + 1] << 8) | (p[i4 + 2] << 16) | (uint32_t{p[i4 + 3]} << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const uint32_t tail = length & ~3u;
  switch (length % 4) {
    case 3:
      h ^= uint32_t{p[tail + 2]} << 16;
      [[fallthrough]];
    case 2:
      h ^= uint32_t{p[tail + 1]} << 8;
      [[fallthrough]];
    case 1:
      h ^= p[tail];
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

uint32_t Murmur2Partition(std::string_view key, uint32_t partitions) {
  const uint32_t positive = static_cast<uint32_t>(Murmur2(key)) & 0x7fffffffu;
  return positive % partitions;
}

}  // namespace eragon
