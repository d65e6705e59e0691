#include "core/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace eragon::crc32c {
namespace {

TEST(Crc32c, MatchesStandardCheckValue) {
  EXPECT_EQ(Value("123456789"), 0xE3069283u);
  EXPECT_EQ(ExtendPortable(0, "123456789", 9), 0xE3069283u);
  if (HardwareAvailable()) {
    EXPECT_EQ(ExtendHardware(0, "123456789", 9), 0xE3069283u);
  }
}

TEST(Crc32c, EmptyInputIsZero) { EXPECT_EQ(Value("", 0), 0u); }

TEST(Crc32c, ExtendEqualsValueOfConcatenation) {
  std::string a = "hello ", b = "world, this is eragon";
  EXPECT_EQ(Extend(Value(a), b.data(), b.size()), Value(a + b));
}

TEST(Crc32c, HardwareEqualsPortableOnRandomBuffers) {
  if (!HardwareAvailable()) GTEST_SKIP() << "no SSE4.2";
  std::mt19937 rng(42);
  for (int i = 0; i < 200; ++i) {
    std::string buf(rng() % 3000, '\0');
    for (char& c : buf) c = static_cast<char>(rng());
    size_t start = buf.empty() ? 0 : rng() % buf.size();  // unaligned starts
    uint32_t seed = rng();
    EXPECT_EQ(ExtendHardware(seed, buf.data() + start, buf.size() - start),
              ExtendPortable(seed, buf.data() + start, buf.size() - start));
  }
}

}  // namespace
}  // namespace eragon::crc32c
